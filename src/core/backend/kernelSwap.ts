import * as tf from '@tensorflow/tfjs-core';

type KernelParams = Parameters<tf.KernelFunc>[0];

/**
 * Kernels of ours in place of a backend's stock ones, reversibly. The kernel each replacement
 * displaced is kept: the replacement hands it the cases it does not handle, its setup still
 * runs (a stock wasm kernel binds its C++ function there, and the engine only sets up
 * registered kernels), and `restore` puts it back for before/after comparisons. Only the first
 * kernel displaced counts as the stock one: a later one (a bench's timing wrapper around ours)
 * would call back into ours as the fallback.
 */
export class KernelSwap {
  private readonly stock = new Map<string, tf.KernelConfig>();
  readonly configs: readonly tf.KernelConfig[];

  /** `replacements` as kernel name → function, all for `backendName`. */
  constructor(
    private readonly backendName: string,
    replacements: ReadonlyArray<
      [string, (params: KernelParams) => tf.TensorInfo | tf.TensorInfo[]]
    >,
  ) {
    this.configs = replacements.map(([kernelName, kernelFunc]): tf.KernelConfig => ({
      kernelName,
      backendName,
      kernelFunc: kernelFunc as tf.KernelFunc,
      setupFunc: (backend) => this.stock.get(kernelName)?.setupFunc?.(backend),
    }));
  }

  /** Registers every replacement; safe to call repeatedly. */
  install(): void {
    for (const c of this.configs) {
      const current = tf.getKernel(c.kernelName, this.backendName);
      if (current === undefined || current.kernelFunc === c.kernelFunc) continue;
      if (!this.stock.has(c.kernelName)) this.stock.set(c.kernelName, current);
      tf.unregisterKernel(c.kernelName, this.backendName);
      tf.registerKernel(c);
    }
  }

  /** Puts the stock kernels back. */
  restore(): void {
    for (const c of this.configs) {
      const current = tf.getKernel(c.kernelName, this.backendName);
      const original = this.stock.get(c.kernelName);
      if (current?.kernelFunc !== c.kernelFunc || original === undefined) continue;
      tf.unregisterKernel(c.kernelName, this.backendName);
      tf.registerKernel(original);
    }
  }

  /** Runs the stock kernel `name` displaced (a case the replacement leaves to it). */
  runStock(name: string, params: KernelParams): tf.TensorInfo {
    const kernel = this.stock.get(name);
    if (kernel === undefined) {
      throw new Error(`${name} (${this.backendName}): the stock kernel is missing`);
    }
    return kernel.kernelFunc(params) as tf.TensorInfo;
  }
}
