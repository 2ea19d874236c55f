import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { checkVsix } from '../../tools/package/checkVsix';
import { readNativeHeader } from '../../tools/package/nativeHeader';
import { pruneWebgpu } from '../../tools/package/stage';
import { findTarget, TARGETS, type Target } from '../../tools/package/targets';
import { zipEntries } from '../../tools/package/zipEntries';

const root = path.resolve(__dirname, '..', '..');

function elf(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeUInt16LE(machine, 0x12);
  return b;
}

function machO(cputype: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(0xfeedfacf, 0);
  b.writeUInt32LE(cputype, 4);
  return b;
}

function pe(machine: number): Buffer {
  const b = Buffer.alloc(256);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(machine, 0x84);
  return b;
}

describe('native file headers (packaging check)', () => {
  it('reads OS and CPU from ELF, Mach-O (thin and universal) and PE headers', () => {
    assert.deepEqual(readNativeHeader(elf(0x3e)), { format: 'elf', os: 'linux', cpus: ['x64'] });
    assert.deepEqual(readNativeHeader(elf(0xb7))?.cpus, ['arm64']);
    assert.deepEqual(readNativeHeader(elf(0x28))?.cpus, ['other']);
    assert.deepEqual(readNativeHeader(machO(0x0100000c)), {
      format: 'mach-o',
      os: 'darwin',
      cpus: ['arm64'],
    });
    assert.deepEqual(readNativeHeader(machO(0x01000007))?.cpus, ['x64']);
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(2, 4);
    fat.writeUInt32BE(0x01000007, 8);
    fat.writeUInt32BE(0x0100000c, 28);
    assert.deepEqual(readNativeHeader(fat)?.cpus, ['x64', 'arm64']);
    assert.deepEqual(readNativeHeader(pe(0x8664)), { format: 'pe', os: 'win32', cpus: ['x64'] });
    assert.deepEqual(readNativeHeader(pe(0xaa64))?.cpus, ['arm64']);
  });

  it('says null for JS, JSON, a Java class and an MZ file that is not PE', () => {
    assert.equal(readNativeHeader(Buffer.from('module.exports = {};'.padEnd(80))), null);
    const javaClass = Buffer.alloc(64);
    javaClass.writeUInt32BE(0xcafebabe, 0);
    javaClass.writeUInt32BE(0x00000034, 4);
    assert.equal(readNativeHeader(javaClass), null);
    const mz = pe(0x8664);
    mz.write('XX', 0x80, 'latin1');
    assert.equal(readNativeHeader(mz), null);
  });

  it("reads this machine's real binaries: sharp's libvips and onnxruntime-node's", function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
    const libvipsDir = path.join(root, 'node_modules/@img/sharp-libvips-linux-x64/lib');
    const libvips = fs.readdirSync(libvipsDir).find((f) => f.startsWith('libvips-cpp.so'))!;
    assert.deepEqual(readNativeHeader(head(path.join(libvipsDir, libvips)))?.cpus, ['x64']);
    const ortBin = path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6');
    assert.equal(
      readNativeHeader(head(path.join(ortBin, 'linux/arm64/libonnxruntime.so.1')))?.cpus[0],
      'arm64',
    );
    assert.deepEqual(readNativeHeader(head(path.join(ortBin, 'win32/x64/onnxruntime.dll'))), {
      format: 'pe',
      os: 'win32',
      cpus: ['x64'],
    });
    const dylib = path.join(ortBin, 'darwin/arm64/libonnxruntime.1.dylib');
    assert.deepEqual(readNativeHeader(head(dylib))?.cpus, ['arm64']);
  });
});

function head(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(4096);
  fs.readSync(fd, b, 0, b.length, 0);
  fs.closeSync(fd);
  return b;
}

