import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../src/core/backend/backendChain';
import { UserError } from '../../src/core/errors';
import {
  buildInstanceIndex,
  loadInstanceIndex,
  saveInstanceIndex,
} from '../../src/core/instances/instanceIndex';
import { l2Normalise } from '../../src/core/neighbours/cosineKnn';
import { Rng } from '../../src/core/random/rng';
import { makeTempDir } from './support/tempDir';

describe('instance index', () => {
  before(async () => {
    await initBackend('wasm');
  });

  // Three tight clusters on the sphere around orthogonal directions.
  function clustered(n: number, d: number): Float32Array {
    const rng = new Rng(4);
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      x[i * d + (i % 3)] = 1;
      for (let c = 0; c < d; c++) x[i * d + c] = (x[i * d + c] ?? 0) + 0.05 * rng.normal();
    }
    return l2Normalise(x, n, d);
  }

  it('finds neighbourhoods inside each cluster and one representative per cluster', async () => {
    const n = 60;
    const index = await buildInstanceIndex(clustered(n, 8), n, 8, {
      k: 5,
      representatives: 3,
      seed: 1,
    });
    for (let i = 0; i < n; i++) {
      const row = [...index.neighbours.subarray(i * 5, i * 5 + 5)];
      assert.ok(!row.includes(i), `instance ${i} is its own neighbour`);
      assert.ok(
        row.every((j) => j % 3 === i % 3),
        `A_${i} = ${row} crosses clusters`,
      );
    }
    assert.deepEqual([...index.representatives].map((r) => r % 3).sort(), [0, 1, 2]);
    assert.ok(index.kthDistance.every((r) => r > 0 && r < 0.1));
  });

  it('round-trips through its file and rejects a tampered one', async () => {
    const { dir, cleanup } = makeTempDir('index');
    try {
      const { engine: _engine, ...index } = await buildInstanceIndex(clustered(30, 8), 30, 8, {
        k: 4,
        representatives: 3,
        seed: 2,
      });
      const file = path.join(dir, 'instances.icgan-index');
      await saveInstanceIndex(file, index);
      assert.deepEqual(loadInstanceIndex(file), index);
      const bytes = fs.readFileSync(file);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
      fs.writeFileSync(file, bytes);
      assert.throws(
        () => loadInstanceIndex(file),
        (err: unknown) => err instanceof UserError && /checksum mismatch/.test(err.message),
      );
    } finally {
      cleanup();
    }
  });
});
