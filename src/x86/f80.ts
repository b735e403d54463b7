/**
 * Extended-precision (80-bit) arithmetic as the x87 FPU does it, written from the
 * Intel SDM (vol. 1 chapters 4 and 8, and the instruction pages of vol. 2) and
 * checked against the host's x87 (test/cpu/x87-native.test.ts).
 *
 * Values are raw 80-bit patterns, `F80 = { se, sig }`: the sign/exponent word and
 * the 64-bit significand with its explicit integer bit (J, bit 63). Arithmetic
 * is exact: operands are unpacked to `m × 2^e` with BigInt significands, the
 * exact result (or, for division and square root, enough quotient bits plus a
 * sticky bit) is formed, and one rounding step gives the result under the
 * control word's rounding control (RC) and precision control (PC). No JS double
 * is involved anywhere here, so every result is the one the hardware computes.
 *
 * Facts this module relies on (SDM, and measured on the host where the SDM
 * leaves a choice):
 * - Precision control rounds the significand to 24, 53 or 64 bits but keeps the
 *   15-bit exponent; PC = 01 (reserved) behaves as 64 bits. Tiny results are
 *   denormalised to the extended format's minimum exponent and rounded at the
 *   PC bit position *of the format* (the 24th/53rd bit below 2^-16382).
 * - Underflow: tininess is detected before rounding. Masked, UE is raised only
 *   when the tiny result is also inexact; unmasked, UE is raised for any tiny
 *   result and a register destination gets the significand rounded with an
 *   unbounded exponent and the exponent biased up by 24576 (3 × 2^13).
 *   Overflow unmasked: the exponent is biased down by 24576. When even the
 *   adjusted exponent is out of range (FSCALE by large amounts), the result is
 *   ±0 (UE, PE, C1 = 0) or ±∞ (OE, PE, C1 = 1) whatever RC says (measured).
 *   Memory destinations are not written when OE/UE are unmasked and raised.
 * - Masked overflow gives ∞ or the largest finite number of the precision,
 *   by RC and sign. C1 reports that the result was rounded up in magnitude.
 * - NaNs: an SNaN operand raises IE and is quietened; of two NaNs the one with
 *   the larger significand wins (QNaN over SNaN), on equal significands the
 *   positive one. A NaN operand hides a denormal one (no DE). Invalid
 *   operations and unsupported formats (unnormals, pseudo-infinities,
 *   pseudo-NaNs) give the real indefinite, FFFF C000000000000000.
 * - Denormal operands (including pseudo-denormals, exponent 0 with J = 1,
 *   whose value is that of exponent 1) raise DE; 80-bit loads and register
 *   moves do not examine operands at all.
 *
 * Exceptions are accumulated in an FpEnv: `flags` (SW bits IE..PE, SF) and `c1`.
 * When IE, DE or ZE is raised unmasked an operation returns null: the
 * instruction must leave its destination and the stack alone (SDM vol. 1
 * §4.9.2 and §8.5: these are detected before the result is formed).
 */

export interface F80 {
  /** Sign (bit 15) and biased exponent (bits 0-14). */
  se: number;
  /** 64-bit significand with the explicit integer bit (bit 63). */
  sig: bigint;
}

/** Exception flag bits, as in the status word. */
export const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20, SF = 0x40;

/** Rounding control values. */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

/** Operand classes. */
export const ZERO = 0, DENORMAL = 1, NORMAL = 2, INF = 3, QNAN = 4, SNAN = 5, UNSUPPORTED = 6;

export const BIAS = 16383;
/** Exponent bias adjustment of unmasked overflow/underflow results on register destinations. */
export const WRAP = 24576;
const MIN_E = -16382;
const MAX_E = 16383;

export const J = 1n << 63n;
const QUIET = 1n << 62n;
const MASK64 = (1n << 64n) - 1n;

export const INDEFINITE: Readonly<F80> = { se: 0xffff, sig: 0xc000000000000000n };

/** The environment of one operation: RC, PC and masks in, exception flags and C1 out. */
export class FpEnv {
  rc = RC_NEAREST;
  /** Significand bits of results subject to precision control: 24, 53 or 64. */
  prec = 64;
  /** Exception mask bits (control word bits 0-5). */
  masks = 0x3f;
  flags = 0;
  c1 = 0;
  /**
   * A single/double memory operand was a denormal: DE is raised by the
   * operation, after its NaN checks, as for a denormal register operand.
   */
  pendingDE = false;

  /** Start an operation under control word `cw`. */
  begin(cw: number): this {
    this.rc = (cw >> 10) & 3;
    const pc = (cw >> 8) & 3;
    this.prec = pc === 0 ? 24 : pc === 2 ? 53 : 64;
    this.masks = cw & 0x3f;
    this.flags = 0;
    this.c1 = 0;
    this.pendingDE = false;
    return this;
  }

  /** Raise flags; true when one of them is unmasked. */
  raise(bits: number): boolean {
    this.flags |= bits;
    return (bits & ~this.masks & 0x3f) !== 0;
  }

  /** IE, DE or ZE raised and unmasked: the operation must not produce a result. */
  get blocked(): boolean {
    return (this.flags & ~this.masks & (IE | DE | ZE)) !== 0;
  }
}

// ---- helpers -------------------------------------------------------------------

const F64 = new Float64Array(1);
const F64_HI = new Uint32Array(F64.buffer);

/** Number of bits of a non-negative BigInt (0 for 0). */
export function bitLen(m: bigint): number {
  if (m < 0x100000000n) return 32 - Math.clz32(Number(m));
  // The double nearest m has m's exponent, or one more when rounding carried into a power of two.
  F64[0] = Number(m);
  const e = (F64_HI[1]! >>> 20) - 1023;
  if (e < 1023) return (m >> BigInt(e)) === 0n ? e : e + 1;
  const s = m.toString(16);
  return (s.length - 1) * 4 + (32 - Math.clz32(parseInt(s[0]!, 16)));
}

export function f80(se: number, sig: bigint): F80 {
  return { se: se & 0xffff, sig: sig & MASK64 };
}

export function signOf(v: F80): number {
  return (v.se >> 15) & 1;
}

export function zero(sign: number): F80 {
  return { se: sign << 15, sig: 0n };
}

export function inf(sign: number): F80 {
  return { se: (sign << 15) | 0x7fff, sig: J };
}

