/**
 * Hardware task switching (SDM vol. 3 §7.3): by JMP or CALL to a TSS or task
 * gate, by an interrupt through a task gate, and by IRET with NT set, for 32-bit
 * and 16-bit TSSs. The steps are the SDM's: check the new TSS, save the current
 * state into the old TSS, update busy bits, NT and the back link, load TR,
 * CR3, the registers, the LDT and the segment registers, set CR0.TS. Faults
 * after the state is loaded (a bad segment in the new TSS) are taken in the
 * context of the new task, as on the hardware.
 */
import { ATTR, CpuException, EXC, REG, SREG, type SystemCpu } from '../src/x86/state.js';
import {
  SYS, descBase, descDpl, descLimit, descType, isPresent, loadCache, loadSegmentProtected, readDescriptor,
  markAccessed, isCode, type Descriptor, DESC,
} from './descriptors.js';

export type TaskSource = 'jmp' | 'call' | 'int' | 'iret';

const NT = 0x4000;
const VM = 0x20000;
const CR0_TS = 8;

function is32(type: number): boolean {
  return type === SYS.TSS32_AVAIL || type === SYS.TSS32_BUSY;
}

function setBusy(cpu: SystemCpu, d: Descriptor, busy: boolean): void {
  const hi = busy ? d.hi | 0x200 : d.hi & ~0x200;
  d.hi = hi;
  cpu.mem.writeSystem(d.addr + 5, 1, (hi >>> 8) & 0xff);
}

export function taskSwitch(cpu: SystemCpu, selector: number, source: TaskSource, returnEip: number, ext: number): void {
  if (selector & 4) cpu.raise(source === 'iret' ? EXC.TS : EXC.GP, (selector & 0xfffc) | ext);
  const d = readDescriptor(cpu, selector, source === 'iret' ? EXC.TS : EXC.GP, ext);
  const type = descType(d);
  const tssType = type === SYS.TSS16_AVAIL || type === SYS.TSS16_BUSY || type === SYS.TSS32_AVAIL || type === SYS.TSS32_BUSY;
  if ((d.hi & DESC.S) || !tssType) cpu.raise(source === 'iret' ? EXC.TS : EXC.GP, (selector & 0xfffc) | ext);
  const busy = type === SYS.TSS16_BUSY || type === SYS.TSS32_BUSY;
  if (source === 'iret' ? !busy : busy) cpu.raise(source === 'iret' ? EXC.TS : EXC.GP, (selector & 0xfffc) | ext);
  if (!isPresent(d)) cpu.raise(EXC.NP, (selector & 0xfffc) | ext);
  const new32 = is32(type);
  if (descLimit(d) < (new32 ? 0x67 : 0x2b)) cpu.raise(EXC.TS, (selector & 0xfffc) | ext);

  // Save the outgoing task's state.
  const oldType = (cpu.trAttr >> 8) & 0xf;
  const old32 = is32(oldType);
  const ob = cpu.trBase;
  let flags = cpu.eflags;
  if (source === 'iret') flags &= ~NT;
  const w = (off: number, size: 1 | 2 | 4, v: number) => cpu.mem.writeSystem((ob + off) | 0, size, v);
  if (old32) {
    w(32, 4, returnEip);
    w(36, 4, flags);
    for (let r = 0; r < 8; r++) w(40 + r * 4, 4, cpu.r32[r]!);
    for (let s = 0; s < 6; s++) w(72 + s * 4, 2, cpu.segSel[s]!);
  } else {
    w(14, 2, returnEip);
    w(16, 2, flags);
    for (let r = 0; r < 8; r++) w(18 + r * 2, 2, cpu.r32[r]!);
    for (let s = 0; s < 4; s++) w(34 + s * 2, 2, cpu.segSel[s]!);
  }
  if ((source === 'jmp' || source === 'iret') && (cpu.trSel & 0xfffc)) {
    const oldDesc = readDescriptor(cpu, cpu.trSel);
    setBusy(cpu, oldDesc, false);
  }
  if (source === 'iret') cpu.eflags = cpu.eflags & ~NT;

  // Read the incoming task's state.
  const nb = descBase(d);
  const r = (off: number, size: 1 | 2 | 4) => cpu.mem.readSystem((nb + off) | 0, size);
  const regs: number[] = [];
  const sels: number[] = [];
  let eip: number;
  let newFlags: number;
  let cr3 = cpu.cr3;
  let ldt: number;
  if (new32) {
    cr3 = r(28, 4);
    eip = r(32, 4);
    newFlags = r(36, 4);
    for (let i = 0; i < 8; i++) regs.push(r(40 + i * 4, 4));
    for (let s = 0; s < 6; s++) sels.push(r(72 + s * 4, 2));
    ldt = r(96, 2);
  } else {
    eip = r(14, 2);
    newFlags = (cpu.flagsBits & 0xffff0000) | r(16, 2);
    for (let i = 0; i < 8; i++) regs.push((cpu.r32[i]! & ~0xffff) | r(18 + i * 2, 2));
    for (let s = 0; s < 4; s++) sels.push(r(34 + s * 2, 2));
    sels.push(0, 0);
    ldt = r(42, 2);
  }
  if (source === 'call' || source === 'int') {
    cpu.mem.writeSystem(nb, 2, cpu.trSel);
    newFlags |= NT;
  }
  if (source !== 'iret') setBusy(cpu, d, true);

  // Commit: TR, CR0.TS, CR3, registers, flags.
  cpu.trSel = selector;
  cpu.trBase = nb | 0;
  cpu.trLimit = descLimit(d);
  cpu.trAttr = (d.hi & 0x00f0ff00) | 0x200;
  cpu.cr0 |= CR0_TS;
  if (new32 && cpu.cr0 & 0x80000000 && cr3 !== cpu.cr3) {
    cpu.cr3 = cr3;
    cpu.modeChanged(true);
  } else if (new32) {
    cpu.cr3 = cr3;
  }
  for (let i = 0; i < 8; i++) cpu.r32[i] = regs[i]!;
  cpu.eflags = newFlags;
  cpu.eip = cpu.nextEip = new32 ? eip >>> 0 : eip & 0xffff;
  // Selectors load first without checks, so a fault below sees the new task's values.
  for (let s = 0; s < 6; s++) cpu.segSel[s] = sels[s]!;
  cpu.ldtrSel = ldt;

  // Now the checks, in the context of the new task: a fault here is delivered
  // with the new task's EIP and ESP (CpuException.inNewTask).
  try {
    loadNewTaskSegments(cpu, ldt, sels, newFlags, ext);
  } catch (e) {
    throw inNewTask(cpu, e);
  }
}

