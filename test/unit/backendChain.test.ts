import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/backendChain';
import { isUserError } from '../../src/core/errors';

function isInstalled(module: string): boolean {
  try {
    require.resolve(module);
    return true;
  } catch {
    return false;
  }
}

const nativeInstalled =
  isInstalled('@tensorflow/tfjs-node') || isInstalled('@tensorflow/tfjs-node-gpu');

describe('initBackend', function () {
  let found: string | undefined;

  before(function () {
    found = tf.getBackend();
  });

  after(async function () {
    if (found !== undefined) await tf.setBackend(found);
  });

  it('auto falls through the missing native packages to wasm', async function () {
    if (nativeInstalled) this.skip();
    const report = await initBackend('auto');
    assert.equal(report.name, 'wasm');
    assert.equal(report.tfBackend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      report.attempts.map((a) => [a.name, a.ok]),
      [
        ['tfjs-node-gpu', false],
        ['tfjs-node', false],
        ['webgpu', false],
        ['wasm', true],
      ],
    );
    // No Vulkan loader or only a software adapter here: auto skips webgpu and says why in one line.
    const webgpu = report.attempts[2]?.reason ?? '';
    assert.match(webgpu, /Vulkan|adapter|dawn\.node/);
    assert.doesNotMatch(webgpu, /\n/);
    for (const attempt of report.attempts.slice(0, 2)) {
      assert.match(attempt.reason ?? '', /^module not installed \(@tensorflow\/tfjs-node/);
      assert.doesNotMatch(attempt.reason ?? '', /\n/);
    }
    assert.equal(report.attempts[3]?.reason, undefined);
    assert.ok(report.threads >= 1);
    assert.equal(typeof report.simd, 'boolean');
  });

  it('throws a UserError naming a forced backend that cannot load', async function () {
    if (nativeInstalled) this.skip();
    await assert.rejects(initBackend('tfjs-node'), (err: unknown) => {
      assert.ok(isUserError(err));
      assert.match(err.message, /^backend 'tfjs-node' could not be loaded: module not installed/);
      return true;
    });
  });

  it('rejects an unknown backend name as a UserError', async function () {
    const bogus = 'webgl' as Parameters<typeof initBackend>[0];
    await assert.rejects(initBackend(bogus), (err: unknown) => {
      assert.ok(isUserError(err));
      assert.match(err.message, /unknown backend 'webgl'/);
      return true;
    });
  });

  it('forces cpu, and can go back to wasm', async function () {
    const cpu = await initBackend('cpu');
    assert.equal(cpu.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(
      cpu.attempts.map((a) => [a.name, a.ok]),
      [['cpu', true]],
    );
    assert.equal(cpu.simd, null);

    const wasm = await initBackend('wasm');
    assert.equal(wasm.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('can be called repeatedly', async function () {
    for (let i = 0; i < 3; i++) assert.equal((await initBackend('wasm')).name, 'wasm');
    const sum = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);
    assert.equal(sum, 6);
  });
});
