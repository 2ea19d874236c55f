import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Named float32 arrays written for a Python peer to read: `bundle.json` (metadata and, per array,
 * its shape and offset in floats) and `bundle.f32` (all arrays back to back, little-endian).
 * Integers (labels, indices) travel as floats; they are small and exact.
 */
export class TensorBundle {
  private readonly entries: { name: string; shape: number[]; offset: number }[] = [];
  private readonly chunks: Float32Array[] = [];
  private floats = 0;

  constructor(readonly meta: Record<string, unknown> = {}) {}

  add(name: string, shape: readonly number[], data: ArrayLike<number>): void {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new Error(`${name}: ${data.length} values for shape [${shape.join(', ')}]`);
    }
    this.entries.push({ name, shape: [...shape], offset: this.floats });
    this.chunks.push(Float32Array.from(data));
    this.floats += size;
  }

  write(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const all = new Float32Array(this.floats);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    fs.writeFileSync(path.join(dir, 'bundle.f32'), Buffer.from(all.buffer));
    fs.writeFileSync(
      path.join(dir, 'bundle.json'),
      JSON.stringify({ meta: this.meta, tensors: this.entries }),
    );
  }
}
