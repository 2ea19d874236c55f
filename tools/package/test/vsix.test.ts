import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkVsix } from '../checkVsix';
import { TARGETS, vsixName } from '../targets';
import { zipEntries } from '../zipEntries';

/**
 * The .vsix files `npm run package` wrote (run it first; `npm run test:package` does not build).
 * Each must hold only its platform's native files, and all of them (dawn.node from webgpu's dist
 * folder for the target, no other platform's folder); the one for this machine must also load its
 * natives as the installed extension's runner does.
 */
const root = path.resolve(__dirname, '..', '..', '..');
const host = `${process.platform}-${process.arch}`;

describe('per-platform .vsix archives', () => {
  for (const target of TARGETS) {
    const file = path.join(root, vsixName(target));

    it(`${vsixName(target)}: every native file is built for ${target.id}, none is missing`, function () {
      if (!fs.existsSync(file)) {
        console.log(
          `      ${vsixName(target)} not found: run npm run package -- --target ${target.id}`,
        );
        this.skip();
      }
      const report = checkVsix(file, target);
      assert.deepEqual(report.problems, []);
      assert.ok(report.natives.length >= target.required.length);
      const names = zipEntries(fs.readFileSync(file)).map((e) => e.name);
      // No install-script helpers, no dev tools, no other platform's package folders.
      for (const unwanted of ['adm-zip', 'global-agent', 'typescript', '@tensorflow']) {
        assert.ok(!names.some((n) => n.includes(`node_modules/${unwanted}/`)), unwanted);
      }
      const other = TARGETS.filter((t) => t.id !== target.id).map((t) => `sharp-${t.id}/`);
      assert.deepEqual(
        names.filter((n) => other.some((o) => n.includes(o))),
        [],
      );
      if (!target.onnxFiles) {
        assert.ok(!names.some((n) => n.includes('node_modules/onnxruntime-node/')));
      }
      // webgpu: the target's dist folder only, and of the rest just what index.js loads.
      const webgpu = 'extension/node_modules/webgpu/';
      assert.deepEqual(
        names
          .filter(
            (n) => n.startsWith(webgpu) && !n.startsWith(`${webgpu}dist/${target.webgpuDist}/`),
          )
          .sort(),
        ['LICENSE.md', 'index.js', 'package.json'].map((f) => webgpu + f),
      );
      const dawn = `${webgpu}dist/${target.webgpuDist}/dawn.node`;
      assert.ok(
        report.natives.some((n) => n.name === dawn),
        dawn,
      );
    });
  }

  it('the check catches a .vsix of another platform and a missing native file', function () {
    const [x64, arm64] = [TARGETS[0]!, TARGETS[1]!];
    const file = path.join(root, vsixName(arm64));
    if (!fs.existsSync(file)) this.skip();
    const problems = checkVsix(file, x64).problems.join('\n');
    assert.match(problems, /libonnxruntime\.so\.1 is built for linux-arm64, not linux-x64/);
    assert.match(problems, /missing: .*sharp-linux-x64/);
    assert.match(
      problems,
      /webgpu\/dist\/linux-arm64\/dawn\.node is built for linux-arm64, not linux-x64/,
    );
    assert.match(problems, /missing: .*webgpu\\\/dist\\\/linux-x64\\\/dawn/);
    assert.match(problems, /node_modules\/webgpu\/dist\/linux-arm64\/ is not linux-x64's/);
    assert.match(problems, /TargetPlatform="linux-x64"/);
  });

  it(`the ${host} .vsix loads sharp, onnxruntime-node and webgpu from its own node_modules`, function () {
    const target = TARGETS.find((t) => t.id === host);
    const file = target && path.join(root, vsixName(target));
    if (!target || !file || !fs.existsSync(file)) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-vsix-'));
    try {
      for (const entry of zipEntries(fs.readFileSync(file))) {
        if (!entry.name.startsWith('extension/node_modules/')) continue;
        const out = path.join(dir, entry.name);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, entry.read());
      }
      const ext = path.join(dir, 'extension');
      // From dist/, where the runner's bundle resolves its external packages: up to node_modules.
      // webgpu is ESM, imported as webgpuBackend.ts does; create() is not called (no GPU here).
      const probe = path.join(ext, 'dist', 'vsix-probe.cjs');
      fs.mkdirSync(path.dirname(probe), { recursive: true });
      fs.writeFileSync(
        probe,
        `const sharp = require('sharp');
        const ort = require('onnxruntime-node');
        import('webgpu').then((dawn) => console.log(typeof sharp, typeof ort.InferenceSession.create,
          Object.keys(sharp.versions).length > 0, typeof dawn.create, typeof dawn.globals.GPUDevice));`,
      );
      const out = execFileSync(process.execPath, [probe], { cwd: dir, encoding: 'utf8' });
      assert.equal(out.trim(), 'function function true function function');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
