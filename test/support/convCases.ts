import type * as tf from '@tensorflow/tfjs-core';
import {
  convGradGeometry,
  type ConvGeometry,
  type Shape4,
} from '../../src/core/backend/convGeometry';

// The conv geometries both native conv kernel tests run (wasmFilterGrad, wasmConvForward): every
// padding mode, strides 1–2 per axis, odd sizes, a kernel as large as the input, and channel
// counts off the kernels' 4 × 8 register tiles. Each test adds the cases its own kernel's tiling
// needs.

export type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

export interface ConvCase {
  name: string;
  x: Shape4;
  /** [KH, KW, Ci, Co]; Ci must be x's channels. */
  filter: Shape4;
  strides: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const CONV_CASES: readonly ConvCase[] = [
  { name: 'DCGAN D k4 s2 same', x: [3, 8, 8, 16], filter: [4, 4, 16, 32], strides: 2, pad: 'same' },
  {
    name: 'Ci 3 (D input, G output layer)',
    x: [2, 16, 16, 3],
    filter: [4, 4, 3, 16],
    strides: 2,
    pad: 'same',
  },
  { name: 'k4 s2 pad 1, batch 1', x: [1, 9, 7, 5], filter: [4, 4, 5, 13], strides: 2, pad: 1 },
  { name: 'k3 s1 same, odd', x: [3, 7, 5, 6], filter: [3, 3, 6, 9], strides: 1, pad: 'same' },
  { name: 'k3 s1 valid', x: [5, 9, 6, 7], filter: [3, 3, 7, 11], strides: 1, pad: 'valid' },
  {
    name: 'k3 s2 valid, odd input',
    x: [3, 11, 9, 5],
    filter: [3, 3, 5, 6],
    strides: 2,
    pad: 'valid',
  },
  {
    name: 'k4 s2 same, odd input',
    x: [1, 9, 11, 2],
    filter: [4, 4, 2, 7],
    strides: 2,
    pad: 'same',
  },
  {
    name: 'k2×3 strides [1, 2] same',
    x: [3, 6, 9, 9],
    filter: [2, 3, 9, 5],
    strides: [1, 2],
    pad: 'same',
  },
  {
    name: 'explicit uneven padding',
    x: [2, 7, 6, 4],
    filter: [3, 2, 4, 12],
    strides: [2, 1],
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  },
  {
    name: 'pad 2 with ceil rounding',
    x: [3, 8, 7, 3],
    filter: [3, 3, 3, 4],
    strides: 2,
    pad: 2,
    dimRoundingMode: 'ceil',
  },
  { name: '1×1, Ci 1, Co 1', x: [5, 4, 3, 1], filter: [1, 1, 1, 1], strides: 1, pad: 'valid' },
  {
    name: 'kernel as large as the input',
    x: [3, 5, 5, 4],
    filter: [5, 5, 4, 3],
    strides: 1,
    pad: 'valid',
  },
];

/** The forward conv's geometry for a case, resolved as tfjs resolves it. */
export function geometryOf(c: ConvCase): ConvGeometry {
  return convGradGeometry(
    c.x,
    c.filter,
    {
      strides: c.strides,
      pad: c.pad as never,
      dataFormat: 'NHWC',
      dimRoundingMode: c.dimRoundingMode,
    },
    'test',
  );
}