/** Mark an exception as raised in the context of the task just switched to. */
export function inNewTask(cpu: SystemCpu, e: unknown): unknown {
  if (e instanceof CpuException && !e.inNewTask) {
    e.inNewTask = true;
    e.newTaskEip = cpu.eip;
    e.newTaskEsp = cpu.r32[REG.ESP]!;
  }
  return e;
}

/**
 * The last step of a task switch: LDTR and the segment registers from the new
 * TSS, with the checks of SDM vol. 3 table 7-1 (#TS for a bad selector or
 * descriptor, #NP for a segment that is not present, #SS for a stack segment
 * that is not present).
 */
function loadNewTaskSegments(cpu: SystemCpu, ldt: number, sels: number[], newFlags: number, ext: number): void {
  loadLdt(cpu, ldt, ext, EXC.TS, EXC.TS);
  if (newFlags & VM) {
    for (let s = 0; s < 6; s++) {
      cpu.loadSegReal(s, sels[s]!);
      cpu.segLimit[s] = 0xffff;
      cpu.segAttr[s] = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED | (3 << ATTR.DPL_SHIFT) | (s === SREG.CS ? ATTR.CODE : 0);
    }
    setCpl(cpu, 3);
    return;
  }
  const cs = sels[SREG.CS]!;
  if ((cs & 0xfffc) === 0) cpu.raise(EXC.TS, ext);
  const csDesc = readDescriptor(cpu, cs, EXC.TS, ext);
  if (!isCode(csDesc)) cpu.raise(EXC.TS, (cs & 0xfffc) | ext);
  const csDpl = descDpl(csDesc);
  if (csDesc.hi & DESC.CONFORMING ? csDpl > (cs & 3) : csDpl !== (cs & 3)) cpu.raise(EXC.TS, (cs & 0xfffc) | ext);
  if (!isPresent(csDesc)) cpu.raise(EXC.NP, (cs & 0xfffc) | ext);
  markAccessed(cpu, csDesc);
  loadCache(cpu, SREG.CS, cs, csDesc);
  setCpl(cpu, cs & 3);
  // SS and the data segments, with the MOV checks but reported as #TS.
  for (const s of [SREG.SS, SREG.ES, SREG.DS, SREG.FS, SREG.GS]) {
    try {
      loadSegmentProtected(cpu, s, sels[s]!);
    } catch (e) {
      const ex = e as { vector?: number; errorCode?: number };
      if (ex.vector === EXC.GP) cpu.raise(EXC.TS, ((ex.errorCode ?? 0) & 0xfffc) | ext);
      throw e;
    }
  }
}

function setCpl(cpu: SystemCpu, cpl: number): void {
  cpu.setCpl(cpl);
}

/**
 * LLDT's work, shared with task switches: a null selector disables the LDT.
 * LLDT raises #GP for a bad selector and #NP for an LDT that is not present; a
 * task switch raises #TS for both.
 */
export function loadLdt(cpu: SystemCpu, selector: number, ext = 0, vector: number = EXC.TS, npVector: number = EXC.NP): void {
  if ((selector & 0xfffc) === 0) {
    cpu.ldtrSel = selector;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    return;
  }
  if (selector & 4) cpu.raise(vector, (selector & 0xfffc) | ext);
  const d = readDescriptor(cpu, selector, vector, ext);
  if (d.hi & DESC.S || descType(d) !== SYS.LDT) cpu.raise(vector, (selector & 0xfffc) | ext);
  if (!isPresent(d)) cpu.raise(npVector, (selector & 0xfffc) | ext);
  cpu.ldtrSel = selector;
  cpu.ldtrBase = descBase(d) | 0;
  cpu.ldtrLimit = descLimit(d);
}
