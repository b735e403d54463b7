/**
 * Semantics: shifts and rotates — ROL ROR RCL RCR SHL(SAL) SHR SAR, SHLD SHRD.
 *
 * The count is masked to 5 bits (as on every processor since the 80286). A masked
 * count of 0 changes nothing, flags included; a memory operand is still checked
 * for writing and read (as the hardware does), but not written. RCL/RCR rotate
 * through CF over size+1 bits, so their count is reduced mod 9 (bytes) or 17
 * (words); a reduced count of 0 (a masked count of 9, 18, 27 or 17) leaves the
 * operand and CF alone but still writes OF by the rule below, as the 80286
 * vectors show. ROL/ROR reduce their count mod the width but still set CF from
 * the result when the masked count is non-zero (SDM vol. 2, RCL/RCR/ROL/ROR
 * "Operation").
 *
 * OF is defined by the SDM for a count of 1 only; for other counts the hardware
 * writes a value too. We use the count-1 rule, stated on the result, for every
 * count (as Bochs does; the 80286 vectors, which leave OF unmasked for the
 * byte forms with an immediate count, agree): SHL/ROL/RCL: MSB(result) XOR CF;
 * SHR/ROR/RCR: XOR of the result's two top bits; SAR: 0. For SHL/SHR with a
 * count above the width, CF is the last bit shifted out of the (conceptually
 * wider) operand, that is 0 (SAR: the sign). AF is undefined after a shift; we
 * clear it. Flags are stored eagerly (they depend on the count).
 *
 * SHLD/SHRD with a 16-bit operand and a count of 17-31 are undefined. We do what
 * P6 does: the operand is shifted as the 48-bit string dest:src:dest, so that
 * after the source's bits the destination's enter again; CF is the last bit
 * shifted out of that string.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { ARITH_FLAGS, CF, OF, getCF, setFlags, szp } from '../flags.js';
import { Loc, FORM, getR, maskOf, memLinear, readLin, setR, size0, writeLin } from './operand.js';

const enum Sh { ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAR = 7 }

/** The count operand at `loc` (imm8, 1 or CL), masked to 5 bits. */
function countOf(cpu: Cpu, i: Insn, loc: number): number {
  if (loc === Loc.IMM) return i.imm & 31;
  if (loc === Loc.ONE) return 1;
  return cpu.r8[4]! & 31; // CL
}

/**
 * Flags out of `op`: written by the shift functions, read once by the caller
 * (module scratch instead of a returned object: no allocation per instruction).
 */
let outMask = 0;
let outFlags = 0;

/** `a` (unsigned, `bits` wide) shifted by `c` (1-31); sets outMask/outFlags. */
function shiftValue(cpu: Cpu, op: number, a: number, c: number, bits: number): number {
  const size = bits >> 3;
  const m = maskOf(size);
  const top = bits - 1;
  let r: number;
  let cf: number;
  switch (op) {
    case Sh.ROL: {
      const t = c & top;
      r = t === 0 ? a : ((a << t) | (a >>> (bits - t))) & m;
      cf = r & 1;
      outMask = CF | OF;
      outFlags = cf | ((((r >>> top) & 1) ^ cf) ? OF : 0);
      return r;
    }
    case Sh.ROR: {
      const t = c & top;
      r = t === 0 ? a : ((a >>> t) | (a << (bits - t))) & m;
      cf = (r >>> top) & 1;
      outMask = CF | OF;
      outFlags = cf | ((cf ^ ((r >>> (top - 1)) & 1)) ? OF : 0);
      return r;
    }
    case Sh.RCL: {
      const t = bits === 32 ? c : c % (bits + 1);
      const cin = getCF(cpu);
      if (t === 0) {
        r = a;
        cf = cin;
      } else if (bits === 32) {
        r = (a << t) | (cin << (t - 1)) | (t > 1 ? a >>> (33 - t) : 0);
        cf = (a >>> (32 - t)) & 1;
      } else {
        const v = (cin << bits) | a; // bits+1 wide
        const w = ((v << t) | (v >>> (bits + 1 - t))) & ((m << 1) | 1);
        r = w & m;
        cf = w >>> bits;
      }
      outMask = CF | OF;
      outFlags = cf | ((((r >>> top) & 1) ^ cf) ? OF : 0);
      return r & m;
    }
    case Sh.RCR: {
      const t = bits === 32 ? c : c % (bits + 1);
      const cin = getCF(cpu);
      if (t === 0) {
        r = a;
        cf = cin;
      } else if (bits === 32) {
        r = (a >>> t) | (cin << (32 - t)) | (t > 1 ? a << (33 - t) : 0);
        cf = (a >>> (t - 1)) & 1;
      } else {
        const v = (cin << bits) | a;
        const w = ((v >>> t) | (v << (bits + 1 - t))) & ((m << 1) | 1);
        r = w & m;
        cf = w >>> bits;
      }
      outMask = CF | OF;
      outFlags = cf | ((((r >>> top) ^ (r >>> (top - 1))) & 1) ? OF : 0);
      return r & m;
    }
    case Sh.SHL:
      r = (a << c) & m;
      cf = c <= bits ? (a >>> (bits - c)) & 1 : 0;
      outMask = ARITH_FLAGS;
      outFlags = cf | szp(r, size) | ((((r >>> top) & 1) ^ cf) ? OF : 0);
      return r;
    case Sh.SHR:
      r = a >>> c;
      cf = (a >>> (c - 1)) & 1;
      outMask = ARITH_FLAGS;
      outFlags = cf | szp(r, size) | ((((r >>> top) ^ (r >>> (top - 1))) & 1) ? OF : 0);
      return r;
    default: { // SAR
      const s = (a << (32 - bits)) >> (32 - bits);
      r = (s >> c) & m;
      cf = (s >> (c - 1)) & 1;
      outMask = ARITH_FLAGS;
      outFlags = cf | szp(r, size);
      return r;
    }
  }
}

