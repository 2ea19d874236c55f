import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describeAdapter,
  isSoftwareAdapter,
  missingVulkanHint,
} from '../../src/core/backend/webgpuBackend';
import type { KernelCheckReport } from '../webgpu/kernelCheck';
import { softwareGpuEnv } from '../support/softwareGpu';

const ROOT = path.resolve(__dirname, '../..');
/** webgpu against wasm, relative to 1 + |wasm|: float32 reductions in another order. */
const KERNEL_TOLERANCE = 1e-4;
/** Two whole steps compound the kernels' rounding through Adam. */
const STEP_TOLERANCE = 2e-3;

describe('webgpu backend', function () {
  it('tells software adapters from GPUs', () => {
    const lavapipe = {
      vendor: 'mesa',
      architecture: '',
      description: 'llvmpipe (LLVM 15.0.6, 256 bits)',
    };
    assert.ok(isSoftwareAdapter(lavapipe));
    assert.ok(
      isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: '' }),
    );
    const h100 = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' };
    assert.ok(!isSoftwareAdapter(h100));
    assert.ok(isSoftwareAdapter(h100, true), 'a fallback adapter is software');
    assert.equal(describeAdapter(h100), 'nvidia · hopper · NVIDIA H100 80GB HBM3');
  });

  it('names what is missing when there is no adapter', function () {
    if (process.platform !== 'linux') this.skip();
    assert.match(
      missingVulkanHint({ NVIDIA_DRIVER_CAPABILITIES: 'compute,utility' }),
      /NVIDIA_DRIVER_CAPABILITIES is 'compute,utility', which lacks 'graphics'/,
    );
    assert.match(missingVulkanHint({}), /Vulkan loader \(libvulkan\.so\.1\)/);
    assert.match(missingVulkanHint({ NVIDIA_DRIVER_CAPABILITIES: 'all' }), /Vulkan loader/);
  });

  describe('on a software GPU (lavapipe), against wasm', function () {
    const gpu = softwareGpuEnv();
    let report: KernelCheckReport;

    before(function () {
      if ('skip' in gpu) {
        console.log(`      webgpu: skipped, ${gpu.skip}`);
        this.skip();
      }
      this.timeout(20 * 60_000);
      const child = spawnSync(
        process.execPath,
        ['-r', 'tsx/cjs', path.join(ROOT, 'test/webgpu/kernelCheck.ts')],
        { env: gpu.env, cwd: ROOT, encoding: 'utf8', timeout: 20 * 60_000 },
      );
      assert.equal(child.status, 0, `kernel check failed: ${child.stderr}`);
      report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as KernelCheckReport;
    });

    it('runs on the software adapter, reported as such', () => {
      assert.ok(report.adapter, 'no adapter reported');
      assert.ok(report.adapter.software, JSON.stringify(report.adapter));
    });

    it(`every kernel of a training step matches wasm within ${KERNEL_TOLERANCE}`, () => {
      const kernels = Object.entries(report.errors).filter(
        ([k]) => !k.startsWith('cgan') && !k.startsWith('icgan'),
      );
      assert.ok(kernels.length >= 10);
      for (const [k, err] of kernels) assert.ok(err < KERNEL_TOLERANCE, `${k}: ${err}`);
    });

    it(`two cgan and icgan steps match wasm within ${STEP_TOLERANCE}, tensors flat`, () => {
      for (const type of ['cgan', 'icgan']) {
        for (const k of [`${type}.losses`, `${type}.weights`]) {
          const err = report.errors[k];
          assert.ok(err !== undefined && err < STEP_TOLERANCE, `${k}: ${err}`);
        }
        assert.equal(report.leaks[type], 0, `${type} leaked tensors`);
      }
    });

    // The CLI end to end on the forced backend: the run records the software adapter and D learns
    // (its loss falls from chance, ln 4 ≈ 1.39, as it does on wasm: 1.32 → 0.76 over 50 steps).
    for (const type of ['cgan', 'icgan'] as const) {
      it(`icgan train --backend webgpu: a tiny ${type} trains and records its adapter`, function () {
        this.timeout(10 * 60_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-webgpu-'));
        try {
          const config = path.join(dir, `${type}.icgan.json`);
          fs.writeFileSync(
            config,
            JSON.stringify({
              seed: 2,
              data: { source: 'shapes', count: 256, resolution: 16 },
              model: { type, zDim: 16, gWidth: 8, dWidth: 8, embedDim: 8 },
              training: { steps: 30, batchSize: 16, logEvery: 1 },
              samples: { every: 30, count: 16 },
              checkpoints: { every: 30, keep: 1 },
              ...(type === 'icgan'
                ? {
                    instances: {
                      k: 3,
                      representatives: 3,
                      galleryEvery: 30,
                      gallerySamples: 3,
                      features: { kind: 'pixels', pcaDim: 16 },
                    },
                  }
                : {}),
              runsDir: path.join(dir, 'runs'),
            }),
          );
          const child = spawnSync(
            process.execPath,
            [path.join(ROOT, 'dist/cli.js'), 'train', config, '--backend', 'webgpu'],
            { env: 'env' in gpu ? gpu.env : {}, cwd: dir, encoding: 'utf8', timeout: 10 * 60_000 },
          );
          assert.equal(child.status, 0, child.stderr);
          const run = fs.readdirSync(path.join(dir, 'runs')).find((n) => n.startsWith(type));
          const events = fs
            .readFileSync(path.join(dir, 'runs', run ?? '', 'events.jsonl'), 'utf8')
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as Record<string, unknown>);
          const started = events.find((e) => e.type === 'run-started') as {
            backend: { name: string; adapter?: { software: boolean } };
          };
          assert.equal(started.backend.name, 'webgpu');
          assert.equal(started.backend.adapter?.software, true);
          const d = events.filter((e) => e.type === 'step').map((e) => e.dLoss as number);
          assert.equal(d.length, 30);
          const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
          assert.ok(
            mean(d.slice(-5)) < mean(d.slice(0, 5)) - 0.1,
            `D loss did not fall: ${d.map((x) => x.toFixed(2)).join(' ')}`,
          );
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
});
