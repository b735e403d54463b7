/**
 * Semantics: the stack instructions (PUSH POP PUSHA POPA PUSHF POPF, PUSH/POP Sreg),
 * and the stack-pointer arithmetic that control.ts shares.
 *
 * The stack pointer is SP or ESP by SS.B (the stack-address size); how far it
 * moves is the operand size. A 16-bit stack wraps at 64 KiB, so each slot of a
 * multi-word sequence is addressed as (SP + delta) mod 2^16, exactly as the
 * hardware's separate pushes and pops do. Multi-word sequences write or read
 * every slot before they move the stack pointer (precise state); a memory write
 * that preceded a fault stays, as on the hardware.
 *
 * SDM vol. 2 notes followed here:
 * - PUSH SP/ESP pushes the value before the decrement; PUSH of a memory operand
 *   that uses ESP computes its address before the decrement.
 * - POP to a memory operand that uses ESP computes the address after the
 *   increment; POP SP/ESP loads the popped value (the increment is lost).
 * - PUSH Sreg with a 32-bit operand size moves SP by 4 but writes only the 16-bit
 *   selector, leaving the upper half of the slot unmodified (the choice the SDM
 *   records for the processors that do not zero-extend; Bochs does the same).
 * - POP SS (and MOV SS) hold off interrupts and traps for one instruction.
 * - PUSHF/POPF: see `pushf` and `popf` below.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { getFlags, loadFlags } from '../flags.js';
import { FLAG } from '../rows.js';
import { REG, SREG } from '../state.js';
import { checkV86Iopl, iopl } from './priv.js';

const SP16 = REG.ESP << 1;

/** The stack offset SP + delta in the stack-address size (wrapping at 16 bits when SS.B = 0). */
export function spOffset(cpu: Cpu, delta: number): number {
  return cpu.stack32 ? (cpu.r32[REG.ESP]! + delta) >>> 0 : (cpu.r16[SP16]! + delta) & 0xffff;
}

/** Set the stack pointer (ESP, or only SP when SS.B = 0) to a value from spOffset. */
export function setSp(cpu: Cpu, off: number): void {
  if (cpu.stack32) cpu.r32[REG.ESP] = off;
  else cpu.r16[SP16] = off;
}

/** PUSH r/m, r, imm: the source is read (and its address formed) before ESP moves. */
function push(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const op = i.opcode;
  let v: number;
  if (op === 0xff) v = cpu.readE(i, size);
  else if (op === 0x68 || op === 0x6a) v = i.imm; // 6A: sign-extended by the decoder; the write truncates
  else v = size === 2 ? cpu.r16[i.rm << 1]! : cpu.r32[i.rm]!; // 50+r; PUSH SP: the old value
  const off = spOffset(cpu, -size);
  cpu.writeSized(SREG.SS, off, size, v);
  setSp(cpu, off);
}

/** POP r/m, r. */
function pop(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const v = cpu.readSized(SREG.SS, spOffset(cpu, 0), size);
  const newSp = spOffset(cpu, size);
  if (i.opcode !== 0x8f || i.mod === 3) {
    // 58+r and 8F with a register: written after the increment, so POP SP gets the popped value.
    setSp(cpu, newSp);
    cpu.setReg(i.rm, size, v);
    return;
  }
  // Memory: the address is formed with ESP after the increment, but ESP moves only
  // once the write has succeeded.
  const esp = cpu.r32[REG.ESP]!;
  setSp(cpu, newSp);
  const ea = cpu.ea(i);
  cpu.r32[REG.ESP] = esp;
  cpu.writeSized(cpu.seg(i), ea, size, v);
  setSp(cpu, newSp);
}

/** PUSHA/PUSHAD: AX CX DX BX (original) SP BP SI DI, each slot written before SP moves. */
function pusha(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  for (let r = 0; r < 8; r++) {
    const v = size === 2 ? cpu.r16[r << 1]! : cpu.r32[r]!;
    cpu.writeSized(SREG.SS, spOffset(cpu, -size * (r + 1)), size, v);
  }
  setSp(cpu, spOffset(cpu, -8 * size));
}

