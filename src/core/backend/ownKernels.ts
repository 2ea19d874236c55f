import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels of our own names for one backend (IcganAdamUpdate, IcganBatchNorm, …): no stock kernel
 * to displace, unlike {@link KernelSwap}'s replacements. The ops that use them look them up with
 * tf.getKernel and run their composite tfjs ops where they are not registered, so removing them
 * is how benches and tests compare the two.
 */
export class OwnKernels {
  constructor(
    private readonly backend: string,
    private readonly kernels: readonly (readonly [string, tf.KernelFunc])[],
  ) {}

  /** Registers every kernel not yet registered. Safe to call repeatedly. */
  register(): void {
    for (const [kernelName, kernelFunc] of this.kernels) {
      if (tf.getKernel(kernelName, this.backend) === undefined) {
        tf.registerKernel({ kernelName, backendName: this.backend, kernelFunc });
      }
    }
  }

  /** Removes every registered one. */
  unregister(): void {
    for (const [kernelName] of this.kernels) {
      if (tf.getKernel(kernelName, this.backend) !== undefined) {
        tf.unregisterKernel(kernelName, this.backend);
      }
    }
  }
}

/**
 * Input `name` of a call to one of our kernels, checked to be float32 and, given `size`, to have
 * that many elements: the ops that call these kernels guarantee both, so a failure is their bug.
 */
export function float32Input(
  kernel: string,
  params: Parameters<tf.KernelFunc>[0],
  name: string,
  size?: number,
): tf.TensorInfo {
  const t = params.inputs[name];
  if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  if (t.dtype !== 'float32') throw new Error(`${kernel}: '${name}' is ${t.dtype}, not float32`);
  if (size !== undefined && tf.util.sizeFromShape(t.shape) !== size) {
    throw new Error(`${kernel}: '${name}' [${t.shape}] does not have ${size} elements`);
  }
  return t;
}
