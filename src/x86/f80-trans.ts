/**
 * The x87's transcendental instructions and constants: FSIN FCOS FSINCOS FPTAN
 * FPATAN F2XM1 FYL2X FYL2XP1, and the values FLDPI FLDL2T FLDL2E FLDLG2 FLDLN2
 * load.
 *
 * The hardware computes these with its own microcode to "within one unit in the
 * last place" (SDM vol. 1 §8.3.10); its exact last bits are not specified. We
 * evaluate each function in binary floating point of WORK (160) bits (BigInt
 * significands, series on reduced arguments) and round once to 64 bits under
 * RC, so our result is the correctly rounded value and may differ from the
 * host's by one unit in the last place (C1, which reports the rounding
 * direction, may differ with it). The differential test measures this and
 * states its tolerance (test/cpu/x87-native.test.ts).
 *
 * One documented hardware property is reproduced exactly: FSIN, FCOS, FSINCOS
 * and FPTAN reduce their argument with a 66-bit approximation of π (SDM vol. 1
 * §8.3.10), so what they compute for x is the true function of
 * x - k × (π66 - π) / 2, and for large arguments near multiples of π the result
 * differs from the true sine in many bits, exactly as on the hardware.
 *
 * The constants (π, ln 2, ln 10 and what derives from them) are computed here
 * from series at load time, not written out. FLDPI and the others load them
 * rounded to 64 bits under RC (see loadConstant).
 */
import {
  BIAS, DE, FpEnv, IE, PE, INDEFINITE, INF, DENORMAL, UNSUPPORTED, ZE, ZERO,
  bitLen, classify, inf, isNaNClass, isqrt, lsbExp, mul as mul80, propagateNaN, roundExt, signOf, zero, J, pack, type F80,
} from './f80.js';

/** Working precision in bits. */
const WORK = 160;

/** A binary floating-point number sign × m × 2^e with m < 2^WORK (m ≥ 0). */
interface BF {
  s: number;
  m: bigint;
  e: number;
}

function norm(s: number, m: bigint, e: number): BF {
  if (m < 0n) { m = -m; s ^= 1; }
  const n = bitLen(m);
  if (n > WORK) {
    const k = n - WORK;
    return { s, m: m >> BigInt(k), e: e + k };
  }
  return { s, m, e };
}

function bf(v: number | bigint): BF {
  const b = BigInt(v);
  return norm(b < 0n ? 1 : 0, b < 0n ? -b : b, 0);
}

function add(a: BF, b: BF): BF {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const ta = bitLen(a.m) + a.e, tb = bitLen(b.m) + b.e;
  if (ta - tb > WORK + 8) return a;
  if (tb - ta > WORK + 8) return b;
  const e = Math.min(a.e, b.e);
  const x = a.m << BigInt(a.e - e), y = b.m << BigInt(b.e - e);
  const sx = a.s ? -x : x, sy = b.s ? -y : y;
  return norm(0, sx + sy, e);
}

function neg(a: BF): BF {
  return { s: a.s ^ 1, m: a.m, e: a.e };
}

function sub(a: BF, b: BF): BF {
  return add(a, neg(b));
}

function mul(a: BF, b: BF): BF {
  return norm(a.s ^ b.s, a.m * b.m, a.e + b.e);
}

function div(a: BF, b: BF): BF {
  const k = WORK + bitLen(b.m) - bitLen(a.m) + 2;
  const num = k >= 0 ? a.m << BigInt(k) : a.m >> BigInt(-k);
  return norm(a.s ^ b.s, num / b.m, a.e - b.e - k);
}


function scale2(a: BF, k: number): BF {
  return { s: a.s, m: a.m, e: a.e + k };
}

function sqrtBF(a: BF): BF {
  let k = 2 * WORK + 4 - bitLen(a.m);
  if ((a.e - k) & 1) k++;
  const m = k >= 0 ? a.m << BigInt(k) : a.m >> BigInt(-k);
  return norm(0, isqrt(m), (a.e - k) / 2);
}


function fromF80(v: F80): BF {
  return norm(signOf(v), v.sig, lsbExp(v));
}

/** Round a BF to an extended register value (64 bits, RC); inexact unless `exact`. */
function toF80(env: FpEnv, a: BF, exact = false): F80 {
  return roundExt(env, a.s, a.m, a.e, !exact && a.m !== 0n, 64);
}

// ---- series ---------------------------------------------------------------------



/**
 * sin(r) and cos(r) for |r| ≤ π/4. The series are evaluated in fixed point
 * (FIXED fractional bits) on z = r²: sin r = r × S(z) and cos r = C(z), where
 * S and C are near 1, so their absolute error is their relative error, and
 * sin r keeps full relative precision however small r is.
 */
