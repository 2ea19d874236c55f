import { promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';
import type { FolderDataConfig } from '../config/types';
import { UserError } from '../errors';
import {
  bytesToUnit,
  decodeImageBytes,
  hasImageExtension,
  IMAGE_EXTENSIONS,
  ImageDecodeError,
} from '../image/imageFile';
import type { ImageDataset, SkippedFile } from './dataset';
import { conditionsFor, parseSidecar, type ImageConditions } from './sidecar';

/** Files decoded at once: enough to overlap I/O with libvips' own threads, bounded in memory. */
const DECODE_CONCURRENCY = 4;

/** Skipped files named one by one in the log; the rest are summarised as a count. */
const MAX_LOGGED_SKIPS = 20;

interface Candidate {
  file: string;
  /** Index into the class folder list, or -1 for the flat (unlabelled) layout. */
  classIndex: number;
}

interface Listing {
  candidates: Candidate[];
  /** Sorted class folder names; empty for the flat layout. */
  classFolders: string[];
  skipped: SkippedFile[];
}

/**
 * Loads a folder of images. Two layouts are accepted: root/<class>/<image> (labelled, one class
 * per subfolder) or root/<image> (unlabelled). Only one level of subfolders is read, so symlink
 * loops cannot make the walk run forever. Unusable files are skipped and reported, not fatal.
 */
export async function loadFolderDataset(
  cfg: FolderDataConfig,
  log: (line: string) => void,
): Promise<ImageDataset> {
  const listing = await listFolder(cfg.path);
  if (listing.candidates.length === 0) {
    throw new UserError(
      `${cfg.path}: no image files found (expected ${IMAGE_EXTENSIONS.join(', ')} files, ` +
        `in the folder itself or in one subfolder per class)`,
    );
  }

  const decoded = await decodeCandidates(listing.candidates, cfg);
  const skipped = [...listing.skipped, ...decoded.skipped].sort((a, b) =>
    compareStrings(a.file, b.file),
  );
  if (decoded.images.length === 0) {
    throw new UserError(
      `${cfg.path}: none of the ${listing.candidates.length} image files could be decoded ` +
        `(first: ${skipped[0]?.file ?? '?'}: ${skipped[0]?.reason ?? '?'})`,
    );
  }

  let dataset = assemble(cfg, listing.classFolders, decoded.images, skipped);
  log(dataset.description);
  logSkipped(cfg.path, skipped, log);
  if (cfg.sidecar) {
    dataset = { ...dataset, conditions: await readConditions(cfg, decoded.images, log) };
  }
  return dataset;
}

/** The sidecar's tags/vectors lined up with the decoded images; gaps are reported, not fatal. */
async function readConditions(
  cfg: FolderDataConfig,
  images: readonly DecodedImage[],
  log: (line: string) => void,
): Promise<ImageConditions> {
  const file = cfg.sidecar ?? '';
  const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read the sidecar (${err.code ?? err.message})`);
  });
  const conditions = conditionsFor(
    parseSidecar(file, text),
    images.map((image) => path.relative(cfg.path, image.file)),
  );
  const parts = [`${conditions.tagNames.length} tags`];
  if (conditions.vectorDim > 0) parts.push(`vectors of ${conditions.vectorDim}`);
  log(
    `sidecar ${file}: ${parts.join(', ')} for ${images.length - conditions.missing.length} of ${images.length} images`,
  );
  if (conditions.missing.length > 0) {
    log(
      `warning: ${conditions.missing.length} images have no sidecar entry (no tags, zero vector): ` +
        conditions.missing.slice(0, 5).join(', ') +
        (conditions.missing.length > 5 ? ', …' : ''),
    );
  }
  if (conditions.unmatched.length > 0) {
    log(
      `warning: ${conditions.unmatched.length} sidecar entries match no loaded image: ` +
        conditions.unmatched.slice(0, 5).join(', ') +
        (conditions.unmatched.length > 5 ? ', …' : ''),
    );
  }
  return conditions;
}

async function listFolder(root: string): Promise<Listing> {
  const rootStat = await fs.stat(root).catch(() => undefined);
  if (rootStat === undefined) throw new UserError(`${root}: data folder does not exist`);
  if (!rootStat.isDirectory()) {
    throw new UserError(`${root}: is a file, but data.path must be a folder of images`);
  }

  const skipped: SkippedFile[] = [];
  const top = await readFolder(root, skipped);
  if (top.files.length > 0 && top.folders.length > 0) {
    throw new UserError(
      `${root}: has both image files and subfolders at its top level; use either ` +
        `one subfolder per class (root/<class>/<image>) for labelled data or only images ` +
        `in the folder itself for unlabelled data (found ${plural(top.files.length, 'image')} ` +
        `and subfolders ${listNames(top.folders)})`,
    );
  }
  if (top.folders.length === 0) {
    return {
      candidates: top.files.map((file) => ({ file, classIndex: -1 })),
      classFolders: [],
      skipped,
    };
  }

  const classFolders = top.folders.map((folder) => path.basename(folder));
  const candidates: Candidate[] = [];
  for (const [classIndex, folder] of top.folders.entries()) {
    const inner = await readFolder(folder, skipped);
    for (const nested of inner.folders) {
      skipped.push({ file: nested, reason: 'nested folder ignored (classes are one level deep)' });
    }
    for (const file of inner.files) candidates.push({ file, classIndex });
  }
  candidates.sort((a, b) => compareStrings(a.file, b.file));
  return { candidates, classFolders, skipped };
}

interface FolderEntries {
  /** Absolute paths of supported image files, sorted. */
  files: string[];
  /** Absolute paths of subfolders, sorted. */
  folders: string[];
}

/** Reads one folder level; dotfiles are ignored, unsupported files are recorded as skipped. */
async function readFolder(folder: string, skipped: SkippedFile[]): Promise<FolderEntries> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(folder, { withFileTypes: true });
  } catch (err) {
    throw new UserError(`${folder}: cannot read folder (${errorCode(err)})`);
  }

  const files: string[] = [];
  const folders: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(folder, entry.name);
    const kind = await entryKind(entry, full);
    if (kind === 'folder') {
      folders.push(full);
    } else if (kind !== 'file') {
      skipped.push({ file: full, reason: kind });
    } else if (hasImageExtension(entry.name)) {
      files.push(full);
    } else {
      const ext = path.extname(entry.name) || '(no extension)';
      skipped.push({
        file: full,
        reason: `unsupported file type ${ext} (expected ${IMAGE_EXTENSIONS.join(', ')})`,
      });
    }
  }
  return { files: files.sort(compareStrings), folders: folders.sort(compareStrings) };
}

/** 'file', 'folder', or why the entry cannot be used. */
async function entryKind(entry: Dirent, full: string): Promise<string> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'folder';
  if (!entry.isSymbolicLink()) return 'not a regular file';
  // Symlinked images and class folders are followed; a dangling or looping link fails to stat
  // and is reported rather than followed.
  try {
    const stat = await fs.stat(full);
    if (stat.isFile()) return 'file';
    if (stat.isDirectory()) return 'folder';
    return 'not a regular file';
  } catch (err) {
    return `broken symbolic link (${errorCode(err)})`;
  }
}

interface DecodedImage {
  classIndex: number;
  pixels: Uint8Array;
  file: string;
}

interface DecodeResult {
  /** In candidate order, at most cfg.limit when the limit is set. */
  images: DecodedImage[];
  skipped: SkippedFile[];
}

/**
 * Decodes candidates in sorted order with bounded concurrency. With a limit, workers stop taking
 * new files once enough have succeeded; every file before the last one taken has finished, so
 * the first `limit` successes are the same whatever the timing.
 */
async function decodeCandidates(
  candidates: readonly Candidate[],
  cfg: FolderDataConfig,
): Promise<DecodeResult> {
  const results: (DecodedImage | SkippedFile | undefined)[] = new Array(candidates.length);
  let next = 0;
  let successes = 0;
  const enough = (): boolean => cfg.limit > 0 && successes >= cfg.limit;

  const worker = async (): Promise<void> => {
    while (next < candidates.length && !enough()) {
      const index = next++;
      const candidate = candidates[index];
      if (candidate === undefined) continue;
      const result = await decodeCandidate(candidate, cfg);
      results[index] = result;
      if ('pixels' in result) successes++;
    }
  };
  await Promise.all(Array.from({ length: DECODE_CONCURRENCY }, worker));

  const images: DecodedImage[] = [];
  const skipped: SkippedFile[] = [];
  for (const result of results) {
    if (result === undefined) continue;
    if ('pixels' in result) {
      if (cfg.limit <= 0 || images.length < cfg.limit) images.push(result);
    } else {
      skipped.push(result);
    }
  }
  return { images, skipped };
}

async function decodeCandidate(
  candidate: Candidate,
  cfg: FolderDataConfig,
): Promise<DecodedImage | SkippedFile> {
  try {
    const pixels = await decodeImageBytes(candidate.file, cfg.resolution, cfg.channels, cfg.fit);
    return { classIndex: candidate.classIndex, pixels, file: candidate.file };
  } catch (err) {
    if (err instanceof ImageDecodeError) return { file: err.file, reason: err.reason };
    throw err;
  }
}

/**
 * Packs decoded images into one array. Class folders left without any image (empty, all files
 * skipped, or cut by the limit) are dropped so every class in classNames has examples.
 */
function assemble(
  cfg: FolderDataConfig,
  classFolders: readonly string[],
  images: readonly DecodedImage[],
  skipped: readonly SkippedFile[],
): ImageDataset {
  const size = cfg.resolution * cfg.resolution * cfg.channels;
  const pixels = new Float32Array(images.length * size);
  images.forEach((image, i) => bytesToUnit(image.pixels, pixels, i * size));

  const labelled = classFolders.length > 0;
  const used = [...new Set(images.map((image) => image.classIndex))].sort((a, b) => a - b);
  const remap = new Map(used.map((folderIndex, label) => [folderIndex, label]));
  const classNames = used.map((folderIndex) => classFolders[folderIndex] ?? String(folderIndex));
  const labels = labelled
    ? Int32Array.from(images, (image) => remap.get(image.classIndex) ?? 0)
    : undefined;

  const parts = [
    `folder ${cfg.path}: ${plural(images.length, 'image')} ` +
      `${cfg.resolution}×${cfg.resolution}×${cfg.channels}`,
    labelled ? plural(classNames.length, 'class', 'classes') : 'unlabelled',
    `${skipped.length} skipped`,
  ];
  if (labelled && classNames.length < classFolders.length) {
    parts.push(`${classFolders.length - classNames.length} class folders without images dropped`);
  }
  return {
    source: 'folder',
    description: parts.join(', '),
    count: images.length,
    height: cfg.resolution,
    width: cfg.resolution,
    channels: cfg.channels,
    images: pixels,
    ...(labels === undefined ? {} : { labels, classNames }),
    skipped,
  };
}

function logSkipped(root: string, skipped: readonly SkippedFile[], log: (line: string) => void) {
  if (skipped.length === 0) return;
  log(`skipped ${plural(skipped.length, 'file')} in ${root}:`);
  for (const entry of skipped.slice(0, MAX_LOGGED_SKIPS)) {
    log(`  ${path.relative(root, entry.file) || entry.file}: ${entry.reason}`);
  }
  if (skipped.length > MAX_LOGGED_SKIPS) {
    log(`  ... and ${skipped.length - MAX_LOGGED_SKIPS} more`);
  }
}

function plural(count: number, word: string, plural = `${word}s`): string {
  return `${count} ${count === 1 ? word : plural}`;
}

/** The first few base names, for a message that must stay on one line. */
function listNames(paths: readonly string[]): string {
  const names = paths.slice(0, 3).map((p) => path.basename(p));
  return names.join(', ') + (paths.length > 3 ? `, … (${paths.length} in all)` : '');
}

/** Code-point order, independent of the locale, so runs are reproducible across machines. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ?? err.message;
  }
  return String(err);
}