/** Group 2: `op` Eb/Ev by imm8, 1 or CL. */
function shift(cpu: Cpu, i: Insn, op: number): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  const c = countOf(cpu, i, (f >> 4) & 15);
  if (i.mod === 3) {
    if (c === 0) return;
    const a = getR(cpu, i.rm, size) & maskOf(size);
    const r = shiftValue(cpu, op, a, c, size << 3);
    setR(cpu, i.rm, size, r);
    setFlags(cpu, outMask, outFlags);
    return;
  }
  const lin = memLinear(cpu, i, size, true);
  const a = readLin(cpu.mem, lin, size);
  if (c === 0) return;
  const r = shiftValue(cpu, op, a, c, size << 3);
  writeLin(cpu.mem, lin, size, r);
  setFlags(cpu, outMask, outFlags);
}

/** SHLD (left = true) / SHRD Ev,Gv by imm8 or CL. */
function doubleShift(cpu: Cpu, i: Insn, left: boolean): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  const c = countOf(cpu, i, (f >> 8) & 15);
  const mem = i.mod !== 3;
  const lin = mem ? memLinear(cpu, i, size, true) : 0;
  const a = mem ? readLin(cpu.mem, lin, size) : getR(cpu, i.rm, size) & maskOf(size);
  if (c === 0) return;
  const b = getR(cpu, i.reg, size);
  let r: number;
  let cf: number;
  let of: number;
  if (size === 4) {
    if (left) {
      r = (a << c) | (b >>> (32 - c));
      cf = (a >>> (32 - c)) & 1;
      of = ((r >>> 31) & 1) ^ cf;
    } else {
      r = (a >>> c) | (b << (32 - c));
      cf = (a >>> (c - 1)) & 1;
      of = ((r >>> 31) ^ (r >>> 30)) & 1;
    }
  } else if (left) {
    // dest:src:dest, shifted left; the result is the top 16 bits.
    if (c <= 16) {
      r = ((a << c) | (b >>> (16 - c))) & 0xffff;
      cf = (a >>> (16 - c)) & 1;
    } else {
      r = ((b << (c - 16)) | (a >>> (32 - c))) & 0xffff;
      cf = (b >>> (32 - c)) & 1;
    }
    of = ((r >>> 15) & 1) ^ cf;
  } else {
    // dest:src:dest read from the low end (dest, then src, then dest), shifted right.
    if (c <= 16) {
      r = ((a >>> c) | (b << (16 - c))) & 0xffff;
      cf = (a >>> (c - 1)) & 1;
    } else {
      r = ((b >>> (c - 16)) | (a << (32 - c))) & 0xffff;
      cf = (b >>> (c - 17)) & 1;
    }
    of = ((r >>> 15) ^ (r >>> 14)) & 1;
  }
  if (mem) writeLin(cpu.mem, lin, size, r);
  else setR(cpu, i.rm, size, r);
  setFlags(cpu, ARITH_FLAGS, cf | szp(r, size) | (of ? OF : 0));
}

export const shiftSemantics: Record<string, SemFn> = {
  rol: (cpu, i) => shift(cpu, i, Sh.ROL),
  ror: (cpu, i) => shift(cpu, i, Sh.ROR),
  rcl: (cpu, i) => shift(cpu, i, Sh.RCL),
  rcr: (cpu, i) => shift(cpu, i, Sh.RCR),
  shl: (cpu, i) => shift(cpu, i, Sh.SHL),
  shr: (cpu, i) => shift(cpu, i, Sh.SHR),
  sar: (cpu, i) => shift(cpu, i, Sh.SAR),
  shld: (cpu, i) => doubleShift(cpu, i, true),
  shrd: (cpu, i) => doubleShift(cpu, i, false),
};