export function negate(v: F80): F80 {
  return { se: v.se ^ 0x8000, sig: v.sig };
}

export function abs(v: F80): F80 {
  return { se: v.se & 0x7fff, sig: v.sig };
}

export function classify(v: F80): number {
  const exp = v.se & 0x7fff;
  if (exp === 0) return v.sig === 0n ? ZERO : DENORMAL;
  if (exp === 0x7fff) {
    if (!(v.sig & J)) return UNSUPPORTED;
    if ((v.sig & ~J) === 0n) return INF;
    return v.sig & QUIET ? QNAN : SNAN;
  }
  return v.sig & J ? NORMAL : UNSUPPORTED;
}

export function isNaNClass(c: number): boolean {
  return c === QNAN || c === SNAN;
}

/** Exponent of the LSB of the significand of a finite value: value = sig × 2^lsbExp. */
export function lsbExp(v: F80): number {
  const exp = v.se & 0x7fff;
  return (exp === 0 ? 1 : exp) - BIAS - 63;
}

/**
 * The exact value of a finite, nonzero extended number in normalised form
 * (exponent of the leading bit, significand with J set), or for a finite value
 * m × 2^e given as BigInt and exponent. Exact: the result must fit.
 */
export function pack(sign: number, m: bigint, e: number): F80 {
  if (m === 0n) return zero(sign);
  const n = bitLen(m);
  const E = e + n - 1;
  if (E < MIN_E) {
    // Denormal: the significand at the format's fixed scale.
    const shift = e - (MIN_E - 63);
    return { se: sign << 15, sig: shift >= 0 ? m << BigInt(shift) : m >> BigInt(-shift) };
  }
  const sig = n <= 64 ? m << BigInt(64 - n) : m >> BigInt(n - 64);
  return { se: (sign << 15) | (E + BIAS), sig };
}

/** A pseudo-denormal (exponent 0, J set) in its normal encoding (exponent 1); anything else as it is. */
export function normalizePseudoDenormal(v: F80): F80 {
  return (v.se & 0x7fff) === 0 && v.sig & J ? { se: v.se | 1, sig: v.sig } : v;
}

/** Quieten a NaN (set bit 62). */
export function quiet(v: F80): F80 {
  return { se: v.se, sig: v.sig | QUIET };
}

/**
 * The NaN result of an operation with NaN operand(s) a and/or b (each may be
 * non-NaN). Raises IE for an SNaN. SDM vol. 1 table 4-7.
 */
export function propagateNaN(env: FpEnv, a: F80, ca: number, b: F80 | null, cb: number): F80 {
  if (ca === SNAN || cb === SNAN) env.raise(IE);
  const an = isNaNClass(ca);
  const bn = b !== null && isNaNClass(cb);
  if (an && !bn) return quiet(a);
  if (bn && !an) return quiet(b!);
  // Both NaNs.
  if (ca === QNAN && cb === SNAN) return a;
  if (cb === QNAN && ca === SNAN) return b!;
  const sa = a.sig & ~QUIET, sb = b!.sig & ~QUIET;
  if (sa > sb) return quiet(a);
  if (sb > sa) return quiet(b!);
  return quiet(signOf(a) === 0 ? a : b!);
}

// ---- rounding ----------------------------------------------------------------------

interface RoundOut {
  /** Rounded significand: value = q × 2^lsb. */
  q: bigint;
  lsb: number;
  inexact: boolean;
  up: boolean;
}

/**
 * Round sign × (m + (sticky ? ε : 0)) × 2^e, 0 < ε < 1, so that the result's least
 * significant bit has weight 2^lsb. Callers with sticky set give m at least two
 * bits below any rounding position they ask for.
 */
function roundAt(sign: number, m: bigint, e: number, sticky: boolean, lsb: number, rc: number): RoundOut {
  const shift = lsb - e;
  if (shift <= 0) {
    if (!sticky) return { q: m << BigInt(-shift), lsb, inexact: false, up: false };
    // Only possible when the caller's guard bits are below lsb; handle anyway.
    return roundAt(sign, m << 2n, e - 2, sticky, lsb, rc);
  }
  const s = BigInt(shift);
  let q = m >> s;
  const rem = m - (q << s);
  const inexact = rem !== 0n || sticky;
  let up = false;
  if (inexact) {
    switch (rc) {
      case RC_NEAREST: {
        const half = 1n << (s - 1n);
        up = rem > half || (rem === half && (sticky || (q & 1n) === 1n));
        break;
      }
      case RC_DOWN: up = sign === 1; break;
      case RC_UP: up = sign === 0; break;
      default: up = false;
    }
  }
  if (up) q += 1n;
  return { q, lsb, inexact, up };
}

/** The largest finite magnitude of `prec` bits below 2^(maxE+1), as q × 2^lsb. */
function maxFinite(prec: number, maxE: number): { q: bigint; lsb: number } {
  return { q: (1n << BigInt(prec)) - 1n, lsb: maxE - prec + 1 };
}

/** Masked overflow: ∞ unless RC rounds toward zero for this sign. */
function overflowToInf(sign: number, rc: number): boolean {
  return rc === RC_NEAREST || (rc === RC_UP && sign === 0) || (rc === RC_DOWN && sign === 1);
}

/**
 * Round a finite nonzero value sign × m × 2^e (plus sticky) to an extended-precision
 * register result of `prec` significand bits, with the x87's overflow and
 * underflow responses. Sets PE/UE/OE and C1 in env.
 */
