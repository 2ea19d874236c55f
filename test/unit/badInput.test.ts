import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

/**
 * A corpus of broken inputs through the bundled CLI. Each must end in a one-line error that
 * names the input, or be handled (skipped and counted, or trained on) — never a stack trace, a
 * crash or a hang (every run has a time limit).
 */
const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

interface Case {
  name: string;
  /** Writes the case's files into `dir`; returns the CLI arguments. */
  setup: (dir: string) => Promise<string[]> | string[];
  /** 'error': exit 1 with one stderr line matching `expect`; 'ok': exit 0, `expect` in the log. */
  outcome: 'error' | 'ok';
  expect: RegExp;
}

const png = (w: number, h: number, channels: 1 | 3 | 4, value = 128): Promise<Buffer> =>
  sharp(Buffer.alloc(w * h * channels, value), { raw: { width: w, height: h, channels } })
    .png()
    .toBuffer();

/** A valid PNG whose header claims width × height (a decompression bomb's signature). */
async function bombPng(width: number, height: number): Promise<Buffer> {
  const buf = Buffer.from(await png(1, 1, 3));
  // IHDR data starts after the 8-byte signature, 4-byte length and 4-byte type.
  buf.writeUInt32BE(width, 16);
  buf.writeUInt32BE(height, 20);
  buf.writeUInt32BE(crc32(buf.subarray(12, 29)), 29);
  return buf;
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

const train = (file: string): string[] => ['train', file, '--steps', '2'];
const tiny = (patch: Record<string, unknown>): Record<string, unknown> => tinyConfigJson(patch);
const folderConfig = (folder: string, model = 'dcgan'): Record<string, unknown> =>
  tiny({
    data: { source: 'folder', path: folder, resolution: 16 },
    model: { type: model, zDim: 8, gWidth: 8, dWidth: 8, embedDim: 8 },
  });

const CASES: Case[] = [
  {
    name: 'malformed JSON',
    setup: (d) => train(writeJson(d, 'bad.icgan.json', '{ "data": { "source": "shapes", ')),
    outcome: 'error',
    expect: /bad\.icgan\.json: invalid JSON at line 1, column \d+/,
  },
  {
    name: 'wrong type',
    setup: (d) =>
      train(writeJson(d, 'c.icgan.json', tiny({ training: { steps: 'many', batchSize: 8 } }))),
    outcome: 'error',
    expect: /c\.icgan\.json: training\.steps: must be integer/,
  },
  {
    name: 'unknown field',
    setup: (d) =>
      train(writeJson(d, 'c.icgan.json', tiny({ model: { type: 'cgan', colour: 'red' } }))),
    outcome: 'error',
    expect: /c\.icgan\.json: model\.colour: unknown field/,
  },
  {
    name: 'resolution 100000',
    setup: (d) =>
      train(writeJson(d, 'c.icgan.json', tiny({ data: { source: 'shapes', resolution: 100000 } }))),
    outcome: 'error',
    expect: /data\.resolution: must be <= /,
  },
  {
    name: 'batch 0',
    setup: (d) =>
      train(writeJson(d, 'c.icgan.json', tiny({ training: { steps: 4, batchSize: 0 } }))),
    outcome: 'error',
    expect: /training\.batchSize: must be >= 1/,
  },
  {
    name: 'negative steps',
    setup: (d) =>
      train(writeJson(d, 'c.icgan.json', tiny({ training: { steps: -5, batchSize: 8 } }))),
    outcome: 'error',
    expect: /training\.steps: must be >= 1/,
  },
  {
    name: 'k larger than the data set',
    setup: (d) =>
      train(
        writeJson(
          d,
          'c.icgan.json',
          tiny({
            data: { source: 'shapes', count: 16, resolution: 16 },
            model: { type: 'icgan', zDim: 8, gWidth: 8, dWidth: 8, embedDim: 8 },
            instances: { k: 50, features: { kind: 'pixels' } },
          }),
        ),
      ),
    outcome: 'error',
    expect: /instances\.k: 50 .*16/,
  },
  {
    name: 'a config that does not exist',
    setup: (d) => train(path.join(d, 'missing.icgan.json')),
    outcome: 'error',
    expect: /missing\.icgan\.json/,
  },
  {
    name: 'a config that is a folder',
    setup: (d) => {
      fs.mkdirSync(path.join(d, 'folder.icgan.json'));
      return train(path.join(d, 'folder.icgan.json'));
    },
    outcome: 'error',
    expect: /folder\.icgan\.json/,
  },
  {
    name: 'a data folder that does not exist',
    setup: (d) => train(writeJson(d, 'c.icgan.json', folderConfig('no-such-folder'))),
    outcome: 'error',
    expect: /data\.path: .*no-such-folder/,
  },
  {
    name: 'symlink loops in the data folder',
    setup: async (d) => {
      fs.mkdirSync(path.join(d, 'imgs', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(d, 'imgs', 'sub', 'ok.png'), await png(20, 20, 3));
      fs.symlinkSync('b', path.join(d, 'imgs', 'a'));
      fs.symlinkSync('a', path.join(d, 'imgs', 'b'));
      fs.symlinkSync('..', path.join(d, 'imgs', 'sub', 'up'));
      return train(writeJson(d, 'c.icgan.json', folderConfig('imgs')));
    },
    outcome: 'ok',
    expect: /skipped \d+ files[\s\S]*ELOOP/,
  },
  {
    name: 'zero-byte, truncated, non-image and bomb files with image extensions',
    setup: async (d) => {
      const dir = path.join(d, 'imgs');
      fs.mkdirSync(dir);
      const good = await png(24, 24, 3);
      fs.writeFileSync(path.join(dir, 'good.png'), good);
      fs.writeFileSync(path.join(dir, 'empty.png'), Buffer.alloc(0));
      fs.writeFileSync(path.join(dir, 'truncated.png'), good.subarray(0, 40));
      fs.writeFileSync(path.join(dir, 'notes.jpg'), 'this is not a JPEG\n');
      fs.writeFileSync(path.join(dir, 'bomb.png'), await bombPng(20000, 20000));
      return train(writeJson(d, 'c.icgan.json', folderConfig('imgs')));
    },
    outcome: 'ok',
    expect:
      /1 image.*4 skipped[\s\S]*(bomb\.png.*(20000|megapixel))[\s\S]*|skipped 4 files[\s\S]*bomb\.png/,
  },
  {
    name: 'mixed greyscale, RGBA and 16-bit images',
    setup: async (d) => {
      const dir = path.join(d, 'imgs');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'grey.png'), await png(20, 20, 1));
      fs.writeFileSync(path.join(dir, 'rgba.png'), await png(20, 30, 4));
      const sixteen = await sharp(Buffer.alloc(20 * 20 * 3, 90), {
        raw: { width: 20, height: 20, channels: 3 },
      })
        .toColourspace('rgb16')
        .png()
        .toBuffer();
      fs.writeFileSync(path.join(dir, 'deep.png'), sixteen);
      return train(writeJson(d, 'c.icgan.json', folderConfig('imgs')));
    },
    outcome: 'ok',
    expect: /3 images 16×16×3/,
  },
  {
    name: 'a data set of one image',
    setup: async (d) => {
      fs.mkdirSync(path.join(d, 'imgs'));
      fs.writeFileSync(path.join(d, 'imgs', 'only.png'), await png(20, 20, 3));
      return train(writeJson(d, 'c.icgan.json', folderConfig('imgs')));
    },
    outcome: 'ok',
    expect: /1 image 16×16×3/,
  },
  {
    name: 'one class for a class-conditional run',
    setup: async (d) => {
      fs.mkdirSync(path.join(d, 'imgs', 'cats'), { recursive: true });
      for (let i = 0; i < 3; i++) {
        fs.writeFileSync(path.join(d, 'imgs', 'cats', `${i}.png`), await png(20, 20, 3, i * 40));
      }
      return train(writeJson(d, 'c.icgan.json', folderConfig('imgs', 'cgan')));
    },
    outcome: 'error',
    expect: /model\.type 'cgan' needs at least 2 classes, but the data set has 1/,
  },
  {
    name: 'resume a folder that is not a run',
    setup: (d) => ['resume', d],
    outcome: 'error',
    expect: /not a run folder/,
  },
  {
    name: 'generate from an image that does not exist',
    setup: (d) => ['generate', d, '--image', path.join(d, 'nope.png')],
    outcome: 'error',
    expect: /not a run folder|nope\.png/,
  },
  {
    name: 'a flag out of range',
    setup: (d) => ['sample', d, '-n', '0'],
    outcome: 'error',
    expect: /-n must be a positive integer, got '0'/,
  },
];

describe('bad input through the CLI: one-line errors or handled, never a crash', function () {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('badinput')));
  afterEach(() => cleanup());

  for (const c of CASES) {
    it(c.name, async () => {
      const args = await c.setup(dir);
      const r = spawnSync(process.execPath, [CLI, ...args, '--backend', 'wasm'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.error, undefined, `did not finish: ${String(r.error)}`);
      assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'a stack trace');
      if (c.outcome === 'error') {
        assert.equal(r.status, 1, r.stderr);
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('icgan: error:'));
        assert.equal(errors.length, 1, r.stderr);
        assert.match(errors[0] ?? '', c.expect);
        assert.equal(r.stderr.trim().split('\n').at(-1), errors[0], 'the error is the last line');
      } else {
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr + r.stdout, c.expect);
      }
    });
  }
});
