/**
 * Protected-mode control transfers, as the runtime helpers that semantics call
 * through SystemHooks: interrupt and exception delivery through the IDT
 * (interrupt, trap and task gates, 16- and 32-bit, stack switches through the
 * TSS, exits from v8086 mode), far JMP/CALL (code segments, call gates with
 * parameter copying, task gates and TSSs), far RET and IRET to the same or an
 * outer privilege level (and IRET back to v8086), and the I/O permission check.
 *
 * Each follows the pseudo-code of its instruction in SDM vol. 2 and the rules of
 * vol. 3 chapters 5-7. Every check that can fault is made before the CPU state
 * changes; where the new stack must be written first (an inner-level call or
 * interrupt), the old stack and privilege are restored if a push faults.
 */
import { ATTR, CpuException, EXC, REG, SREG, type DeliveryKind, type SystemCpu } from '../src/x86/state.js';
import {
  DESC, SYS, descDpl, descLimit, descType, isCode, isPresent, isSystem, loadCache, loadNull, loadSegmentProtected,
  markAccessed, nullifyInaccessibleSegments, readDescriptor, type Descriptor,
} from './descriptors.js';
import { inNewTask, taskSwitch } from './tasks.js';

const F = {
  CF: 1, TF: 0x100, IF: 0x200, IOPL: 0x3000, NT: 0x4000, RF: 0x10000, VM: 0x20000, AC: 0x40000,
  VIF: 0x80000, VIP: 0x100000, ID: 0x200000,
} as const;

function iopl(cpu: SystemCpu): number {
  return (cpu.flagsBits >> 12) & 3;
}

/** Load CS from a code descriptor at privilege `cpl` (RPL forced to it). */
function loadCs(cpu: SystemCpu, selector: number, d: Descriptor, cpl: number): void {
  markAccessed(cpu, d);
  loadCache(cpu, SREG.CS, (selector & 0xfffc) | cpl, d);
  cpu.setCpl(cpl);
}

/** The stack for privilege `dpl` from the current TSS, validated (#TS on any problem). */
function innerStack(cpu: SystemCpu, dpl: number, ext: number): { ss: number; esp: number; d: Descriptor } {
  const tss32 = ((cpu.trAttr >> 8) & 0xf) === SYS.TSS32_BUSY || ((cpu.trAttr >> 8) & 0xf) === SYS.TSS32_AVAIL;
  const at = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
  const width = tss32 ? 4 : 2;
  if (at + width + 1 > cpu.trLimit) cpu.raise(EXC.TS, (cpu.trSel & 0xfffc) | ext);
  const esp = cpu.mem.readSystem((cpu.trBase + at) | 0, width);
  const ss = cpu.mem.readSystem((cpu.trBase + at + width) | 0, 2);
  if ((ss & 0xfffc) === 0) cpu.raise(EXC.TS, ext);
  const d = readDescriptor(cpu, ss, EXC.TS, ext);
  if ((ss & 3) !== dpl || descDpl(d) !== dpl || isSystem(d) || isCode(d) || !(d.hi & DESC.WRITABLE)) {
    cpu.raise(EXC.TS, (ss & 0xfffc) | ext);
  }
  if (!isPresent(d)) cpu.raise(EXC.SS, (ss & 0xfffc) | ext);
  return { ss, esp, d };
}

/** A snapshot of what a stack switch changes, to undo it if a push on the new stack faults. */
function saveStackState(cpu: SystemCpu) {
  return {
    cpl: cpu.cpl, esp: cpu.r32[REG.ESP]!, ssSel: cpu.segSel[SREG.SS]!, ssBase: cpu.segBase[SREG.SS]!,
    ssLimit: cpu.segLimit[SREG.SS]!, ssAttr: cpu.segAttr[SREG.SS]!,
  };
}
function restoreStackState(cpu: SystemCpu, s: ReturnType<typeof saveStackState>): void {
  cpu.r32[REG.ESP] = s.esp;
  cpu.segSel[SREG.SS] = s.ssSel;
  cpu.segBase[SREG.SS] = s.ssBase;
  cpu.segLimit[SREG.SS] = s.ssLimit;
  cpu.segAttr[SREG.SS] = s.ssAttr;
  cpu.setCpl(s.cpl);
}

