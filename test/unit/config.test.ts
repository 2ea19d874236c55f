import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../src/core/config/configError';
import { loadConfigFile, resolveConfig } from '../../src/core/config/loadConfig';
import { makeTempDir } from './support/tempDir';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be rejected');
}

const FILE = '/tmp/test.icgan.json';
const minimal = (): Record<string, unknown> => ({
  data: { source: 'shapes' },
  model: { type: 'cgan' },
});

describe('config', () => {
  it('fills the documented defaults and derives the name from the file', () => {
    const c = resolveConfig(minimal(), '/work/x/my-run.icgan.json');
    assert.equal(c.name, 'my-run');
    assert.equal(c.seed, 0);
    assert.equal(c.backend, 'auto');
    assert.deepEqual(c.data, { source: 'shapes', count: 10000, resolution: 32, seed: 0 });
    assert.equal(c.training.batchSize, 64);
    // The recipe measured best (docs/sample-quality.md): spectral-norm D with minibatch std,
    // hinge loss, Adam 8e-4 with β1 0.
    assert.equal(c.training.loss, 'hinge');
    assert.equal(c.training.gLr, 8e-4);
    assert.equal(c.training.dLr, 8e-4);
    assert.equal(c.training.beta1, 0);
    assert.equal(c.model.dNorm, 'spectral');
    assert.equal(c.model.dMinibatchStd, true);
    assert.equal(c.model.mlp.jointHidden, 1200);
    assert.equal(c.runsDir, '/work/x/runs');
  });

  it('names the field and the expected type for a wrong type', () => {
    const err = errorOf(() =>
      resolveConfig({ ...minimal(), training: { batchSize: 'big' } }, FILE),
    );
    assert.deepEqual(err.issues, [{ field: 'training.batchSize', message: 'must be integer' }]);
    assert.match(err.message, /^\/tmp\/test\.icgan\.json: training\.batchSize: must be integer$/);
  });

  it('rejects unknown fields at any depth, naming each', () => {
    const err = errorOf(() =>
      resolveConfig(
        {
          ...minimal(),
          colour: 1,
          model: { type: 'cgan', widht: 3 },
          data: { source: 'shapes', res: 8 },
        },
        FILE,
      ),
    );
    const fields = err.issues.map((i) => i.field).sort();
    assert.deepEqual(fields, ['colour', 'data.res', 'model.widht']);
    assert.ok(err.issues.every((i) => i.message === 'unknown field'));
  });

  it('rejects absurd numbers with the bound in the message', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ data: { source: 'shapes', resolution: 100000 } }, 'data.resolution', /<= 256/],
      [{ training: { batchSize: 0 } }, 'training.batchSize', />= 1/],
      [{ training: { steps: -5 } }, 'training.steps', />= 1/],
      [{ training: { gLr: 0 } }, 'training.gLr', /> 0/],
      [{ samples: { count: 10000 } }, 'samples.count', /<= 256/],
    ];
    for (const [patch, field, message] of cases) {
      const err = errorOf(() => resolveConfig({ ...minimal(), ...patch }, FILE));
      const issue = err.issues.find((i) => i.field === field);
      assert.ok(issue, `${field} not reported in ${err.message}`);
      assert.match(issue.message, message);
    }
  });

  it('lists the allowed values of an enum and of the data source', () => {
    const err = errorOf(() =>
      resolveConfig({ data: { source: 'web' }, model: { type: 'biggan' } }, FILE),
    );
    assert.deepEqual(
      err.issues.map((i) => i.field),
      ['data.source', 'model.type'],
    );
    assert.match(err.message, /data\.source: must be one of "shapes", "folder", "idx"/);
    assert.match(err.message, /model\.type: must be one of "dcgan", "cgan-mlp", "cgan"/);
  });

  it('reports missing required fields by path', () => {
    const err = errorOf(() => resolveConfig({ data: {} }, FILE));
    assert.deepEqual(err.issues.map((i) => i.field).sort(), ['data.source', 'model']);
  });

  it('resolves paths against the config folder and reports files that do not exist', () => {
    const { dir, cleanup } = makeTempDir('config');
    try {
      fs.writeFileSync(path.join(dir, 'imgs.idx'), 'x');
      const ok = resolveConfig(
        { data: { source: 'idx', images: 'imgs.idx' }, model: { type: 'dcgan' } },
        path.join(dir, 'a.icgan.json'),
      );
      assert.equal(ok.data.source === 'idx' && ok.data.images, path.join(dir, 'imgs.idx'));
      const err = errorOf(() =>
        resolveConfig(
          {
            data: { source: 'idx', images: 'imgs.idx', labels: 'nope/labels.idx' },
            model: { type: 'dcgan' },
          },
          path.join(dir, 'a.icgan.json'),
        ),
      );
      assert.deepEqual(err.issues, [
        { field: 'data.labels', message: `file not found: ${path.join(dir, 'nope/labels.idx')}` },
      ]);
      const folder = errorOf(() =>
        resolveConfig(
          { data: { source: 'folder', path: 'imgs.idx' }, model: { type: 'dcgan' } },
          path.join(dir, 'a.icgan.json'),
        ),
      );
      assert.match(folder.message, /data\.path: not a folder/);
    } finally {
      cleanup();
    }
  });

  it('resolves a user feature model against the config folder and reports one that is missing', () => {
    const { dir, cleanup } = makeTempDir('config');
    try {
      fs.mkdirSync(path.join(dir, 'encoder'));
      const icgan = (p: string) => ({
        data: { source: 'shapes' },
        model: { type: 'icgan' },
        instances: { features: { kind: 'model', path: p, layer: 'pool' } },
      });
      const ok = resolveConfig(icgan('encoder'), path.join(dir, 'a.icgan.json'));
      assert.equal(ok.instances.features.path, path.join(dir, 'encoder'));
      const err = errorOf(() => resolveConfig(icgan('gone'), path.join(dir, 'a.icgan.json')));
      assert.deepEqual(err.issues, [
        { field: 'instances.features.path', message: `not found: ${path.join(dir, 'gone')}` },
      ]);
    } finally {
      cleanup();
    }
  });

  it('requires a power-of-two resolution for convolutional models only', () => {
    const err = errorOf(() =>
      resolveConfig({ data: { source: 'shapes', resolution: 24 }, model: { type: 'cgan' } }, FILE),
    );
    assert.equal(err.issues[0]?.field, 'data.resolution');
    assert.match(err.message, /power of two/);
    assert.equal(
      resolveConfig(
        { data: { source: 'shapes', resolution: 24 }, model: { type: 'cgan-mlp' } },
        FILE,
      ).data.resolution,
      24,
    );
  });

  it('points at the line and column of a JSON syntax error', () => {
    const { dir, cleanup } = makeTempDir('config');
    try {
      const file = path.join(dir, 'bad.icgan.json');
      fs.writeFileSync(
        file,
        '{\n  "data": { "source": "shapes" },\n  "model": { "type": "cgan" }\n  "seed": 1\n}\n',
      );
      const err = errorOf(() => loadConfigFile(file));
      assert.match(err.message, new RegExp(`^${file}: invalid JSON at line 4, column 3`));
      assert.match(
        errorOf(() => loadConfigFile(path.join(dir, 'none.icgan.json'))).message,
        /none\.icgan\.json: file not found$/,
      );
    } finally {
      cleanup();
    }
  });

  it('accepts every example config in examples/', () => {
    const dir = path.join(__dirname, '..', '..', 'examples');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.icgan.json'));
    assert.ok(files.length >= 3, 'expected one example per model');
    const types = new Set<string>();
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      const value = JSON.parse(text) as { data: { source: string }; model: { type: string } };
      try {
        loadConfigFile(path.join(dir, f));
      } catch (err) {
        // Examples that read a system data set may only fail for its absence on this machine.
        assert.ok(
          err instanceof ConfigError &&
            err.issues.every((i) => i.message.startsWith('file not found')),
          String(err),
        );
      }
      types.add(value.model.type);
    }
    assert.deepEqual([...types].sort(), ['cgan', 'cgan-mlp', 'dcgan', 'icgan', 'icgan-class']);
  });
});
