/**
 * Protected-mode segmentation: reading descriptors from the GDT/LDT, the checks
 * every segment-register load makes (SDM vol. 3 §5, and the MOV/POP/LDS
 * pseudo-code of vol. 2), loading the hidden descriptor caches, accessed bits,
 * and the descriptor queries behind LAR, LSL, VERR and VERW.
 *
 * A descriptor is kept as its two dwords; the cache attribute word is the high
 * dword's bits 8-23 in place (see ATTR in src/x86/state.ts).
 */
import { ATTR, EXC, SREG, type SystemCpu } from '../src/x86/state.js';

export interface Descriptor {
  lo: number;
  hi: number;
  /** Linear address of the descriptor (for accessed/busy bit updates). */
  addr: number;
}

export const DESC = {
  TYPE_MASK: 0xf00, S: 0x1000, P: 0x8000, CODE: 0x800, CONFORMING: 0x400, READABLE: 0x200,
  WRITABLE: 0x200, EXPAND_DOWN: 0x400, ACCESSED: 0x100,
} as const;

/** System descriptor types (S = 0). */
export const SYS = {
  TSS16_AVAIL: 1, LDT: 2, TSS16_BUSY: 3, CALL_GATE16: 4, TASK_GATE: 5, INT_GATE16: 6, TRAP_GATE16: 7,
  TSS32_AVAIL: 9, TSS32_BUSY: 11, CALL_GATE32: 12, INT_GATE32: 14, TRAP_GATE32: 15,
} as const;

export function descBase(d: Descriptor): number {
  return ((d.lo >>> 16) | ((d.hi & 0xff) << 16) | (d.hi & 0xff000000)) >>> 0;
}
export function descLimit(d: Descriptor): number {
  const raw = (d.hi & 0xf0000) | (d.lo & 0xffff);
  return d.hi & ATTR.G ? ((raw << 12) | 0xfff) >>> 0 : raw;
}
export function descAttr(d: Descriptor): number {
  return d.hi & 0x00f0ff00;
}
export function descDpl(d: Descriptor): number {
  return (d.hi >> 13) & 3;
}
export function descType(d: Descriptor): number {
  return (d.hi >> 8) & 0xf;
}
export function isSystem(d: Descriptor): boolean {
  return (d.hi & DESC.S) === 0;
}
export function isCode(d: Descriptor): boolean {
  return (d.hi & (DESC.S | DESC.CODE)) === (DESC.S | DESC.CODE);
}
export function isPresent(d: Descriptor): boolean {
  return (d.hi & DESC.P) !== 0;
}

/**
 * Read the descriptor a selector names, or raise `vector`(selector) when the
 * selector is outside its table. Null selectors are the caller's business.
 */
export function readDescriptor(cpu: SystemCpu, selector: number, vector: number = EXC.GP, ext = 0): Descriptor {
  const index = selector & 0xfff8;
  let base: number;
  let limit: number;
  if (selector & 4) {
    if ((cpu.ldtrSel & 0xfffc) === 0) cpu.raise(vector, (selector & 0xfffc) | ext);
    base = cpu.ldtrBase;
    limit = cpu.ldtrLimit;
  } else {
    base = cpu.gdtrBase;
    limit = cpu.gdtrLimit;
  }
  if (index + 7 > limit) cpu.raise(vector, (selector & 0xfffc) | ext);
  const addr = (base + index) | 0;
  return { lo: cpu.mem.readSystem(addr, 4), hi: cpu.mem.readSystem(addr + 4, 4), addr };
}

/** Set the accessed bit of a code/data descriptor in memory, if clear. */
export function markAccessed(cpu: SystemCpu, d: Descriptor): void {
  if (!(d.hi & DESC.ACCESSED)) {
    d.hi |= DESC.ACCESSED;
    cpu.mem.writeSystem(d.addr + 5, 1, (d.hi >>> 8) & 0xff);
  }
}

/** Fill a segment register's selector and hidden cache from a descriptor. */
export function loadCache(cpu: SystemCpu, seg: number, selector: number, d: Descriptor): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = descBase(d) | 0;
  cpu.segLimit[seg] = descLimit(d);
  cpu.segAttr[seg] = descAttr(d);
}

