/**
 * Semantics: port I/O, IN and OUT (the string forms INS/OUTS are in string.ts).
 *
 * The port is the immediate byte (E4-E7) or DX (EC-EF); the size is a byte for
 * the AL forms and the operand size otherwise. Ports go to cpu.ports with that
 * size; a device decides how it answers a word or dword access. In protected
 * mode with CPL > IOPL, and in v8086 mode, the TSS I/O bitmap is consulted first
 * (priv.ts, checkIo).
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { REG } from '../state.js';
import { checkIo } from './priv.js';

/** Port number: DX for EC-EF (opcode bit 3), else the immediate byte. */
function port(cpu: Cpu, i: Insn): number {
  return i.opcode & 8 ? cpu.r16[REG.EDX << 1]! : i.imm & 0xff;
}

function in_(cpu: Cpu, i: Insn): void {
  const size = (i.opcode & 1 ? i.opsize >> 3 : 1) as 1 | 2 | 4;
  const p = port(cpu, i);
  checkIo(cpu, p, size);
  cpu.setReg(REG.EAX, size, cpu.ports.portIn(p, size));
}

function out(cpu: Cpu, i: Insn): void {
  const size = (i.opcode & 1 ? i.opsize >> 3 : 1) as 1 | 2 | 4;
  const p = port(cpu, i);
  checkIo(cpu, p, size);
  cpu.ports.portOut(p, size, cpu.getReg(REG.EAX, size));
}

export const ioSemantics: Record<string, SemFn> = { in: in_, out };