function sinCos(r: BF): [BF, BF] {
  const sh = FIXED + 2 * r.e;
  const r2 = r.m * r.m;
  const z = sh >= 0 ? r2 << BigInt(sh) : r2 >> BigInt(-sh);
  const S = horner(SIN_COEF, z), C = horner(COS_COEF, z);
  return [mul(r, norm(0, S, -FIXED)), norm(0, C, -FIXED)];
}

const FIXED = WORK;

/** c0 - z(c1 - z(c2 - ...)) in fixed point (or c0 + z(c1 + ...) when `alternate` is false). */
function horner(coef: readonly bigint[], z: bigint, alternate = true): bigint {
  const f = BigInt(FIXED);
  let acc = coef[coef.length - 1]!;
  for (let k = coef.length - 2; k >= 0; k--) acc = alternate ? coef[k]! - ((acc * z) >> f) : coef[k]! + ((acc * z) >> f);
  return acc;
}

/** A BF as a signed fixed-point number (FIXED fractional bits). */
function toFixed(x: BF): bigint {
  const sh = FIXED + x.e;
  const v = sh >= 0 ? x.m << BigInt(sh) : x.m >> BigInt(-sh);
  return x.s ? -v : v;
}

function fromFixed(v: bigint): BF {
  return v < 0n ? norm(1, -v, -FIXED) : norm(0, v, -FIXED);
}

/** 2^FIXED / (2k + 1) for k = 0, 1, ... while the terms z^k/(2k+1) with z ≤ zMax matter. */
function inverseOdds(terms: number): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k < terms; k++) out.push((1n << BigInt(FIXED)) / BigInt(2 * k + 1));
  return out;
}

/** atanh(x) = x (1 + x²/3 + x⁴/5 + ...) for |x| ≤ 1/3 (fixed-point series in x²). */
function atanhFast(x: BF): BF {
  const z = toFixed(mul(x, x));
  return mul(x, fromFixed(horner(ATANH_COEF, z, false)));
}

/** atan(x) = x (1 - x²/3 + x⁴/5 - ...) for |x| ≤ 1/5. */
function atanFast(x: BF): BF {
  const z = toFixed(mul(x, x));
  return mul(x, fromFixed(horner(ATANH_COEF, z, true)));
}

/** e^x - 1 = x (1 + x/2! + x²/3! + ...) for |x| < 1. */
function expm1Fast(x: BF): BF {
  return mul(x, fromFixed(horner(EXPM1_COEF, toFixed(x), false)));
}

/** 2^FIXED / n! for n = first, first + 2, ... while it is not zero. */
function inverseFactorials(first: number): bigint[] {
  const out: bigint[] = [];
  let f = 1n; // first!
  for (let n = 2; n <= first; n++) f *= BigInt(n);
  for (let n = first; ; n += 2) {
    const c = (1n << BigInt(FIXED)) / f;
    if (c === 0n) break;
    out.push(c);
    f *= BigInt(n + 1) * BigInt(n + 2);
  }
  return out;
}

const SIN_COEF = inverseFactorials(1); // 1/1!, 1/3!, 1/5!, ...
const COS_COEF = inverseFactorials(0); // 1/0!, 1/2!, 1/4!, ...
/** 1/(2k+1): enough terms for (1/3)^(2k) below 2^-FIXED. */
const ATANH_COEF = inverseOdds(Math.ceil(FIXED / Math.log2(9)) + 2);
/** 1/(k+1)! for k = 0, 1, ...: 2^FIXED / 1!, / 2!, / 3!, ... */
const EXPM1_COEF = ((): bigint[] => {
  const out: bigint[] = [];
  let f = 1n;
  for (let n = 1; ; n++) {
    f *= BigInt(n);
    const c = (1n << BigInt(FIXED)) / f;
    if (c === 0n) break;
    out.push(c);
  }
  return out;
})();


// ---- constants -------------------------------------------------------------------

const ONE = bf(1);
const PI = sub(scale2(atanFast(div(ONE, bf(5))), 4), scale2(atanFast(div(ONE, bf(239))), 2));
const LN2 = scale2(atanhFast(div(ONE, bf(3))), 1);
const LN10 = add(mul(bf(3), LN2), scale2(atanhFast(div(ONE, bf(9))), 1));
const LOG2E = div(ONE, LN2);
const LOG2_10 = div(LN10, LN2);
const LOG10_2 = div(LN2, LN10);

