import { strict as assert } from 'node:assert';
import { diversityText as diversityLine } from '../../src/core/run/runEventText';
import type { DiversityEvent } from '../../src/protocol/runnerEvents';
import { varietyText } from '../../webview/varietyText';
import { diversitySummary } from '../../webview/varietyText';

const reading: DiversityEvent = {
  type: 'diversity',
  time: '2026-12-05T00:00:00.000Z',
  step: 1500,
  median: 0.78,
  groups: [
    { name: 'circle', ratio: 0.8 },
    { name: 'square', ratio: 0.31 },
    { name: 'triangle', ratio: 0.78 },
  ],
  collapsed: [],
};

describe('collapse watch display (CLI, dashboard, gallery)', () => {
  it('states the variety and names the least varied group', () => {
    assert.equal(
      diversityLine(reading),
      'variety: samples vary 78 % as much as the data (lowest: square 31 %)',
    );
    const shown = diversitySummary(reading);
    assert.equal(shown.warn, false);
    assert.match(shown.text, /^Variety at step 1,500: samples vary 78 % .*lowest: square 31 %/);
  });

  it('warns with the collapsed groups', () => {
    const collapsed = { ...reading, collapsed: ['square'] };
    assert.match(diversityLine(collapsed), /; collapsed: square$/);
    const shown = diversitySummary(collapsed);
    assert.equal(shown.warn, true);
    assert.match(shown.text, /^Mode collapse at step 1,500: samples of square/);
    assert.deepEqual(diversitySummary(null), { text: '', warn: false });
  });

  it("gives a gallery row's variety against its neighbours, and nothing without spreads", () => {
    const row = { instance: 3, neighbours: [1, 2], spread: { samples: 6.8, neighbours: 15.1 } };
    assert.equal(varietyText(row), " · variety 45 % of the neighbours'");
    assert.equal(varietyText({ instance: 3, neighbours: [1, 2] }), '');
    assert.equal(varietyText(undefined), '');
  });
});
