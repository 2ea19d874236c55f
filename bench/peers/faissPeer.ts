/**
 * The faiss peer for side-by-side benchmarks (shared/notes/tfjs-backends.md, "Peers available
 * offline"): Debian's `python3-faiss` 1.7.3 with its numpy and OpenBLAS, fetched with
 * `apt-get download` and unpacked with `dpkg-deb -x` into `.cache/peers/` (git-ignored). Nothing is
 * installed into the system: the child process finds the unpacked tree through LD_LIBRARY_PATH and
 * PYTHONPATH only, so the machine's own Python packages and BLAS stay as they are.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  aptDownload,
  dpkgInstalled,
  PeerError,
  peerEnv,
  requireDebianTools,
  unpackDebs,
} from './debianTree';

export { PeerError };

/** Where the unpacked packages live; `.cache/` is in .gitignore. */
export const PEER_DIR = path.resolve(__dirname, '..', '..', '.cache', 'peers', 'faiss-1.7.3');

/**
 * Always fetched: faiss itself; numpy 1.24, whose ABI the Debian faiss build was compiled
 * against (a pyenv or pip numpy 2.x cannot load it); the pthread OpenBLAS that provides
 * libblas.so.3/liblapack.so.3 to both; and libgfortran5, which that OpenBLAS links to and which
 * slim images lack. Pinning the BLAS flavour keeps the figures comparable across machines.
 */
const PACKAGES = ['python3-faiss', 'python3-numpy', 'libopenblas0-pthread', 'libgfortran5'];

/** Runtime libraries that base images usually have; fetched only when dpkg says they're absent. */
const IF_MISSING = ['libgomp1', 'libquadmath0'];

/**
 * Debian bookworm's build is for CPython 3.11 (`_swigfaiss.cpython-311-…so`), so it must run
 * under Debian's own interpreter, not whatever `python3` is first on PATH (here a pyenv 3.11.7
 * with numpy 2.x).
 */
const PYTHON = '/usr/bin/python3';

export interface FaissPeer {
  python: string;
  /** Variables that make the unpacked tree visible; merge into the child's environment. */
  env: Record<string, string>;
  faissVersion: string;
  numpyVersion: string;
}

/** Returns the peer, unpacking it into {@link PEER_DIR} first if that hasn't been done. */
export function ensureFaissPeer(log: (line: string) => void): FaissPeer {
  const root = path.join(PEER_DIR, 'root');
  const marker = path.join(PEER_DIR, 'complete.json');
  if (!fs.existsSync(marker)) install(root, marker, log);
  const env = peerEnv(root, PEER_DIR);
  const probe = spawnSync(
    PYTHON,
    ['-s', '-c', 'import faiss, numpy; print(faiss.__version__, numpy.__version__)'],
    { env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    throw new PeerError(
      `faiss does not import from ${root}:\n${probe.stderr.trim()}\n` +
        `Delete ${PEER_DIR} to unpack it again.`,
    );
  }
  const [faissVersion = '?', numpyVersion = '?'] = probe.stdout.trim().split(' ');
  return { python: PYTHON, env, faissVersion, numpyVersion };
}

function install(root: string, marker: string, log: (line: string) => void): void {
  if (!fs.existsSync(PYTHON)) {
    throw new PeerError(`${PYTHON} not found: Debian's faiss build needs Debian's Python 3.11`);
  }
  requireDebianTools('faiss');
  const wanted = [...PACKAGES, ...IF_MISSING.filter((p) => !dpkgInstalled(p))];
  const debs = path.join(PEER_DIR, 'debs');
  fs.rmSync(PEER_DIR, { recursive: true, force: true });
  fs.mkdirSync(debs, { recursive: true });

  log(`faiss peer: apt-get download ${wanted.join(' ')}  (into ${debs})`);
  if (!aptDownload(wanted, debs)) {
    // An image whose apt lists were never fetched knows no packages at all; one refresh of the
    // lists (not an install) is what the environment notes prescribe.
    log('faiss peer: download failed; running apt-get update once and retrying');
    spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!aptDownload(wanted, debs)) {
      fs.rmSync(PEER_DIR, { recursive: true, force: true });
      throw new PeerError(
        `apt-get could not download ${wanted.join(', ')} (see its message above). The faiss ` +
          `peer needs Debian's package repository (bookworm: python3-faiss 1.7.3); run ` +
          `'apt-get update' as root and try again, or pass --no-faiss to benchmark tfjs alone.`,
      );
    }
  }

  unpackDebs(debs, root, (deb) => log(`faiss peer: dpkg-deb -x ${deb}`));
  fs.writeFileSync(marker, JSON.stringify({ packages: wanted, at: new Date().toISOString() }));
  log(`faiss peer: unpacked into ${root}`);
}