export function roundExt(env: FpEnv, sign: number, m: bigint, e: number, sticky = false, prec = env.prec): F80 {
  if (m === 0n && !sticky) return zero(sign);
  if (m === 0n) { m = 1n; e -= 2; } // pure sticky: a value far below any rounding position
  const n = bitLen(m);
  const E = e + n - 1;
  const tiny = E < MIN_E;
  const ueMasked = (env.masks & UE) !== 0;
  const lsb = tiny && ueMasked ? MIN_E - (prec - 1) : E - (prec - 1);
  const r = roundAt(sign, m, e, sticky, lsb, env.rc);
  let q = r.q;
  let l = r.lsb;
  if (q >> BigInt(prec)) { q >>= 1n; l += 1; }
  if (r.inexact) env.flags |= PE;
  env.c1 = r.up ? 1 : 0;
  if (q === 0n) {
    env.flags |= UE; // masked, tiny and inexact (q = 0 implies both)
    return zero(sign);
  }
  const qn = bitLen(q);
  const top = l + qn - 1; // exponent of the result's leading bit
  const sig = q << BigInt(64 - prec);
  if (tiny) {
    if (ueMasked) {
      if (r.inexact) env.flags |= UE;
      return { se: (sign << 15) | (top >= MIN_E ? 1 : 0), sig };
    }
    env.flags |= UE;
    const biased = top + BIAS + WRAP;
    if (biased < 1) {
      // Still out of range after the bias adjustment (FSCALE can get there): ±0, inexact.
      env.flags |= PE;
      env.c1 = 0;
      return zero(sign);
    }
    return { se: (sign << 15) | biased, sig };
  }
  if (top > MAX_E) {
    env.flags |= OE;
    if (env.masks & OE) {
      env.flags |= PE;
      if (overflowToInf(sign, env.rc)) {
        env.c1 = 1;
        return inf(sign);
      }
      env.c1 = 0;
      const mx = maxFinite(prec, MAX_E);
      return { se: (sign << 15) | (MAX_E + BIAS), sig: mx.q << BigInt(64 - prec) };
    }
    const biased = top + BIAS - WRAP;
    if (biased > 0x7ffe) {
      // Still out of range after the bias adjustment: ±∞ whatever RC says, inexact, C1 set.
      env.flags |= PE;
      env.c1 = 1;
      return inf(sign);
    }
    return { se: (sign << 15) | biased, sig };
  }
  return { se: (sign << 15) | (top + BIAS), sig };
}

/** Memory formats for stores. */
export interface FloatFormat {
  prec: number;
  minE: number;
  maxE: number;
  expBits: number;
}
export const SINGLE: FloatFormat = { prec: 24, minE: -126, maxE: 127, expBits: 8 };
export const DOUBLE: FloatFormat = { prec: 53, minE: -1022, maxE: 1023, expBits: 11 };

/**
 * Convert a register value to a single or double (FST m32/m64): the raw bits as
 * a BigInt, or null when an unmasked exception (IE, OE, UE) forbids the store.
 */
export function toFloat(env: FpEnv, v: F80, fmt: FloatFormat): bigint | null {
  const c = classify(v);
  const sign = signOf(v);
  const fracBits = fmt.prec - 1;
  const expMax = (1 << fmt.expBits) - 1;
  const signBit = BigInt(sign) << BigInt(fmt.expBits + fracBits);
  const expField = (x: number) => BigInt(x) << BigInt(fracBits);
  switch (c) {
    case ZERO: return signBit;
    case INF: return signBit | expField(expMax);
    case UNSUPPORTED:
      if (env.raise(IE)) return null;
      return (1n << BigInt(fmt.expBits + fracBits)) | expField(expMax) | (1n << BigInt(fracBits - 1));
    case QNAN: case SNAN: {
      if (c === SNAN && env.raise(IE)) return null;
      const payload = ((v.sig | QUIET) >> BigInt(64 - fmt.prec)) & ((1n << BigInt(fracBits)) - 1n);
      return signBit | expField(expMax) | payload;
    }
    default: break;
  }
  const m = v.sig;
  const e = lsbExp(v);
  const n = bitLen(m);
  const E = e + n - 1;
  const tiny = E < fmt.minE;
  if (tiny && !(env.masks & UE)) {
    env.flags |= UE;
    return null;
  }
  const lsb = tiny ? fmt.minE - fracBits : E - fracBits;
  const r = roundAt(sign, m, e, false, lsb, env.rc);
  let q = r.q;
  let l = r.lsb;
  if (q >> BigInt(fmt.prec)) { q >>= 1n; l += 1; }
  const top = q === 0n ? -Infinity : l + bitLen(q) - 1;
  if (top > fmt.maxE) {
    env.flags |= OE;
    if (!(env.masks & OE)) return null;
    env.flags |= PE;
    if (overflowToInf(sign, env.rc)) {
      env.c1 = 1;
      return signBit | expField(expMax);
    }
    env.c1 = 0;
    return signBit | expField(expMax - 1) | ((1n << BigInt(fracBits)) - 1n);
  }
  if (r.inexact) {
    env.flags |= PE;
    if (tiny) env.flags |= UE;
  }
  env.c1 = r.up ? 1 : 0;
  if (q === 0n) return signBit;
  if (top < fmt.minE) return signBit | q; // denormal
  return signBit | expField(top - fmt.minE + 1) | (q & ((1n << BigInt(fracBits)) - 1n));
}

// ---- single and double without BigInt arithmetic (the common loads and stores) ----------------------

/** A 64-bit lane for building significands from 32-bit halves. */
const LANE = new BigUint64Array(1);
const LANE32 = new Uint32Array(LANE.buffer);

function sigOf(lo: number, hi: number): bigint {
  LANE32[0] = lo;
  LANE32[1] = hi;
  return LANE[0]!;
}

/** fromFloat for a single given as its 32 bits. */
export function fromSingle(env: FpEnv, w: number, operand = false): F80 | null {
  if (!fastPaths) return fromFloat(env, BigInt(w >>> 0), SINGLE, operand);
  const sign = w >>> 31;
  const exp = (w >>> 23) & 0xff;
  const f = w & 0x7fffff;
  if (exp === 0 && f === 0) return zero(sign);
  if (exp === 0 || (exp === 0xff && f !== 0 && !(f & 0x400000) && !operand)) return fromFloat(env, BigInt(w >>> 0), SINGLE, operand);
  if (exp === 0xff) return { se: (sign << 15) | 0x7fff, sig: sigOf(0, (0x80000000 | (f << 8)) >>> 0) };
  return { se: (sign << 15) | (exp - 127 + BIAS), sig: sigOf(0, (0x80000000 | (f << 8)) >>> 0) };
}

