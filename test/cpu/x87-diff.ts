/**
 * The x87 differential test's engine: generates x87 instruction sequences from
 * the instruction table's x87 rows, runs each on the host CPU (test/native) and
 * on bt86, and compares the results.
 *
 * The machine model is the native runner's (test/native/native.ts): 32-bit
 * protected mode, flat segments, the code at CODE_BASE (0x30000000) and a 64 KiB
 * data window at DATA_BASE (0x20000000). bt86 reproduces it on a 2 MiB bare
 * machine by *relocating through the segment bases* rather than by a 768 MiB
 * RAM: CS has base 0x1000 - CODE_BASE and DS/ES/SS base 0x100000 - DATA_BASE,
 * with 4 GiB limits, so every offset the code uses (EIP, effective addresses,
 * and therefore FIP and FDP, which are offsets) is the native one while the
 * linear addresses land in low RAM. Selectors are the Linux user ones (CS 23h,
 * DS/ES/SS 2Bh), CPL 3, CR0.NE = 1 (Linux sets it: unmasked exceptions are #MF,
 * which the native side sees as SIGFPE with trap number 16).
 *
 * The initial x87 state is loaded on both sides with FRSTOR from the same
 * 108-byte image (on bt86 by executing an FRSTOR instruction), and the final
 * state is read with FNSAVE (at a fault on the native side, the kernel's
 * FNSAVE-format copy of the state at the fault).
 *
 * What is compared, bit for bit: the FNSAVE image (control, status and tag
 * words, FIP, the eight registers), the general registers, the arithmetic
 * flags and DF, the final EIP, the fault (none, or #MF/SIGFPE at the same
 * EIP), and every byte of the data window.
 *
 * What is not compared, and why: the host deprecates FCS and FDS (stores 0;
 * CPUID.7.EBX[13]) and stores FOP as 0, and its FDP is written only when an
 * x87 exception is raised (FDP_EXCPTN_ONLY, CPUID.7.EBX[6]); bt86 is a P6 and
 * keeps all of them. So FCS, FOP and FDS are never compared, FDP only when the
 * native side stopped at #MF and the last non-control x87 instruction had a
 * memory operand and raised the unmasked exception itself (not one unmasked
 * later by FLDCW/FLDENV). The
 * same fields are masked in FNSTENV/FNSAVE/FXSAVE images written to the window,
 * as are FXSAVE's MXCSR and SSE bytes (the host has SSE, bt86 does not).
 *
 * Tolerance (the issue allows it for transcendental last bits): sequences with
 * FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X FYL2XP1 are single instructions on
 * operands in the documented domain; their register results may differ from
 * the host's by at most TRIG_ULPS units in the last place of the 64-bit
 * significand, and C1 (the rounding direction) may differ; everything else is
 * compared exactly. Each such case reports its distance in ulps.
 */
import { createBareMachine, type BareMachine } from '../../src/machine/bare.js';
import { newInsn } from '../../src/x86/decoder.js';
import { ROWS, type Row } from '../../src/x86/rows.js';
import { ATTR, CpuException, REG, SREG } from '../../src/x86/state.js';
import {
  CODE_BASE, DATA_BASE, DATA_SIZE, FNSAVE_SIZE, SIG, type MemChunk, type NativeCase, type NativeResult,
} from '../native/native.js';

/**
 * The part of the data window the cases use: memory operands are allocated in
 * it, and it is what is compared (a native write outside it is a mismatch; the
 * x87 instructions write only their memory operands). Keeping it small keeps
 * the per-case cost low.
 */
export const REGION = 0x4000;

// ---- random numbers ----------------------------------------------------------------

/** A small seeded PRNG (xorshift128+ on two 32-bit halves pairs; deterministic across runs). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = 0x9e3779b9;
    this.c = 0x243f6a88;
    this.d = 0xb7e15162;
    for (let i = 0; i < 20; i++) this.u32();
  }
  u32(): number {
    // xoshiro128**
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
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  big(bits: number): bigint {
    let v = 0n;
    for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(this.u32());
    return BigInt.asUintN(bits, v);
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---- values ------------------------------------------------------------------------------

export interface Ext {
  se: number;
  sig: bigint;
}

const J = 1n << 63n;
const M64 = (1n << 64n) - 1n;

function doubleToExt(x: number): Ext {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  const bits = dv.getBigUint64(0, true);
  const sign = Number(bits >> 63n);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  if (exp === 0x7ff) return { se: (sign << 15) | 0x7fff, sig: J | (frac << 11n) };
  if (exp === 0) {
    if (frac === 0n) return { se: sign << 15, sig: 0n };
    let m = frac, e = -1074;
    while (!(m & (1n << 52n))) { m <<= 1n; e--; }
    return { se: (sign << 15) | (e + 52 + 16383), sig: m << 11n };
  }
  return { se: (sign << 15) | (exp - 1023 + 16383), sig: J | (frac << 11n) };
}

/** A random significand with J set whose bits near the 24/53/64-bit rounding points are interesting. */
function boundarySig(rng: Rng): bigint {
  const cut = rng.pick([24, 53, 64, 24, 53]);
  let sig = J | (rng.big(64) & ((1n << 63n) - 1n));
  if (cut < 64) {
    const low = 64 - cut; // bits below the rounding point
    const pattern = rng.pick(['half', 'halfPlus', 'halfMinus', 'zero', 'ones', 'one']);
    const h = 1n << BigInt(low - 1);
    const lowBits = pattern === 'half' ? h : pattern === 'halfPlus' ? h + 1n : pattern === 'halfMinus' ? h - 1n
      : pattern === 'zero' ? 0n : pattern === 'ones' ? (1n << BigInt(low)) - 1n : 1n;
    sig = (sig & ~((1n << BigInt(low)) - 1n)) | lowBits;
  }
  return sig;
}

