import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/core/backend/backendChain';
import { NativeKernels, setParallelMinElements } from '../../src/core/backend/wasmNativeKernels';

/**
 * Higham's γ_n = n·u / (1 − n·u) for float32 (u = 2⁻²⁴): the relative error bound of a sum of n
 * products, whatever the order, which is what a kernel's threads and SIMD lanes change.
 */
export function gamma(n: number): number {
  const nu = n * 2 ** -24;
  return nu / (1 - nu);
}

/** |actual − expected| ≤ bound · magnitude per element (magnitude: Σ|terms| of each result). */
export function assertWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  magnitude: Float64Array,
  bound: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number));
    const allowed = bound * (magnitude[i] as number);
    assert.ok(
      d <= allowed,
      `${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (|diff| ${d} > ${allowed})`,
    );
  }
}

/** Runs `f` on the calling thread alone and split over every thread; asserts the same bits. */
export function bothThreadings(f: () => tf.Tensor): tf.Tensor {
  const previous = setParallelMinElements(Infinity);
  let single: tf.Tensor;
  let split: tf.Tensor;
  try {
    single = f();
    setParallelMinElements(0);
    split = f();
  } finally {
    setParallelMinElements(previous);
  }
  assert.deepEqual(Array.from(split.dataSync()), Array.from(single.dataSync()), 'threads');
  split.dispose();
  return single;
}

/** Runs `f` with the pool woken from `parallelMin` elements (Infinity: the calling thread only). */
export function threaded<T>(parallelMin: number, f: () => T): T {
  const previous = setParallelMinElements(parallelMin);
  try {
    return f();
  } finally {
    setParallelMinElements(previous);
  }
}

/**
 * `f` on tfjs's cpu backend with copies of `tensors` (the reference the wasm kernel tests compare
 * with); its result's values, the wasm backend active again afterwards.
 */
export async function onCpuBackend(
  tensors: readonly tf.Tensor[],
  f: (copies: tf.Tensor[]) => tf.Tensor,
): Promise<Float32Array> {
  const values = tensors.map((t) => t.dataSync());
  await tf.setBackend('cpu');
  try {
    const copies = tensors.map((t, i) => tf.tensor(values[i] as tf.TypedArray, t.shape));
    const r = f(copies);
    const out = r.dataSync() as Float32Array;
    tf.dispose([...copies, r]);
    return out;
  } finally {
    await tf.setBackend('wasm');
  }
}

/**
 * Mocha hooks for a suite of wasm kernel tests: before it, the wasm backend initialised and
 * active and `setup` run (registering the kernels under test); after it, `teardown` and the
 * backend that was active before.
 */
export function onWasmBackend(
  setup: () => void = () => undefined,
  teardown = (): void => undefined,
): void {
  let found: string | undefined;
  before(async function () {
    found = tf.getBackend();
    await initBackend('wasm');
    await tf.setBackend('wasm');
    setup();
  });
  after(async function () {
    teardown();
    if (found !== undefined) await tf.setBackend(found);
  });
}

/**
 * The split checks compare one part with one per thread: vacuous with a single thread
 * (ICGAN_WASM_THREADS=1, or a 1-core machine), which this reports as a skipped test.
 */
export function itHasThreadsToSplitOver(): void {
  it('has two or more threads to split each call over', function () {
    if (NativeKernels.for(tf.backend() as BackendWasm).threads < 2) this.skip();
  });
}

/**
 * The kernels (names, one per call, tf.profile) that `f` runs with an own-kernel module registered
 * and with it removed; it is registered again afterwards.
 */
export async function kernelsWithAndWithout(
  module: { register(): void; unregister(): void },
  f: () => void,
): Promise<{ fused: string[]; composite: string[] }> {
  const names = async () => (await tf.profile(f)).kernels.map((k) => k.name);
  try {
    module.register();
    const fused = await names();
    module.unregister();
    return { fused, composite: await names() };
  } finally {
    module.register();
  }
}