/** fromFloat for a double given as its low and high 32-bit words. */
export function fromDouble(env: FpEnv, lo: number, hi: number, operand = false): F80 | null {
  if (!fastPaths) return fromFloat(env, sigOf(lo, hi), DOUBLE, operand);
  const sign = hi >>> 31;
  const exp = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (exp === 0 && (fh | lo) === 0) return zero(sign);
  if (exp === 0 || (exp === 0x7ff && (fh | lo) !== 0 && !(fh & 0x80000) && !operand)) {
    return fromFloat(env, sigOf(lo, hi), DOUBLE, operand);
  }
  const sig = sigOf((lo << 11) >>> 0, (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0);
  if (exp === 0x7ff) return { se: (sign << 15) | 0x7fff, sig };
  return { se: (sign << 15) | (exp - 1023 + BIAS), sig };
}

/** Round-up decision for dropping `rem` (out of a half of `half`) with a sticky bit. */
function roundsUp(rc: number, sign: number, rem: number, half: number, sticky: boolean, odd: boolean): boolean {
  if (rem === 0 && !sticky) return false;
  switch (rc) {
    case RC_NEAREST: return rem > half || (rem === half && (sticky || odd));
    case RC_DOWN: return sign === 1;
    case RC_UP: return sign === 0;
    default: return false;
  }
}

/** toFloat to a single: its 32 bits (as an unsigned number), or -1 when an unmasked exception forbids the store. */
export function toSingle(env: FpEnv, v: F80): number {
  const exp = v.se & 0x7fff;
  const E = exp - BIAS;
  if (E >= -126 && E <= 127 && exp !== 0 && fastPaths) {
    LANE[0] = v.sig;
    const lo = LANE32[0]!, hi = LANE32[1]!;
    if (hi & 0x80000000) {
      const sign = v.se >>> 15;
      let m = hi >>> 8;
      const rem = hi & 0xff;
      const up = roundsUp(env.rc, sign, rem, 0x80, lo !== 0, (m & 1) === 1);
      let e = E;
      if (up && ++m === 0x1000000) { m = 0x800000; e++; }
      if (e <= 127) {
        if (rem !== 0 || lo !== 0) env.flags |= PE;
        env.c1 = up ? 1 : 0;
        return ((sign << 31) | ((e + 127) << 23) | (m & 0x7fffff)) >>> 0;
      }
    }
  }
  const b = toFloat(env, v, SINGLE);
  return b === null ? -1 : Number(b);
}

/** The result words of toDouble. */
export const DOUBLE_OUT = new Uint32Array(2);

/** toFloat to a double into DOUBLE_OUT (low, high words); false when an unmasked exception forbids the store. */
export function toDouble(env: FpEnv, v: F80): boolean {
  const exp = v.se & 0x7fff;
  const E = exp - BIAS;
  if (E >= -1022 && E <= 1023 && exp !== 0 && fastPaths) {
    LANE[0] = v.sig;
    const lo = LANE32[0]!, hi = LANE32[1]!;
    if (hi & 0x80000000) {
      const sign = v.se >>> 15;
      let mHi = hi >>> 11;
      let mLo = ((hi << 21) | (lo >>> 11)) >>> 0;
      const rem = lo & 0x7ff;
      const up = roundsUp(env.rc, sign, rem, 0x400, false, (mLo & 1) === 1);
      let e = E;
      if (up) {
        mLo = (mLo + 1) >>> 0;
        if (mLo === 0 && ++mHi === 0x200000) { mHi = 0x100000; e++; }
      }
      if (e <= 1023) {
        if (rem !== 0) env.flags |= PE;
        env.c1 = up ? 1 : 0;
        DOUBLE_OUT[0] = mLo;
        DOUBLE_OUT[1] = (sign << 31) | ((e + 1023) << 20) | (mHi & 0xfffff);
        return true;
      }
    }
  }
  const b = toFloat(env, v, DOUBLE);
  if (b === null) return false;
  LANE[0] = b;
  DOUBLE_OUT[0] = LANE32[0]!;
  DOUBLE_OUT[1] = LANE32[1]!;
  return true;
}

/**
 * Load a single or double: exact. For FLD (`operand` false) an SNaN raises IE and
 * is quietened and a denormal raises DE (null when that exception is unmasked).
 * As the operand of an arithmetic or compare instruction (`operand` true) the
 * SNaN stays signalling and the denormal only sets env.pendingDE: the operation
 * raises them in its own order (a NaN or unsupported other operand hides DE,
 * and a QNaN register operand wins over an SNaN from memory).
 */
export function fromFloat(env: FpEnv, bits: bigint, fmt: FloatFormat, operand = false): F80 | null {
  const fracBits = fmt.prec - 1;
  const sign = Number(bits >> BigInt(fmt.expBits + fracBits)) & 1;
  const exp = Number((bits >> BigInt(fracBits)) & BigInt((1 << fmt.expBits) - 1));
  const frac = bits & ((1n << BigInt(fracBits)) - 1n);
  const expMax = (1 << fmt.expBits) - 1;
  if (exp === expMax) {
    if (frac === 0n) return inf(sign);
    const quietBit = 1n << BigInt(fracBits - 1);
    if (operand) return { se: (sign << 15) | 0x7fff, sig: J | (frac << BigInt(64 - fmt.prec)) };
    if (!(frac & quietBit) && env.raise(IE)) return null;
    return { se: (sign << 15) | 0x7fff, sig: J | QUIET | (frac << BigInt(64 - fmt.prec)) };
  }
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    // FLD loads a denormal even when DE is unmasked (checked on the host); #MF follows.
    if (operand) env.pendingDE = true;
    else env.raise(DE);
    return pack(sign, frac, fmt.minE - fracBits);
  }
  return { se: (sign << 15) | (exp - (fmt.maxE) + BIAS), sig: J | (frac << BigInt(64 - fmt.prec)) };
}

/** An integer, exactly (FILD, and the integer arithmetic forms). */
export function fromInt(v: bigint): F80 {
  if (v === 0n) return zero(0);
  const sign = v < 0n ? 1 : 0;
  return pack(sign, sign ? -v : v, 0);
}

/**
 * Round to an integer under RC (FIST/FISTP and FBSTP's first step): the integer,
 * or null for NaN, ∞ and unsupported operands (the caller decides IE). Sets PE
 * and C1 when rounding was needed.
 */
export function roundToInteger(env: FpEnv, v: F80): bigint | null {
  const c = classify(v);
  if (c === ZERO) return 0n;
  if (c !== NORMAL && c !== DENORMAL) return null;
  const sign = signOf(v);
  const r = roundAt(sign, v.sig, lsbExp(v), false, 0, env.rc);
  if (r.inexact) env.flags |= PE;
  env.c1 = r.up ? 1 : 0;
  return sign ? -r.q : r.q;
}

