/**
 * A small seeded PRNG (sfc32) whose whole state is four uint32s. Training draws every random
 * number it needs (batch indices, noise, labels) from one of these, so a checkpoint that stores
 * the state resumes the exact same stream — the loss curve of a resumed run continues the
 * uninterrupted one. Math.random and tfjs's own seeded ops can't be checkpointed that way.
 */
export type RngState = [number, number, number, number];

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads a small integer seed over the four state words.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // The first outputs of sfc32 are poorly mixed.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    [rng.a, rng.b, rng.c, rng.d] = state.map((v) => v >>> 0) as RngState;
    return rng;
  }

  getState(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /**
   * One standard normal (Box–Muller). The pair's second value is thrown away on purpose: caching
   * it would be hidden state outside the four words a checkpoint stores.
   */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * `count` standard normals; with `truncation` > 0, values beyond ±truncation are redrawn (the
   * truncation trick: less variety, higher fidelity).
   */
  normals(count: number, truncation = 0): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let v = this.normal();
      if (truncation > 0) while (Math.abs(v) > truncation) v = this.normal();
      out[i] = v;
    }
    return out;
  }

  /** `count` integers uniform in [0, n). */
  ints(count: number, n: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.int(n);
    return out;
  }
}