export type ValueKind = 'any' | 'finite' | 'normal';

/** A random 80-bit value from every class the hardware knows. */
export function randomExt(rng: Rng, kind: ValueKind = 'any'): Ext {
  const s = rng.int(2) << 15;
  const roll = rng.int(100);
  if (kind !== 'any' || roll < 70) {
    const r = kind === 'normal' ? rng.int(80) : rng.int(100);
    if (r < 18) return doubleToExt((rng.u32() / 2 ** 16 - 32768) * 2 ** (rng.int(40) - 20));
    if (r < 28) return doubleToExt(Math.fround((rng.u32() / 2 ** 20) * 2 ** (rng.int(60) - 30)) * (s ? -1 : 1));
    if (r < 36) return doubleToExt(rng.int(2000) - 1000);
    if (r < 48) return { se: s | (16383 + rng.int(140) - 70), sig: boundarySig(rng) };
    if (r < 60) return { se: s | (16383 + rng.int(140) - 70), sig: J | rng.big(63) };
    if (r < 66) return { se: s | (1 + rng.int(80)), sig: boundarySig(rng) }; // near the underflow threshold
    if (r < 71) return { se: s | (0x7ffe - rng.int(80)), sig: boundarySig(rng) }; // near overflow
    if (r < 75) return { se: s | (16383 + rng.pick([-126, -127, -149, -150, -1022, -1023, -1074, -1075, 127, 128, 1023, 1024]) + rng.int(5) - 2), sig: boundarySig(rng) };
    if (r < 80) return { se: s | (1 + rng.int(0x7ffd)), sig: J | rng.big(63) };
    if (r < 90) return { se: s, sig: 0n };
    if (kind === 'normal') return doubleToExt(1 + rng.int(100));
    return { se: s, sig: rng.big(63) >> BigInt(rng.int(63)) || 1n }; // denormal
  }
  const r = rng.int(100);
  if (r < 20) return { se: s | 0x7fff, sig: J }; // infinity
  if (r < 40) return { se: s | 0x7fff, sig: J | (1n << 62n) | (rng.chance(0.5) ? rng.big(62) : 0n) }; // QNaN
  if (r < 58) return { se: s | 0x7fff, sig: J | (rng.big(62) || 1n) }; // SNaN
  if (r < 64) return { se: 0xffff, sig: 0xc000000000000000n }; // indefinite
  if (r < 74) return { se: s, sig: J | rng.big(63) }; // pseudo-denormal
  if (r < 86) return { se: s | (1 + rng.int(0x7ffd)), sig: rng.big(63) }; // unnormal
  if (r < 92) return { se: s | 0x7fff, sig: 0n }; // pseudo-infinity
  return { se: s | 0x7fff, sig: rng.big(63) || 1n }; // pseudo-NaN
}

/** A second operand related to the first (equal, negated, nearly equal, scaled) or random. */
export function relatedExt(rng: Rng, a: Ext): Ext {
  const exp = a.se & 0x7fff;
  if (exp === 0 || exp === 0x7fff || !(a.sig & J) || rng.chance(0.5)) return randomExt(rng);
  const clamp = (e: number) => Math.max(1, Math.min(0x7ffe, e));
  switch (rng.int(9)) {
    // Exponents that put a product or quotient right at the overflow or underflow threshold.
    case 6: return { se: (rng.int(2) << 15) | clamp(0x7ffe - exp + 16383 + rng.int(5) - 2), sig: boundarySig(rng) };
    case 7: return { se: (rng.int(2) << 15) | clamp(1 - exp + 16383 + rng.int(70) - 66), sig: boundarySig(rng) };
    case 8: return { se: (rng.int(2) << 15) | clamp(exp - (rng.chance(0.5) ? 0x3fff : -0x3fff) + rng.int(5) - 2), sig: boundarySig(rng) };
    case 0: return { ...a };
    case 1: return { se: a.se ^ 0x8000, sig: a.sig };
    case 2: return { se: a.se ^ (rng.chance(0.5) ? 0x8000 : 0), sig: BigInt.asUintN(64, a.sig + BigInt(rng.int(5) - 2)) | J };
    case 3: return { se: (a.se & 0x8000) | Math.max(1, Math.min(0x7ffe, exp + rng.int(140) - 70)), sig: a.sig };
    case 4: return { se: (a.se & 0x8000) | Math.max(1, Math.min(0x7ffe, exp + rng.int(130) - 65)), sig: boundarySig(rng) };
    default: return { se: (a.se ^ 0x8000) & 0xffff, sig: (a.sig ^ (1n << BigInt(rng.int(64)))) | J };
  }
}