/** A null selector in DS/ES/FS/GS: the register loads, and any access through it faults. */
export function loadNull(cpu: SystemCpu, seg: number, selector: number): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0;
  cpu.segAttr[seg] = 0;
}

/**
 * MOV/POP/LxS to a data or stack segment register in protected mode, with the
 * checks of the SDM's MOV pseudo-code. CS is loaded only by far transfers.
 */
export function loadSegmentProtected(cpu: SystemCpu, seg: number, selector: number): void {
  const rpl = selector & 3;
  if (seg === SREG.SS) {
    if ((selector & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
    const d = readDescriptor(cpu, selector);
    if (rpl !== cpu.cpl || isSystem(d) || isCode(d) || !(d.hi & DESC.WRITABLE) || descDpl(d) !== cpu.cpl) {
      cpu.raise(EXC.GP, selector & 0xfffc);
    }
    if (!isPresent(d)) cpu.raise(EXC.SS, selector & 0xfffc);
    markAccessed(cpu, d);
    loadCache(cpu, seg, selector, d);
    return;
  }
  if ((selector & 0xfffc) === 0) {
    loadNull(cpu, seg, selector);
    return;
  }
  const d = readDescriptor(cpu, selector);
  if (isSystem(d) || (isCode(d) && !(d.hi & DESC.READABLE))) cpu.raise(EXC.GP, selector & 0xfffc);
  const conformingCode = isCode(d) && (d.hi & DESC.CONFORMING) !== 0;
  if (!conformingCode && (rpl > descDpl(d) || cpu.cpl > descDpl(d))) cpu.raise(EXC.GP, selector & 0xfffc);
  if (!isPresent(d)) cpu.raise(EXC.NP, selector & 0xfffc);
  markAccessed(cpu, d);
  loadCache(cpu, seg, selector, d);
}

/**
 * After a return or IRET to an outer privilege level: data segment registers
 * that the new CPL may not use are nulled (SDM RET/IRET pseudo-code).
 */
export function nullifyInaccessibleSegments(cpu: SystemCpu): void {
  for (const seg of [SREG.ES, SREG.DS, SREG.FS, SREG.GS]) {
    const attr = cpu.segAttr[seg]!;
    const dpl = (attr >> 13) & 3;
    const dataOrNonConforming = !(attr & ATTR.CODE) || !(attr & DESC.CONFORMING);
    if ((cpu.segSel[seg]! & 0xfffc) !== 0 && dataOrNonConforming && dpl < cpu.cpl) loadNull(cpu, seg, 0);
    else if ((cpu.segSel[seg]! & 0xfffc) === 0) loadNull(cpu, seg, cpu.segSel[seg]!);
  }
}

/**
 * The descriptor behind LAR/LSL/VERR/VERW, or null when the selector is null,
 * outside its table, or not visible at the current CPL and its RPL (these
 * instructions report failure in ZF instead of faulting).
 */
export function queryDescriptor(cpu: SystemCpu, selector: number, forLimit: boolean): Descriptor | null {
  if ((selector & 0xfffc) === 0) return null;
  const index = selector & 0xfff8;
  const limit = selector & 4 ? cpu.ldtrLimit : cpu.gdtrLimit;
  if (selector & 4 && (cpu.ldtrSel & 0xfffc) === 0) return null;
  if (index + 7 > limit) return null;
  const d = readDescriptor(cpu, selector);
  if (isSystem(d)) {
    // LAR accepts TSSs, LDTs and gates; LSL only the types that have a limit.
    const t = descType(d);
    const okLar = [1, 2, 3, 4, 5, 9, 11, 12].includes(t);
    const okLsl = [1, 2, 3, 9, 11].includes(t);
    if (!(forLimit ? okLsl : okLar)) return null;
  }
  const conformingCode = isCode(d) && (d.hi & DESC.CONFORMING) !== 0;
  if (!conformingCode && (descDpl(d) < cpu.cpl || descDpl(d) < (selector & 3))) return null;
  return d;
}
