import type { ImageConditions } from './sidecar';

/** A file that a data source could not use, with the reason, reported to the user. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/**
 * An in-memory image data set. Every source (shapes, folder, idx) produces this shape, so the
 * models and the training loop never know where images came from.
 */
export interface ImageDataset {
  readonly source: 'shapes' | 'folder' | 'idx';
  /** One line for logs, e.g. "folder /data/cats: 812 images, 2 classes, 3 skipped". */
  readonly description: string;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  /** count × height × width × channels floats in [-1, 1], NHWC, image after image. */
  readonly images: Float32Array;
  /** One integer label per image in [0, classNames.length), when the source has labels. */
  readonly labels?: Int32Array;
  readonly classNames?: readonly string[];
  /** Files that were skipped (corrupt, unsupported), so the user can see what was left out. */
  readonly skipped: readonly SkippedFile[];
  /** Per-image tags and vectors (a folder's sidecar; the shapes' attributes). */
  readonly conditions?: ImageConditions;
}