/**
 * FIST/FISTP: the integer of `bits` width (two's complement, as a BigInt), or the
 * integer indefinite (most negative value) with IE when it does not fit; null
 * when IE is unmasked.
 */
export function toInt(env: FpEnv, v: F80, bits: number): bigint | null {
  const save = env.flags;
  const save1 = env.c1;
  const i = roundToInteger(env, v);
  const lim = 1n << BigInt(bits - 1);
  if (i === null || i >= lim || i < -lim) {
    env.flags = save; // IE replaces PE for an out-of-range value
    env.c1 = save1;
    if (env.raise(IE)) return null;
    return lim;
  }
  return BigInt.asUintN(bits, i);
}

// ---- arithmetic ------------------------------------------------------------------

/** Common checks of a two-operand operation: NaNs and unsupported formats. Returns the result or null to continue. */
function nanOrUnsupported(env: FpEnv, a: F80, ca: number, b: F80, cb: number): F80 | null {
  if (ca === UNSUPPORTED || cb === UNSUPPORTED) {
    env.raise(IE);
    return INDEFINITE;
  }
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(env, a, ca, b, cb);
  return null;
}

/** DE for a denormal operand (register, or a memory operand that was one); true when unmasked. */
function denormal(env: FpEnv, ca: number, cb = ZERO): boolean {
  if (ca !== DENORMAL && cb !== DENORMAL && !env.pendingDE) return false;
  env.pendingDE = false;
  return env.raise(DE);
}

function invalid(env: FpEnv): F80 | null {
  if (env.raise(IE)) return null;
  return INDEFINITE;
}

// ---- fast paths: normal operands and a normal result, in 32-bit words ----------------------------------
//
// FADD/FSUB/FMUL on two normal numbers whose result is normal are by far the
// common case; these compute it with JS numbers on 32-bit words (no BigInt) and
// give up (null) whenever anything is out of the ordinary: a zero or an
// out-of-range result, or a denormal memory operand. The general BigInt path
// then computes the same thing from scratch. The differential test runs both.

/** Round the normalised value (h:l:x, J at bit 31 of h, plus sticky) to env.prec bits; null when the result is not normal. */
function fastRound(env: FpEnv, sign: number, E: number, h: number, l: number, x: number, st: boolean): F80 | null {
  if (E + BIAS < 1) return null;
  let rem: number, half: number, odd: boolean;
  const prec = env.prec;
  if (prec === 64) {
    rem = x; half = 0x80000000; odd = (l & 1) === 1;
  } else if (prec === 53) {
    rem = l & 0x7ff; half = 0x400; odd = ((l >>> 11) & 1) === 1; st = st || x !== 0; l = (l & ~0x7ff) >>> 0;
  } else {
    rem = h & 0xff; half = 0x80; odd = ((h >>> 8) & 1) === 1; st = st || l !== 0 || x !== 0; h = (h & ~0xff) >>> 0; l = 0;
  }
  const up = roundsUp(env.rc, sign, rem, half, st, odd);
  if (up) {
    if (prec === 24) {
      h += 0x100;
    } else {
      l += prec === 64 ? 1 : 0x800;
      if (l >= 0x100000000) { l -= 0x100000000; h += 1; }
    }
    if (h >= 0x100000000) { h = 0x80000000; E++; }
  }
  const biased = E + BIAS;
  if (biased > 0x7ffe) return null;
  if (rem !== 0 || st) env.flags |= PE;
  env.c1 = up ? 1 : 0;
  return { se: (sign << 15) | biased, sig: sigOf(l >>> 0, h >>> 0) };
}

const TWO32 = 0x100000000;

/** The fast paths can be switched off, so that the tests can compare them with the general path. */
let fastPaths = true;
export function setFastPaths(enabled: boolean): void {
  fastPaths = enabled;
}

/** a ± b for normal a and b (fast path of add). */
function fastAdd(env: FpEnv, a: F80, b: F80, subtract: boolean): F80 | null {
  let ea = a.se & 0x7fff, eb = b.se & 0x7fff;
  let sa = a.se >>> 15, sb = (b.se >>> 15) ^ (subtract ? 1 : 0);
  LANE[0] = a.sig;
  let aLo = LANE32[0]!, aHi = LANE32[1]!;
  LANE[0] = b.sig;
  let bLo = LANE32[0]!, bHi = LANE32[1]!;
  if (ea < eb || (ea === eb && (aHi < bHi || (aHi === bHi && aLo < bLo)))) {
    [ea, eb] = [eb, ea];
    [sa, sb] = [sb, sa];
    [aLo, bLo] = [bLo, aLo];
    [aHi, bHi] = [bHi, aHi];
  }
  // b shifted right by d into h:l:x, st = bits shifted out beyond x.
  const d = ea - eb;
  let h = 0, l = 0, x = 0, st = false;
  if (d === 0) { h = bHi; l = bLo; }
  else if (d < 32) { h = bHi >>> d; l = ((bLo >>> d) | (bHi << (32 - d))) >>> 0; x = (bLo << (32 - d)) >>> 0; }
  else if (d === 32) { l = bHi; x = bLo; }
  else if (d < 64) { const r = d - 32; l = bHi >>> r; x = ((bLo >>> r) | (bHi << (32 - r))) >>> 0; st = (bLo << (32 - r)) !== 0; }
  else if (d === 64) { x = bHi; st = bLo !== 0; }
  else if (d < 96) { const r = d - 64; x = bHi >>> r; st = bLo !== 0 || (bHi << (32 - r)) !== 0; }
  else st = true;
  let E = ea - BIAS;
  if (sa === sb) {
    let lo = aLo + l, c = 0;
    if (lo >= TWO32) { lo -= TWO32; c = 1; }
    let hi = aHi + h + c;
    if (hi >= TWO32) {
      hi -= TWO32;
      st = st || (x & 1) !== 0;
      x = ((x >>> 1) | ((lo & 1) << 31)) >>> 0;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = ((hi >>> 1) | 0x80000000) >>> 0;
      E++;
    }
    return fastRound(env, sa, E, hi, lo, x, st);
  }
  // |a| ≥ |b|: a - b, the lost bits of b taken as one unit below x (and st kept).
  let xo = -x - (st ? 1 : 0), bw = 0;
  if (xo < 0) { xo += TWO32; bw = 1; }
  let lo = aLo - l - bw;
  bw = 0;
  if (lo < 0) { lo += TWO32; bw = 1; }
  let hi = aHi - h - bw;
  if (hi === 0 && lo === 0 && xo === 0) return null; // zero: the general path knows its sign
  // Normalise: cancellation of more than one bit happens only when d ≤ 1 (then st is false).
  while (hi < 0x80000000) {
    hi = ((hi << 1) | (lo >>> 31)) >>> 0;
    lo = ((lo << 1) | (xo >>> 31)) >>> 0;
    xo = ((xo << 1) | (st ? 1 : 0)) >>> 0;
    E--;
  }
  return fastRound(env, sa, E, hi, lo, xo, st);
}

