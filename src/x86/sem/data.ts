/**
 * Semantics: data movement — MOV MOVZX MOVSX XCHG XADD CMPXCHG CMPXCHG8B LEA
 * CBW/CWDE CWD/CDQ SETcc CMOVcc LAHF SAHF XLAT NOP.
 *
 * MOV's forms (Eb,Gb Gv,Ev AL,Ob Ov,eAX Zv,Iv Ev,Iz ...) share one function that
 * reads the row's precomputed operand locations (operand.ts).
 *
 * CMOVcc always reads its source, so a false condition can still fault on the
 * memory operand; without 64-bit mode a false condition leaves the destination
 * as it is (only 64-bit mode zero-extends a 32-bit destination regardless).
 * CMPXCHG always writes its destination: the source when equal, the old value
 * when not (SDM vol. 2, CMPXCHG: "the destination operand is written back if the
 * comparison fails"), so a read-only destination faults either way. CMPXCHG8B
 * likewise. In all the exchanges the memory write comes before any register
 * write, so a faulting write leaves the registers as they were.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { AF, CF, OP, PF, SF, ZF, getFlags, setFlags, setLazy, testCC } from '../flags.js';
import { REG } from '../state.js';
import { Loc, FORM, getR, maskOf, memLinear, readLin, readSrc, setR, size0, size1, writeDst, writeLin } from './operand.js';

function mov(cpu: Cpu, i: Insn): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  writeDst(cpu, i, f & 15, size, readSrc(cpu, i, (f >> 4) & 15, size));
}

function movzx(cpu: Cpu, i: Insn): void {
  setR(cpu, i.reg, i.opsize >> 3, readSrc(cpu, i, Loc.RM, size1(FORM[i.row.id]!, i)));
}

function movsx(cpu: Cpu, i: Insn): void {
  const from = size1(FORM[i.row.id]!, i);
  const v = readSrc(cpu, i, Loc.RM, from);
  setR(cpu, i.reg, i.opsize >> 3, from === 1 ? (v << 24) >> 24 : (v << 16) >> 16);
}

/** XCHG Eb,Gb / Ev,Gv / Zv,eAX. */
function xchg(cpu: Cpu, i: Insn): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  if ((f & 15) !== Loc.RM) {
    // xchg Zv,eAX
    const a = getR(cpu, i.rm, size);
    setR(cpu, i.rm, size, getR(cpu, 0, size));
    setR(cpu, 0, size, a);
    return;
  }
  const b = getR(cpu, i.reg, size);
  if (i.mod === 3) {
    setR(cpu, i.reg, size, getR(cpu, i.rm, size));
    setR(cpu, i.rm, size, b);
    return;
  }
  const lin = memLinear(cpu, i, size, true);
  const a = readLin(cpu.mem, lin, size);
  writeLin(cpu.mem, lin, size, b);
  setR(cpu, i.reg, size, a);
}

/** XADD Eb,Gb / Ev,Gv: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
function xadd(cpu: Cpu, i: Insn): void {
  const size = size0(FORM[i.row.id]!, i);
  const b = getR(cpu, i.reg, size);
  let a: number;
  let r: number;
  if (i.mod === 3) {
    a = getR(cpu, i.rm, size);
    r = (a + b) & maskOf(size);
    setR(cpu, i.reg, size, a);
    setR(cpu, i.rm, size, r);
  } else {
    const lin = memLinear(cpu, i, size, true);
    a = readLin(cpu.mem, lin, size);
    r = (a + b) & maskOf(size);
    writeLin(cpu.mem, lin, size, r);
    setR(cpu, i.reg, size, a);
  }
  setLazy(cpu, OP.ADD, a, b, r, size);
}

/** CMPXCHG Eb,Gb / Ev,Gv: compare the accumulator with the destination. */
function cmpxchg(cpu: Cpu, i: Insn): void {
  const size = size0(FORM[i.row.id]!, i);
  const m = maskOf(size);
  const acc = getR(cpu, 0, size);
  const src = getR(cpu, i.reg, size);
  let dest: number;
  if (i.mod === 3) {
    dest = getR(cpu, i.rm, size);
    if (((acc ^ dest) & m) === 0) setR(cpu, i.rm, size, src);
    else setR(cpu, 0, size, dest);
  } else {
    const lin = memLinear(cpu, i, size, true);
    dest = readLin(cpu.mem, lin, size);
    const equal = ((acc ^ dest) & m) === 0;
    writeLin(cpu.mem, lin, size, equal ? src : dest);
    if (!equal) setR(cpu, 0, size, dest);
  }
  setLazy(cpu, OP.SUB, acc, dest, (acc - dest) & m, size);
}