/** Switch to the inner stack (SS:ESP) at privilege `dpl`. */
function switchStack(cpu: SystemCpu, stack: { ss: number; esp: number; d: Descriptor }, dpl: number): void {
  markAccessed(cpu, stack.d);
  loadCache(cpu, SREG.SS, stack.ss, stack.d);
  cpu.r32[REG.ESP] = stack.esp;
  cpu.setCpl(dpl);
}

// ---- interrupts ---------------------------------------------------------------

export function deliverProtected(cpu: SystemCpu, vector: number, errorCode: number, kind: DeliveryKind, returnEip: number): void {
  const ext = kind === 'software' ? 0 : 1;
  const vm = (cpu.flagsBits & F.VM) !== 0;
  // In v8086 mode INT n with IOPL < 3 is #GP(0) before it gets here (sem/control.ts); INT3 and INTO
  // are not IOPL-sensitive and go through the IDT like exceptions (SDM vol. 2, INT n pseudo-code).
  const idtCode = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > cpu.idtrLimit) cpu.raise(EXC.GP, idtCode);
  const lo = cpu.mem.readSystem((cpu.idtrBase + vector * 8) | 0, 4);
  const hi = cpu.mem.readSystem((cpu.idtrBase + vector * 8 + 4) | 0, 4);
  const type = (hi >> 8) & 0x1f; // includes S, which must be 0
  const valid = type === SYS.TASK_GATE || type === SYS.INT_GATE16 || type === SYS.TRAP_GATE16 ||
    type === SYS.INT_GATE32 || type === SYS.TRAP_GATE32;
  if (!valid) cpu.raise(EXC.GP, idtCode);
  if (kind === 'software' && ((hi >> 13) & 3) < cpu.cpl) cpu.raise(EXC.GP, vector * 8 + 2);
  if (!(hi & DESC.P)) cpu.raise(EXC.NP, idtCode);
  if (type === SYS.TASK_GATE) {
    const tssSel = lo >>> 16;
    taskSwitch(cpu, tssSel, 'int', returnEip, ext);
    if (errorCode >= 0) {
      // On the new task's stack, a dword for a 32-bit TSS and a word for a 16-bit one (SDM vol. 3 §6.12.2).
      const tssType = (cpu.trAttr >> 8) & 0xf;
      const size = tssType === SYS.TSS32_BUSY || tssType === SYS.TSS32_AVAIL ? 4 : 2;
      try {
        cpu.push(size, errorCode);
      } catch (e) {
        throw inNewTask(cpu, e);
      }
    }
    return;
  }
  const gate32 = (type & 8) !== 0;
  const size = gate32 ? 4 : 2;
  const selector = lo >>> 16;
  const offset = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0 : lo & 0xffff;
  if ((selector & 0xfffc) === 0) cpu.raise(EXC.GP, ext);
  const d = readDescriptor(cpu, selector, EXC.GP, ext);
  if (!isCode(d) || descDpl(d) > cpu.cpl) cpu.raise(EXC.GP, (selector & 0xfffc) | ext);
  if (!isPresent(d)) cpu.raise(EXC.NP, (selector & 0xfffc) | ext);
  const conforming = (d.hi & DESC.CONFORMING) !== 0;
  const dpl = descDpl(d);
  if (offset > descLimit(d)) cpu.raise(EXC.GP, ext);
  const flags = cpu.eflags;
  const oldCs = cpu.segSel[SREG.CS]!;
  const saved = saveStackState(cpu);
  if (!conforming && dpl < cpu.cpl) {
    if (vm && dpl !== 0) cpu.raise(EXC.GP, (selector & 0xfffc) | ext);
    const stack = innerStack(cpu, dpl, ext);
    const oldSs = cpu.segSel[SREG.SS]!;
    const oldEsp = cpu.r32[REG.ESP]!;
    switchStack(cpu, stack, dpl);
    try {
      if (vm) {
        cpu.push(size, cpu.segSel[SREG.GS]!);
        cpu.push(size, cpu.segSel[SREG.FS]!);
        cpu.push(size, cpu.segSel[SREG.DS]!);
        cpu.push(size, cpu.segSel[SREG.ES]!);
      }
      cpu.push(size, oldSs);
      cpu.push(size, oldEsp);
      pushFrame(cpu, size, flags, oldCs, returnEip, errorCode);
    } catch (e) {
      restoreStackState(cpu, saved);
      throw stackFault(e, (stack.ss & 0xfffc) | ext);
    }
    if (vm) for (const s of [SREG.GS, SREG.FS, SREG.DS, SREG.ES]) loadNull(cpu, s, 0);
    loadCs(cpu, selector, d, dpl);
  } else {
    if (vm) cpu.raise(EXC.GP, (selector & 0xfffc) | ext);
    try {
      pushFrame(cpu, size, flags, oldCs, returnEip, errorCode);
    } catch (e) {
      throw stackFault(e, ext);
    }
    loadCs(cpu, selector, d, cpu.cpl);
  }
  let newFlags = flags & ~(F.TF | F.NT | F.VM | F.RF);
  if (!(type & 1)) newFlags &= ~F.IF; // interrupt gate (trap gates have bit 0 set)
  cpu.eflags = newFlags;
  cpu.eip = cpu.nextEip = offset;
}

