/**
 * The PyTorch peer for side-by-side benchmarks (shared/notes/tfjs-backends.md, "Peers available
 * offline"): Debian's `python3-torch` 1.13 with the pthread OpenBLAS, fetched with
 * `apt-get download` and unpacked with `dpkg-deb -x` into `.cache/peers/torch` (git-ignored), as
 * peers/faissPeer.ts does for faiss. Nothing is installed into the system: the child process finds
 * the unpacked tree through LD_LIBRARY_PATH and PYTHONPATH only.
 *
 * Which packages: python3-torch's dependency closure minus what this machine already has, as apt
 * itself works it out (`apt-get install --simulate --no-install-recommends python3-torch
 * libopenblas0-pthread`, the `Inst` lines), so a slim image gets everything and a full one only
 * the missing part. libtorch1.13 links OpenCV, GDAL, Qt and more, hence ~175 packages here.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aptDownload, PeerError, peerEnv, requireDebianTools, unpackDebs } from './debianTree';

export { PeerError };

/** Where the unpacked packages live; `.cache/` is in .gitignore. */
export const PEER_DIR = path.resolve(__dirname, '..', '..', '.cache', 'peers', 'torch');

/** What the peer is asked for; the rest of the closure comes from apt's simulation. */
const ROOTS = ['python3-torch', 'libopenblas0-pthread'];

/**
 * Always fetched even if the system has them, so the peer is the same on every machine: torch
 * itself and the BLAS flavour (the notes' figures are for the pthread OpenBLAS; Debian's default
 * alternative may be the single-threaded reference BLAS, 4× slower here).
 */
const ALWAYS = ['python3-torch', 'libtorch1.13', 'libopenblas0-pthread', 'libgfortran5'];

/** Debian bookworm's torch is built for CPython 3.11: run it under Debian's own interpreter. */
const PYTHON = '/usr/bin/python3';

export interface TorchPeer {
  python: string;
  /** Variables that make the unpacked tree visible; merge into the child's environment. */
  env: Record<string, string>;
  torchVersion: string;
  numpyVersion: string;
  /** What the install recorded (absent if the tree predates the record). */
  install?: InstallRecord;
}

export interface InstallRecord {
  packages: string[];
  downloadBytes: number;
  downloadSeconds: number;
  unpackedBytes: number;
  unpackSeconds: number;
  at: string;
}

