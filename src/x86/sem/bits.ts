/**
 * Semantics: bit instructions — BT BTS BTR BTC, BSF BSR, BSWAP.
 *
 * BT* address a bit string. With a register destination, or an immediate bit
 * offset, the offset is taken modulo the operand width. With a memory
 * destination and a register offset, the offset is signed and unbounded: its
 * high bits select the word/dword relative to the effective address (EA +
 * 2 * (offset >> 4), or EA + 4 * (offset >> 5)), wrapping within the address
 * size, and its low bits the bit within it (SDM vol. 2, BT, "bit base").
 * BT* define CF only; OF, SF, AF and PF are undefined and ZF unaffected: we leave
 * them all unchanged.
 *
 * BSF/BSR with a zero source set ZF and leave the destination unchanged (what P6
 * does; the SDM calls the destination undefined). The other flags are undefined:
 * unchanged here.
 *
 * BSWAP with a 16-bit operand is undefined; P6 and later clear the register's
 * low word, and so do we.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { CF, ZF, setFlags } from '../flags.js';
import { Loc, FORM, getR, readLin, readSrc, setR, size0, writeLin } from './operand.js';

const enum Bit { BT = 0, BTS = 1, BTR = 2, BTC = 3 }

function bitOp(cpu: Cpu, i: Insn, op: number): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  const bits = size << 3;
  const immediate = ((f >> 4) & 15) === Loc.IMM;
  const offset = immediate ? i.imm : getR(cpu, i.reg, size);
  if (i.mod === 3) {
    const bit = offset & (bits - 1);
    const v = getR(cpu, i.rm, size);
    const cf = (v >>> bit) & 1;
    if (op !== Bit.BT) setR(cpu, i.rm, size, modify(op, v, bit));
    setFlags(cpu, CF, cf);
    return;
  }
  let ea = cpu.ea(i);
  let bit: number;
  if (immediate) {
    bit = offset & (bits - 1);
  } else if (size === 2) {
    const o = (offset << 16) >> 16;
    ea += (o >> 4) * 2;
    bit = o & 15;
  } else {
    const o = offset | 0;
    ea += (o >> 5) * 4;
    bit = o & 31;
  }
  ea = i.adsize === 16 ? ea & 0xffff : ea >>> 0;
  const lin = cpu.linear(cpu.seg(i), ea, size, op !== Bit.BT);
  if (op !== Bit.BT) cpu.mem.probeWrite(lin, size); // read-modify-write: the read faults as a write
  const v = readLin(cpu.mem, lin, size);
  const cf = (v >>> bit) & 1;
  if (op !== Bit.BT) writeLin(cpu.mem, lin, size, modify(op, v, bit));
  setFlags(cpu, CF, cf);
}

function modify(op: number, v: number, bit: number): number {
  const m = 1 << bit;
  return op === Bit.BTS ? v | m : op === Bit.BTR ? v & ~m : v ^ m;
}

function bsf(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const v = readSrc(cpu, i, Loc.RM, size);
  if (v === 0) {
    setFlags(cpu, ZF, ZF);
    return;
  }
  setR(cpu, i.reg, size, 31 - Math.clz32(v & -v));
  setFlags(cpu, ZF, 0);
}

function bsr(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const v = readSrc(cpu, i, Loc.RM, size);
  if (v === 0) {
    setFlags(cpu, ZF, ZF);
    return;
  }
  setR(cpu, i.reg, size, 31 - Math.clz32(v));
  setFlags(cpu, ZF, 0);
}

function bswap(cpu: Cpu, i: Insn): void {
  const r = i.rm;
  if (i.opsize === 16) {
    cpu.r16[r << 1] = 0;
    return;
  }
  const v = cpu.r32[r]!;
  cpu.r32[r] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export const bitsSemantics: Record<string, SemFn> = {
  bt: (cpu, i) => bitOp(cpu, i, Bit.BT),
  bts: (cpu, i) => bitOp(cpu, i, Bit.BTS),
  btr: (cpu, i) => bitOp(cpu, i, Bit.BTR),
  btc: (cpu, i) => bitOp(cpu, i, Bit.BTC),
  bsf, bsr, bswap,
};