/** POPA/POPAD: DI SI BP (SP skipped) BX DX CX AX; every slot is read before any register changes. */
const popaBuf = new Int32Array(8);
function popa(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  for (let k = 0; k < 8; k++) {
    if (k === 3) continue; // the SP slot is skipped, not read
    popaBuf[k] = cpu.readSized(SREG.SS, spOffset(cpu, k * size), size);
  }
  const newSp = spOffset(cpu, 8 * size);
  for (let k = 0; k < 8; k++) {
    if (k === 3) continue;
    cpu.setReg(7 - k, size, popaBuf[k]!);
  }
  setSp(cpu, newSp);
}

/**
 * PUSHF/PUSHFD. The 32-bit image has VM and RF cleared (SDM: they are not
 * copied). In v8086 mode it needs IOPL = 3.
 */
function pushf(cpu: Cpu, i: Insn): void {
  checkV86Iopl(cpu);
  const size = i.opsize >> 3;
  const v = size === 2 ? getFlags(cpu) & 0xffff : getFlags(cpu) & ~(FLAG.VM | FLAG.RF);
  const off = spOffset(cpu, -size);
  cpu.writeSized(SREG.SS, off, size, v);
  setSp(cpu, off);
}

/** EFLAGS bits POPF/POPFD may write at CPL 0 (bits 1, 3, 5, 15 and 22-31 are fixed). */
const POPF_BITS = 0x7fd5 | FLAG.AC | FLAG.ID;

/**
 * POPF/POPFD (SDM vol. 2, POPF, Operation). Real mode runs at CPL 0, where every
 * non-reserved flag can change, IOPL and NT included. VM, VIF and VIP are never
 * written; POPFD clears RF (in v8086 mode leaves it; the hardware clears RF after
 * every instruction anyway, so the popped value's RF never matters). The 16-bit form writes bits
 * 0-15 only. In protected mode IOPL changes only at CPL 0 and IF only at
 * CPL <= IOPL (no fault); in v8086 mode POPF needs IOPL = 3 and leaves IOPL alone.
 */
function popf(cpu: Cpu, i: Insn): void {
  checkV86Iopl(cpu);
  const size = i.opsize >> 3;
  const v = cpu.readSized(SREG.SS, spOffset(cpu, 0), size);
  let mask = size === 2 ? 0x7fd5 : POPF_BITS;
  if (cpu.cr0 & 1) {
    if (cpu.flagsBits & FLAG.VM || cpu.cpl > 0) mask &= ~FLAG.IOPL;
    if (!(cpu.flagsBits & FLAG.VM) && cpu.cpl > iopl(cpu)) mask &= ~FLAG.IF;
  }
  let old = getFlags(cpu);
  if (size === 4 && !(cpu.flagsBits & FLAG.VM)) old &= ~FLAG.RF;
  loadFlags(cpu, (old & ~mask) | (v & mask));
  setSp(cpu, spOffset(cpu, size));
}

/** PUSH ES/CS/SS/DS/FS/GS. */
function push_seg(cpu: Cpu, i: Insn): void {
  const v = cpu.segSel[i.row.operands[0]!.reg]!;
  const size = i.opsize >> 3;
  const off = spOffset(cpu, -size);
  if (size === 4) cpu.linear(SREG.SS, off, 4, true); // the whole slot is checked...
  cpu.write16(SREG.SS, off, v); // ...but only the selector is written
  setSp(cpu, off);
}

/** POP ES/SS/DS/FS/GS. The segment load may fault (protected mode) before SP moves. */
function pop_seg(cpu: Cpu, i: Insn): void {
  const seg = i.row.operands[0]!.reg;
  const size = i.opsize >> 3;
  const v = cpu.readSized(SREG.SS, spOffset(cpu, 0), size) & 0xffff;
  // The increment uses the stack size in effect before the load (POP SS may change SS.B).
  const stack32 = cpu.stack32;
  const newSp = spOffset(cpu, size);
  cpu.loadSegment(seg, v);
  if (stack32) cpu.r32[REG.ESP] = newSp;
  else cpu.r16[SP16] = newSp;
  if (seg === SREG.SS) cpu.interruptShadow = true;
}

export const stackSemantics: Record<string, SemFn> = {
  push, pop, pusha, popa, pushf, popf, push_seg, pop_seg,
};