function extBytes(v: Ext, out: Uint8Array, at: number): void {
  let s = v.sig;
  for (let k = 0; k < 8; k++) { out[at + k] = Number(s & 0xffn); s >>= 8n; }
  out[at + 8] = v.se & 0xff;
  out[at + 9] = (v.se >> 8) & 0xff;
}

function bigBytes(v: bigint, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) { b[k] = Number(v & 0xffn); v >>= 8n; }
  return b;
}

/** Random single (bits 32) or double (bits 64) floating-point bit patterns, every class. */
function randomFloatBits(rng: Rng, bits: 32 | 64): bigint {
  const [eb, fb] = bits === 32 ? [8, 23] : [11, 52];
  const emax = (1 << eb) - 1;
  const sign = BigInt(rng.int(2)) << BigInt(bits - 1);
  const r = rng.int(100);
  let exp: number, frac: bigint;
  if (r < 55) { exp = 1 + rng.int(emax - 1); frac = rng.big(fb); }
  else if (r < 65) { exp = rng.pick([1, 2, emax - 1, emax - 2, (emax >> 1), (emax >> 1) + 1]); frac = rng.big(fb); }
  else if (r < 75) { exp = 0; frac = rng.big(fb) >> BigInt(rng.int(fb)) || 1n; }
  else if (r < 82) { exp = 0; frac = 0n; }
  else if (r < 87) { exp = emax; frac = 0n; }
  else if (r < 94) { exp = emax; frac = (1n << BigInt(fb - 1)) | (rng.chance(0.5) ? rng.big(fb - 1) : 0n); }
  else { exp = emax; frac = rng.big(fb - 1) || 1n; }
  if (r < 55 && rng.chance(0.3)) {
    // A value that is also a small integer or a simple fraction.
    const dv = new DataView(new ArrayBuffer(8));
    const x = (rng.int(2000) - 1000) / (1 << rng.int(4));
    if (bits === 32) { dv.setFloat32(0, x, true); return BigInt(dv.getUint32(0, true)); }
    dv.setFloat64(0, x, true);
    return dv.getBigUint64(0, true);
  }
  return sign | (BigInt(exp) << BigInt(fb)) | frac;
}

function randomInt(rng: Rng, bits: number): bigint {
  const lim = 1n << BigInt(bits - 1);
  switch (rng.int(6)) {
    case 0: return BigInt.asUintN(bits, BigInt(rng.int(200) - 100));
    case 1: return rng.pick([0n, lim, lim - 1n, BigInt.asUintN(bits, -lim + 1n), BigInt.asUintN(bits, -1n), 1n]);
    default: return rng.big(bits) >> BigInt(rng.int(bits));
  }
}

/** Packed BCD: 18 digits and a sign byte; sometimes invalid digits (A-F) and junk in bits 0-6 of the sign byte. */
function randomBcd(rng: Rng): Uint8Array {
  const b = new Uint8Array(10);
  const digits = rng.int(19);
  const invalid = rng.chance(0.15);
  for (let k = 0; k < digits; k++) {
    const d = invalid && rng.chance(0.3) ? 10 + rng.int(6) : rng.int(10);
    b[k >> 1]! |= k & 1 ? d << 4 : d;
  }
  b[9] = (rng.chance(0.5) ? 0x80 : 0) | (invalid ? rng.int(0x80) : 0);
  return b;
}

// ---- FPU state images ------------------------------------------------------------------------

export interface FpuImageOptions {
  /** Registers in stack order; missing ones random. */
  st?: (Ext | null)[];
  /** Stack depth (registers ST0..depth-1 in use; others empty). */
  depth?: number;
  cw?: number;
}

function randomCw(rng: Rng): number {
  const rc = rng.int(4) << 10;
  const pc = rng.pick([3, 3, 2, 0, 1]) << 8;
  const masks = rng.chance(0.55) ? 0x3f : rng.chance(0.55) ? (0x3f & ~(1 << rng.int(6))) : rng.int(64);
  const reserved = rng.chance(0.1) ? (rng.u32() & 0xe0c0) : 0x40;
  return rc | pc | masks | reserved;
}