/** CMPXCHG8B Mq: compare EDX:EAX with m64; equal: m64 = ECX:EBX, else EDX:EAX = m64. */
function cmpxchg8b(cpu: Cpu, i: Insn): void {
  const lin = memLinear(cpu, i, 8, true);
  const mem = cpu.mem;
  const lo = mem.read32(lin) | 0;
  const hi = mem.read32((lin + 4) | 0) | 0;
  const r = cpu.r32;
  if (lo === r[REG.EAX] && hi === r[REG.EDX]) {
    mem.write32(lin, r[REG.EBX]!);
    mem.write32((lin + 4) | 0, r[REG.ECX]!);
    setFlags(cpu, ZF, ZF);
  } else {
    mem.write32(lin, lo);
    mem.write32((lin + 4) | 0, hi);
    r[REG.EAX] = lo;
    r[REG.EDX] = hi;
    setFlags(cpu, ZF, 0);
  }
}

/** LEA Gv,M: the effective address (in the address size), truncated to the operand size. */
function lea(cpu: Cpu, i: Insn): void {
  setR(cpu, i.reg, i.opsize >> 3, cpu.ea(i));
}

/** CBW / CWDE. */
function cbw(cpu: Cpu, i: Insn): void {
  if (i.opsize === 16) cpu.r16[0] = (cpu.r8[0]! << 24) >> 24;
  else cpu.r32[REG.EAX] = (cpu.r16[0]! << 16) >> 16;
}

/** CWD / CDQ. */
function cwd(cpu: Cpu, i: Insn): void {
  if (i.opsize === 16) cpu.r16[REG.EDX << 1] = (cpu.r16[0]! << 16) >> 31;
  else cpu.r32[REG.EDX] = cpu.r32[REG.EAX]! >> 31;
}

/** SETcc Eb (0F 90-9F). */
function setcc(cpu: Cpu, i: Insn): void {
  const v = testCC(cpu, i.opcode & 15) ? 1 : 0;
  if (i.mod === 3) setR(cpu, i.rm, 1, v);
  else writeLin(cpu.mem, memLinear(cpu, i, 1, true), 1, v);
}

/** CMOVcc Gv,Ev (0F 40-4F): the source is read (and may fault) whatever the condition. */
function cmovcc(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const v = readSrc(cpu, i, Loc.RM, size);
  if (testCC(cpu, i.opcode & 15)) setR(cpu, i.reg, size, v);
}

/** LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. */
function lahf(cpu: Cpu): void {
  cpu.r8[1] = (getFlags(cpu) & (SF | ZF | AF | PF | CF)) | 2;
}

/** SAHF: SF ZF AF PF CF from AH. */
function sahf(cpu: Cpu): void {
  setFlags(cpu, SF | ZF | AF | PF | CF, cpu.r8[1]!);
}

/** XLAT: AL = [seg:(E)BX + AL]. */
function xlat(cpu: Cpu, i: Insn): void {
  const off = i.adsize === 16 ? (cpu.r16[REG.EBX << 1]! + cpu.r8[0]!) & 0xffff : (cpu.r32[REG.EBX]! + cpu.r8[0]!) >>> 0;
  cpu.r8[0] = cpu.read8(cpu.seg(i), off);
}

function nop(): void {}

export const dataSemantics: Record<string, SemFn> = {
  mov, movzx, movsx, xchg, xadd, cmpxchg, cmpxchg8b, lea, cbw, cwd, setcc, cmovcc, lahf, sahf, xlat, nop,
};