/** A constant as the x87 keeps it: rounded to nearest at 66 significant bits. */
function internal66(c: BF): BF {
  const n = bitLen(c.m);
  const k = n - 66;
  let m = c.m >> BigInt(k);
  if ((c.m >> BigInt(k - 1)) & 1n) m += 1n;
  return norm(0, m, c.e + k);
}

const PI66 = internal66(PI);

export const CONSTANTS = { fldpi: PI, fldl2t: LOG2_10, fldl2e: LOG2E, fldlg2: LOG10_2, fldln2: LN2 } as const;

/**
 * The value FLDPI etc. load: the constant rounded under RC to 64 bits, without
 * PE and with C1 clear. (log10 2 shows that the hardware's round-to-nearest is
 * that of the exact value: its 66-bit form ends in a tie that ties-to-even would
 * round down, and the host rounds it up.)
 */
export function loadConstant(env: FpEnv, name: keyof typeof CONSTANTS): F80 {
  const c = CONSTANTS[name];
  const save = env.flags;
  const r = roundExt(env, 0, c.m, c.e, true, 64);
  env.flags = save; // the constants never raise PE,
  env.c1 = 0; // and C1 stays clear whichever way they were rounded (checked on the host)
  return r;
}

// ---- trigonometric ---------------------------------------------------------------------

/** Arguments with |x| ≥ 2^63 are out of range (C2 = 1, the operand is left alone). */
export function trigInRange(v: F80): boolean {
  const exp = v.se & 0x7fff;
  return exp < BIAS + 63;
}

/** Reduce x (finite) by the 66-bit π/2: [r, k mod 4]. */
function reduce(x: F80): [BF, number] {
  // π66 = P × 2^pe exactly; x = m × 2^e exactly.
  const P = PI66.m, pe = PI66.e - 1; // π66/2
  const m = x.sig, e = lsbExp(x);
  const sign = signOf(x);
  const lo = Math.min(e, pe);
  const X = m << BigInt(e - lo);
  const H = P << BigInt(pe - lo); // π66/2 at the same scale
  // k = nearest integer to X / H.
  let k = X / H;
  let R = X - k * H;
  if (2n * R > H) { k += 1n; R -= H; }
  const r = norm(sign, R, lo);
  const q = Number(k & 3n);
  return [r, sign ? (4 - q) & 3 : q];
}

export type TrigOp = 'sin' | 'cos' | 'tan' | 'sincos';

/**
 * FSIN/FCOS/FPTAN/FSINCOS on an in-range operand (the caller checks
 * trigInRange and the stack). Returns [result] or [sin, cos] for sincos, or
 * null when an unmasked exception blocks it.
 */
export function trig(env: FpEnv, op: TrigOp, x: F80): F80[] | null {
  const c = classify(x);
  // FPTAN and FSINCOS push a second result: for a NaN or invalid operand, both are that NaN.
  const pair = op === 'sincos' || op === 'tan' ? 2 : 1;
  if (c === UNSUPPORTED || c === INF) {
    if (env.raise(IE)) return null;
    return new Array<F80>(pair).fill(INDEFINITE);
  }
  if (isNaNClass(c)) {
    const r = propagateNaN(env, x, c, null, ZERO);
    return env.blocked ? null : new Array<F80>(pair).fill(r);
  }
  if (c === DENORMAL && env.raise(DE)) return null;
  if (c === ZERO) {
    if (op === 'cos') return [pack(0, 1n, 0)];
    if (op === 'sin') return [x];
    return [x, pack(0, 1n, 0)];
  }
  const [r, q] = reduce(x);
  const [s0, c0] = sinCos(r);
  const sinv = [s0, c0, neg(s0), neg(c0)][q]!;
  const cosv = [c0, neg(s0), neg(c0), s0][q]!;
  switch (op) {
    case 'sin': return [toF80(env, sinv)];
    case 'cos': return [toF80(env, cosv)];
    case 'tan': return [toF80(env, div(sinv, cosv)), pack(0, 1n, 0)];
    default: {
      const s = toF80(env, sinv);
      const c1s = env.c1;
      const co = toF80(env, cosv);
      env.c1 |= c1s;
      return [s, co];
    }
  }
}

// ---- FPATAN ------------------------------------------------------------------------

/** atan(t) by argument halving, atan(t) = 2 atan(t / (1 + √(1 + t²))), down to t ≤ 1/5 (slow: for the table). */
function atanByHalving(t: BF): BF {
  let halvings = 0;
  while (cmpBF(t, div(ONE, bf(5))) > 0) {
    t = div(t, add(ONE, sqrtBF(add(ONE, mul(t, t)))));
    halvings++;
  }
  return scale2(atanFast(t), halvings);
}

