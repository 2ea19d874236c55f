import type { DataConfig } from '../config/types';
import type { ImageDataset } from './dataset';
import { loadFolderDataset } from './folderDataset';
import { loadIdxDataset } from './idxDataset';
import { createShapesDataset } from './shapesDataset';

/** Builds the data set a resolved config describes; `log` receives one-line progress notes. */
export async function loadDataset(
  cfg: DataConfig,
  log: (line: string) => void,
): Promise<ImageDataset> {
  switch (cfg.source) {
    case 'shapes': {
      const dataset = createShapesDataset(cfg);
      log(dataset.description);
      return dataset;
    }
    case 'folder':
      return loadFolderDataset(cfg, log);
    case 'idx': {
      const dataset = await loadIdxDataset(cfg);
      log(dataset.description);
      return dataset;
    }
    default:
      return unknownSource(cfg);
  }
}

function unknownSource(cfg: never): never {
  throw new Error(`unknown data source ${JSON.stringify(cfg)}`);
}
