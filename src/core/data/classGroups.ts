import type { Rng } from '../random/rng';

/**
 * Draws image indices in groups that share a class: each group takes the class of an image drawn
 * uniformly (so classes keep their frequency in the data), then its images uniformly among that
 * class's members. Every image is still equally likely overall.
 */
export class ClassGroups {
  private readonly members: Int32Array[];

  constructor(private readonly labels: Int32Array) {
    const lists = new Map<number, number[]>();
    labels.forEach((c, i) => {
      const list = lists.get(c) ?? [];
      list.push(i);
      lists.set(c, list);
    });
    const top = Math.max(-1, ...lists.keys());
    this.members = Array.from({ length: top + 1 }, (_, c) => Int32Array.from(lists.get(c) ?? []));
  }

  draw(rng: Rng, batch: number, group: number): Int32Array {
    const out = new Int32Array(batch);
    let members: Int32Array = new Int32Array(0);
    for (let b = 0; b < batch; b++) {
      if (b % group === 0) {
        members = this.members[this.labels[rng.int(this.labels.length)] ?? 0] ?? members;
      }
      out[b] = members[rng.int(members.length)] ?? 0;
    }
    return out;
  }
}
