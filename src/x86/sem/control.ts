/**
 * Semantics: control transfers. Jcc JMP CALL RET LOOPcc JCXZ, the far forms
 * (CALL/JMP ptr and m16:16/32, RETF), INT n / INT3 / INT1 / INTO, IRET, ENTER,
 * LEAVE and BOUND.
 *
 * Near transfers: the target is masked to the operand size (a 16-bit JMP in
 * 32-bit code clears EIP's upper half) and checked against the CS limit before
 * anything changes: #GP(0) with EIP at the instruction (SDM vol. 2, JMP/Jcc/CALL/
 * RET "IF tempEIP is not within code segment limit THEN #GP(0)"). LOOP and JCXZ
 * count with CX or ECX by the ADDRESS size; LOOP's decrement is written only
 * once the branch has been checked.
 *
 * Far transfers in real mode (and v8086 mode, whose rules are the same) load CS
 * the real-mode way (base = selector * 16, limit kept) and check the new EIP
 * against the CS limit. In protected mode the whole transfer belongs to
 * cpu.sys (farTransfer, farReturn, iret), which implements gates, tasks and
 * privilege changes; without it the instruction raises #GP(0). The order is
 * always: read every operand and stack slot, check, push, and only then load CS
 * (the executor restores ESP and EIP at a fault, not segment registers).
 *
 * Software interrupts are delivered through cpu.interrupt with the return
 * address cpu.nextEip: INT n and INTO as 'software' (IDT gate DPL checked in
 * protected mode; INT n is IOPL-sensitive in v8086 mode), INT3 as 'software',
 * and INT1 (ICEBP, F1) as a debug trap that skips the gate DPL check, which
 * delivery kind 'external' gives.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { getFlags, getOF, getZF, loadFlags, testCC } from '../flags.js';
import { FLAG } from '../rows.js';
import { EXC, REG, SREG } from '../state.js';
import { checkV86Iopl, protectedNotV86 } from './priv.js';
import { setSp, spOffset } from './stack.js';

const SP16 = REG.ESP << 1;
const BP16 = REG.EBP << 1;

/** Near transfer to `target` (already masked to the operand size). */
function jumpNear(cpu: Cpu, target: number): void {
  if (target > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  cpu.nextEip = target;
}

/** Target of a relative branch (Jb/Jz, sign-extended by the decoder), masked to the operand size. */
function relTarget(cpu: Cpu, i: Insn): number {
  const t = cpu.nextEip + i.imm;
  return i.opsize === 16 ? t & 0xffff : t >>> 0;
}

function jcc(cpu: Cpu, i: Insn): void {
  if (testCC(cpu, i.opcode & 15)) jumpNear(cpu, relTarget(cpu, i));
}

/** JMP rel8/rel16/rel32 (EB, E9) and JMP r/m (FF /4). */
function jmp(cpu: Cpu, i: Insn): void {
  jumpNear(cpu, i.opcode === 0xff ? cpu.readE(i, i.opsize >> 3) : relTarget(cpu, i));
}

/** CALL rel (E8) and CALL r/m (FF /2): the target is read and checked before the push. */
function call(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const target = i.opcode === 0xff ? cpu.readE(i, size) : relTarget(cpu, i);
  if (target > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  const off = spOffset(cpu, -size);
  cpu.writeSized(SREG.SS, off, size, cpu.nextEip);
  setSp(cpu, off);
  cpu.nextEip = target;
}

/** RET and RET imm16 (C3, C2): SP moves by the operand size plus the immediate, in the stack size. */
function ret(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const target = cpu.readSized(SREG.SS, spOffset(cpu, 0), size);
  if (target > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  setSp(cpu, spOffset(cpu, i.opcode === 0xc2 ? size + i.imm : size));
  cpu.nextEip = target;
}

/** LOOP (E2), LOOPE (E1), LOOPNE (E0): (E)CX by address size, decremented without touching flags. */
function loop(cpu: Cpu, i: Insn): void {
  const a16 = i.adsize === 16;
  const count = a16 ? (cpu.r16[2]! - 1) & 0xffff : (cpu.r32[REG.ECX]! - 1) | 0;
  let taken = count !== 0;
  if (taken && i.opcode !== 0xe2) taken = getZF(cpu) === (i.opcode === 0xe1);
  let target = 0;
  if (taken) {
    target = relTarget(cpu, i);
    if (target > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  }
  if (a16) cpu.r16[2] = count;
  else cpu.r32[REG.ECX] = count;
  if (taken) cpu.nextEip = target;
}

/** JCXZ/JECXZ: CX or ECX by address size. */
function jcxz(cpu: Cpu, i: Insn): void {
  if ((i.adsize === 16 ? cpu.r16[2]! : cpu.r32[REG.ECX]!) === 0) jumpNear(cpu, relTarget(cpu, i));
}

// ---- far transfers --------------------------------------------------------------

/** The far pointer of the instruction being executed (set by readFarPointer; no allocation). */
let farSel = 0;
let farOff = 0;

/**
 * The operand of JMP/CALL ptr16:16/32 (9A, EA: immediate) or m16:16/32 (FF /3, /5):
 * the offset (operand size) then the selector. The memory operand is checked as
 * one access of 4 or 6 bytes against the segment limit.
 */
function readFarPointer(cpu: Cpu, i: Insn): void {
  if (i.opcode !== 0xff) {
    farOff = i.imm;
    farSel = i.imm2;
    return;
  }
  const size = i.opsize >> 3;
  const seg = cpu.seg(i);
  const ea = cpu.ea(i);
  cpu.linear(seg, ea, size + 2, false);
  farOff = cpu.readSized(seg, ea, size);
  farSel = cpu.read16(seg, ea + size);
}

function noSystem(cpu: Cpu): never {
  cpu.raise(EXC.GP, 0);
}

/** JMP ptr16:16/32 (EA) and JMP m16:16/32 (FF /5). */
function jmp_far(cpu: Cpu, i: Insn): void {
  readFarPointer(cpu, i);
  if (protectedNotV86(cpu)) {
    if (!cpu.sys) noSystem(cpu);
    cpu.sys.farTransfer(cpu, 'jmp', farSel, farOff, i.opsize);
    return;
  }
  if (farOff > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  cpu.loadSegment(SREG.CS, farSel);
  cpu.nextEip = farOff;
}

/**
 * CALL ptr16:16/32 (9A) and CALL m16:16/32 (FF /3): pushes CS (zero-extended to
 * 32 bits with a 32-bit operand size) and then the return offset.
 */
function call_far(cpu: Cpu, i: Insn): void {
  readFarPointer(cpu, i);
  if (protectedNotV86(cpu)) {
    if (!cpu.sys) noSystem(cpu);
    cpu.sys.farTransfer(cpu, 'call', farSel, farOff, i.opsize);
    return;
  }
  const size = i.opsize >> 3;
  if (farOff > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  cpu.writeSized(SREG.SS, spOffset(cpu, -size), size, cpu.segSel[SREG.CS]!);
  cpu.writeSized(SREG.SS, spOffset(cpu, -2 * size), size, cpu.nextEip);
  setSp(cpu, spOffset(cpu, -2 * size));
  cpu.loadSegment(SREG.CS, farSel);
  cpu.nextEip = farOff;
}

/** RETF and RETF imm16 (CB, CA): pops the offset, then CS (a 32-bit slot's upper half is discarded). */
function ret_far(cpu: Cpu, i: Insn): void {
  const popBytes = i.opcode === 0xca ? i.imm : 0;
  if (protectedNotV86(cpu)) {
    if (!cpu.sys) noSystem(cpu);
    cpu.sys.farReturn(cpu, i.opsize, popBytes);
    return;
  }
  const size = i.opsize >> 3;
  const off = cpu.readSized(SREG.SS, spOffset(cpu, 0), size);
  const sel = cpu.readSized(SREG.SS, spOffset(cpu, size), size) & 0xffff;
  if (off > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  setSp(cpu, spOffset(cpu, 2 * size + popBytes));
  cpu.loadSegment(SREG.CS, sel);
  cpu.nextEip = off;
}

// ---- interrupts -----------------------------------------------------------------

/** INT imm8 (CD): IOPL-sensitive in v8086 mode. */
function int(cpu: Cpu, i: Insn): void {
  checkV86Iopl(cpu);
  cpu.interrupt(i.imm & 0xff, -1, 'software', cpu.nextEip);
}

/** INT3 (CC): the breakpoint trap; the saved EIP is the next instruction. Not IOPL-sensitive. */
function int3(cpu: Cpu): void {
  cpu.interrupt(EXC.BP, -1, 'software', cpu.nextEip);
}

/** INTO (CE): #OF as a trap, only when OF = 1. */
function into(cpu: Cpu): void {
  if (getOF(cpu)) cpu.interrupt(EXC.OF, -1, 'software', cpu.nextEip);
}

/** INT1/ICEBP (F1): a debug trap (#DB) after the instruction, without the gate DPL check. */
function int1(cpu: Cpu): void {
  cpu.interrupt(EXC.DB, -1, 'external', cpu.nextEip);
}

/** IRET's EFLAGS bits in real mode with a 32-bit operand size (SDM: tempEFLAGS AND 257FD5H). */
const IRETD_BITS = 0x257fd5;

/**
 * IRET/IRETD. Real mode (SDM vol. 2 IRET, "REAL-ADDRESS-MODE"): pop EIP, CS and
 * FLAGS (16-bit: FLAGS[15:0] replaced, the upper half kept; 32-bit: EFLAGS ←
 * (temp AND 257FD5H) OR (EFLAGS AND 1A0000H), so VM, VIF and VIP stay and RF,
 * AC, ID load). At CPL 0, IOPL and NT load too. Protected and v8086 modes
 * belong to cpu.sys.iret.
 */
function iret(cpu: Cpu, i: Insn): void {
  // NMIs are blocked from the delivery of one until the next IRET executes (SDM vol. 3 §6.7.1).
  cpu.nmiBlocked = false;
  if (cpu.cr0 & 1) {
    if (!cpu.sys) noSystem(cpu);
    cpu.sys.iret(cpu, i.opsize);
    return;
  }
  const size = i.opsize >> 3;
  const off = cpu.readSized(SREG.SS, spOffset(cpu, 0), size);
  const sel = cpu.readSized(SREG.SS, spOffset(cpu, size), size) & 0xffff;
  const fl = cpu.readSized(SREG.SS, spOffset(cpu, 2 * size), size);
  if (off > cpu.segLimit[SREG.CS]!) cpu.raise(EXC.GP, 0);
  const old = getFlags(cpu);
  const flags = size === 2 ? (old & 0xffff0000) | fl : (fl & IRETD_BITS) | (old & (FLAG.VM | FLAG.VIF | FLAG.VIP));
  setSp(cpu, spOffset(cpu, 3 * size));
  cpu.loadSegment(SREG.CS, sel);
  loadFlags(cpu, flags);
  cpu.nextEip = off;
}

// ---- procedures -----------------------------------------------------------------

/**
 * ENTER imm16, imm8 (SDM vol. 2 ENTER, Operation), level = imm8 MOD 32:
 * push (E)BP; FrameTemp = (E)SP; for levels 1..L-1 push the word/dword at
 * [SS:(E)BP - k*size] ((E)BP by the stack size, so a 16-bit stack wraps BP);
 * for L > 0 push FrameTemp; then (E)BP = FrameTemp (BP only for a 16-bit
 * operand size) and (E)SP -= imm16. The new stack top must lie within the stack
 * segment (#SS(0) otherwise, "If the new value of the SP or ESP register is
 * outside the stack segment limit"). Registers change only at the end.
 */
function enter(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const alloc = i.imm & 0xffff;
  const level = i.imm2 & 31;
  const s32 = cpu.stack32;
  const smask = s32 ? 0xffffffff : 0xffff;
  let sp = s32 ? cpu.r32[REG.ESP]! >>> 0 : cpu.r16[SP16]!;
  sp = ((sp - size) & smask) >>> 0;
  cpu.writeSized(SREG.SS, sp, size, size === 2 ? cpu.r16[BP16]! : cpu.r32[REG.EBP]!);
  // FrameTemp: SP, or ESP with its upper half when the stack is 16-bit and the operand size 32.
  const frame = size === 2 ? sp : s32 ? sp : ((cpu.r32[REG.ESP]! & 0xffff0000) | sp) >>> 0;
  if (level > 0) {
    let bp = s32 ? cpu.r32[REG.EBP]! >>> 0 : cpu.r16[BP16]!;
    for (let k = 1; k < level; k++) {
      bp = ((bp - size) & smask) >>> 0;
      const v = cpu.readSized(SREG.SS, bp, size);
      sp = ((sp - size) & smask) >>> 0;
      cpu.writeSized(SREG.SS, sp, size, v);
    }
    sp = ((sp - size) & smask) >>> 0;
    cpu.writeSized(SREG.SS, sp, size, frame);
  }
  sp = ((sp - alloc) & smask) >>> 0;
  // #PF "if a write using the final value of the stack pointer would cause a page fault" (SDM vol. 2 ENTER).
  cpu.mem.probeWrite(cpu.linear(SREG.SS, sp, size, true), size);
  if (size === 2) cpu.r16[BP16] = frame;
  else cpu.r32[REG.EBP] = frame;
  setSp(cpu, sp);
}

/** LEAVE: (E)SP = (E)BP by the stack size, then pop (E)BP by the operand size. */
function leave(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const top = cpu.stack32 ? cpu.r32[REG.EBP]! >>> 0 : cpu.r16[BP16]!;
  const v = cpu.readSized(SREG.SS, top, size);
  const newSp = cpu.stack32 ? (top + size) >>> 0 : (top + size) & 0xffff;
  setSp(cpu, newSp);
  if (size === 2) cpu.r16[BP16] = v;
  else cpu.r32[REG.EBP] = v;
}

/**
 * BOUND r, m16&16 / m32&32: #BR (a fault: EIP stays at BOUND) when the signed
 * index is below the first bound or above the second. The whole operand is
 * checked against the segment limit first; then the lower bound is read and
 * compared, and only then the upper one, so an index below the lower bound
 * raises #BR even when the upper bound's page is not there (as Intel
 * processors do: the host CPU test checks it).
 */
function bound(cpu: Cpu, i: Insn): void {
  const size = i.opsize >> 3;
  const seg = cpu.seg(i);
  const ea = cpu.ea(i);
  // Byte checks of the first and last bytes, so that #AC follows the bounds'
  // own size (2 or 4 bytes), as the reads below apply it.
  cpu.linear(seg, ea, 1, false);
  cpu.linear(seg, ea + 2 * size - 1, 1, false);
  const sx = (v: number) => (size === 2 ? (v << 16) >> 16 : v | 0);
  const idx = size === 2 ? (cpu.r16[i.reg << 1]! << 16) >> 16 : cpu.r32[i.reg]!;
  if (idx < sx(cpu.readSized(seg, ea, size))) cpu.raise(EXC.BR);
  if (idx > sx(cpu.readSized(seg, ea + size, size))) cpu.raise(EXC.BR);
}

export const controlSemantics: Record<string, SemFn> = {
  jcc, jmp, call, ret, loop, jcxz, jmp_far, call_far, ret_far,
  int, int1, int3, into, iret, enter, leave, bound,
};
