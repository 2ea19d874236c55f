// The contrastive encoder's crop (src/core/features/augment.ts) as one wasm kernel: tfjs-wasm's
// MirrorPad and CropAndResize are single-threaded scalar loops, and the padded copy is written
// only to be read back. native/icganKernels.c crop_resize_reflect samples the padding in place,
// threaded over the output rows, with TensorFlow's float32 bilinear arithmetic: the same values
// as those two kernels, bit for bit.
//
// A kernel of our own name (CROP_RESIZE_REFLECT), used where registered.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { CROP_RESIZE_REFLECT, type CropResizeReflectAttrs } from '../features/augment';
import { heapOffset, NativeKernels } from './wasmNativeKernels';
import { float32Input, OwnKernels } from './ownKernels';

type Info = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

function cropResizeReflect(params: KernelParams): Info {
  const image = float32Input(CROP_RESIZE_REFLECT, params, 'image');
  const { padY, padX, cropHeight, cropWidth } = params.attrs as unknown as CropResizeReflectAttrs;
  if (image.shape.length !== 4) {
    throw new Error(
      `${CROP_RESIZE_REFLECT}: 'image' [${image.shape}] is not an [n, h, w, c] batch`,
    );
  }
  const [n, h, w, c] = image.shape as [number, number, number, number];
  const boxes = float32Input(CROP_RESIZE_REFLECT, params, 'boxes', 4 * n);
  if (cropHeight < 2 || cropWidth < 2 || padY > h || padX > w) {
    throw new Error(
      `${CROP_RESIZE_REFLECT}: crop ${cropHeight}×${cropWidth}, pad ${padY}/${padX} unsupported`,
    );
  }
  const backend = params.backend as BackendWasm;
  const out = backend.makeOutput([n, cropHeight, cropWidth, c], 'float32');
  const at = (t: Info) => heapOffset(backend, t);
  NativeKernels.for(backend).run(
    'crop_resize_reflect',
    [at(image), at(boxes), at(out), n, h, w, c, padY, padX, cropHeight, cropWidth],
    n * cropHeight * cropWidth * c * 8,
  );
  return out;
}

const kernels = new OwnKernels(BACKEND, [
  [CROP_RESIZE_REFLECT, cropResizeReflect as tf.KernelFunc],
]);

/** Registers the kernel for 'wasm'. Safe to call repeatedly. */
export function registerWasmAugmentKernels(): void {
  kernels.register();
}

/** Removes it, so that the crop runs MirrorPad and CropAndResize (for comparisons). */
export function unregisterWasmAugmentKernels(): void {
  kernels.unregister();
}
