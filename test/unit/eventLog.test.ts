import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventLog, readEvents } from '../../src/core/run/eventLog';
import type { RunEvent } from '../../src/protocol/runnerEvents';
import { makeTempDir } from './support/tempDir';

const log = (message: string): RunEvent => ({
  type: 'log',
  time: '2026-01-01T00:00:00.000Z',
  level: 'info',
  message,
});

describe('events.jsonl', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('events')));
  afterEach(() => cleanup());

  it('tolerates a torn last line and cuts it off when the log is reopened', () => {
    const file = path.join(dir, 'events.jsonl');
    const first = new EventLog(file);
    first.append(log('one'));
    first.append(log('two'));
    first.close();
    // A kill in the middle of a write leaves half a line.
    fs.appendFileSync(file, '{"type":"log","time":"2026-01-01T00:00:0');
    assert.deepEqual(
      readEvents(file).map((e) => (e.type === 'log' ? e.message : e.type)),
      ['one', 'two'],
    );
    const reopened = new EventLog(file);
    reopened.append(log('three'));
    reopened.close();
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => JSON.parse(l) !== null));
  });

  it('reports a corrupt line that is not the last one', () => {
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, `${JSON.stringify(log('a'))}\n{broken\n${JSON.stringify(log('b'))}\n`);
    assert.throws(() => readEvents(file), /events\.jsonl: line 2 is not valid JSON/);
  });
});
