import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CorruptCheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../../src/core/checkpoint/checkpointFile';
import {
  listCheckpoints,
  loadLatestCheckpoint,
  saveCheckpoint,
} from '../../src/core/checkpoint/checkpointStore';
import { makeTempDir } from './support/tempDir';

const tensors = () => [
  { name: 'G/a', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
  { name: 'D/b', shape: [1], data: Float32Array.from([Math.PI]) },
];

describe('checkpoint files', () => {
  it('round-trips meta and tensors exactly', () => {
    const buf = encodeCheckpoint({ step: 7, rng: [1, 2, 3, 4] }, tensors());
    const { meta, tensors: out } = decodeCheckpoint<{ step: number; rng: number[] }>(buf);
    assert.deepEqual(meta, { step: 7, rng: [1, 2, 3, 4] });
    assert.deepEqual([...(out.get('G/a')?.data ?? [])], [1, 2, 3, 4, 5, -6.5]);
    assert.deepEqual(out.get('G/a')?.shape, [2, 3]);
    assert.equal(out.get('D/b')?.data[0], Math.fround(Math.PI));
  });

  it('rejects a flipped byte, a truncated file and a foreign file', () => {
    const buf = encodeCheckpoint({ step: 1 }, tensors());
    const flipped = Buffer.from(buf);
    const at = flipped.length - 3;
    flipped.writeUInt8(flipped.readUInt8(at) ^ 0x40, at);
    assert.throws(() => decodeCheckpoint(flipped), CorruptCheckpointError);
    assert.throws(() => decodeCheckpoint(buf.subarray(0, buf.length - 5)), /checksum mismatch/);
    assert.throws(() => decodeCheckpoint(Buffer.from('{"not": "a checkpoint"}')), /bad magic/);
  });
});

describe('checkpoint store', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('ckpt')));
  afterEach(() => cleanup());

  it('keeps the newest K and ignores temporary files of interrupted writes', async () => {
    for (const step of [10, 20, 30, 40]) await saveCheckpoint(dir, step, { step }, tensors(), 2);
    fs.writeFileSync(path.join(dir, '.tmp-123-ckpt-00000050.icgan-ckpt'), 'partial');
    assert.deepEqual(
      listCheckpoints(dir).map((c) => c.step),
      [40, 30],
    );
  });

  it('falls back to the newest checkpoint that passes its checksum, saying which it skipped', async () => {
    await saveCheckpoint(dir, 10, { step: 10 }, tensors(), 5);
    const { file } = await saveCheckpoint(dir, 20, { step: 20 }, tensors(), 5);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length / 2));
    const warnings: string[] = [];
    const loaded = loadLatestCheckpoint<{ step: number }>(dir, (m) => warnings.push(m));
    assert.equal(loaded?.meta.step, 10);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /ckpt-00000020\.icgan-ckpt: checksum mismatch/);
  });

  it('returns null when no checkpoint is usable', () => {
    assert.equal(
      loadLatestCheckpoint(dir, () => undefined),
      null,
    );
  });
});
