import { strict as assert } from 'node:assert';
import { ConfigError } from '../../src/core/config/configError';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { Rng } from '../../src/core/random/rng';

/**
 * Fuzzes the config validator: mutations of a valid config (wrong types, absurd numbers, unknown
 * fields, deleted fields, nesting where a scalar belongs) must give a ConfigError naming a field,
 * or a valid config — never any other exception.
 */
const VALID = {
  seed: 1,
  data: { source: 'shapes', count: 100, resolution: 16 },
  model: { type: 'cgan', zDim: 8, gWidth: 8, dWidth: 8 },
  training: { steps: 10, batchSize: 4, loss: 'hinge', gLr: 0.001 },
  samples: { every: 5, count: 4 },
  checkpoints: { every: 5, keep: 1 },
  instances: { k: 3, features: { kind: 'pixels', pcaDim: 4 } },
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function randomValue(rng: Rng, depth = 0): Json {
  const choices: (() => Json)[] = [
    () => null,
    () => rng.uniform() < 0.5,
    () => Math.floor((rng.uniform() - 0.5) * 2e6),
    () => [0, -1, 1e308, -1e-308, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER][rng.int(7)] as number,
    () =>
      ['', 'x', 'shapes', 'folder', 'idx', 'cgan', 'icgan', '../../etc', '\u0000', 'é'.repeat(50)][
        rng.int(10)
      ] as string,
    () => (depth < 2 ? Array.from({ length: rng.int(3) }, () => randomValue(rng, depth + 1)) : []),
    () => (depth < 2 ? { [`f${rng.int(5)}`]: randomValue(rng, depth + 1) } : {}),
  ];
  return (choices[rng.int(choices.length)] as () => Json)();
}

function mutate(value: Json, rng: Rng): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || rng.uniform() < 0.15) {
    return randomValue(rng);
  }
  const out: { [k: string]: Json } = { ...value };
  const keys = Object.keys(out);
  const roll = rng.uniform();
  if (roll < 0.15 || keys.length === 0) out[`unknown${rng.int(3)}`] = randomValue(rng);
  else if (roll < 0.3) delete out[keys[rng.int(keys.length)] as string];
  else {
    const k = keys[rng.int(keys.length)] as string;
    out[k] = mutate(out[k] as Json, rng);
  }
  return out;
}

describe('config validator fuzz', () => {
  it('answers 2,000 mutated configs with a field-naming ConfigError or a valid config', () => {
    const rng = new Rng(2024);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      let candidate = JSON.parse(JSON.stringify(VALID)) as Json;
      for (let m = 1 + rng.int(3); m > 0; m--) candidate = mutate(candidate, rng);
      try {
        resolveConfig(candidate, '/fuzz/x.icgan.json');
      } catch (err) {
        assert.ok(
          err instanceof ConfigError,
          `config #${i} threw ${String(err)} for ${JSON.stringify(candidate)}`,
        );
        assert.ok(err.issues.length > 0 && !err.message.includes('\n'), err.message);
        rejected++;
      }
    }
    // Most mutations must be caught; a fuzzer whose every case passed would test nothing.
    assert.ok(rejected > 1000, `only ${rejected} of 2000 rejected`);
  });
});
