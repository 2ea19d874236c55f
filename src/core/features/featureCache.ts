/**
 * Features cached on disk, keyed by what determines them: the images (every byte, the count
 * and the shape) and the resolved extractor settings (kind, every hyper-parameter, the seed).
 * Training the self-supervised encoder is the slow part of preparing a data set, so a second
 * run with the same data and settings loads instead.
 *
 *   <cacheDir>/<key>.icgan-features   the n × dim features (checkpoint format, checksummed)
 *   <cacheDir>/<key>.extractor/       the extractor that made them, to embed unseen images
 *
 * The extractor is written first and the features file last, each atomically, so a features
 * file only ever exists next to a complete extractor. A damaged or mismatching entry is
 * reported and recomputed, never used.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomicWrite';
import { decodeCheckpoint, encodeCheckpoint } from '../checkpoint/checkpointFile';
import type { ImageDataset } from '../data/dataset';
import {
  fitFeatureExtractor,
  loadFeatureExtractor,
  type FeatureExtractor,
  type FeatureLog,
} from './featureExtractor';
import type { FeatureSettings } from './featureSettings';

const FORMAT = 'icgan-features';
/** Bump when the features a given key produces change (new architecture, augmentations…). */
const KEY_VERSION = 'icgan-features/1';
export const FEATURES_SUFFIX = '.icgan-features';
export const EXTRACTOR_SUFFIX = '.extractor';

export interface CachedFeatures {
  /** n × dim, L2-normalised, in data set order. */
  features: Float32Array;
  dim: number;
  extractor: FeatureExtractor;
  /** True when the features were loaded rather than computed. */
  cached: boolean;
  key: string;
}

interface FeaturesMeta {
  format: typeof FORMAT;
  key: string;
  count: number;
  dim: number;
  settings: FeatureSettings;
  data: string;
}

/** SHA-256 (hex) of the data and the settings; any change to either changes the key. */
export function featureCacheKey(data: ImageDataset, settings: FeatureSettings): string {
  const hash = createHash('sha256');
  const shape = {
    count: data.count,
    height: data.height,
    width: data.width,
    channels: data.channels,
  };
  hash.update(`${KEY_VERSION}\n${canonicalJson({ shape, settings })}\n`);
  const images = data.images;
  hash.update(Buffer.from(images.buffer, images.byteOffset, images.byteLength));
  return hash.digest('hex');
}

/** Paths of a cache entry. */
export function cacheEntryPaths(
  cacheDir: string,
  key: string,
): { features: string; extractor: string } {
  return {
    features: path.join(cacheDir, `${key}${FEATURES_SUFFIX}`),
    extractor: path.join(cacheDir, `${key}${EXTRACTOR_SUFFIX}`),
  };
}

/**
 * The features of `data` under `settings` (resolved: see resolveFeatureSettings), from the
 * cache when an intact entry exists, otherwise computed and stored. The caller owns (and must
 * dispose) the returned extractor.
 */
export async function computeOrLoadFeatures(
  data: ImageDataset,
  settings: FeatureSettings,
  cacheDir: string,
  log: FeatureLog = () => {},
): Promise<CachedFeatures> {
  const key = featureCacheKey(data, settings);
  const paths = cacheEntryPaths(cacheDir, key);
  const hit = await loadEntry(paths, key, data.count, log);
  if (hit) {
    log(`features: loaded ${data.count} × ${hit.dim} from the cache (${paths.features})`);
    return { ...hit, cached: true, key };
  }
  const started = performance.now();
  const extractor = await fitFeatureExtractor(data, settings, log);
  let features: Float32Array;
  try {
    features = await extractor.embed(data.images, data.count);
  } catch (err) {
    extractor.dispose();
    throw err;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`features: computed ${data.count} × ${extractor.dim} (${settings.kind}) in ${seconds} s`);
  try {
    await storeEntry(paths, key, data, settings, extractor, features);
  } catch (err) {
    // The cache only saves time: the features are valid, so say why it failed and go on.
    log(`features: could not write the cache in ${cacheDir} (${(err as Error).message})`);
  }
  return { features, dim: extractor.dim, extractor, cached: false, key };
}

async function loadEntry(
  paths: { features: string; extractor: string },
  key: string,
  count: number,
  log: FeatureLog,
): Promise<{ features: Float32Array; dim: number; extractor: FeatureExtractor } | null> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(paths.features);
  } catch {
    return null;
  }
  let extractor: FeatureExtractor | undefined;
  try {
    const { meta, tensors } = decodeCheckpoint<FeaturesMeta>(buf);
    const t = tensors.get('features');
    if (meta.format !== FORMAT || meta.key !== key || meta.count !== count) {
      throw new Error('it belongs to other data or settings');
    }
    if (!t || t.shape[0] !== count || t.shape[1] !== meta.dim) {
      throw new Error('the features tensor has the wrong shape');
    }
    extractor = await loadFeatureExtractor(paths.extractor);
    if (extractor.dim !== meta.dim) throw new Error('the saved extractor has another dimension');
    return { features: t.data.slice(), dim: meta.dim, extractor };
  } catch (err) {
    extractor?.dispose();
    log(`features: ignoring cache entry ${paths.features}: ${(err as Error).message}; recomputing`);
    return null;
  }
}

async function storeEntry(
  paths: { features: string; extractor: string },
  key: string,
  data: ImageDataset,
  settings: FeatureSettings,
  extractor: FeatureExtractor,
  features: Float32Array,
): Promise<void> {
  await fs.promises.mkdir(path.dirname(paths.features), { recursive: true });
  await extractor.save(paths.extractor);
  const meta: FeaturesMeta = {
    format: FORMAT,
    key,
    count: data.count,
    dim: extractor.dim,
    settings,
    data: data.description,
  };
  const file = encodeCheckpoint(meta, [
    { name: 'features', shape: [data.count, extractor.dim], data: features },
  ]);
  await writeFileAtomic(paths.features, file);
}

/** JSON with object keys sorted at every level, so key order never changes a hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}
