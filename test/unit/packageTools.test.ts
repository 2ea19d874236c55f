import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { readNativeHeader } from '../../tools/package/nativeHeader';
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
    const head = (f: string): Buffer => {
      const fd = fs.openSync(f, 'r');
      const b = Buffer.alloc(4096);
      fs.readSync(fd, b, 0, b.length, 0);
      fs.closeSync(fd);
      return b;
    };
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

describe('zip entries', () => {
  it('lists and inflates stored and deflated entries', () => {
    const files = [
      { name: 'a.txt', data: Buffer.from('stored'), method: 0 },
      { name: 'dir/b.bin', data: Buffer.alloc(5000, 7), method: 8 },
    ];
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
    const entries = zipEntries(Buffer.concat([...locals, cd, eocd]));
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
