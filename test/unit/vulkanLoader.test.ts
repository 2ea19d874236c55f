import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { vulkanLoaderFindable } from '../../src/core/backend/webgpuBackend';

describe('webgpu: the Vulkan loader is looked for before dawn.node loads', () => {
  const linux = process.platform === 'linux';
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icgan-vk-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds it in LD_LIBRARY_PATH or the loader cache, and says so when neither has it', function () {
    if (!linux) this.skip();
    const cache = path.join(dir, 'ld.so.cache');
    fs.writeFileSync(cache, 'libc.so.6\0/lib/x86_64-linux-gnu/libc.so.6\0');
    assert.equal(vulkanLoaderFindable({}, cache), false);
    fs.writeFileSync(cache, 'libvulkan.so.1\0/usr/lib/x86_64-linux-gnu/libvulkan.so.1\0');
    assert.equal(vulkanLoaderFindable({}, cache), true);
    const libs = path.join(dir, 'lib');
    fs.mkdirSync(libs);
    fs.writeFileSync(path.join(libs, 'libvulkan.so.1'), '');
    fs.writeFileSync(cache, '');
    assert.equal(vulkanLoaderFindable({ LD_LIBRARY_PATH: `/nowhere:${libs}` }, cache), true);
    // An unreadable cache leaves the decision to Dawn.
    assert.equal(vulkanLoaderFindable({}, path.join(dir, 'missing')), true);
  });
});