/** A random 108-byte FNSAVE image (32-bit protected-mode format). */
export function randomFnsave(rng: Rng, o: FpuImageOptions = {}): Uint8Array {
  const b = new Uint8Array(FNSAVE_SIZE);
  const v = new DataView(b.buffer);
  const cw = o.cw ?? randomCw(rng);
  const top = rng.int(8);
  const depth = o.depth ?? (rng.chance(0.6) ? 8 : rng.int(9));
  let tw = 0xffff;
  for (let i = 0; i < depth; i++) tw &= ~(3 << (2 * ((top + i) & 7)));
  if (rng.chance(0.1)) tw = rng.u32() & 0xffff;
  // Exception flags: normally only masked ones (no exception pending), sometimes anything.
  let flags = rng.int(64) & (cw & 0x3f);
  if (rng.chance(0.04)) flags = rng.int(64);
  if (rng.chance(0.3)) flags = 0;
  const cc = rng.u32() & 0x4700;
  const sw = cc | flags | (rng.chance(0.1) ? 0x40 : 0) | (top << 11);
  v.setUint32(0, 0xffff0000 | cw, true);
  v.setUint32(4, 0xffff0000 | sw, true);
  v.setUint32(8, 0xffff0000 | tw, true);
  v.setUint32(12, CODE_BASE + 0x800 + rng.int(0x100), true); // FIP: somewhere recognisable
  v.setUint32(16, 0x0023, true);
  v.setUint32(20, DATA_BASE + 0x4000 + rng.int(0x100), true);
  v.setUint32(24, 0xffff002b, true);
  let prev: Ext | null = null;
  for (let i = 0; i < 8; i++) {
    const given = o.st?.[i];
    const val: Ext = given ?? (prev && rng.chance(0.35) ? relatedExt(rng, prev) : randomExt(rng));
    extBytes(val, b, 28 + 10 * i);
    prev = val;
  }
  return b;
}

// ---- instruction encoding ----------------------------------------------------------------------

export const X87_ROWS: readonly Row[] = ROWS.filter((r) => r.cls === 'x87');

/** Rows whose results the tolerance applies to. */
export const TRANSCENDENTAL = new Set(['fsin', 'fcos', 'fsincos', 'fptan', 'fpatan', 'f2xm1', 'fyl2x', 'fyl2xp1']);

export interface MemOperand {
  addr: number;
  size: number;
  /** Ranges (addr, len) of a stored image whose bytes are not compared. */
  ignore: [number, number][];
}

export interface EncodedInsn {
  row: Row;
  bytes: number[];
  mem: MemOperand | null;
}

const MEM_SIZE: Record<string, number> = { fs: 4, fd: 8, ft: 10, wi: 2, di: 4, qi: 8, bcd: 10, fx: 512 };

/** Size in bytes of the row's memory operand (env/state depend on the operand size). */
function memSize(row: Row, opsize: number): number {
  const op = row.operands.find((o) => o.kind === 'M');
  if (!op) return 0;
  if (op.x87 === 'env') return opsize === 32 ? 28 : 14;
  if (op.x87 === 'st') return opsize === 32 ? 108 : 94;
  if (op.x87) return MEM_SIZE[op.x87]!;
  return 2; // Mw
}

/** Whether the row stores to its memory operand. */
function isStore(row: Row): boolean {
  return ['fst', 'fstp', 'fist', 'fistp', 'fbstp', 'fnstenv', 'fnsave', 'fnstcw', 'fnstsw', 'fxsave'].includes(row.sem);
}

/** A per-case allocator of window space for memory operands. */
export class Window {
  private next = 0x1000;
  readonly chunks: MemChunk[] = [];
  alloc(size: number, align: number, rng: Rng): number {
    const a = Math.ceil((this.next + rng.int(align > 1 ? 1 : 24)) / align) * align;
    this.next = a + size + 8;
    if (this.next > REGION) throw new Error('x87 test: the case needs more than REGION bytes of memory');
    return DATA_BASE + a;
  }
  put(addr: number, bytes: Uint8Array): void {
    this.chunks.push({ addr, bytes });
  }
}

/** Registers a case starts with: EBX/ESI/EDI/EBP serve as base registers for memory operands. */
export const BASE_REGS = [3, 6, 7, 5];

export interface CaseState {
  rng: Rng;
  win: Window;
  regs: number[];
  /** Registers already holding an address for an earlier instruction of the case. */
  used: Set<number>;
}