describe("webgpu's dawn.node in the packaging tools", () => {
  const dawnEntry = (target: Target, file = 'dawn.node'): string =>
    `extension/node_modules/webgpu/dist/${target.webgpuDist}/${file}`;
  const manifest = (target: Target) => ({
    name: 'extension.vsixmanifest',
    data: Buffer.from(`<Identity TargetPlatform="${target.id}" />`),
    method: 8 as const,
  });
  const native = (name: string, bytes: Buffer) => ({ name, data: bytes, method: 8 as const });
  const fatMachO = (): Buffer => {
    const fat = Buffer.alloc(64);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(2, 4);
    fat.writeUInt32BE(0x01000007, 8);
    fat.writeUInt32BE(0x0100000c, 28);
    return fat;
  };
  const goodDawn = (target: Target) =>
    target.webgpuFiles.map((f) =>
      native(
        dawnEntry(target, f),
        target.os === 'darwin'
          ? fatMachO()
          : target.os === 'linux'
            ? elf(target.cpu === 'x64' ? 0x3e : 0xb7)
            : pe(target.cpu === 'x64' ? 0x8664 : 0xaa64),
      ),
    );
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-dawn-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The check's problems about webgpu for an archive of `files` (sharp and onnx are absent). */
  function webgpuProblems(target: Target, files: Parameters<typeof zipOf>[0]): string[] {
    const file = path.join(tmp, `${target.id}.vsix`);
    fs.writeFileSync(file, zipOf([manifest(target), ...files]));
    return checkVsix(file, target).problems.filter((p) => p.includes('webgpu'));
  }

  it('each target loads from the folder webgpu picks: darwin-universal for both Macs', () => {
    assert.deepEqual(Object.fromEntries(TARGETS.map((t) => [t.id, t.webgpuDist])), {
      'linux-x64': 'linux-x64',
      'linux-arm64': 'linux-arm64',
      'darwin-arm64': 'darwin-universal',
      'darwin-x64': 'darwin-universal',
      'win32-x64': 'win32-x64',
    });
    for (const target of TARGETS) {
      assert.ok(
        target.required.some((r) => r.test(dawnEntry(target))),
        target.id,
      );
    }
  });

  it("passes each target's own dawn.node, a universal Mach-O for both darwin targets", () => {
    for (const target of TARGETS) assert.deepEqual(webgpuProblems(target, goodDawn(target)), []);
  });

  it("fails a missing dawn.node, a missing Windows DLL, or another platform's", () => {
    const x64 = findTarget('linux-x64');
    assert.deepEqual(webgpuProblems(x64, []), [
      'missing: ^extension\\/node_modules\\/webgpu\\/dist\\/linux-x64\\/dawn\\.node$',
    ]);
    assert.deepEqual(webgpuProblems(x64, [native(dawnEntry(x64), elf(0xb7))]), [
      `${dawnEntry(x64)} is built for linux-arm64, not linux-x64`,
    ]);
    const win = findTarget('win32-x64');
    const noDxc = goodDawn(win).filter((f) => !f.name.endsWith('dxcompiler.dll'));
    assert.match(webgpuProblems(win, noDxc).join('\n'), /missing: .*dxcompiler\\\.dll/);
    const arm = findTarget('darwin-arm64');
    const thinX64 = native(dawnEntry(arm), machO(0x01000007));
    assert.deepEqual(webgpuProblems(arm, [thinX64]), [
      `${dawnEntry(arm)} is built for darwin-x64, not darwin-arm64`,
    ]);
  });

  it("fails another platform's dist folder left in, even with no native file in it", () => {
    const x64 = findTarget('linux-x64');
    const licence = {
      name: 'extension/node_modules/webgpu/dist/win32-x64/dxcompiler-LICENSE.TXT',
      data: Buffer.from('licence text'),
      method: 8 as const,
    };
    assert.deepEqual(webgpuProblems(x64, [...goodDawn(x64), licence]), [
      "node_modules/webgpu/dist/win32-x64/ is not linux-x64's",
    ]);
  });

  it("prunes webgpu's dist/ to the target's folder and fails when a file it loads is absent", () => {
    const pkg = path.join(tmp, 'webgpu');
    const folders = ['darwin-universal', 'linux-arm64', 'linux-x64', 'win32-arm64', 'win32-x64'];
    const fill = (): void => {
      fs.rmSync(pkg, { recursive: true, force: true });
      for (const dir of folders) {
        fs.mkdirSync(path.join(pkg, 'dist', dir), { recursive: true });
        for (const f of ['dawn.node', 'd3dcompiler_47.dll', 'dxcompiler.dll', 'x-LICENSE.TXT']) {
          if (dir.startsWith('win32') || f === 'dawn.node') {
            fs.writeFileSync(path.join(pkg, 'dist', dir, f), '');
          }
        }
      }
    };
    for (const target of TARGETS) {
      fill();
      pruneWebgpu(pkg, target);
      assert.deepEqual(fs.readdirSync(path.join(pkg, 'dist')), [target.webgpuDist], target.id);
    }
    fill();
    fs.rmSync(path.join(pkg, 'dist', 'win32-x64', 'dxcompiler.dll'));
    assert.throws(() => pruneWebgpu(pkg, findTarget('win32-x64')), /lacks dxcompiler\.dll/);
  });

  it("reads the installed webgpu package's real binaries as each target's", function () {
    const dist = path.join(root, 'node_modules', 'webgpu', 'dist');
    if (!fs.existsSync(dist)) {
      console.log('      node_modules/webgpu is not installed (optional dependency)');
      this.skip();
    }
    for (const target of TARGETS) {
      for (const f of target.webgpuFiles) {
        const header = readNativeHeader(head(path.join(dist, target.webgpuDist, f)));
        assert.equal(header?.os, target.os, `${target.id} ${f}`);
        assert.ok(header.cpus.includes(target.cpu), `${target.id} ${f}: ${header.cpus.join('+')}`);
      }
    }
    assert.deepEqual(readNativeHeader(head(path.join(dist, 'darwin-universal', 'dawn.node'))), {
      format: 'mach-o',
      os: 'darwin',
      cpus: ['x64', 'arm64'],
    });
  });
});

/** A zip archive of `files`, stored or deflated, as vsce writes one (no zip64). */
function zipOf(files: readonly { name: string; data: Buffer; method: 0 | 8 }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const body = f.method === 8 ? deflateRawSync(f.data) : f.data;
    const name = Buffer.from(f.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(f.method, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(f.method, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

describe('zip entries', () => {
  it('lists and inflates stored and deflated entries', () => {
    const entries = zipEntries(
      zipOf([
        { name: 'a.txt', data: Buffer.from('stored'), method: 0 },
        { name: 'dir/b.bin', data: Buffer.alloc(5000, 7), method: 8 },
      ]),
    );
    assert.deepEqual(
      entries.map((e) => [e.name, e.size]),
      [
        ['a.txt', 6],
        ['dir/b.bin', 5000],
      ],
    );
    assert.equal(entries[0]!.read().toString(), 'stored');
    assert.deepEqual(entries[1]!.read(), Buffer.alloc(5000, 7));
    assert.throws(() => zipEntries(Buffer.from('not a zip')), /not a zip archive/);
  });
});
