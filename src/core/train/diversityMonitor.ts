import type { ImageDataset } from '../data/dataset';
import type { InstanceIndex } from '../instances/instanceIndex';
import { pixelSpread } from '../metrics/sampleSpread';
import type { GanModel } from '../models/ganModel';
import type { BnStats } from '../models/layers';
import type { TensorMap } from '../models/paramStore';
import { Rng } from '../random/rng';
import { gatherRows, ownConditions, type ConditionArrays } from '../sampling/conditionArrays';
import { generateImages } from '../sampling/generateImages';

/** Samples per condition: enough for a stable per-pixel deviation, cheap next to a grid. */
const SAMPLES_PER_GROUP = 16;
/** Real images per class (or for an unconditional model) whose spread is the reference. */
const REAL_PER_GROUP = 64;
/**
 * A group has collapsed when its samples vary less than this share of what they varied at their
 * best, having once varied at least as much as ATTAINED of the real spread.
 */
const FALL = 0.5;
const ATTAINED = 0.5;

/** Samples that share one condition, and how much the real images that share it vary. */
interface SpreadGroup {
  name: string;
  condition: ConditionArrays;
  realSpread: number;
}

export interface GroupSpread {
  name: string;
  /** Spread of the samples over the spread of the real images that share their condition. */
  ratio: number;
  spread: number;
  realSpread: number;
}

export interface DiversityReading {
  step: number;
  groups: GroupSpread[];
  /** The median ratio over groups: how much of the data's variety the samples show. */
  median: number;
}

/**
 * Watches a training for mode collapse as it happens: at every sample grid, fixed noise per
 * condition (a class, a representative instance, or none) through the EMA generator, and the pixel
 * spread of those samples against the spread of the real images that share the condition (the
 * class's members, the instance and its neighbours). A group whose ratio falls to half its best is
 * reported once, as it happens — the losses alone do not show it.
 */
export class DiversityMonitor {
  private readonly best = new Map<string, number>();
  private readonly collapsed = new Set<string>();
  private readonly z: Float32Array;

  private constructor(
    private readonly model: GanModel,
    private readonly groups: SpreadGroup[],
    seed: number,
  ) {
    this.z = new Rng((seed + 0x51ead) >>> 0).normals(SAMPLES_PER_GROUP * model.zDim);
  }

  /** The groups of a model on its data: per class, per representative instance, or one. */
  static create(
    model: GanModel,
    data: ImageDataset,
    instances: InstanceIndex | null,
    seed: number,
  ): DiversityMonitor {
    const rng = new Rng((seed + 0xd1e5) >>> 0);
    const size = data.height * data.width * data.channels;
    const spreadOf = (indices: ArrayLike<number>): number => {
      const pixels = new Float32Array(indices.length * size);
      Array.from(indices).forEach((i, r) =>
        pixels.set(data.images.subarray(i * size, (i + 1) * size), r * size),
      );
      return pixelSpread(pixels, indices.length);
    };
    const groups: SpreadGroup[] = [];
    if (model.featureDim > 0 && instances) {
      for (const i of instances.representatives) {
        const neighbours = instances.neighbours.subarray(i * instances.k, (i + 1) * instances.k);
        const one = Int32Array.of(i);
        groups.push({
          name: `instance ${i}`,
          condition: {
            instances: gatherRows(instances.features, instances.dim, one),
            ...ownConditions(model, instances, one),
          },
          realSpread: spreadOf([i, ...neighbours]),
        });
      }
    } else if (model.numClasses > 0 && data.labels) {
      const labels = data.labels;
      for (let c = 0; c < model.numClasses; c++) {
        const members: number[] = [];
        for (let i = 0; i < data.count; i++) if (labels[i] === c) members.push(i);
        if (members.length < 2) continue;
        const picked = Array.from(
          rng.ints(Math.min(REAL_PER_GROUP, members.length), members.length),
          (j) => members[j]!,
        );
        groups.push({
          name: data.classNames?.[c] ?? `class ${c}`,
          condition: { labels: Int32Array.of(c) },
          realSpread: spreadOf(picked),
        });
      }
    } else if (model.conditionDim === 0) {
      groups.push({
        name: 'all',
        condition: {},
        realSpread: spreadOf(rng.ints(REAL_PER_GROUP, data.count)),
      });
    }
    // Models conditioned on tags or vectors: few real images share a whole y, so there is no
    // reference spread to compare with; they get no groups and no warnings.
    return new DiversityMonitor(model, groups, seed);
  }

  /** Groups reported collapsed and not recovered since. */
  get collapsedGroups(): string[] {
    return [...this.collapsed];
  }

  get watches(): boolean {
    return this.groups.length > 0;
  }

  /** Spreads of the EMA generator `params` (sampled with standing statistics `stats`). */
  async read(
    step: number,
    params: TensorMap,
    stats: ReadonlyMap<string, BnStats>,
  ): Promise<DiversityReading> {
    const groups: DiversityReading['groups'] = [];
    for (const g of this.groups) {
      const images = await generateImages(
        this.model,
        params,
        stats,
        this.z,
        repeat(g.condition, SAMPLES_PER_GROUP),
      );
      const spread = pixelSpread(images.pixels, SAMPLES_PER_GROUP);
      groups.push({
        name: g.name,
        spread,
        realSpread: g.realSpread,
        ratio: g.realSpread > 0 ? spread / g.realSpread : 1,
      });
    }
    const sorted = groups.map((g) => g.ratio).sort((a, b) => a - b);
    const median = sorted.length ? sorted[sorted.length >> 1]! : 1;
    return { step, groups, median };
  }

  /** Warnings for the groups that have just collapsed (each reported once until it recovers). */
  assess(reading: DiversityReading): string[] {
    const out: string[] = [];
    for (const g of reading.groups) {
      const best = Math.max(this.best.get(g.name) ?? 0, g.ratio);
      this.best.set(g.name, best);
      const fallen = best >= ATTAINED && g.ratio < FALL * best;
      if (fallen && !this.collapsed.has(g.name)) {
        this.collapsed.add(g.name);
        out.push(
          `mode collapse at step ${reading.step}: samples of ${g.name} vary ${pct(g.ratio)} as much as the real images they should look like (${g.spread.toFixed(1)} vs ${g.realSpread.toFixed(1)} grey levels), down from ${pct(best)}`,
        );
      } else if (!fallen) {
        this.collapsed.delete(g.name);
      }
    }
    return out;
  }
}

function pct(v: number): string {
  return `${Math.round(v * 100)} %`;
}

/** One condition for `n` images. */
function repeat(c: ConditionArrays, n: number): ConditionArrays {
  const rows = (a: ArrayLike<number> | null | undefined): number[] | null =>
    a ? Array.from(a) : null;
  const tile = <T extends Int32Array | Float32Array>(
    a: T | null | undefined,
    make: (v: number[]) => T,
  ): T | null => {
    const r = rows(a);
    return r ? make(Array.from({ length: n }, () => r).flat()) : null;
  };
  return {
    labels: tile(c.labels, (v) => Int32Array.from(v)),
    instances: tile(c.instances, (v) => Float32Array.from(v)),
    vectors: tile(c.vectors, (v) => Float32Array.from(v)),
  };
}
