/**
 * The collapse watch in words, for the Samples tab and the gallery. DOM-free, so unit tests import
 * it without a browser.
 */
import type { GalleryRow } from '../src/protocol/runnerEvents';
import type { DiversityView } from '../src/protocol/webviewMessages';
// Steps as the header shows them (dom.ts formatNumber, which needs the DOM types).
const formatNumber = (n: number): string => n.toLocaleString();

/**
 * The collapse watch's last reading as one line, and whether it warns: samples of a condition
 * that vary far less than they did (a class drawn in one colour) are mode collapse.
 */
export function diversitySummary(d: DiversityView | null): { text: string; warn: boolean } {
  if (!d) return { text: '', warn: false };
  const pct = (v: number): string => `${Math.round(100 * v)} %`;
  const lowest = [...d.groups].sort((a, b) => a.ratio - b.ratio)[0];
  const detail =
    lowest && d.groups.length > 1 ? ` (lowest: ${lowest.name} ${pct(lowest.ratio)})` : '';
  if (d.collapsed.length) {
    return {
      text: `Mode collapse at step ${formatNumber(d.step)}: samples of ${d.collapsed.join(', ')} have lost most of their variety${detail}.`,
      warn: true,
    };
  }
  return {
    text: `Variety at step ${formatNumber(d.step)}: samples vary ${pct(d.median)} as much as the data${detail}.`,
    warn: false,
  };
}

/**
 * How varied a row's samples are against the instance and its neighbours: a share well under
 * 100 % means G draws nearly the same image whatever the noise.
 */
export function varietyText(row: GalleryRow | undefined): string {
  const s = row?.spread;
  if (!s || !(s.neighbours > 0)) return '';
  return ` · variety ${Math.round((100 * s.samples) / s.neighbours)} % of the neighbours'`;
}