/** a × b for normal a and b (fast path of mul): the 128-bit product from 16-bit limbs. */
function fastMul(env: FpEnv, a: F80, b: F80): F80 | null {
  LANE[0] = a.sig;
  const a0 = LANE32[0]! & 0xffff, a1 = LANE32[0]! >>> 16, a2 = LANE32[1]! & 0xffff, a3 = LANE32[1]! >>> 16;
  LANE[0] = b.sig;
  const b0 = LANE32[0]! & 0xffff, b1 = LANE32[0]! >>> 16, b2 = LANE32[1]! & 0xffff, b3 = LANE32[1]! >>> 16;
  // Column sums (each below 2^35, exact), then carries.
  let t = a0 * b0;
  const p0 = t % 65536; t = Math.floor(t / 65536);
  t += a0 * b1 + a1 * b0;
  const p1 = t % 65536; t = Math.floor(t / 65536);
  t += a0 * b2 + a1 * b1 + a2 * b0;
  const p2 = t % 65536; t = Math.floor(t / 65536);
  t += a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  const p3 = t % 65536; t = Math.floor(t / 65536);
  t += a1 * b3 + a2 * b2 + a3 * b1;
  const p4 = t % 65536; t = Math.floor(t / 65536);
  t += a2 * b3 + a3 * b2;
  const p5 = t % 65536; t = Math.floor(t / 65536);
  t += a3 * b3;
  const p6 = t % 65536;
  const p7 = Math.floor(t / 65536);
  let w3 = p7 * 65536 + p6, w2 = p5 * 65536 + p4, w1 = p3 * 65536 + p2;
  const w0 = p1 * 65536 + p0;
  let E = (a.se & 0x7fff) + (b.se & 0x7fff) - 2 * BIAS;
  let st: boolean;
  if (w3 >= 0x80000000) {
    E++;
    st = w0 !== 0;
  } else {
    w3 = ((w3 << 1) | (w2 >>> 31)) >>> 0;
    w2 = ((w2 << 1) | (w1 >>> 31)) >>> 0;
    w1 = ((w1 << 1) | (w0 >>> 31)) >>> 0;
    st = (w0 & 0x7fffffff) !== 0;
  }
  return fastRound(env, (a.se ^ b.se) >>> 15, E, w3, w2, w1, st);
}

/** a + b (or a - b when `subtract`), rounded to env.prec. */
export function add(env: FpEnv, a: F80, b: F80, subtract = false): F80 | null {
  const ca = classify(a), cb = classify(b);
  if (ca === NORMAL && cb === NORMAL && !env.pendingDE && fastPaths) {
    const r = fastAdd(env, a, b, subtract);
    if (r) return r;
  }
  // NaN operands come through unchanged: a subtraction does not flip their sign.
  const nan = nanOrUnsupported(env, a, ca, b, cb);
  if (nan) return env.blocked ? null : nan;
  if (subtract) b = negate(b);
  const sa = signOf(a), sb = signOf(b);
  if (ca === INF || cb === INF) {
    if (ca === INF && cb === INF && sa !== sb) return invalid(env);
    if (denormal(env, ca, cb)) return null;
    return ca === INF ? a : b;
  }
  if (denormal(env, ca, cb)) return null;
  if (ca === ZERO && cb === ZERO) {
    return zero(sa === sb ? sa : env.rc === RC_DOWN ? 1 : 0);
  }
  if (ca === ZERO) return roundExt(env, sb, b.sig, lsbExp(b));
  if (cb === ZERO) return roundExt(env, sa, a.sig, lsbExp(a));
  let ma = a.sig, ea = lsbExp(a), mb = b.sig, eb = lsbExp(b);
  let sga = sa, sgb = sb;
  if (ea < eb) {
    [ma, mb] = [mb, ma];
    [ea, eb] = [eb, ea];
    [sga, sgb] = [sgb, sga];
  }
  const d = ea - eb;
  let m: bigint;
  let e: number;
  let sticky = false;
  if (d <= 192) {
    const big = ma << BigInt(d);
    m = sga === sgb ? big + mb : big - mb;
    e = eb;
  } else {
    // b lies entirely below every rounding position: keep it as a sticky bit.
    const big = ma << 130n;
    e = ea - 130;
    sticky = true;
    m = sga === sgb ? big : big - 1n;
  }
  let sign = sga;
  if (m < 0n) { m = -m; sign = sgb; }
  if (m === 0n && !sticky) return zero(env.rc === RC_DOWN ? 1 : 0);
  return roundExt(env, sign, m, e, sticky);
}

export function mul(env: FpEnv, a: F80, b: F80): F80 | null {
  const ca = classify(a), cb = classify(b);
  if (ca === NORMAL && cb === NORMAL && !env.pendingDE && fastPaths) {
    const r = fastMul(env, a, b);
    if (r) return r;
  }
  const nan = nanOrUnsupported(env, a, ca, b, cb);
  if (nan) return env.blocked ? null : nan;
  const sign = signOf(a) ^ signOf(b);
  if ((ca === INF && cb === ZERO) || (ca === ZERO && cb === INF)) return invalid(env);
  if (denormal(env, ca, cb)) return null;
  if (ca === INF || cb === INF) return inf(sign);
  if (ca === ZERO || cb === ZERO) return zero(sign);
  return roundExt(env, sign, a.sig * b.sig, lsbExp(a) + lsbExp(b));
}