/** atan(j/16), j = 0..16. */
const ATAN16: readonly BF[] = Array.from({ length: 17 }, (_, j) => atanByHalving(norm(0, BigInt(j), -4)));

/** atan(t) for 0 ≤ t ≤ 1: atan(c) + atan((t - c) / (1 + tc)) with c the nearest j/16 (|argument| ≤ 1/32). */
function atanUnit(t: BF): BF {
  const j = Math.min(16, Math.round(Number(t.m) * 2 ** (t.e + 4)));
  if (j === 0) return atanFast(t);
  const c = norm(0, BigInt(j), -4);
  return add(ATAN16[j]!, atanFast(div(sub(t, c), add(ONE, mul(t, c)))));
}
/** FPATAN: atan2(y, x) (y = ST(1), x = ST(0)). */
export function atan2(env: FpEnv, y: F80, x: F80): F80 | null {
  const cy = classify(y), cx = classify(x);
  if (cy === UNSUPPORTED || cx === UNSUPPORTED) {
    if (env.raise(IE)) return null;
    return INDEFINITE;
  }
  if (isNaNClass(cy) || isNaNClass(cx)) {
    const r = propagateNaN(env, y, cy, x, cx);
    return env.blocked ? null : r;
  }
  if ((cy === DENORMAL || cx === DENORMAL) && env.raise(DE)) return null;
  const sy = signOf(y), sx = signOf(x);
  const pi = (k: number, d: number) => toF80(env, { ...scale2(mul(PI66, bf(k)), -d), s: sy });
  if (cy === ZERO) {
    if (sx === 0) return zero(sy);
    return pi(1, 0);
  }
  if (cy === INF) {
    if (cx === INF) return sx ? pi(3, 2) : pi(1, 2);
    return pi(1, 1);
  }
  if (cx === ZERO) return pi(1, 1);
  if (cx === INF) return sx ? pi(1, 0) : zero(sy);
  const ay = fromF80({ se: y.se & 0x7fff, sig: y.sig });
  const ax = fromF80({ se: x.se & 0x7fff, sig: x.sig });
  // |y| ≤ |x|: atan(|y|/|x|); else π/2 - atan(|x|/|y|).
  const yBig = cmpBF(ay, ax) > 0;
  let a = yBig ? sub(scale2(PI, -1), atanUnit(div(ax, ay))) : atanUnit(div(ay, ax));
  if (sx) a = sub(PI, a);
  return toF80(env, { ...a, s: sy });
}

function cmpBF(a: BF, b: BF): number {
  const d = sub(a, b);
  return d.m === 0n ? 0 : d.s ? -1 : 1;
}

// ---- logarithms and exponentials ----------------------------------------------------------

/** ln(v) for a finite positive F80. */
function lnF80(v: F80): BF {
  return lnBF(fromF80(v));
}

/** ln(v) for v > 0. */
function lnBF(v: BF): BF {
  const n = bitLen(v.m);
  const E = v.e + n - 1;
  // v = 2^E × f, 1 ≤ f < 2; move f to [√½, √2) so that the atanh argument is below 0.18.
  let f = norm(0, v.m, -(n - 1));
  let k = E;
  if (cmpBF(f, sqrtBF(bf(2))) > 0) { f = scale2(f, -1); k += 1; }
  const s = div(sub(f, ONE), add(f, ONE));
  return add(mul(bf(k), LN2), scale2(atanhFast(s), 1));
}

/** log2 of a positive finite F80 that is an exact power of two, or null. */
function exactLog2(v: F80): number | null {
  const n = bitLen(v.sig);
  if (v.sig !== 1n << BigInt(n - 1)) return null;
  return lsbExp(v) + n - 1;
}

