/**
 * Unpacking Debian packages into a private tree — `apt-get download` + `dpkg-deb -x` — and the
 * environment that makes a child process use it (shared/notes/tfjs-backends.md). The faiss and
 * PyTorch peers are both built this way; nothing is installed into the system.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A setup failure the benchmark reports as one message, without a stack. */
export class PeerError extends Error {}

/** Fails with a clear message when a tool the unpacking needs is missing. */
export function requireDebianTools(peer: string): void {
  for (const tool of ['apt-get', 'dpkg-deb', 'dpkg-query']) {
    if (spawnSync('which', [tool]).status !== 0) {
      throw new PeerError(`'${tool}' not found: the ${peer} peer is unpacked from Debian packages`);
    }
  }
}

/** `apt-get download` into `dir`; apt's own messages go to stderr (stdout too unless quiet). */
export function aptDownload(packages: string[], dir: string, quiet = false): boolean {
  // As root, apt hands the download to the unprivileged `_apt` user, which can't write into a
  // root-owned folder (it warns and falls back). Saying so up front keeps the log clean.
  const asRoot = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
  const r = spawnSync('apt-get', [...asRoot, ...(quiet ? ['-q'] : []), 'download', ...packages], {
    cwd: dir,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  return r.status === 0;
}

/** Extracts every .deb in `debs` into `root`; returns the archives' names. */
export function unpackDebs(debs: string, root: string, log?: (deb: string) => void): string[] {
  fs.mkdirSync(root, { recursive: true });
  const files = fs.readdirSync(debs).filter((f) => f.endsWith('.deb'));
  for (const deb of files) {
    log?.(deb);
    execFileSync('dpkg-deb', ['-x', path.join(debs, deb), root]);
  }
  return files;
}

export function dpkgInstalled(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/**
 * LD_LIBRARY_PATH: the openblas-pthread folder first, since Debian normally points libblas.so.3
 * there through update-alternatives, which an unpacked tree doesn't have; then the tree's library
 * folder (and, with `systemLibDirs`, its /lib/<multiarch> and /usr/lib, which the system searches
 * by default but an unpacked tree must name). PYTHONPATH comes before the system's dist-packages,
 * so the unpacked Python packages win even where others are installed.
 */
export function peerEnv(
  root: string,
  peerDir: string,
  systemLibDirs = false,
): Record<string, string> {
  const libRoot = path.join(root, 'usr', 'lib');
  const multiarch = fs
    .readdirSync(libRoot)
    .find((dir) => fs.existsSync(path.join(libRoot, dir, 'openblas-pthread')));
  if (multiarch === undefined) {
    throw new PeerError(`no openblas-pthread folder under ${libRoot}; delete ${peerDir}`);
  }
  const lib = path.join(libRoot, multiarch);
  const ld = [
    path.join(lib, 'openblas-pthread'),
    lib,
    ...(systemLibDirs ? [path.join(root, 'lib', multiarch), libRoot] : []),
    process.env.LD_LIBRARY_PATH,
  ]
    .filter((p): p is string => Boolean(p))
    .join(':');
  return {
    LD_LIBRARY_PATH: ld,
    PYTHONPATH: path.join(libRoot, 'python3', 'dist-packages'),
    PYTHONNOUSERSITE: '1',
  };
}
