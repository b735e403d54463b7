/**
 * The protected-mode SystemHooks the CPU calls: one object gathering the
 * runtime's segmentation, interrupt, far-transfer, task and I/O-permission
 * helpers, so the machine can hand it to the CPU in one piece, plus the
 * selector instructions (LLDT, LTR, VERR, VERW, LAR, LSL) that read descriptors.
 */
import { EXC, type SystemCpu, type SystemHooks } from '../src/x86/state.js';
import {
  DESC, SYS, descBase, descLimit, descType, isCode, isPresent, isSystem, loadSegmentProtected, queryDescriptor,
  readDescriptor,
} from './descriptors.js';
import { deliverProtected, farReturnProtected, farTransferProtected, ioPermittedProtected, iretProtected } from './protected.js';
import { loadLdt } from './tasks.js';

type SelectorOp = 'lldt' | 'ltr' | 'verr' | 'verw' | 'lar' | 'lsl';

/** LTR: an available TSS descriptor from the GDT becomes the task register, marked busy. */
function ltr(cpu: SystemCpu, selector: number): void {
  if (cpu.cpl !== 0) cpu.raise(EXC.GP, 0);
  if ((selector & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  if (selector & 4) cpu.raise(EXC.GP, selector & 0xfffc);
  const d = readDescriptor(cpu, selector);
  const type = descType(d);
  if (!isSystem(d) || (type !== SYS.TSS16_AVAIL && type !== SYS.TSS32_AVAIL)) cpu.raise(EXC.GP, selector & 0xfffc);
  if (!isPresent(d)) cpu.raise(EXC.NP, selector & 0xfffc);
  d.hi |= 0x200;
  cpu.mem.writeSystem(d.addr + 5, 1, (d.hi >>> 8) & 0xff);
  cpu.trSel = selector;
  cpu.trBase = descBase(d) | 0;
  cpu.trLimit = descLimit(d);
  cpu.trAttr = d.hi & 0x00f0ff00;
}

/** Returns: LAR/LSL the value or -1; VERR/VERW 1 or 0; LLDT/LTR 0. */
function selectorOp(cpu: SystemCpu, op: SelectorOp, selector: number): number {
  switch (op) {
    case 'lldt':
      if (cpu.cpl !== 0) cpu.raise(EXC.GP, 0);
      loadLdt(cpu, selector, 0, EXC.GP);
      return 0;
    case 'ltr':
      ltr(cpu, selector);
      return 0;
    case 'verr':
    case 'verw': {
      const d = queryDescriptor(cpu, selector, false);
      if (!d || isSystem(d)) return 0;
      if (op === 'verr') return !isCode(d) || d.hi & DESC.READABLE ? 1 : 0;
      return !isCode(d) && d.hi & DESC.WRITABLE ? 1 : 0;
    }
    case 'lar': {
      const d = queryDescriptor(cpu, selector, false);
      return d ? (d.hi & 0x00f0ff00) >>> 0 : -1;
    }
    case 'lsl': {
      const d = queryDescriptor(cpu, selector, true);
      return d ? descLimit(d) : -1;
    }
  }
}

export const protectedModeHooks: SystemHooks = {
  loadSegment: loadSegmentProtected,
  deliver: deliverProtected,
  farTransfer: farTransferProtected,
  farReturn: farReturnProtected,
  iret: iretProtected,
  ioPermitted: ioPermittedProtected,
  selectorOp,
};