/** Returns the peer, unpacking it into {@link PEER_DIR} first if that hasn't been done. */
export function ensureTorchPeer(log: (line: string) => void): TorchPeer {
  const root = path.join(PEER_DIR, 'root');
  const marker = path.join(PEER_DIR, 'complete.json');
  if (!fs.existsSync(marker)) install(root, marker, log);
  const record = JSON.parse(fs.readFileSync(marker, 'utf8')) as Partial<InstallRecord>;
  const env = peerEnv(root, PEER_DIR, true);
  const probe = spawnSync(
    PYTHON,
    ['-s', '-c', 'import torch, numpy; print(torch.__version__, numpy.__version__)'],
    { env: { ...process.env, ...env, OMP_WAIT_POLICY: 'PASSIVE' }, encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    throw new PeerError(
      `torch does not import from ${root}:\n${probe.stderr.trim()}\n` +
        `Delete ${PEER_DIR} to unpack it again.`,
    );
  }
  const [torchVersion = '?', numpyVersion = '?'] = probe.stdout.trim().split(' ');
  return {
    python: PYTHON,
    env,
    torchVersion,
    numpyVersion,
    ...(record.packages ? { install: record as InstallRecord } : {}),
  };
}

function install(root: string, marker: string, log: (line: string) => void): void {
  if (!fs.existsSync(PYTHON)) {
    throw new PeerError(`${PYTHON} not found: Debian's torch build needs Debian's Python 3.11`);
  }
  requireDebianTools('torch');
  let closure = missingClosure();
  if (closure === undefined) {
    // An image whose apt lists were never fetched knows no packages at all; one refresh of the
    // lists (not an install) is what the environment notes prescribe.
    log('torch peer: apt does not know python3-torch; running apt-get update once');
    spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'inherit', 'inherit'] });
    closure = missingClosure();
  }
  if (closure === undefined) {
    throw new PeerError(
      `apt-get cannot resolve ${ROOTS.join(', ')} (bookworm: python3-torch 1.13.1); run ` +
        `'apt-get update' as root and try again, or pass --no-torch to benchmark tfjs alone.`,
    );
  }
  const wanted = [...new Set([...ALWAYS, ...closure])];
  const debs = path.join(PEER_DIR, 'debs');
  fs.rmSync(PEER_DIR, { recursive: true, force: true });
  fs.mkdirSync(debs, { recursive: true });

  log(`torch peer: apt-get download of ${wanted.length} packages into ${debs}`);
  let t0 = performance.now();
  if (!aptDownload(wanted, debs, true)) {
    fs.rmSync(PEER_DIR, { recursive: true, force: true });
    throw new PeerError(
      `apt-get could not download the torch peer's packages (see its message above); ` +
        `pass --no-torch to benchmark tfjs alone.`,
    );
  }
  const downloadSeconds = (performance.now() - t0) / 1000;
  const archives = fs.readdirSync(debs).filter((f) => f.endsWith('.deb'));
  const downloadBytes = archives.reduce((s, f) => s + fs.statSync(path.join(debs, f)).size, 0);
  log(
    `torch peer: downloaded ${archives.length} packages, ${mb(downloadBytes)} in ` +
      `${downloadSeconds.toFixed(1)} s`,
  );

  t0 = performance.now();
  unpackDebs(debs, root);
  const unpackSeconds = (performance.now() - t0) / 1000;
  const unpackedBytes = treeBytes(root);
  // The tree is all the peer needs; the archives would double the disk it takes.
  fs.rmSync(debs, { recursive: true, force: true });
  const record: InstallRecord = {
    packages: wanted,
    downloadBytes,
    downloadSeconds,
    unpackedBytes,
    unpackSeconds,
    at: new Date().toISOString(),
  };
  fs.writeFileSync(marker, JSON.stringify(record, null, 2));
  log(
    `torch peer: unpacked into ${root}: ${mb(unpackedBytes)} in ${unpackSeconds.toFixed(1)} s ` +
      `(archives deleted)`,
  );
}

/**
 * The packages apt would install for {@link ROOTS} without recommends, i.e. the closure less
 * what dpkg already has; undefined when apt can't resolve them (e.g. no package lists yet).
 */
function missingClosure(): string[] | undefined {
  const r = spawnSync(
    'apt-get',
    ['install', '--simulate', '--no-install-recommends', '-q', ...ROOTS],
    { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  if (r.status !== 0) return undefined;
  return [...r.stdout.matchAll(/^Inst (\S+)/gm)].map((m) => m[1] as string);
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** One line on the install: packages, download and unpacked sizes and times. */
export function describeInstall(r: InstallRecord | undefined): string {
  if (!r) return 'install record missing';
  return (
    `${r.packages.length} Debian packages, ${mb(r.downloadBytes)} downloaded in ` +
    `${r.downloadSeconds.toFixed(1)} s, ${mb(r.unpackedBytes)} unpacked in ` +
    `${r.unpackSeconds.toFixed(1)} s`
  );
}

/**
 * `npx tsx bench/peers/torchPeer.ts`: installs the peer if missing and prints how to run Python
 * with it, e.g. `eval "$(npx tsx bench/peers/torchPeer.ts --exports)"` then
 * `$TORCH_PEER_PYTHON -s bench/trainStep.py` (Debian's /usr/bin/python3, not the first on PATH).
 */
if (require.main === module) {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  try {
    const t0 = performance.now();
    const peer = ensureTorchPeer(log);
    const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
    const exports = [
      ...Object.entries(peer.env).map(([k, v]) => `export ${k}=${q(v)}`),
      'export OMP_WAIT_POLICY=PASSIVE',
      `export TORCH_PEER_PYTHON=${q(peer.python)}`,
    ];
    if (process.argv.includes('--exports')) {
      process.stdout.write(`${exports.join('\n')}\n`);
    } else {
      console.log(`PyTorch ${peer.torchVersion}, numpy ${peer.numpyVersion} in ${PEER_DIR}`);
      console.log(
        `${describeInstall(peer.install)}; ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      console.log(`run Python with it:\n${exports.join('\n')}`);
    }
  } catch (err) {
    log(err instanceof PeerError ? `error: ${err.message}` : String((err as Error).stack ?? err));
    process.exitCode = 2;
  }
}
