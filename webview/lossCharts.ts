/**
 * The two loss charts (uPlot): D and G loss, and D(real) / D(fake), against the step. Steps
 * stream in many times a second, so the arrays are appended to in place and redrawn once per
 * animation frame (the caller batches renders); a changed run, smoothing or compared run rebuilds
 * them. A compared run is overlaid with dashed lines on the loss chart.
 */
import uPlot from 'uplot';
import type { LossPoint, RunView } from '../src/protocol/webviewMessages';
import { el } from './dom';
import { EmaSmoother } from './smoothing';
import { readChartColors, type ChartColors } from './theme';

const CHART_HEIGHT = 240;

type Values = (number | null)[];

/** One run's curves as uPlot arrays, kept in step with its LossPoint list. */
class CurveBuffer {
  private run: string | null = null;
  private weight = -1;
  private last: LossPoint | undefined;
  private ema: EmaSmoother[] = [];
  x: number[] = [];
  d: Values = [];
  g: Values = [];
  real: Values = [];
  fake: Values = [];

  /** Brings the arrays up to `losses`: appends when they only grew, else rebuilds. */
  sync(run: string | null, losses: readonly LossPoint[], weight: number): boolean {
    const count = this.x.length;
    const grew =
      run === this.run &&
      weight === this.weight &&
      losses.length >= count &&
      (count === 0 || losses[count - 1] === this.last);
    if (grew && losses.length === count) return false;
    if (!grew) {
      this.run = run;
      this.weight = weight;
      this.ema = [0, 1, 2, 3].map(() => new EmaSmoother(weight));
      this.x = [];
      this.d = [];
      this.g = [];
      this.real = [];
      this.fake = [];
    }
    const [d, g, real, fake] = this.ema as [EmaSmoother, EmaSmoother, EmaSmoother, EmaSmoother];
    for (let i = this.x.length; i < losses.length; i++) {
      const p = losses[i] as LossPoint;
      this.x.push(p.step);
      this.d.push(d.push(p.dLoss));
      this.g.push(g.push(p.gLoss));
      this.real.push(real.push(p.dReal));
      this.fake.push(fake.push(p.dFake));
    }
    this.last = losses[losses.length - 1];
    return true;
  }
}

const formatValue = (_u: uPlot, v: number | null): string => (v == null ? '—' : v.toFixed(3));

function axes(colors: ChartColors, yLabel: string): uPlot.Axis[] {
  const common = {
    stroke: colors.axis,
    grid: { stroke: colors.grid, width: 1 },
    ticks: { stroke: colors.grid, width: 1 },
  };
  return [
    { ...common, label: 'step' },
    { ...common, label: yLabel, size: 56 },
  ];
}

function line(label: string, stroke: string, dashed = false): uPlot.Series {
  return {
    label,
    stroke,
    width: dashed ? 1.25 : 1.5,
    points: { show: false },
    value: formatValue,
    ...(dashed ? { dash: [6, 4], spanGaps: true } : {}),
  };
}

class Chart {
  private plot: uPlot | null = null;
  private zoomed = false;
  private width = 0;

  constructor(
    readonly container: HTMLElement,
    private readonly makeSeries: (colors: ChartColors) => uPlot.Series[],
    private readonly yLabel: string,
  ) {
    new ResizeObserver(() => this.resize()).observe(container);
  }

  /** (Re)creates the plot, e.g. for new colours or a different series list. */
  create(data: uPlot.AlignedData): void {
    this.plot?.destroy();
    const colors = readChartColors();
    this.width = Math.max(this.container.clientWidth, 200);
    this.zoomed = false;
    const plot = new uPlot(
      {
        width: this.width,
        height: CHART_HEIGHT,
        scales: { x: { time: false } },
        axes: axes(colors, this.yLabel),
        series: [
          { label: 'step', value: (_u, v) => (v == null ? '—' : String(v)) },
          ...this.makeSeries(colors),
        ],
        cursor: { drag: { x: true, y: false } },
        legend: { show: true },
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width > 0) this.zoomed = true;
            },
          ],
        },
      },
      data,
      this.container,
    );
    plot.over.addEventListener('dblclick', () => {
      this.zoomed = false;
    });
    this.plot = plot;
  }

  setData(data: uPlot.AlignedData): void {
    if (!this.plot) this.create(data);
    // Keep a zoomed-in view while new steps arrive; double-click zooms back out.
    else this.plot.setData(data, !this.zoomed);
  }

  private resize(): void {
    const width = this.container.clientWidth;
    // A hidden tab reports 0: keep the old size until the panel is shown again.
    if (!this.plot || width === 0 || width === this.width) return;
    this.width = width;
    this.plot.setSize({ width, height: CHART_HEIGHT });
  }
}

export class LossCharts {
  readonly element: HTMLElement;
  private readonly lossChart: Chart;
  private readonly probChart: Chart;
  private readonly current = new CurveBuffer();
  private readonly compared = new CurveBuffer();
  private compareName: string | null = null;
  private dirty = true;

  constructor() {
    const lossContainer = el('div', { class: 'chart loss-chart' });
    const probContainer = el('div', { class: 'chart prob-chart' });
    this.element = el(
      'div',
      { class: 'charts' },
      el('h3', { class: 'chart-title', text: 'D and G loss' }),
      lossContainer,
      el('h3', { class: 'chart-title', text: 'D(real) and D(fake)' }),
      probContainer,
    );
    this.lossChart = new Chart(
      lossContainer,
      (c) => {
        const series = [line('D loss', c.d), line('G loss', c.g)];
        if (this.compareName !== null) {
          series.push(line(`${this.compareName} D`, c.d, true));
          series.push(line(`${this.compareName} G`, c.g, true));
        }
        return series;
      },
      'loss',
    );
    this.probChart = new Chart(
      probContainer,
      (c) => [line('D(real)', c.real), line('D(fake)', c.fake)],
      'mean sigmoid',
    );
  }

  /** Called every frame the model may have changed; does work only when the curves did. */
  update(current: RunView | null, compare: RunView | null, smoothing: number): void {
    let changed = this.current.sync(
      current?.summary.name ?? null,
      current?.losses ?? [],
      smoothing,
    );
    const compareName = compare?.summary.name ?? null;
    changed = this.compared.sync(compareName, compare?.losses ?? [], smoothing) || changed;
    if (compareName !== this.compareName) {
      this.compareName = compareName;
      this.lossChart.create(this.lossData());
      changed = true;
    }
    if (!changed && !this.dirty) return;
    this.dirty = false;
    this.lossChart.setData(this.lossData());
    const c = this.current;
    this.probChart.setData([c.x, c.real, c.fake]);
  }

  /** New theme colours: rebuild both plots with the data they show. */
  retheme(): void {
    this.lossChart.create(this.lossData());
    const c = this.current;
    this.probChart.create([c.x, c.real, c.fake]);
  }

  private lossData(): uPlot.AlignedData {
    const c = this.current;
    if (this.compareName === null) return [c.x, c.d, c.g];
    const o = this.compared;
    return uPlot.join([
      [c.x, c.d, c.g],
      [o.x, o.d, o.g],
    ]);
  }
}
