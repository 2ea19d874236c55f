import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { isInside, pathsOutside } from '../../src/core/config/pathPolicy';
import { RunnerProcess } from '../../src/extension/runnerProcess';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

const RUNNER = path.join(__dirname, '..', '..', 'dist', 'runner.js');

describe('path policy: configs stay inside the workspace unless allowed', () => {
  let dir: string;
  let cleanup: () => void;
  let workspace: string;
  let outside: string;
  beforeEach(() => {
    ({ dir, cleanup } = makeTempDir('paths'));
    workspace = path.join(dir, 'ws');
    outside = path.join(dir, 'elsewhere');
    fs.mkdirSync(path.join(workspace, 'imgs'), { recursive: true });
    fs.mkdirSync(outside);
  });
  afterEach(() => cleanup());

  const folderConfig = (dataPath: string, runsDir = 'runs') =>
    resolveConfig(
      tinyConfigJson({
        runsDir,
        data: { source: 'folder', path: dataPath, resolution: 16 },
        model: { type: 'dcgan', zDim: 8, gWidth: 8, dWidth: 8 },
      }),
      path.join(workspace, 'c.icgan.json'),
    );

  it('accepts paths inside, names every field outside', () => {
    assert.deepEqual(pathsOutside(folderConfig('imgs'), [workspace]), []);
    const issues = pathsOutside(folderConfig(outside, '../../runs-out'), [workspace]);
    assert.deepEqual(
      issues.map((i) => i.field),
      ['runsDir', 'data.path'],
    );
    assert.match(
      issues[1]?.message ?? '',
      /elsewhere is outside the workspace; set icgan\.allowPathsOutsideWorkspace/,
    );
    // Another workspace folder counts as inside.
    assert.deepEqual(pathsOutside(folderConfig(outside), [workspace, outside]), []);
  });

  it('follows symbolic links, so a link in the workspace cannot lead out', () => {
    fs.symlinkSync(outside, path.join(workspace, 'link'));
    assert.equal(isInside(path.join(workspace, 'link'), [workspace]), false);
    assert.equal(isInside(path.join(workspace, 'imgs'), [workspace]), true);
    // A folder that doesn't exist yet (a new runs folder) is judged by its existing parent.
    assert.equal(isInside(path.join(workspace, 'runs', 'new'), [workspace]), true);
    assert.equal(isInside(path.join(workspace, 'link', 'new'), [workspace]), false);
    // `..` tricks and prefix look-alikes are outside.
    assert.equal(isInside(path.join(workspace, '..', 'elsewhere'), [workspace]), false);
    fs.mkdirSync(`${workspace}-evil`);
    assert.equal(isInside(`${workspace}-evil`, [workspace]), false);
  });

  it('makes the runner refuse such a config with the field named', async () => {
    const config = path.join(workspace, 'out.icgan.json');
    fs.writeFileSync(
      config,
      JSON.stringify(
        tinyConfigJson({
          data: { source: 'folder', path: outside, resolution: 16 },
          model: { type: 'dcgan', zDim: 8, gWidth: 8, dWidth: 8 },
        }),
      ),
    );
    const runner = new RunnerProcess(
      { type: 'train', configPath: config, allowedRoots: [workspace] },
      { runnerPath: RUNNER, nodePath: process.execPath },
    );
    const exit = await runner.exited;
    assert.equal(exit.code, 1);
    assert.equal(exit.error?.field, 'data.path');
    assert.match(exit.error?.message ?? '', /outside the workspace/);
    assert.equal(fs.existsSync(path.join(workspace, 'runs')), false, 'no run folder was made');
  });
});