/** Write the contents of a memory operand the instruction will read. */
function fillOperand(s: CaseState, row: Row, addr: number, size: number, opsize: number): void {
  const { rng, win } = s;
  const op = row.operands.find((o) => o.kind === 'M')!;
  let b: Uint8Array;
  switch (op.x87) {
    case 'fs': b = bigBytes(randomFloatBits(rng, 32), 4); break;
    case 'fd': b = bigBytes(randomFloatBits(rng, 64), 8); break;
    case 'ft': b = new Uint8Array(10); extBytes(randomExt(rng), b, 0); break;
    case 'wi': b = bigBytes(randomInt(rng, 16), 2); break;
    case 'di': b = bigBytes(randomInt(rng, 32), 4); break;
    case 'qi': b = bigBytes(randomInt(rng, 64), 8); break;
    case 'bcd': b = randomBcd(rng); break;
    case 'env': case 'st': {
      const full = randomFnsave(rng);
      if (opsize === 32) b = full.subarray(0, size);
      else {
        const v = new DataView(full.buffer);
        b = new Uint8Array(size);
        const w = new DataView(b.buffer);
        w.setUint16(0, v.getUint16(0, true), true);
        w.setUint16(2, v.getUint16(4, true), true);
        w.setUint16(4, v.getUint16(8, true), true);
        w.setUint16(6, v.getUint16(12, true), true);
        w.setUint16(8, 0x23, true);
        w.setUint16(10, v.getUint16(20, true), true);
        w.setUint16(12, 0x2b, true);
        if (op.x87 === 'st') b.set(full.subarray(28), 14);
      }
      break;
    }
    case 'fx': {
      const full = randomFnsave(rng);
      const v = new DataView(full.buffer);
      b = rng.bytes(512);
      const w = new DataView(b.buffer);
      w.setUint16(0, v.getUint16(0, true), true);
      w.setUint16(2, v.getUint16(4, true), true);
      const tw = v.getUint16(8, true);
      let abridged = 0;
      for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) !== 3) abridged |= 1 << p;
      b[4] = abridged;
      b[5] = 0;
      w.setUint16(6, rng.int(0x800), true);
      w.setUint32(8, v.getUint32(12, true), true);
      w.setUint32(12, 0x23, true);
      w.setUint32(16, v.getUint32(20, true), true);
      w.setUint32(20, 0x2b, true);
      w.setUint32(24, 0x1f80, true); // MXCSR: the host's FXRSTOR faults on reserved bits
      w.setUint32(28, 0, true);
      for (let k = 0; k < 8; k++) {
        b.set(full.subarray(28 + 10 * k, 38 + 10 * k), 32 + 16 * k);
        b.fill(0, 42 + 16 * k, 48 + 16 * k);
      }
      break;
    }
    default: { // Mw: FLDCW
      const cw = rng.chance(0.8) ? randomCw(rng) : rng.u32() & 0xffff;
      b = bigBytes(BigInt(cw), 2);
    }
  }
  win.put(addr, b);
}

/** Byte ranges of a stored environment/state/FXSAVE image that the host does not keep (see the header). */
function ignoredFields(row: Row, addr: number, opsize: number): [number, number][] {
  if (row.sem === 'fxsave') return [[addr + 6, 2], [addr + 12, 2], [addr + 16, 6], [addr + 24, 8], [addr + 160, 352]];
  if (row.sem === 'fnstenv' || row.sem === 'fnsave') {
    // FCS+FOP and FDP/FDS; 16-bit: FCS, FDP, FDS.
    return opsize === 32 ? [[addr + 16, 4], [addr + 20, 6]] : [[addr + 8, 6]];
  }
  return [];
}

