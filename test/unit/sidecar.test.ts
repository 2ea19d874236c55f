import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { resolveConfig } from '../../src/core/config/loadConfig';
import { loadDataset } from '../../src/core/data/loadDataset';
import { UserError } from '../../src/core/errors';
import {
  createShapesDatasetWithAttributes,
  shapesTagConditions,
} from '../../src/core/data/shapesDataset';
import { conditionsFor, parseSidecar } from '../../src/core/data/sidecar';
import { makeTempDir } from './support/tempDir';
import { tinyConfigJson } from './support/tinyConfig';

describe('sidecar conditions (tags and vectors per image)', () => {
  it('parses JSON: tags, vectors, path separators normalised', () => {
    const s = parseSidecar(
      '/d/meta.json',
      JSON.stringify({
        'cats\\001.png': { tags: ['tabby', 'indoor', 'tabby'], vector: [0.5, -1] },
        'dogs/002.png': { tags: ['outdoor'], vector: [2, 3] },
      }),
    );
    assert.equal(s.vectorDim, 2);
    assert.deepEqual(s.entries.get('cats/001.png'), {
      tags: ['tabby', 'indoor'],
      vector: [0.5, -1],
    });
    const c = conditionsFor(s, ['cats/001.png', 'dogs/002.png', 'dogs/003.png']);
    assert.deepEqual(c.tagNames, ['indoor', 'outdoor', 'tabby']);
    assert.deepEqual([...c.tags], [1, 0, 1, 0, 1, 0, 0, 0, 0]);
    assert.deepEqual([...c.vectors], [0.5, -1, 2, 3, 0, 0]);
    assert.deepEqual(c.missing, ['dogs/003.png']);
    assert.deepEqual(c.unmatched, []);
  });

  it('parses CSV with quoted fields, empty tags and vector columns', () => {
    const s = parseSidecar(
      '/d/meta.csv',
      'file,tags,v1,v2\n"a, b.png",red;circle,1,2\nc.png,,3,4\n\n',
    );
    assert.deepEqual(s.entries.get('a, b.png'), { tags: ['red', 'circle'], vector: [1, 2] });
    assert.deepEqual(s.entries.get('c.png'), { tags: [], vector: [3, 4] });
    const tagsOnly = parseSidecar('/d/t.csv', 'file,tags\nx.png,a;b\n');
    assert.equal(tagsOnly.vectorDim, 0);
    const c = conditionsFor(tagsOnly, ['y.png']);
    assert.deepEqual(c.missing, ['y.png']);
    assert.deepEqual(c.unmatched, ['x.png']);
  });

  const malformed: [string, string, RegExp][] = [
    ['m.csv', 'file,tags,v1\na.png,red,1\nb.png,blue\n', /m\.csv:3: 2 fields, the header has 3/],
    ['m.csv', 'file,tags,v1\na.png,red,x\n', /m\.csv:2: column "v1" is "x", not a number/],
    ['m.csv', 'name,tags\na.png,red\n', /m\.csv:1: the header must start with a "file" column/],
    ['m.csv', 'file,tags\na.png,red\na.png,blue\n', /m\.csv:3: a\.png is listed twice/],
    ['m.csv', 'file,tags\n"a.png,red\n', /m\.csv:2: unterminated quoted field/],
    ['m.csv', 'file,tags\na.png,<script>\n', /m\.csv:2: tag "<script>" is not a tag/],
    [
      'm.json',
      '{"a.png": {"tags": ["x"]},\n "b.png": {"tag": ["y"]}}',
      /m\.json:2 \(b\.png\): unknown field "tag"/,
    ],
    [
      'm.json',
      '{"a.png": {"vector": [1, "2"]}}',
      /m\.json:1 \(a\.png\): vector\[1\] is "2", not a finite number/,
    ],
    [
      'm.json',
      '{"a.png": {"vector": [1]}, "b.png": {"vector": [1, 2]}}',
      /vectors of different lengths \(1 and 2\)/,
    ],
    ['m.json', '[1, 2]', /m\.json: must be an object keyed by image path/],
    ['m.json', '{"a.png": ', /m\.json: not valid JSON/],
    ['m.json', '{}', /m\.json: has no entries/],
    ['m.txt', 'x', /a sidecar must be a \.json or \.csv file/],
  ];
  for (const [file, text, expected] of malformed) {
    it(`rejects ${JSON.stringify(text.slice(0, 30))} (${file}) with the line`, () => {
      assert.throws(
        () => parseSidecar(`/d/${file}`, text),
        (err: unknown) => err instanceof UserError && expected.test(err.message),
      );
    });
  }

  it('exposes the shapes attributes as tags: exactly one shape, colour, size and position each', () => {
    const data = createShapesDatasetWithAttributes({
      source: 'shapes',
      count: 50,
      resolution: 16,
      seed: 4,
    });
    const c = shapesTagConditions(data);
    assert.equal(c.tagNames.length, 4 + 8 + 3 + 9);
    for (let i = 0; i < 50; i++) {
      const on = c.tagNames.filter((_, t) => c.tags[i * c.tagNames.length + t] === 1);
      const a = data.attributes[i]!;
      assert.deepEqual(
        on.sort(),
        [
          data.attributeNames.shape[a.shape],
          data.attributeNames.colour[a.colour],
          data.attributeNames.size[a.size],
          data.attributeNames.position[a.position],
        ].sort(),
      );
    }
  });
});

describe('folder data set with a sidecar', () => {
  it('attaches tags and vectors in data set order and reports images without an entry', async () => {
    const { dir, cleanup } = makeTempDir('sidecar');
    try {
      const imgs = path.join(dir, 'imgs');
      fs.mkdirSync(imgs);
      for (const [name, value] of [
        ['a.png', 20],
        ['b.png', 120],
        ['c.png', 220],
      ] as const) {
        await sharp(Buffer.alloc(12 * 12 * 3, value), {
          raw: { width: 12, height: 12, channels: 3 },
        })
          .png()
          .toFile(path.join(imgs, name));
      }
      fs.writeFileSync(
        path.join(dir, 'meta.csv'),
        'file,tags,x\na.png,dark,0.1\nc.png,light;warm,0.9\nz.png,ghost,0\n',
      );
      const config = resolveConfig(
        tinyConfigJson({
          data: { source: 'folder', path: 'imgs', resolution: 8, sidecar: 'meta.csv' },
          model: { type: 'dcgan', zDim: 8, gWidth: 8, dWidth: 8 },
        }),
        path.join(dir, 'c.icgan.json'),
      );
      const lines: string[] = [];
      const data = await loadDataset(config.data, (l) => lines.push(l));
      const c = data.conditions;
      assert.ok(c);
      assert.deepEqual(c.tagNames, ['dark', 'ghost', 'light', 'warm']);
      assert.deepEqual([...c.tags], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
      assert.deepEqual(
        [...c.vectors].map((v) => Math.round(v * 10) / 10),
        [0.1, 0, 0.9],
      );
      assert.deepEqual(c.missing, ['b.png']);
      assert.match(
        lines.join('\n'),
        /2 of 3 images[\s\S]*1 images have no sidecar entry[^\n]*b\.png[\s\S]*1 sidecar entries match no loaded image: z\.png/,
      );
      assert.throws(
        () =>
          resolveConfig(
            tinyConfigJson({ data: { source: 'folder', path: 'imgs', sidecar: 'nope.json' } }),
            path.join(dir, 'c.icgan.json'),
          ),
        /data\.sidecar: file not found: .*nope\.json/,
      );
    } finally {
      cleanup();
    }
  });
});
