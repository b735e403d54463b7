/**
 * Operand access for the integer semantics (alu, shift, muldiv, bits, data).
 *
 * The generic cpu.readOp/writeOp resolve an operand from its table descriptor
 * (kind and size strings) on every call. The common integer instructions are
 * worth more than that, so this module resolves each row's operands once, at
 * load time, into one small integer per row (`FORM`): where each operand lives
 * and its width in bytes when the row fixes it. A semantics function does one
 * lookup and then switches on small integers.
 *
 * Value convention: 8- and 16-bit values are unsigned; 32-bit values are int32
 * (what `r32` and `x & -1` give) or, straight from memory, uint32. Every result is
 * masked with `maskOf(size)` before it is stored, so either representation of a
 * 32-bit input works.
 */
import type { Cpu, LinearMemory } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { ROWS } from '../rows.js';

/**
 * Operand locations. A `const enum`: tsc writes the numbers into the code that
 * uses them, where an imported `const` would be a module-cell load (and a hole
 * check) at every use in the hot paths.
 */
export const enum Loc {
  NONE = 0,
  /** ModRM r/m: register i.rm when mod = 3, else memory. */
  RM = 1,
  /** ModRM reg: register i.reg. */
  REG = 2,
  /** Register from the opcode's low bits (`Z`): i.rm, never memory. */
  Z = 3,
  /** AL / AX / eAX. */
  ACC = 4,
  /** CL (shift counts). */
  CL = 5,
  /** Immediate (i.imm; `Ibs` is already sign-extended by the decoder). */
  IMM = 6,
  /** The constant 1 (shift by one). */
  ONE = 7,
  /** moffs: memory at offset i.disp (`O`). */
  MOFFS = 8,
}

/** The locations as plain values, for translation-time users (jit/forms.ts). */
export const L_NONE = Loc.NONE, L_RM = Loc.RM, L_REG = Loc.REG, L_Z = Loc.Z, L_ACC = Loc.ACC, L_CL = Loc.CL,
  L_IMM = Loc.IMM, L_ONE = Loc.ONE, L_MOFFS = Loc.MOFFS;

/** Mask of a size in bytes (1, 2, 4); -1 for 4, so that `x & mask` gives an int32. */
export function maskOf(size: number): number {
  return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
}

/**
 * Per row id, the operand form packed in one small integer: the locations of
 * operands 0-2 in bits 0-3, 4-7 and 8-11, and the fixed widths of operands 0
 * and 1 in bits 12-14 and 15-17 (0: the operand size decides). One lookup per
 * instruction: a plain array of small integers (a table lookup costs about as
 * much as all the decoding that follows it).
 */
export const FORM: number[] = [];

function locOf(kind: string, reg: number): number {
  switch (kind) {
    case 'E': case 'M': case 'R': return Loc.RM;
    case 'G': return Loc.REG;
    case 'Z': return Loc.Z;
    case 'reg': return reg === 0 ? Loc.ACC : reg === 1 ? Loc.CL : Loc.NONE;
    case 'I': return Loc.IMM;
    case 'one': return Loc.ONE;
    case 'O': return Loc.MOFFS;
    default: return Loc.NONE;
  }
}

function widthOf(size: string): number {
  switch (size) {
    case 'b': return 1;
    case 'w': return 2;
    case 'd': return 4;
    default: return 0; // v, z, bs (sign-extended to the operand size), M without a size
  }
}

for (const row of ROWS) {
  const ops = row.operands;
  let f = 0;
  for (let k = 0; k < 3 && k < ops.length; k++) f |= locOf(ops[k]!.kind, ops[k]!.reg) << (4 * k);
  if (ops[0]) f |= widthOf(ops[0].size) << 12;
  if (ops[1]) f |= widthOf(ops[1].size) << 15;
  FORM[row.id] = f;
}

/** Width in bytes of operand 0 / 1 of the instruction, from its packed form. */
export function size0(f: number, i: Insn): number {
  const w = (f >> 12) & 7;
  return w !== 0 ? w : i.opsize >> 3;
}
export function size1(f: number, i: Insn): number {
  const w = (f >> 15) & 7;
  return w !== 0 ? w : i.opsize >> 3;
}

/**
 * The same facts one per table, for translation-time users (jit/forms.ts): the
 * location of operand k (`LOC*`), the fixed widths (`WIDTH*`, 0: operand size).
 */
