/**
 * OpenBLAS core-type settings for the Debian peers (faiss, PyTorch). Debian's OpenBLAS 0.3.21
 * predates some CPUs (here Zen 5) and falls back to Haswell kernels, and this workplace presets
 * OPENBLAS_CORETYPE=Haswell on some machines, so the peers are measured under each core type asked
 * for and the benchmarks compare tfjs with the fastest (shared/notes/tfjs-backends.md):
 *   env    OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as inherited from this shell, i.e. what the peer
 *          gets when simply run here;
 *   auto   both unset: OpenBLAS's own CPU detection;
 *   NAME   OPENBLAS_CORETYPE=NAME (e.g. Haswell, SkylakeX), OPENBLAS_L2_SIZE unset.
 * The peers report the core OpenBLAS actually chose (openblas_get_corename).
 */
import * as fs from 'node:fs';

/** Core types whose kernels need AVX-512, which OpenBLAS does not check when forced. */
const AVX512_CORES = new Set(['skylakex', 'cooperlake', 'sapphirerapids']);

/** The wanted core types this CPU can run (an AVX-512 kernel on a CPU without it dies). */
export function usableCoretypes(wanted: string[], log: (line: string) => void): string[] {
  let flags = '';
  try {
    flags = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // No /proc (not Linux): the Debian peers can't run there anyway.
  }
  const avx512 = /\bavx512f\b/.test(flags);
  return wanted.filter((c) => {
    const ok = avx512 || !AVX512_CORES.has(c.toLowerCase());
    if (!ok) log(`skipping OpenBLAS core type ${c}: this CPU has no AVX-512`);
    return ok;
  });
}

/**
 * A peer child's environment for one core type: the peer's own variables, OpenMP threads that
 * sleep when idle (OMP_WAIT_POLICY=PASSIVE; spinning OpenMP and OpenBLAS threads fight over a
 * 2-core machine), thread counts left to the peer, and the core type.
 */
export function peerChildEnv(peerEnv: Record<string, string>, coretype: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...peerEnv, OMP_WAIT_POLICY: 'PASSIVE' };
  delete env.OMP_NUM_THREADS;
  delete env.OPENBLAS_NUM_THREADS;
  if (coretype !== 'env') {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    if (coretype !== 'auto') env.OPENBLAS_CORETYPE = coretype;
  }
  return env;
}

/** "SkylakeX", or "env → Haswell" when the requested setting names a different core. */
export function coreLabel(requested: string, chosen: string): string {
  return requested === chosen ? requested : `${requested} → ${chosen}`;
}
