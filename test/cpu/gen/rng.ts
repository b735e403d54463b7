/**
 * A small seeded PRNG (xoshiro128**) for the generated CPU tests: the same seed
 * gives the same cases on every machine and every run.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = 0x9e3779b9 ^ Math.imul(seed | 0, 0x85ebca6b);
    this.c = 0x243f6a88;
    this.d = 0xb7e15162;
    for (let i = 0; i < 24; i++) this.u32();
  }

  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** 0 <= n < k. */
  int(k: number): number {
    return Math.floor((this.u32() / 0x100000000) * k);
  }

  /** lo <= n <= hi. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /**
   * A value of `bits` bits (8, 16 or 32) chosen to hit edges: zero, one, all
   * ones, the sign boundary, small positive and negative numbers, single bits,
   * or anything.
   */
  value(bits: number): number {
    const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    const sign = 2 ** (bits - 1);
    const r = this.int(100);
    let v: number;
    if (r < 8) v = this.pick([0, 1, mask, sign, sign - 1, sign + 1, 2]);
    else if (r < 22) v = this.int(17);
    else if (r < 32) v = -1 - this.int(16);
    else if (r < 40) v = 2 ** this.int(bits);
    else if (r < 46) v = 2 ** this.int(bits) - 1;
    else v = this.u32();
    return (v & mask) >>> 0;
  }

  /** A random 32-bit value whose low `bits` bits are an edge-seeking value(bits). */
  reg(bits: number): number {
    if (bits === 32) return this.value(32);
    const mask = (1 << bits) - 1;
    return ((this.u32() & ~mask) | this.value(bits)) >>> 0;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