const n = ROWS.length;
export const LOC0 = new Uint8Array(n);
export const LOC1 = new Uint8Array(n);
export const LOC2 = new Uint8Array(n);
export const WIDTH0 = new Uint8Array(n);
export const WIDTH1 = new Uint8Array(n);
for (let id = 0; id < n; id++) {
  const f = FORM[id]!;
  LOC0[id] = f & 15;
  LOC1[id] = (f >> 4) & 15;
  LOC2[id] = (f >> 8) & 15;
  WIDTH0[id] = (f >> 12) & 7;
  WIDTH1[id] = (f >> 15) & 7;
}

/** Mask of each size in bytes, indexed by size (1, 2, 4). */
export const MASK: readonly number[] = [0, 0xff, 0xffff, 0, 0xffffffff];

/** Width in bytes of operand 0 / 1 of the instruction. */
export function width0(i: Insn): number {
  return size0(FORM[i.row.id]!, i);
}
export function width1(i: Insn): number {
  return size1(FORM[i.row.id]!, i);
}

/** General register `r` of `size` bytes (byte registers: AL CL DL BL AH CH DH BH). */
export function getR(cpu: Cpu, r: number, size: number): number {
  if (size === 4) return cpu.r32[r]!;
  if (size === 2) return cpu.r16[r << 1]!;
  return cpu.r8[r < 4 ? r << 2 : ((r - 4) << 2) + 1]!;
}

export function setR(cpu: Cpu, r: number, size: number, v: number): void {
  if (size === 4) cpu.r32[r] = v;
  else if (size === 2) cpu.r16[r << 1] = v;
  else cpu.r8[r < 4 ? r << 2 : ((r - 4) << 2) + 1] = v;
}

/** Read `size` bytes at linear address `lin` (already checked against the segment). */
export function readLin(mem: LinearMemory, lin: number, size: number): number {
  if (size === 4) return mem.read32(lin);
  if (size === 2) return mem.read16(lin);
  return mem.read8(lin);
}

export function writeLin(mem: LinearMemory, lin: number, size: number, v: number): void {
  if (size === 4) mem.write32(lin, v);
  else if (size === 2) mem.write16(lin, v);
  else mem.write8(lin, v);
}

/**
 * Linear address of the instruction's ModRM memory operand, checked for an
 * access of `size` bytes. `write` is for a read-modify-write: the segment is
 * checked as written, and so are the pages (the hardware's read of an RMW
 * operand faults as a write: #PF error code W = 1, even on a not-present page).
 */
export function memLinear(cpu: Cpu, i: Insn, size: number, write: boolean): number {
  const lin = cpu.linear(cpu.seg(i), cpu.ea(i), size, write);
  if (write) cpu.mem.probeWrite(lin, size);
  return lin;
}

/** The register number of a register operand at `loc` (not Loc.RM with memory). */
export function regOf(i: Insn, loc: number): number {
  return loc === Loc.REG ? i.reg : loc === Loc.ACC ? 0 : loc === Loc.CL ? 1 : i.rm;
}

/** Read a source operand of `size` bytes, whatever its location. */
export function readSrc(cpu: Cpu, i: Insn, loc: number, size: number): number {
  switch (loc) {
    case Loc.IMM: return i.imm & maskOf(size);
    case Loc.ONE: return 1;
    case Loc.RM:
      if (i.mod !== 3) return readLin(cpu.mem, memLinear(cpu, i, size, false), size);
      return getR(cpu, i.rm, size);
    case Loc.MOFFS:
      return readLin(cpu.mem, cpu.linear(cpu.seg(i), i.disp, size, false), size);
    default:
      return getR(cpu, regOf(i, loc), size);
  }
}

/** Write a destination operand of `size` bytes. */
export function writeDst(cpu: Cpu, i: Insn, loc: number, size: number, v: number): void {
  if (loc === Loc.RM) {
    if (i.mod !== 3) writeLin(cpu.mem, cpu.linear(cpu.seg(i), cpu.ea(i), size, true), size, v);
    else setR(cpu, i.rm, size, v);
  } else if (loc === Loc.MOFFS) {
    writeLin(cpu.mem, cpu.linear(cpu.seg(i), i.disp, size, true), size, v);
  } else {
    setR(cpu, regOf(i, loc), size, v);
  }
}
