/**
 * The x87 numeric core (src/x86/f80.ts) on its own: the fast paths (normal
 * operands in 32-bit words) against the general BigInt path, on operands made to
 * hit every carry, borrow, sticky and rounding case, under every RC and PC; and
 * a few results known from the SDM. (Both paths are checked against the host
 * by x87-native.test.ts; this covers far more operand pairs cheaply.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DOUBLE_OUT, FpEnv, add, div, fromDouble, fromSingle, mul, setFastPaths, toDouble, toSingle, type F80,
} from '../../src/x86/f80.js';

const J = 1n << 63n;

/** xorshift32: deterministic operands. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function big64(r: () => number): bigint {
  return (BigInt(r()) << 32n) | BigInt(r());
}

/** A normal significand with runs of ones/zeros and ties near the 24/53/64-bit rounding points. */
function sig(r: () => number): bigint {
  let s = J | (big64(r) & (J - 1n));
  switch (r() % 6) {
    case 0: s |= (1n << BigInt(r() % 40)) - 1n; break;
    case 1: s &= ~((1n << BigInt(r() % 40)) - 1n); break;
    case 2: s = (s & ~0x7ffn) | 0x400n; break;
    case 3: s = (s & ~0xffffffffffn) | 0x8000000000n; break;
    case 4: s = J | ((1n << 63n) - 1n); break;
    default: break;
  }
  return s;
}

/** Run f with the fast paths and without; a description of the difference, or ''. */
function both(f: () => unknown[]): string {
  setFastPaths(true);
  const a = f().map(String).join(' ');
  setFastPaths(false);
  const b = f().map(String).join(' ');
  setFastPaths(true);
  return a === b ? '' : `fast: ${a}; general: ${b}`;
}

afterEach(() => setFastPaths(true));

describe('f80 fast paths agree with the general path', () => {
  it('add, subtract, multiply: every RC and PC, exponent differences 0..140', () => {
    const r = rng(0x87);
    const env = new FpEnv();
    const bad: string[] = [];
    for (let k = 0; k < 30000; k++) {
      const cw = ((r() % 4) << 10) | ([0, 2, 3][r() % 3]! << 8) | 0x3f;
      const ea = 0x3fff + (r() % 200) - 100;
      const a: F80 = { se: ((r() & 1) << 15) | ea, sig: sig(r) };
      const d = r() % 4 === 0 ? r() % 3 : r() % 141;
      const b: F80 = { se: ((r() & 1) << 15) | (ea - d + (r() % 2) * 2 * d), sig: r() % 5 === 0 ? a.sig : sig(r) };
      for (const op of ['add', 'sub', 'mul'] as const) {
        const diff = both(() => {
          env.begin(cw);
          const v = op === 'mul' ? mul(env, a, b) : add(env, a, b, op === 'sub');
          return [v?.se, v?.sig, env.flags, env.c1];
        });
        if (diff && bad.length < 10) bad.push(`${op} ${a.se.toString(16)}:${a.sig.toString(16)} ${b.se.toString(16)}:${b.sig.toString(16)} cw ${cw.toString(16)}: ${diff}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('single and double loads and stores', () => {
    const r = rng(0x5d);
    const env = new FpEnv();
    const bad: string[] = [];
    const note = (what: string, diff: string) => { if (diff && bad.length < 10) bad.push(`${what}: ${diff}`); };
    for (let k = 0; k < 20000; k++) {
      const cw = ((r() % 4) << 10) | 0x37f;
      const e = 0x3fff + (r() % 2200) - 1100;
      const v: F80 = { se: ((r() & 1) << 15) | e, sig: sig(r) };
      note(`single ${v.se.toString(16)}:${v.sig.toString(16)}`, both(() => { env.begin(cw); return [toSingle(env, v), env.flags, env.c1]; }));
      note(`double ${v.se.toString(16)}:${v.sig.toString(16)}`, both(() => { env.begin(cw); return [toDouble(env, v), DOUBLE_OUT[0], DOUBLE_OUT[1], env.flags, env.c1]; }));
      const w = r(), lo = r(), hi = r();
      for (const operand of [false, true]) {
        note(`from single ${w}`, both(() => { env.begin(cw); const x = fromSingle(env, w, operand); return [x?.se, x?.sig, env.flags, env.pendingDE]; }));
        note(`from double ${hi}:${lo}`, both(() => { env.begin(cw); const x = fromDouble(env, lo, hi, operand); return [x?.se, x?.sig, env.flags, env.pendingDE]; }));
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('f80 results from the SDM', () => {
  it('x + (-x) is +0, or -0 when rounding down (SDM vol. 1 §4.8.3.2 note on zero results)', () => {
    const env = new FpEnv();
    const x: F80 = { se: 0x4000, sig: J | 12345n };
    env.begin(0x037f);
    expect(add(env, x, x, true)).toEqual({ se: 0, sig: 0n });
    env.begin(0x077f);
    expect(add(env, x, x, true)).toEqual({ se: 0x8000, sig: 0n });
  });

  it('1/3 under each precision control (PC = 01 acts as 64 bits), C1 reporting the rounding up (measured on the host)', () => {
    const env = new FpEnv();
    const one: F80 = { se: 0x3fff, sig: J };
    const three: F80 = { se: 0x4000, sig: 3n << 62n };
    const third = (pc: number) => {
      env.begin(0x007f | (pc << 8));
      const v = div(env, one, three)!;
      return [v.se, v.sig.toString(16), env.flags, env.c1];
    };
    expect(third(0)).toEqual([0x3ffd, 'aaaaab0000000000', 0x20, 1]);
    expect(third(2)).toEqual([0x3ffd, 'aaaaaaaaaaaaa800', 0x20, 0]);
    expect(third(3)).toEqual([0x3ffd, 'aaaaaaaaaaaaaaab', 0x20, 1]);
    expect(third(1)).toEqual(third(3));
  });
});