/** a / b. */
export function div(env: FpEnv, a: F80, b: F80): F80 | null {
  const ca = classify(a), cb = classify(b);
  const nan = nanOrUnsupported(env, a, ca, b, cb);
  if (nan) return env.blocked ? null : nan;
  const sign = signOf(a) ^ signOf(b);
  if ((ca === INF && cb === INF) || (ca === ZERO && cb === ZERO)) return invalid(env);
  if (ca === INF) {
    if (denormal(env, ca, cb)) return null;
    return inf(sign);
  }
  if (cb === INF) {
    if (denormal(env, ca, cb)) return null;
    return zero(sign);
  }
  if (cb === ZERO) {
    if (env.raise(ZE)) return null;
    return inf(sign);
  }
  if (denormal(env, ca, cb)) return null;
  if (ca === ZERO) return zero(sign);
  return divide(env, sign, a.sig, lsbExp(a), b.sig, lsbExp(b));
}

/** Round sign × (ma·2^ea) / (mb·2^eb). */
export function divide(env: FpEnv, sign: number, ma: bigint, ea: number, mb: bigint, eb: number, prec = env.prec): F80 {
  // Quotient with at least 67 bits: shift the dividend so that it has bitLen(mb) + 67 bits.
  const k = Math.max(0, bitLen(mb) + 67 - bitLen(ma));
  const num = ma << BigInt(k);
  const q = num / mb;
  const rem = num - q * mb;
  return roundExt(env, sign, q, ea - eb - k, rem !== 0n, prec);
}

/** Integer square root (floor) of a BigInt. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // A 52-bit estimate from the double square root, then Newton steps (each doubles
  // the correct bits) and a final correction to the floor.
  const len = bitLen(n);
  const shift = Math.max(0, (len - 100) & ~1);
  let x = BigInt(Math.floor(Math.sqrt(Number(n >> BigInt(shift))))) << BigInt(shift >> 1);
  for (let bits = 50; bits < (len >> 1) + 2; bits *= 2) x = (x + n / x) >> 1n;
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}

export function sqrt(env: FpEnv, a: F80): F80 | null {
  const ca = classify(a);
  if (ca === UNSUPPORTED) return invalid(env);
  if (isNaNClass(ca)) {
    const r = propagateNaN(env, a, ca, null, ZERO);
    return env.blocked ? null : r;
  }
  const sign = signOf(a);
  if (ca === ZERO) return a;
  if (sign) return invalid(env);
  if (ca === INF) return a;
  if (ca === DENORMAL && env.raise(DE)) return null;
  return sqrtRound(env, a.sig, lsbExp(a));
}

/** Round √(m × 2^e). */
export function sqrtRound(env: FpEnv, m: bigint, e: number, prec = env.prec): F80 {
  // Make the radicand have ≥ 140 bits and an even exponent: the root then has ≥ 70 bits.
  let k = Math.max(0, 140 - bitLen(m));
  if ((e - k) & 1) k++;
  const n = m << BigInt(k);
  const s = isqrt(n);
  return roundExt(env, 0, s, (e - k) / 2, s * s !== n, prec);
}

// ---- comparisons ------------------------------------------------------------------

/** Comparison results. */
export const CMP_LT = 0, CMP_EQ = 1, CMP_GT = 2, CMP_UNORDERED = 3;

/**
 * Compare a with b. `quietNaNsOk` (FUCOM*) raises IE only for SNaNs; otherwise
 * (FCOM*, FTST, FICOM) any NaN raises IE. Unsupported formats always do. The
 * result is reported even when IE or DE is unmasked (the hardware writes the
 * condition codes then too; only the pops are suppressed).
 */
export function compare(env: FpEnv, a: F80, b: F80, quietNaNsOk: boolean): number {
  const ca = classify(a), cb = classify(b);
  if (ca === UNSUPPORTED || cb === UNSUPPORTED || isNaNClass(ca) || isNaNClass(cb)) {
    const signal = ca === UNSUPPORTED || cb === UNSUPPORTED || ca === SNAN || cb === SNAN || !quietNaNsOk;
    if (signal) env.raise(IE);
    return CMP_UNORDERED;
  }
  denormal(env, ca, cb);
  return compareValues(a, ca, b, cb);
}

/** Order of two non-NaN values (±0 equal). */
export function compareValues(a: F80, ca: number, b: F80, cb: number): number {
  const sa = signOf(a), sb = signOf(b);
  if (ca === ZERO && cb === ZERO) return CMP_EQ;
  if (ca === ZERO) return sb ? CMP_GT : CMP_LT;
  if (cb === ZERO) return sa ? CMP_LT : CMP_GT;
  if (sa !== sb) return sa ? CMP_LT : CMP_GT;
  let mag: number;
  if (ca === INF || cb === INF) mag = ca === cb ? 0 : ca === INF ? 1 : -1;
  else mag = compareMagnitude(a, b);
  if (mag === 0) return CMP_EQ;
  return (mag > 0) !== (sa === 1) ? CMP_GT : CMP_LT;
}

/** Sign of |a| - |b| for finite nonzero values (denormals and pseudo-denormals by value). */
function compareMagnitude(a: F80, b: F80): number {
  const ea = lsbExp(a), eb = lsbExp(b);
  const na = bitLen(a.sig) + ea, nb = bitLen(b.sig) + eb;
  if (na !== nb) return na > nb ? 1 : -1;
  const e = Math.min(ea, eb);
  const x = a.sig << BigInt(ea - e), y = b.sig << BigInt(eb - e);
  return x === y ? 0 : x > y ? 1 : -1;
}

// ---- FRNDINT, FSCALE, FXTRACT, FPREM ----------------------------------------------------

export function roundInt(env: FpEnv, a: F80): F80 | null {
  const c = classify(a);
  if (c === UNSUPPORTED) return invalid(env);
  if (isNaNClass(c)) {
    const r = propagateNaN(env, a, c, null, ZERO);
    return env.blocked ? null : r;
  }
  if (c === ZERO || c === INF) return a;
  if (c === DENORMAL && env.raise(DE)) return null;
  const sign = signOf(a);
  const e = lsbExp(a);
  if (e >= 0) return a;
  const r = roundAt(sign, a.sig, e, false, 0, env.rc);
  if (r.inexact) env.flags |= PE;
  env.c1 = r.up ? 1 : 0;
  return r.q === 0n ? zero(sign) : pack(sign, r.q, 0);
}

