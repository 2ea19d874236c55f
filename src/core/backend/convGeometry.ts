import * as tf from '@tensorflow/tfjs-core';

export type Shape4 = [number, number, number, number];

/** The geometry of a forward conv x → y, in the terms both gradient kernels need. */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  padTop: number;
  padLeft: number;
}

export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: tf.Conv2DBackpropFilterAttrs['pad'];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Resolves strides and padding the way tfjs does for the forward conv, so the replacement
 * kernels agree with the stock ones on every padding mode. `kernel` names the caller in errors.
 */
export function convGradGeometry(
  xShape: Shape4,
  filterShape: Shape4,
  attrs: ConvGradAttrs,
  kernel: string,
): ConvGeometry {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} supports NHWC only, got ${attrs.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}
