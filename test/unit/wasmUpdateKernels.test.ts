import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import {
  registerWasmElementwiseKernels,
  unregisterWasmElementwiseKernels,
} from '../../src/core/backend/wasmElementwiseKernels';
import {
  registerWasmUpdateKernels,
  unregisterWasmUpdateKernels,
} from '../../src/core/backend/wasmUpdateKernels';
import type { TensorMap, VariableMap } from '../../src/core/models/paramStore';
import { ADAM_UPDATE, Adam, type AdamState } from '../../src/core/train/adam';
import { EMA_UPDATE, emaDecayAt, updateEma } from '../../src/core/train/ema';
import { liveTensors } from '../support/fixedTensor';
import { threaded } from '../support/kernelChecks';

// The fused Adam and EMA updates (native/icganKernels.c through wasmUpdateKernels.ts) against
// the composite tfjs ops adam.ts and ema.ts run without them: bit-identical, on the calling
// thread alone and split over every thread, with our element-wise kernels and with the stock
// ones, and against the cpu backend's composite path. Run the file with ICGAN_WASM_THREADS=1 too
// for tfjs-wasm's single-threaded build (the default is the threaded one on a multi-core host).

/** Fixed values spanning magnitudes 1 to 1e-9, so ε matters for some and not for others. */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (2 * (s / 2 ** 32) - 1) * 10 ** -(i % 10);
  }
  if (size > 7) out[7] = 0;
  return out;
}

/** A variable of this name per shape, initialised the same for the same seed. */
function params(shapes: number[][], seed: number): VariableMap {
  return new Map(
    shapes.map((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return [
        `p${i}`,
        tf.tidy(() => tf.variable(tf.tensor(values(size, seed + i), shape))),
      ] as const;
    }),
  );
}

function gradients(ps: VariableMap, step: number): TensorMap {
  return new Map(
    [...ps].map(([name, p], i) => [name, tf.tensor(values(p.size, 1000 * step + i), p.shape)]),
  );
}

function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
}

function assertSameBits(actual: VariableMap, expected: VariableMap, what: string): void {
  for (const [name, e] of expected) {
    const a = actual.get(name) as tf.Variable;
    const [x, y] = [bits(a), bits(e)];
    const i = x.findIndex((b, j) => b !== y[j]);
    assert.ok(
      i < 0,
      `${what} '${name}'[${i}]: ${a.dataSync()[i]} vs ${e.dataSync()[i]} (composite)`,
    );
  }
}

/** The optimiser's moments as variables keyed like its parameters. */
function moments(opt: Adam, which: 'm' | 'v'): VariableMap {
  return opt.getState()[which] as VariableMap;
}

function composite<T>(f: () => T): T {
  unregisterWasmUpdateKernels();
  try {
    return f();
  } finally {
    registerWasmUpdateKernels();
  }
}

interface Run {
  ps: VariableMap;
  opt: Adam;
}

const SIZES = [1, 3, 17, 1000, 65537];
const SETTINGS = { learningRate: 2e-4, beta2: 0.999 };