/**
 * A stack fault while pushing a frame: on a new stack the error code is the
 * new SS selector, on the current one EXT (SDM vol. 2, INT n and CALL). Other
 * faults (#PF) pass unchanged.
 */
function stackFault(e: unknown, code: number): unknown {
  return e instanceof CpuException && e.vector === EXC.SS ? new CpuException(EXC.SS, code) : e;
}

function pushFrame(cpu: SystemCpu, size: number, flags: number, cs: number, eip: number, errorCode: number): void {
  // Check the whole frame fits before writing any of it, so a fault leaves the stack untouched.
  const frame = size * (errorCode >= 0 ? 4 : 3);
  const probe = cpu.sp - frame;
  cpu.readSized(SREG.SS, cpu.segAttr[SREG.SS]! & ATTR.DB ? probe >>> 0 : probe & 0xffff, size);
  cpu.push(size, flags);
  cpu.push(size, cs);
  cpu.push(size, eip);
  if (errorCode >= 0) cpu.push(size, errorCode);
}

// ---- far JMP / CALL -----------------------------------------------------------------

export function farTransferProtected(cpu: SystemCpu, kind: 'jmp' | 'call', selector: number, offset: number, opsize: 16 | 32): void {
  if ((selector & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  const d = readDescriptor(cpu, selector);
  const rpl = selector & 3;
  const sel = selector & 0xfffc;
  if (!isSystem(d)) {
    if (!isCode(d)) cpu.raise(EXC.GP, sel);
    const dpl = descDpl(d);
    if (d.hi & DESC.CONFORMING ? dpl > cpu.cpl : rpl > cpu.cpl || dpl !== cpu.cpl) cpu.raise(EXC.GP, sel);
    if (!isPresent(d)) cpu.raise(EXC.NP, sel);
    const target = opsize === 16 ? offset & 0xffff : offset >>> 0;
    if (target > descLimit(d)) cpu.raise(EXC.GP, 0);
    if (kind === 'call') pushReturn(cpu, opsize === 32 ? 4 : 2, cpu.segSel[SREG.CS]!, cpu.nextEip);
    loadCs(cpu, selector, d, cpu.cpl);
    cpu.eip = cpu.nextEip = target;
    return;
  }
  const type = descType(d);
  const dpl = descDpl(d);
  switch (type) {
    case SYS.CALL_GATE16:
    case SYS.CALL_GATE32:
      if (dpl < cpu.cpl || dpl < rpl) cpu.raise(EXC.GP, sel);
      if (!isPresent(d)) cpu.raise(EXC.NP, sel);
      callGate(cpu, kind, d, type === SYS.CALL_GATE32);
      return;
    case SYS.TASK_GATE: {
      if (dpl < cpu.cpl || dpl < rpl) cpu.raise(EXC.GP, sel);
      if (!isPresent(d)) cpu.raise(EXC.NP, sel);
      taskSwitch(cpu, d.lo >>> 16, kind, cpu.nextEip, 0);
      return;
    }
    case SYS.TSS16_AVAIL:
    case SYS.TSS32_AVAIL:
      if (dpl < cpu.cpl || dpl < rpl) cpu.raise(EXC.GP, sel);
      taskSwitch(cpu, selector, kind, cpu.nextEip, 0);
      return;
    default:
      cpu.raise(EXC.GP, sel);
  }
}

function pushReturn(cpu: SystemCpu, size: number, cs: number, eip: number): void {
  const probe = cpu.sp - 2 * size;
  cpu.readSized(SREG.SS, cpu.segAttr[SREG.SS]! & ATTR.DB ? probe >>> 0 : probe & 0xffff, size);
  cpu.push(size, cs);
  cpu.push(size, eip);
}

function callGate(cpu: SystemCpu, kind: 'jmp' | 'call', gate: Descriptor, gate32: boolean): void {
  const targetSel = gate.lo >>> 16;
  const offset = gate32 ? ((gate.lo & 0xffff) | (gate.hi & 0xffff0000)) >>> 0 : gate.lo & 0xffff;
  const params = gate.hi & 0x1f;
  if ((targetSel & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  const d = readDescriptor(cpu, targetSel);
  const dpl = descDpl(d);
  if (!isCode(d) || dpl > cpu.cpl) cpu.raise(EXC.GP, targetSel & 0xfffc);
  const conforming = (d.hi & DESC.CONFORMING) !== 0;
  if (kind === 'jmp' && !conforming && dpl !== cpu.cpl) cpu.raise(EXC.GP, targetSel & 0xfffc);
  if (!isPresent(d)) cpu.raise(EXC.NP, targetSel & 0xfffc);
  if (offset > descLimit(d)) cpu.raise(EXC.GP, 0);
  const size = gate32 ? 4 : 2;
  if (kind === 'call' && !conforming && dpl < cpu.cpl) {
    const stack = innerStack(cpu, dpl, 0);
    const oldSs = cpu.segSel[SREG.SS]!;
    const oldEsp = cpu.r32[REG.ESP]!;
    // Parameters are read from the old stack before switching.
    const args: number[] = [];
    for (let i = params - 1; i >= 0; i--) args.push(cpu.readSized(SREG.SS, stackAddr(cpu, i * size), size));
    const saved = saveStackState(cpu);
    const oldCs = cpu.segSel[SREG.CS]!;
    switchStack(cpu, stack, dpl);
    try {
      cpu.push(size, oldSs);
      cpu.push(size, oldEsp);
      for (const a of args) cpu.push(size, a);
      cpu.push(size, oldCs);
      cpu.push(size, cpu.nextEip);
    } catch (e) {
      restoreStackState(cpu, saved);
      throw stackFault(e, stack.ss & 0xfffc);
    }
    loadCs(cpu, targetSel, d, dpl);
  } else {
    if (kind === 'call') pushReturn(cpu, size, cpu.segSel[SREG.CS]!, cpu.nextEip);
    loadCs(cpu, targetSel, d, cpu.cpl);
  }
  cpu.eip = cpu.nextEip = offset;
}

function stackAddr(cpu: SystemCpu, delta: number): number {
  return cpu.segAttr[SREG.SS]! & ATTR.DB ? (cpu.r32[REG.ESP]! + delta) >>> 0 : (cpu.r32[REG.ESP]! + delta) & 0xffff;
}

// ---- far RET --------------------------------------------------------------------------

export function farReturnProtected(cpu: SystemCpu, opsize: 16 | 32, popBytes: number): void {
  const size = opsize >> 3;
  const eip = cpu.readSized(SREG.SS, stackAddr(cpu, 0), size);
  const cs = cpu.readSized(SREG.SS, stackAddr(cpu, size), size) & 0xffff;
  const d = checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  if (rpl === cpu.cpl) {
    if (eip > descLimit(d)) cpu.raise(EXC.GP, 0);
    loadCs(cpu, cs, d, rpl);
    cpu.sp = stackAddr(cpu, 2 * size + popBytes);
    cpu.eip = cpu.nextEip = eip;
    return;
  }
  const newEsp = cpu.readSized(SREG.SS, stackAddr(cpu, 2 * size + popBytes), size);
  const newSs = cpu.readSized(SREG.SS, stackAddr(cpu, 3 * size + popBytes), size) & 0xffff;
  const ssDesc = checkOuterSs(cpu, newSs, rpl);
  if (eip > descLimit(d)) cpu.raise(EXC.GP, 0);
  loadCs(cpu, cs, d, rpl);
  markAccessed(cpu, ssDesc);
  loadCache(cpu, SREG.SS, newSs, ssDesc);
  cpu.r32[REG.ESP] = size === 2 && !(cpu.segAttr[SREG.SS]! & ATTR.DB) ? (cpu.r32[REG.ESP]! & ~0xffff) | (newEsp & 0xffff) : newEsp;
  cpu.sp = stackAddr(cpu, popBytes);
  nullifyInaccessibleSegments(cpu);
  cpu.eip = cpu.nextEip = eip;
}

/** Return-CS checks shared by RET and IRET. */
function checkReturnCs(cpu: SystemCpu, cs: number): Descriptor {
  if ((cs & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  const d = readDescriptor(cpu, cs);
  const rpl = cs & 3;
  if (rpl < cpu.cpl || !isCode(d)) cpu.raise(EXC.GP, cs & 0xfffc);
  const dpl = descDpl(d);
  if (d.hi & DESC.CONFORMING ? dpl > rpl : dpl !== rpl) cpu.raise(EXC.GP, cs & 0xfffc);
  if (!isPresent(d)) cpu.raise(EXC.NP, cs & 0xfffc);
  return d;
}

function checkOuterSs(cpu: SystemCpu, ss: number, rpl: number): Descriptor {
  if ((ss & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  const d = readDescriptor(cpu, ss);
  if ((ss & 3) !== rpl || isSystem(d) || isCode(d) || !(d.hi & DESC.WRITABLE) || descDpl(d) !== rpl) {
    cpu.raise(EXC.GP, ss & 0xfffc);
  }
  if (!isPresent(d)) cpu.raise(EXC.SS, ss & 0xfffc);
  return d;
}

// ---- IRET -------------------------------------------------------------------------------

export function iretProtected(cpu: SystemCpu, opsize: 16 | 32): void {
  const size = opsize >> 3;
  if (cpu.flagsBits & F.VM) {
    // IRET inside v8086 mode: real-mode style when IOPL = 3 (SDM IRET pseudo-code).
    if (iopl(cpu) < 3) cpu.raise(EXC.GP, 0);
    const eip = cpu.readSized(SREG.SS, stackAddr(cpu, 0), size);
    const cs = cpu.readSized(SREG.SS, stackAddr(cpu, size), size) & 0xffff;
    const fl = cpu.readSized(SREG.SS, stackAddr(cpu, 2 * size), size);
    if (opsize === 16 && eip > 0xffff) cpu.raise(EXC.GP, 0);
    cpu.sp = stackAddr(cpu, 3 * size);
    cpu.loadSegReal(SREG.CS, cs);
    const keep = F.IOPL | F.VM | F.RF | F.VIF | F.VIP | (opsize === 16 ? 0xffff0000 : 0);
    cpu.eflags = (cpu.flagsBits & keep) | (fl & ~keep);
    cpu.eip = cpu.nextEip = opsize === 16 ? eip & 0xffff : eip;
    return;
  }
  if (cpu.flagsBits & F.NT) {
    const link = cpu.mem.readSystem(cpu.trBase, 2);
    taskSwitch(cpu, link, 'iret', cpu.nextEip, 0);
    return;
  }
  const eip = cpu.readSized(SREG.SS, stackAddr(cpu, 0), size);
  const cs = cpu.readSized(SREG.SS, stackAddr(cpu, size), size) & 0xffff;
  const fl = cpu.readSized(SREG.SS, stackAddr(cpu, 2 * size), size);
  if (opsize === 32 && fl & F.VM && cpu.cpl === 0) {
    returnToV86(cpu, eip, cs, fl);
    return;
  }
  const d = checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  const oldCpl = cpu.cpl;
  let newSs = 0;
  let newEsp = 0;
  let ssDesc: Descriptor | null = null;
  if (rpl > oldCpl) {
    newEsp = cpu.readSized(SREG.SS, stackAddr(cpu, 3 * size), size);
    newSs = cpu.readSized(SREG.SS, stackAddr(cpu, 4 * size), size) & 0xffff;
    ssDesc = checkOuterSs(cpu, newSs, rpl);
  }
  if (eip > descLimit(d)) cpu.raise(EXC.GP, 0);
  // EFLAGS rules: IOPL only at CPL 0, IF only when CPL <= IOPL; VM, VIF, VIP never here.
  let changeable = 0x3f7fd5 & ~(F.VM | F.VIF | F.VIP | F.IOPL | F.IF);
  if (oldCpl === 0) changeable |= F.IOPL;
  if (oldCpl <= iopl(cpu)) changeable |= F.IF;
  if (opsize === 16) changeable &= 0xffff;
  if (oldCpl === 0 && opsize === 32) changeable |= F.VIF | F.VIP;
  const newFlags = (cpu.flagsBits & ~changeable) | (fl & changeable);
  loadCs(cpu, cs, d, rpl);
  if (ssDesc) {
    markAccessed(cpu, ssDesc);
    loadCache(cpu, SREG.SS, newSs, ssDesc);
    cpu.r32[REG.ESP] = size === 2 ? (cpu.r32[REG.ESP]! & ~0xffff) | (newEsp & 0xffff) : newEsp;
    nullifyInaccessibleSegments(cpu);
  } else {
    cpu.sp = stackAddr(cpu, 3 * size);
  }
  cpu.eflags = newFlags;
  cpu.eip = cpu.nextEip = eip;
}

function returnToV86(cpu: SystemCpu, eip: number, cs: number, fl: number): void {
  const esp = cpu.readSized(SREG.SS, stackAddr(cpu, 12), 4);
  const ss = cpu.readSized(SREG.SS, stackAddr(cpu, 16), 4) & 0xffff;
  const es = cpu.readSized(SREG.SS, stackAddr(cpu, 20), 4) & 0xffff;
  const ds = cpu.readSized(SREG.SS, stackAddr(cpu, 24), 4) & 0xffff;
  const fs = cpu.readSized(SREG.SS, stackAddr(cpu, 28), 4) & 0xffff;
  const gs = cpu.readSized(SREG.SS, stackAddr(cpu, 32), 4) & 0xffff;
  cpu.eflags = fl;
  const segs: [number, number][] = [[SREG.CS, cs], [SREG.SS, ss], [SREG.ES, es], [SREG.DS, ds], [SREG.FS, fs], [SREG.GS, gs]];
  for (const [seg, sel] of segs) {
    cpu.loadSegReal(seg, sel);
    cpu.segLimit[seg] = 0xffff;
    cpu.segAttr[seg] = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED | (3 << ATTR.DPL_SHIFT) | (seg === SREG.CS ? ATTR.CODE : 0);
  }
  cpu.r32[REG.ESP] = esp;
  cpu.setCpl(3);
  cpu.eip = cpu.nextEip = eip & 0xffff;
}

// ---- I/O permission ------------------------------------------------------------------------

/** CPL <= IOPL (outside v8086), else every bit for the port range clear in the TSS bitmap. */
export function ioPermittedProtected(cpu: SystemCpu, port: number, size: number): boolean {
  if (!(cpu.flagsBits & F.VM) && cpu.cpl <= iopl(cpu)) return true;
  const type = (cpu.trAttr >> 8) & 0xf;
  if (type !== SYS.TSS32_AVAIL && type !== SYS.TSS32_BUSY) return false;
  if (cpu.trLimit < 0x67) return false;
  const mapBase = cpu.mem.readSystem((cpu.trBase + 0x66) | 0, 2);
  const at = mapBase + (port >> 3);
  if (at + 1 > cpu.trLimit) return false;
  const bits = cpu.mem.readSystem((cpu.trBase + at) | 0, 2);
  const mask = ((1 << size) - 1) << (port & 7);
  return (bits & mask) === 0;
}

/** Segment register loads in protected mode (the MOV/POP/LxS path). */
export { loadSegmentProtected };