/** FSCALE: a × 2^trunc(b). */
export function scale(env: FpEnv, a: F80, b: F80): F80 | null {
  const ca = classify(a), cb = classify(b);
  const nan = nanOrUnsupported(env, a, ca, b, cb);
  if (nan) return env.blocked ? null : nan;
  const sa = signOf(a), sb = signOf(b);
  if (cb === INF) {
    if (sb === 0 && ca === ZERO) return invalid(env);
    if (sb === 1 && ca === INF) return invalid(env);
    if (ca === DENORMAL && env.raise(DE)) return null;
    if (ca === ZERO || ca === INF) return a;
    return sb ? zero(sa) : inf(sa);
  }
  if (denormal(env, ca, cb)) return null;
  if (ca === ZERO || ca === INF) return a;
  // trunc(b), clamped: anything beyond ±2^20 over- or underflows whatever a is.
  let n = 0;
  if (cb !== ZERO) {
    const e = lsbExp(b);
    let t: bigint;
    if (e >= 0) t = e > 40 ? 1n << 40n : b.sig << BigInt(e);
    else t = -e >= 64 ? 0n : b.sig >> BigInt(-e);
    const lim = 1n << 20n;
    if (t > lim) t = lim;
    n = Number(t) * (sb ? -1 : 1);
  }
  return roundExt(env, sa, a.sig, lsbExp(a) + n, false, 64);
}

/** FXTRACT: [exponent, significand] of a, or null when blocked. */
export function xtract(env: FpEnv, a: F80): [F80, F80] | null {
  const c = classify(a);
  if (c === UNSUPPORTED) {
    if (env.raise(IE)) return null;
    return [INDEFINITE, INDEFINITE];
  }
  if (isNaNClass(c)) {
    const r = propagateNaN(env, a, c, null, ZERO);
    return env.blocked ? null : [r, r];
  }
  const sign = signOf(a);
  if (c === ZERO) {
    if (env.raise(ZE)) return null;
    return [inf(1), a];
  }
  if (c === INF) return [inf(0), a];
  if (c === DENORMAL && env.raise(DE)) return null;
  const n = bitLen(a.sig);
  const E = lsbExp(a) + n - 1;
  const sig = a.sig << BigInt(64 - n);
  return [fromInt(BigInt(E)), { se: (sign << 15) | BIAS, sig }];
}

export interface RemResult {
  value: F80;
  /** Low three bits of the quotient (complete reduction only); -1 for a NaN or invalid result. */
  q: number;
  /** C2: the reduction is incomplete. */
  partial: boolean;
}

/**
 * FPREM (`ieee` false: quotient truncated) and FPREM1 (`ieee` true: quotient
 * rounded to nearest). When the exponents differ by 64 or more the reduction
 * is partial: it reduces the exponent difference to a multiple of 32 below
 * it minus 32 (N = 32 + (D mod 32) in the SDM's terms, measured on the host).
 */
export function remainder(env: FpEnv, a: F80, b: F80, ieee: boolean): RemResult | null {
  const ca = classify(a), cb = classify(b);
  const nan = nanOrUnsupported(env, a, ca, b, cb);
  if (nan) return env.blocked ? null : { value: nan, q: -1, partial: false };
  if (ca === INF || cb === ZERO) {
    const r = invalid(env);
    return r ? { value: r, q: -1, partial: false } : null;
  }
  if (denormal(env, ca, cb)) return null;
  // The dividend comes back as it is, except that a pseudo-denormal is normalised (measured).
  if (ca === ZERO || cb === INF) return { value: normalizePseudoDenormal(a), q: 0, partial: false };
  const sa = signOf(a);
  const ma = a.sig, ea = lsbExp(a), mb = b.sig, eb = lsbExp(b);
  const Ea = ea + bitLen(ma) - 1, Eb = eb + bitLen(mb) - 1;
  const D = Ea - Eb;
  if (D >= 64) {
    const shift = 32 * Math.floor((D - 32) / 32); // D - N
    // QQ = trunc(|a| / (|b| × 2^shift)), r = |a| - |b| × QQ × 2^shift, exactly.
    const e = Math.min(ea, eb + shift);
    const A = ma << BigInt(ea - e);
    const B = mb << BigInt(eb + shift - e);
    const r = A % B;
    return { value: roundExt(env, sa, r, e, false, 64), q: 0, partial: true };
  }
  const e = Math.min(ea, eb);
  const A = ma << BigInt(ea - e);
  const B = mb << BigInt(eb - e);
  let q = A / B;
  let r = A - q * B;
  let sign = sa;
  if (ieee) {
    const twice = r << 1n;
    if (twice > B || (twice === B && (q & 1n) === 1n)) {
      q += 1n;
      r = B - r;
      sign ^= 1;
    }
  }
  const value = r === 0n ? zero(sa) : roundExt(env, sign, r, e, false, 64);
  return { value, q: Number(q & 7n), partial: false };
}

// ---- packed BCD -------------------------------------------------------------------

/**
 * FBLD: 18 BCD digits and a sign (bit 7 of byte 9; bits 0-6 are ignored). The
 * SDM leaves invalid digits (A-F) undefined; the hardware takes each nibble at
 * its face value (checked on the host), and so do we.
 */
export function fromBcd(bytes: ArrayLike<number>): F80 {
  let v = 0n;
  for (let i = 8; i >= 0; i--) {
    const b = bytes[i]!;
    v = v * 100n + BigInt((b >> 4) * 10 + (b & 15));
  }
  const sign = (bytes[9]! >> 7) & 1;
  if (v === 0n) return zero(sign);
  return pack(sign, v, 0);
}

/** FBSTP: 10 bytes, or null when IE is unmasked. Out of range, NaN, ∞: IE and the BCD indefinite. */
export function toBcd(env: FpEnv, v: F80): Uint8Array | null {
  const save = env.flags;
  const i = roundToInteger(env, v);
  const out = new Uint8Array(10);
  if (i === null || i >= 10n ** 18n || i <= -(10n ** 18n)) {
    env.flags = save;
    env.c1 = 0;
    if (env.raise(IE)) return null;
    out[9] = 0xff; out[8] = 0xff; out[7] = 0xc0;
    return out;
  }
  let m = i < 0n ? -i : i;
  for (let k = 0; k < 9; k++) {
    const d = Number(m % 100n);
    m /= 100n;
    out[k] = ((Math.floor(d / 10)) << 4) | (d % 10);
  }
  out[9] = signOf(v) ? 0x80 : 0;
  return out;
}