describe('wasm fused parameter updates (wasmUpdateKernels)', function () {
  before(async function () {
    await initBackend('wasm');
    await tf.setBackend('wasm');
  });

  it('are registered for wasm only', function () {
    for (const name of [ADAM_UPDATE, EMA_UPDATE]) {
      assert.ok(tf.getKernel(name, 'wasm'), `${name} on wasm`);
      assert.equal(tf.getKernel(name, 'cpu'), undefined, `${name} on cpu`);
    }
  });

  for (const size of SIZES) {
    for (const beta1 of [0, 0.5]) {
      for (const lrScale of [1, 0.3]) {
        it(`Adam [${size}] β1 ${beta1} lrScale ${lrScale}, t = 1…5: bit-identical to the composite ops`, function () {
          this.timeout(120_000);
          const before = liveTensors();
          const shapes = [[size], [3, 1, 2, 5]];
          const settings = { ...SETTINGS, beta1 };
          // Fused on one thread, fused split over all, composite with our element-wise kernels,
          // composite with tfjs-wasm's own.
          const [single, split, ours, stock] = [0, 1, 2, 3].map(() => {
            const ps = params(shapes, 1);
            return { ps, opt: new Adam(ps, settings) };
          }) as [Run, Run, Run, Run];
          for (let t = 1; t <= 5; t++) {
            const grads = gradients(ours.ps, t);
            threaded(Infinity, () => single.opt.apply(grads, lrScale));
            threaded(0, () => split.opt.apply(grads, lrScale));
            composite(() => ours.opt.apply(grads, lrScale));
            unregisterWasmElementwiseKernels();
            try {
              composite(() => stock.opt.apply(grads, lrScale));
            } finally {
              registerWasmElementwiseKernels();
            }
            tf.dispose([...grads.values()]);
            for (const [what, run] of [
              ['one thread', single],
              ['all threads', split],
              ['stock element-wise', stock],
            ] as const) {
              const where = `step ${t}, ${what}:`;
              assertSameBits(run.ps, ours.ps, `${where} p`);
              assertSameBits(moments(run.opt, 'm'), moments(ours.opt, 'm'), `${where} m`);
              assertSameBits(moments(run.opt, 'v'), moments(ours.opt, 'v'), `${where} v`);
            }
          }
          for (const { ps, opt } of [single, split, ours, stock]) {
            opt.dispose();
            tf.dispose([...ps.values()]);
          }
          assert.equal(liveTensors(), before, 'no leaked tensors');
        });
      }
    }
  }

  it('Adam and the EMA run one kernel per parameter; numTensors stays flat', async function () {
    const ps = params([[1000], [17]], 3);
    const ema = params([[1000], [17]], 4);
    const opt = new Adam(ps, { ...SETTINGS, beta1: 0.5 });
    const grads = gradients(ps, 1);
    const update = () => {
      opt.apply(grads, 0.3);
      updateEma(ema, ps, 0.9);
    };
    const kernels = async () => (await tf.profile(update)).kernels.map((k) => k.name);
    assert.deepEqual(await kernels(), [ADAM_UPDATE, ADAM_UPDATE, EMA_UPDATE, EMA_UPDATE]);
    // The composite path for comparison: a dozen ops per parameter.
    unregisterWasmUpdateKernels();
    try {
      assert.ok((await kernels()).length > 20);
    } finally {
      registerWasmUpdateKernels();
    }
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 10; i++) update();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), dataIds);
    opt.dispose();
    tf.dispose([...ps.values(), ...ema.values(), ...grads.values()]);
  });

  it('Adam: a state saved, read out and restored continues bit-identically, fused or composite', function () {
    const before = liveTensors();
    const shapes = [[1000], [4, 5]];
    const settings = { ...SETTINGS, beta1: 0.5 };
    const ps = params(shapes, 5);
    const opt = new Adam(ps, settings);
    for (let t = 1; t <= 3; t++) {
      const grads = gradients(ps, t);
      opt.apply(grads);
      tf.dispose([...grads.values()]);
    }
    // As a checkpoint stores it: plain arrays, read back as new tensors.
    const state = opt.getState();
    const saved = (map: Map<string, tf.Tensor>) =>
      new Map([...map].map(([k, t]) => [k, { data: t.dataSync().slice(), shape: t.shape }]));
    const [m, v] = [saved(state.m), saved(state.v)];
    const restored = (fused: boolean) => {
      const copy: VariableMap = new Map(
        [...ps].map(([k, p]) => [k, tf.tidy(() => tf.variable(p.clone()))]),
      );
      const o = new Adam(copy, settings);
      const s: AdamState = {
        iterations: state.iterations,
        m: new Map([...m].map(([k, x]) => [k, tf.tensor(x.data, x.shape)])),
        v: new Map([...v].map(([k, x]) => [k, tf.tensor(x.data, x.shape)])),
      };
      o.setState(s);
      tf.dispose([...s.m.values(), ...s.v.values()]);
      return { ps: copy, opt: o, fused };
    };
    const runs = [restored(true), restored(false)];
    for (let t = 4; t <= 5; t++) {
      const grads = gradients(ps, t);
      opt.apply(grads);
      for (const r of runs)
        (r.fused ? (f: () => void) => f() : composite)(() => r.opt.apply(grads));
      tf.dispose([...grads.values()]);
    }
    for (const r of runs) {
      const what = r.fused ? 'fused' : 'composite';
      assert.equal(r.opt.getState().iterations, 5);
      assertSameBits(r.ps, ps, `${what} p`);
      assertSameBits(moments(r.opt, 'm'), moments(opt, 'm'), `${what} m`);
      assertSameBits(moments(r.opt, 'v'), moments(opt, 'v'), `${what} v`);
      r.opt.dispose();
      tf.dispose([...r.ps.values()]);
    }
    opt.dispose();
    tf.dispose([...ps.values()]);
    assert.equal(liveTensors(), before, 'no leaked tensors');
  });

  it("Adam on the cpu backend runs the composite ops and gives the fused kernel's bits", async function () {
    const shapes = [[1000], [3, 7]];
    const settings = { ...SETTINGS, beta1: 0.5 };
    const run = () => {
      const ps = params(shapes, 9);
      const opt = new Adam(ps, settings);
      for (let t = 1; t <= 3; t++) {
        const grads = gradients(ps, t);
        opt.apply(grads, 0.3);
        tf.dispose([...grads.values()]);
      }
      const out = new Map([...ps].map(([k, p]) => [k, bits(p)]));
      opt.dispose();
      tf.dispose([...ps.values()]);
      return out;
    };
    const wasm = run();
    await tf.setBackend('cpu');
    let cpu: Map<string, number[]>;
    try {
      cpu = run();
    } finally {
      await tf.setBackend('wasm');
    }
    assert.deepEqual(cpu, wasm);
  });

  for (const size of SIZES) {
    it(`EMA [${size}]: bit-identical to the composite ops`, function () {
      const before = liveTensors();
      const shapes = [[size], [2, 3, 3]];
      const source = params(shapes, 11);
      const [single, split, ours] = [0, 1, 2].map(() => params(shapes, 12));
      for (const [t, decay] of [0, 1, 50, 5000].map((t) => [t, emaDecayAt(0.999, t)])) {
        threaded(Infinity, () => updateEma(single!, source, decay!));
        threaded(0, () => updateEma(split!, source, decay!));
        composite(() => updateEma(ours!, source, decay!));
        assertSameBits(single!, ours!, `t ${t}, one thread`);
        assertSameBits(split!, ours!, `t ${t}, all threads`);
      }
      tf.dispose([single, split, ours, source].flatMap((m) => [...m!.values()]));
      assert.equal(liveTensors(), before, 'no leaked tensors');
    });
  }
});