/** FYL2X: y × log2(x) (y = ST(1), x = ST(0)). */
export function yl2x(env: FpEnv, y: F80, x: F80): F80 | null {
  const cy = classify(y), cx = classify(x);
  if (cy === UNSUPPORTED || cx === UNSUPPORTED) {
    if (env.raise(IE)) return null;
    return INDEFINITE;
  }
  if (isNaNClass(cy) || isNaNClass(cx)) {
    const r = propagateNaN(env, y, cy, x, cx);
    return env.blocked ? null : r;
  }
  const sx = signOf(x), sy = signOf(y);
  if (sx === 1 && cx !== ZERO) {
    if (env.raise(IE)) return null;
    return INDEFINITE;
  }
  if (cx === ZERO) {
    // log2(±0) = -∞: ZE (IE for 0 × ∞), and no DE for a denormal y (measured).
    if (cy === ZERO) { if (env.raise(IE)) return null; return INDEFINITE; }
    if (cy !== INF && env.raise(ZE)) return null;
    return inf(sy ^ 1);
  }
  if ((cy === DENORMAL || cx === DENORMAL) && env.raise(DE)) return null;
  if (cx === INF) {
    if (cy === ZERO) { if (env.raise(IE)) return null; return INDEFINITE; }
    return inf(sy);
  }
  // log2(x) sign: x < 1 negative, x = 1 zero, x > 1 positive.
  const e2 = exactLog2(x);
  if (e2 === 0) {
    if (cy === INF) { if (env.raise(IE)) return null; return INDEFINITE; }
    return zero(sy);
  }
  const xBelowOne = lsbExp(x) + bitLen(x.sig) - 1 < 0;
  if (cy === INF) return inf(sy ^ (xBelowOne ? 1 : 0));
  if (cy === ZERO) return zero(sy ^ (xBelowOne ? 1 : 0));
  if (e2 !== null) {
    // Exact logarithm: one rounding of y × e2.
    const save = env.prec;
    env.prec = 64;
    const r = mul80(env, y, pack(e2 < 0 ? 1 : 0, BigInt(Math.abs(e2)), 0));
    env.prec = save;
    return r;
  }
  const l = div(lnF80(x), LN2);
  return toF80(env, mul(fromF80(y), l));
}

/** FYL2XP1: y × log2(x + 1) for |x| < 1 - √2/2 (y = ST(1), x = ST(0)). */
export function yl2xp1(env: FpEnv, y: F80, x: F80): F80 | null {
  const cy = classify(y), cx = classify(x);
  if (cy === UNSUPPORTED || cx === UNSUPPORTED) {
    if (env.raise(IE)) return null;
    return INDEFINITE;
  }
  if (isNaNClass(cy) || isNaNClass(cx)) {
    const r = propagateNaN(env, y, cy, x, cx);
    return env.blocked ? null : r;
  }
  const sx = signOf(x), sy = signOf(y);
  if ((cy === ZERO && cx === INF) || (cy === INF && cx === ZERO)) {
    if (env.raise(IE)) return null;
    return INDEFINITE;
  }
  if ((cy === DENORMAL || cx === DENORMAL) && env.raise(DE)) return null;
  if (cx === INF) return sx ? (env.raise(IE) ? null : INDEFINITE) : inf(sy);
  if (cy === INF) return inf(sy ^ sx);
  if (cx === ZERO || cy === ZERO) return zero(sy ^ sx);
  // ln(1 + x) = 2 atanh(x / (2 + x)) in the domain (|x| < 1 - √2/2); outside it, where the
  // hardware's result is undefined, plain ln(1 + x) (and the indefinite for x ≤ -1).
  const xv = fromF80(x);
  let l: BF;
  if (bitLen(xv.m) + xv.e <= -1) l = scale2(atanhFast(div(xv, add(bf(2), xv))), 1);
  else {
    const onePlus = add(ONE, xv);
    if (onePlus.s || onePlus.m === 0n) { if (env.raise(IE)) return null; return INDEFINITE; }
    l = lnBF(onePlus);
  }
  return toF80(env, mul(fromF80(y), div(l, LN2)));
}

/** F2XM1: 2^x - 1 for -1 ≤ x ≤ 1 (other finite x: undefined on the hardware; computed the same way). */
export function f2xm1(env: FpEnv, x: F80): F80 | null {
  const c = classify(x);
  if (c === UNSUPPORTED) {
    if (env.raise(IE)) return null;
    return INDEFINITE;
  }
  if (isNaNClass(c)) {
    const r = propagateNaN(env, x, c, null, ZERO);
    return env.blocked ? null : r;
  }
  const s = signOf(x);
  if (c === ZERO) return x;
  if (c === INF) return s ? pack(1, 1n, 0) : x;
  if (c === DENORMAL && env.raise(DE)) return null;
  // x = ±1: the exact results, with PE as the hardware reports it.
  if (x.sig === J && (x.se & 0x7fff) === BIAS) {
    env.raise(PE);
    return s ? pack(1, 1n, -1) : pack(0, 1n, 0);
  }
  // |x| > 1 is outside the instruction's domain (the SDM leaves the result
  // undefined): Intel processors return the operand unchanged with PE set, and
  // so do we (computing 2^x - 1 there would build numbers beyond any range).
  if ((x.se & 0x7fff) >= BIAS) {
    env.raise(PE);
    return x;
  }
  return toF80(env, expm1Fast(mul(fromF80(x), LN2)));
}
