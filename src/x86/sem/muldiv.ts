/**
 * Semantics: MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
 *
 * 32-bit products and 64-bit dividends do not fit in a double, and BigInt
 * allocates, so the 32x32 -> 64 multiply works in 16-bit limbs and the 64/32
 * divide in two 16-bit steps whose partial quotients doubles represent exactly
 * (see udiv64). Results come back through module variables (`hi`, `lo`, `quo`,
 * `rem`): no allocation per instruction.
 *
 * Flags: MUL/IMUL define CF = OF = "the high half is significant"; SF, ZF, AF
 * and PF are undefined, and we set SF/ZF/PF from the low half of the product
 * (the destination for IMUL r,r/m) and clear AF, as Bochs and QEMU do.
 * DIV/IDIV leave all flags undefined; we leave them unchanged.
 *
 * #DE (divide by zero, or a quotient that does not fit) is raised before any
 * register is written. IDIV accepts the most negative quotient (-128, -32768,
 * -2^31), as IA-32 processors do (the 8086 did not).
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { ARITH_FLAGS, CF, OF, setFlags, szp } from '../flags.js';
import { EXC, REG } from '../state.js';
import { Loc, FORM, readSrc, setR, size0 } from './operand.js';

let hi = 0;
let lo = 0;

/** Unsigned 32x32 -> 64 multiply: sets `hi`, `lo` (as int32). */
function umul32(a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  lo = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Signed 32x32 -> 64 multiply: sets `hi`, `lo`. */
function smul32(a: number, b: number): void {
  umul32(a, b);
  // Two's complement correction of the high half.
  hi = (hi - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/** Flags of a multiply: CF = OF = `overflow`, SF/ZF/PF from `low` (of `size`), AF = 0. */
function mulFlags(cpu: Cpu, overflow: boolean, low: number, size: number): void {
  setFlags(cpu, ARITH_FLAGS, (overflow ? CF | OF : 0) | szp(low, size));
}

/** MUL r/m: AX = AL * src, DX:AX = AX * src, EDX:EAX = EAX * src. */
function mul(cpu: Cpu, i: Insn): void {
  const size = size0(FORM[i.row.id]!, i);
  const src = readSrc(cpu, i, Loc.RM, size) >>> 0;
  if (size === 1) {
    const p = cpu.r8[0]! * src;
    cpu.r16[0] = p;
    mulFlags(cpu, p > 0xff, p, 1);
  } else if (size === 2) {
    const p = cpu.r16[0]! * src;
    cpu.r16[0] = p;
    cpu.r16[REG.EDX << 1] = p >>> 16;
    mulFlags(cpu, p > 0xffff, p, 2);
  } else {
    umul32(cpu.r32[REG.EAX]! >>> 0, src);
    cpu.r32[REG.EAX] = lo;
    cpu.r32[REG.EDX] = hi;
    mulFlags(cpu, hi !== 0, lo, 4);
  }
}

/** IMUL r/m (one operand): the signed form of MUL. */
function imul1(cpu: Cpu, i: Insn): void {
  const size = size0(FORM[i.row.id]!, i);
  const src = readSrc(cpu, i, Loc.RM, size);
  if (size === 1) {
    const p = ((cpu.r8[0]! << 24) >> 24) * ((src << 24) >> 24);
    cpu.r16[0] = p;
    mulFlags(cpu, p !== (p << 24) >> 24, p, 1);
  } else if (size === 2) {
    const p = ((cpu.r16[0]! << 16) >> 16) * ((src << 16) >> 16);
    cpu.r16[0] = p;
    cpu.r16[REG.EDX << 1] = p >> 16;
    mulFlags(cpu, p !== (p << 16) >> 16, p, 2);
  } else {
    smul32(cpu.r32[REG.EAX]!, src | 0);
    cpu.r32[REG.EAX] = lo;
    cpu.r32[REG.EDX] = hi;
    mulFlags(cpu, hi !== lo >> 31, lo, 4);
  }
}

/** IMUL Gv,Ev and IMUL Gv,Ev,imm: a truncated signed product in a register. */
function imulTrunc(cpu: Cpu, i: Insn, a: number, b: number, size: number): void {
  let r: number;
  let overflow: boolean;
  if (size === 2) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    r = p & 0xffff;
    overflow = p !== (p << 16) >> 16;
  } else {
    smul32(a | 0, b | 0);
    r = lo;
    overflow = hi !== lo >> 31;
  }
  setR(cpu, i.reg, size, r);
  mulFlags(cpu, overflow, r, size);
}

function imul2(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const b = readSrc(cpu, i, Loc.RM, size);
  imulTrunc(cpu, i, cpu.r32[i.reg]!, b, size);
}

function imul3(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  imulTrunc(cpu, i, readSrc(cpu, i, Loc.RM, size), i.imm, size);
}

let quo = 0;
let rem = 0;

/**
 * Unsigned (h:l) / d with h < d (so the quotient fits in 32 bits): sets `quo`,
 * `rem`. Each step divides a value below d * 2^16 < 2^48 by d, so its quotient
 * is below 2^16 and is within 2^-37 of the exact one while any fraction is at
 * least 1/d >= 2^-32 away from the next integer: Math.floor is exact.
 */
function udiv64(h: number, l: number, d: number): void {
  let r = h * 65536 + (l >>> 16);
  const q1 = Math.floor(r / d);
  r -= q1 * d;
  r = r * 65536 + (l & 0xffff);
  const q0 = Math.floor(r / d);
  rem = r - q0 * d;
  quo = q1 * 65536 + q0;
}

function div(cpu: Cpu, i: Insn): void {
  const size = size0(FORM[i.row.id]!, i);
  const d = readSrc(cpu, i, Loc.RM, size) >>> 0;
  if (d === 0) cpu.raise(EXC.DE);
  if (size === 1) {
    const n = cpu.r16[0]!;
    const q = Math.floor(n / d);
    if (q > 0xff) cpu.raise(EXC.DE);
    cpu.r8[0] = q;
    cpu.r8[1] = n - q * d;
  } else if (size === 2) {
    const n = cpu.r16[REG.EDX << 1]! * 65536 + cpu.r16[0]!;
    const q = Math.floor(n / d);
    if (q > 0xffff) cpu.raise(EXC.DE);
    cpu.r16[0] = q;
    cpu.r16[REG.EDX << 1] = n - q * d;
  } else {
    const h = cpu.r32[REG.EDX]! >>> 0;
    if (h >= d) cpu.raise(EXC.DE);
    udiv64(h, cpu.r32[REG.EAX]! >>> 0, d);
    cpu.r32[REG.EAX] = quo;
    cpu.r32[REG.EDX] = rem;
  }
}

function idiv(cpu: Cpu, i: Insn): void {
  const size = size0(FORM[i.row.id]!, i);
  const src = readSrc(cpu, i, Loc.RM, size);
  if (src === 0) cpu.raise(EXC.DE);
  if (size === 1) {
    const n = (cpu.r16[0]! << 16) >> 16;
    const d = (src << 24) >> 24;
    const q = Math.trunc(n / d);
    if (q > 0x7f || q < -0x80) cpu.raise(EXC.DE);
    cpu.r8[0] = q;
    cpu.r8[1] = n - q * d;
  } else if (size === 2) {
    const n = (cpu.r16[REG.EDX << 1]! << 16) | cpu.r16[0]!;
    const d = (src << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q > 0x7fff || q < -0x8000) cpu.raise(EXC.DE);
    cpu.r16[0] = q;
    cpu.r16[REG.EDX << 1] = n - q * d;
  } else {
    // Divide magnitudes, then apply the signs.
    let h = cpu.r32[REG.EDX]!;
    let l = cpu.r32[REG.EAX]!;
    const negN = h < 0;
    if (negN) {
      l = -l | 0;
      h = ~h + (l === 0 ? 1 : 0);
    }
    const d = Math.abs(src | 0);
    if (h >>> 0 >= d) cpu.raise(EXC.DE);
    udiv64(h >>> 0, l >>> 0, d);
    const negQ = negN !== (src | 0) < 0;
    if (quo > (negQ ? 0x80000000 : 0x7fffffff)) cpu.raise(EXC.DE);
    cpu.r32[REG.EAX] = negQ ? -quo : quo;
    cpu.r32[REG.EDX] = negN ? -rem : rem;
  }
}

export const muldivSemantics: Record<string, SemFn> = {
  mul, imul1, imul2, imul3, div, idiv,
};
