/**
 * Privilege rules shared by the semantics: the one place where the protected-mode
 * checks of the IOPL-sensitive, CPL-0 and I/O instructions live.
 *
 * In real mode (CR0.PE = 0) the processor runs at privilege 0 and every check
 * passes, so each function starts with the real-mode test and returns. The rules
 * that need only EFLAGS and CPL (SDM vol. 3 §20.2.7 "Sensitive instructions", and
 * each instruction's pseudo-code) are written out here; the one that needs the
 * TSS (the I/O permission bitmap) is delegated to the runtime through
 * cpu.sys.ioPermitted. Neither CPUID's VME nor PVI is claimed, so the
 * virtual-interrupt extensions (VIF/VIP) never apply.
 *
 * Far transfers, IRET and segment loads in protected mode go to cpu.sys as a
 * whole (see control.ts and cpu.loadSegment): those are not checks added to the
 * real-mode path but different algorithms.
 */
import type { Cpu } from '../cpu.js';
import { FLAG } from '../rows.js';
import { EXC } from '../state.js';

/** True in protected mode outside v8086 mode: the descriptor-based paths apply. */
export function protectedNotV86(cpu: Cpu): boolean {
  return (cpu.cr0 & 1) !== 0 && (cpu.flagsBits & FLAG.VM) === 0;
}

/** EFLAGS.IOPL. */
export function iopl(cpu: Cpu): number {
  return (cpu.flagsBits >> 12) & 3;
}

/** CLI/STI: CPL <= IOPL in protected mode; IOPL = 3 in v8086 mode; else #GP(0). */
export function checkIfChange(cpu: Cpu): void {
  if (!(cpu.cr0 & 1)) return;
  if (cpu.flagsBits & FLAG.VM ? iopl(cpu) < 3 : cpu.cpl > iopl(cpu)) cpu.raise(EXC.GP, 0);
}

/** PUSHF, POPF, INT n and IRET in v8086 mode need IOPL = 3; elsewhere they are not IOPL-checked. */
export function checkV86Iopl(cpu: Cpu): void {
  if (cpu.flagsBits & FLAG.VM && iopl(cpu) < 3) cpu.raise(EXC.GP, 0);
}

/** HLT and the other CPL-0 instructions: #GP(0) at CPL > 0 (v8086 mode runs at CPL 3). */
export function requireCpl0(cpu: Cpu): void {
  if (cpu.cr0 & 1 && (cpu.cpl !== 0 || cpu.flagsBits & FLAG.VM)) cpu.raise(EXC.GP, 0);
}

/**
 * IN, OUT, INS, OUTS: in protected mode with CPL > IOPL, and always in v8086
 * mode, the TSS I/O permission bitmap decides (SDM vol. 1 §19.5.2).
 */
export function checkIo(cpu: Cpu, port: number, size: number): void {
  if (!(cpu.cr0 & 1)) return;
  if (!(cpu.flagsBits & FLAG.VM) && cpu.cpl <= iopl(cpu)) return;
  const sys = cpu.sys;
  if (!sys || !sys.ioPermitted(cpu, port, size)) cpu.raise(EXC.GP, 0);
}