/** Encode one instance of `row`: random register operand, random memory addressing. */
export function encode(s: CaseState, row: Row, opts: { prefix66?: boolean } = {}): EncodedInsn {
  const { rng } = s;
  const bytes: number[] = [];
  const hasMem = row.mod === 'mem' && row.hasModrm;
  const opsize = opts.prefix66 ? 16 : 32;
  // (66 is not allowed on FXSAVE/FXRSTOR: the host raises #UD, as the SDM's "NP" says.)
  if (opts.prefix66 && row.map === 0) bytes.push(0x66);
  if (hasMem && rng.chance(0.15)) bytes.push(rng.pick([0x26, 0x36, 0x3e]));
  if (row.map === 1) bytes.push(0x0f);
  bytes.push(row.opcode);
  if (!row.hasModrm) return { row, bytes, mem: null };
  if (row.modrmByte >= 0) {
    bytes.push(row.modrmByte + (row.modrmPlusI ? rng.int(8) : 0));
    return { row, bytes, mem: null };
  }
  const size = memSize(row, opsize);
  const align = row.sem === 'fxsave' || row.sem === 'fxrstor' ? 16 : rng.chance(0.7) ? 4 : 1;
  const addr = s.win.alloc(size, align, rng);
  const reg = row.modrmReg;
  const free = BASE_REGS.filter((r) => !s.used.has(r));
  let form = rng.int(3);
  if (form === 1 && free.length < 1) form = 0;
  if (form === 2 && (s.used.has(3) || s.used.has(6) || s.used.has(7))) form = 0;
  if (form === 0) {
    bytes.push((reg << 3) | 5, ...le32(addr));
  } else if (form === 1) {
    // [base + disp32], the base register pointing into the window.
    const base = rng.pick(free);
    s.used.add(base);
    const disp = rng.int(0x100) - 0x80;
    s.regs[base] = (addr - disp) >>> 0;
    bytes.push(0x80 | (reg << 3) | base, ...le32(disp));
  } else {
    // [base + index*scale + disp8] through a SIB byte.
    const base = rng.pick([3, 6]);
    const index = base === 3 ? 7 : 3;
    s.used.add(base);
    s.used.add(index);
    const scale = rng.int(4);
    const idx = rng.int(16);
    const disp = rng.int(0x100) - 0x80;
    s.regs[index] = idx;
    s.regs[base] = (addr - disp - (idx << scale)) >>> 0;
    bytes.push(0x40 | (reg << 3) | 4, (scale << 6) | (index << 3) | base, disp & 0xff);
  }
  const mem: MemOperand = { addr, size, ignore: ignoredFields(row, addr, opsize) };
  if (isStore(row)) s.win.put(addr, rng.bytes(size));
  else fillOperand(s, row, addr, size, opsize);
  return { row, bytes, mem };
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

// ---- cases -----------------------------------------------------------------------------------------

export interface X87Case {
  /** The row each instruction came from (for per-instruction statistics). */
  insns: EncodedInsn[];
  native: NativeCase;
  /** Compare registers within the transcendental tolerance. */
  tolerant: boolean;
  label: string;
}

export function makeCase(s: CaseState, insns: EncodedInsn[], fpu: Uint8Array, tolerant: boolean, label: string): X87Case {
  const code = Uint8Array.from(insns.flatMap((x) => x.bytes));
  return {
    insns,
    native: { code, regs: s.regs.slice(), eflags: s.rng.u32() & 0xcd5 & ~0x400, mem: s.win.chunks, fpu },
    tolerant,
    label,
  };
}

export function newCaseState(rng: Rng): CaseState {
  const regs = [0, 0, 0, 0, DATA_BASE + 0x8000, 0, 0, 0].map((v, i) => (i === 4 ? v : rng.u32()));
  return { rng, win: new Window(), regs, used: new Set() };
}

// ---- bt86 side ---------------------------------------------------------------------------------------

const CODE_LIN = 0x1000;
const DATA_LIN = 0x100000;
/** Scratch space (outside the compared window) for the FRSTOR/FNSAVE images. */
const SCRATCH = DATA_BASE + DATA_SIZE;
/** Where the FRSTOR/FNSAVE helper instructions run (EIP offsets just below the case's code). */
const HELPER_EIP = CODE_BASE - 0x100;

export interface Bt86Result {
  eip: number;
  /** Exception vector raised, or -1. */
  vector: number;
  regs: Uint32Array;
  eflags: number;
  fpu: Uint8Array;
  /** The first REGION bytes of the window. */
  memory: Uint8Array;
  /**
   * Whether the last non-control x87 instruction had a memory operand and raised
   * an unmasked exception itself (the only case where the host records FDP).
   */
  fdpComparable: boolean;
}

/** x87 control instructions: they leave the last instruction and operand pointers alone. */
const CONTROL = new Set(['fninit', 'fnclex', 'fldcw', 'fnstcw', 'fnstsw', 'fnstenv', 'fldenv', 'fnsave', 'frstor', 'fxsave', 'fxrstor', 'fwait']);

export class Bt86Runner {
  readonly m: BareMachine;
  private readonly insn = newInsn();

  constructor() {
    this.m = createBareMachine(2 << 20);
  }

  private setupMode(): void {
    const cpu = this.m.cpu;
    const data = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED | ATTR.DB | ATTR.G | (3 << ATTR.DPL_SHIFT);
    for (let s = 0; s < 6; s++) {
      cpu.segSel[s] = 0x2b;
      cpu.segBase[s] = (DATA_LIN - DATA_BASE) | 0;
      cpu.segLimit[s] = 0xffffffff;
      cpu.segAttr[s] = data;
    }
    cpu.segSel[SREG.CS] = 0x23;
    cpu.segBase[SREG.CS] = (CODE_LIN - CODE_BASE) | 0;
    cpu.segAttr[SREG.CS] = ATTR.P | ATTR.S | ATTR.CODE | 0x200 | ATTR.ACCESSED | ATTR.DB | ATTR.G | (3 << ATTR.DPL_SHIFT);
    cpu.cr0 = 0x33; // PE, MP, ET, NE; no paging
    cpu.cpl = 3;
  }

  /** Execute one instruction given as bytes at EIP `eip` (helpers: FRSTOR, FNSAVE). */
  private helper(bytes: number[]): void {
    const cpu = this.m.cpu;
    this.m.phys.load((CODE_LIN - 0x100) >>> 0, Uint8Array.from(bytes));
    cpu.eip = HELPER_EIP;
    cpu.execute(cpu.fetchDecode(this.insn));
  }

  run(c: X87Case): Bt86Result {
    const { m } = this;
    const cpu = m.cpu;
    const n = c.native;
    this.setupMode();
    m.phys.ram.fill(0, DATA_LIN, DATA_LIN + REGION);
    for (const ch of n.mem ?? []) m.phys.load(DATA_LIN + (ch.addr - DATA_BASE), ch.bytes);
    m.phys.load(CODE_LIN, n.code);
    cpu.fpu.init();
    m.phys.load(DATA_LIN + DATA_SIZE, n.fpu!);
    this.helper([0xdd, 0x25, ...le32(SCRATCH)]); // frstor [SCRATCH]
    for (let r = 0; r < 8; r++) cpu.r32[r] = n.regs[r]!;
    cpu.eflags = ((n.eflags ?? 0) & 0xcd5) | 0x202;
    const end = (CODE_BASE + n.code.length) >>> 0;
    cpu.eip = CODE_BASE;
    let vector = -1;
    let fdpComparable = false;
    for (let steps = 0; cpu.eip !== end; steps++) {
      if (steps > 64) throw new Error('bt86: the case does not end');
      try {
        const insn = cpu.fetchDecode(this.insn);
        const esBefore = cpu.fpu.pending;
        cpu.execute(insn);
        if (insn.row.cls === 'x87' && !CONTROL.has(insn.row.sem)) fdpComparable = insn.mod !== 3 && !esBefore && cpu.fpu.pending;
      } catch (e) {
        if (!(e instanceof CpuException)) throw e;
        vector = e.vector;
        break;
      }
    }
    const eip = cpu.eip;
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = cpu.r32[r]!;
    const eflags = cpu.eflags;
    this.helper([0xdd, 0x35, ...le32(SCRATCH)]); // fnsave [SCRATCH]
    const fpu = m.phys.ram.slice(DATA_LIN + DATA_SIZE, DATA_LIN + DATA_SIZE + FNSAVE_SIZE);
    const memory = m.phys.ram.slice(DATA_LIN, DATA_LIN + REGION);
    cpu.r32[REG.ESP] = regs[REG.ESP]!;
    return { eip, vector, regs, eflags, fpu, memory, fdpComparable };
  }
}

// ---- comparison -----------------------------------------------------------------------------------------

/** Transcendental results may differ from the host's by this many units in the last place. */
export const TRIG_ULPS = 1;

export interface Comparison {
  ok: boolean;
  /** Largest register distance in ulps (tolerant cases), else 0. */
  ulps: number;
  /** Whether a tolerant case matched only within the tolerance. */
  approx: boolean;
  diffs: string[];
}

function hex(v: number, w = 8): string {
  return (v >>> 0).toString(16).padStart(w, '0');
}

function regText(b: Uint8Array, at: number): string {
  let s = '';
  for (let k = 9; k >= 0; k--) s += b[at + k]!.toString(16).padStart(2, '0');
  return `${s.slice(0, 4)}:${s.slice(4)}`;
}

/** Distance in units of the 64-bit significand's last place between two finite register values of the same sign (Infinity otherwise). */
function ulpDistance(a: Uint8Array, b: Uint8Array, at: number): number {
  const val = (x: Uint8Array): { se: number; sig: bigint } => {
    let sig = 0n;
    for (let k = 7; k >= 0; k--) sig = (sig << 8n) | BigInt(x[at + k]!);
    const se = x[at + 8]! | (x[at + 9]! << 8);
    return { se, sig };
  };
  const x = val(a), y = val(b);
  if ((x.se & 0x8000) !== (y.se & 0x8000)) {
    return x.sig === 0n && y.sig === 0n ? 0 : Infinity;
  }
  const ex = x.se & 0x7fff, ey = y.se & 0x7fff;
  if (ex === 0x7fff || ey === 0x7fff) return x.se === y.se && x.sig === y.sig ? 0 : Infinity;
  // Ordinal of the magnitude: exponent × 2^64 + significand works for normals and denormals alike.
  const ox = (BigInt(ex) << 63n) + (x.sig & ~(ex ? J : 0n)) ;
  const oy = (BigInt(ey) << 63n) + (y.sig & ~(ey ? J : 0n));
  const d = ox > oy ? ox - oy : oy - ox;
  return d > 1000n ? Infinity : Number(d);
}

export function compare(c: X87Case, nat: NativeResult, bt: Bt86Result): Comparison {
  const diffs: string[] = [];
  let ulps = 0;
  let approx = false;
  const natFault = nat.status === 'signal';
  if (nat.status !== 'ok' && !(natFault && nat.fault)) {
    diffs.push(`native status ${nat.status} ${nat.error ?? ''} signal ${nat.signal}`);
    return { ok: false, ulps, approx, diffs };
  }
  const natVector = natFault ? (nat.fault!.signal === SIG.SIGFPE ? nat.fault!.trapno : 1000 + nat.fault!.signal) : -1;
  if (natVector !== bt.vector) diffs.push(`fault: native ${natVector} bt86 ${bt.vector}`);
  if ((nat.eip >>> 0) !== (bt.eip >>> 0)) diffs.push(`eip: native ${hex(nat.eip)} bt86 ${hex(bt.eip)}`);
  for (let r = 0; r < 8; r++) {
    if (nat.regs[r] !== bt.regs[r]) diffs.push(`reg ${r}: native ${hex(nat.regs[r]!)} bt86 ${hex(bt.regs[r]!)}`);
  }
  const fl = 0xcd5;
  if ((nat.eflags & fl) !== (bt.eflags & fl)) diffs.push(`eflags: native ${hex(nat.eflags & fl, 4)} bt86 ${hex(bt.eflags & fl, 4)}`);
  // FPU image.
  const a = nat.fpu, b = bt.fpu;
  const dv = (x: Uint8Array) => new DataView(x.buffer, x.byteOffset, x.byteLength);
  const na = dv(a), nb = dv(b);
  const c1Free = c.tolerant;
  const swMask = c1Free ? ~0x200 : ~0;
  for (const [off, name] of [[0, 'fcw'], [4, 'fsw'], [8, 'ftw']] as const) {
    const x = na.getUint32(off, true), y = nb.getUint32(off, true);
    const m = off === 4 ? swMask : ~0;
    if (((x ^ y) & m) !== 0) diffs.push(`${name}: native ${hex(x)} bt86 ${hex(y)}`);
  }
  if (na.getUint32(12, true) !== nb.getUint32(12, true)) diffs.push(`fip: native ${hex(na.getUint32(12, true))} bt86 ${hex(nb.getUint32(12, true))}`);
  if (natFault && bt.fdpComparable && na.getUint32(20, true) !== nb.getUint32(20, true)) {
    diffs.push(`fdp: native ${hex(na.getUint32(20, true))} bt86 ${hex(nb.getUint32(20, true))}`);
  }
  if (na.getUint16(26, true) !== nb.getUint16(26, true)) diffs.push('fds reserved half');
  const top = (na.getUint16(4, true) >> 11) & 7;
  const tw = na.getUint16(8, true);
  for (let i = 0; i < 8; i++) {
    const at = 28 + 10 * i;
    let same = true;
    for (let k = 0; k < 10; k++) if (a[at + k] !== b[at + k]) same = false;
    if (same) continue;
    const empty = ((tw >> (2 * ((top + i) & 7))) & 3) === 3;
    if (c.tolerant && !empty) {
      const d = ulpDistance(a, b, at);
      if (d <= TRIG_ULPS) {
        ulps = Math.max(ulps, d);
        approx = true;
        continue;
      }
    }
    diffs.push(`st${i}${empty ? ' (empty)' : ''}: native ${regText(a, at)} bt86 ${regText(b, at)}`);
  }
  // Memory.
  const natMem = new Uint8Array(REGION);
  for (const ch of c.native.mem ?? []) natMem.set(ch.bytes, ch.addr - DATA_BASE);
  for (const ch of nat.memWrites) {
    if (ch.addr - DATA_BASE + ch.bytes.length > REGION) diffs.push(`native write outside the region at ${hex(ch.addr)}`);
    else natMem.set(ch.bytes, ch.addr - DATA_BASE);
  }
  const ignore = new Uint8Array(REGION);
  for (const x of c.insns) for (const [addr, len] of x.mem?.ignore ?? []) ignore.fill(1, addr - DATA_BASE, addr - DATA_BASE + len);
  let memDiffs = 0;
  const same = Buffer.from(natMem.buffer, natMem.byteOffset, REGION).equals(Buffer.from(bt.memory.buffer, bt.memory.byteOffset, REGION));
  for (let k = 0; k < REGION && !same; k++) {
    if (natMem[k] !== bt.memory[k] && !ignore[k]) {
      if (memDiffs++ < 8) diffs.push(`mem ${hex(DATA_BASE + k)}: native ${hex(natMem[k]!, 2)} bt86 ${hex(bt.memory[k]!, 2)}`);
    }
  }
  return { ok: diffs.length === 0, ulps, approx, diffs };
}

/** A human-readable description of a case's initial state (for failure reports). */
export function describeCase(c: X87Case): string {
  const img = c.native.fpu!;
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const lines = [
    `code: ${[...c.native.code].map((x) => x.toString(16).padStart(2, '0')).join(' ')} (${c.insns.map((x) => x.row.spec.syntax).join('; ')})`,
    `fcw ${hex(v.getUint16(0, true), 4)} fsw ${hex(v.getUint16(4, true), 4)} ftw ${hex(v.getUint16(8, true), 4)}`,
    ...Array.from({ length: 8 }, (_, i) => `  st${i} ${regText(img, 28 + 10 * i)}`),
  ];
  for (const x of c.insns) {
    if (!x.mem) continue;
    const ch = c.native.mem?.find((m) => m.addr === x.mem!.addr);
    if (ch) lines.push(`  mem ${hex(x.mem.addr)}: ${[...ch.bytes.subarray(0, 16)].map((y) => y.toString(16).padStart(2, '0')).join(' ')}`);
  }
  return lines.join('\n');
}

export { M64 };
