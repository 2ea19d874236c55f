import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { MODEL_JSON } from '../../src/core/features/modelFiles';

/**
 * Saves a layers model as the files tfjs-node's file:// handler would write (model.json and one
 * weights.bin): a user model for `instances.features.kind: model`, written without tfjs-node.
 */
export async function saveLayersModel(model: tfl.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const weights = a.weightData ?? new ArrayBuffer(0);
      fs.writeFileSync(
        path.join(dir, 'weights.bin'),
        Buffer.from(tf.io.CompositeArrayBuffer.join(weights)),
      );
      const json: tf.io.ModelJSON = {
        modelTopology: a.modelTopology as object,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      };
      fs.writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}
