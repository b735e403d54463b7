/**
 * Semantics: the flag instructions CLC STC CMC CLD STD CLI STI.
 *
 * CF is one of the lazily computed arithmetic flags (flags.ts), so CLC/STC/CMC
 * store it eagerly with setFlags; DF and IF are never lazy and live in
 * cpu.flagsBits. CLI/STI are IOPL-sensitive in protected and v8086 mode
 * (priv.ts). STI that sets IF holds off maskable interrupts until the next
 * instruction has run (cpu.interruptShadow); STI with IF already set does not.
 */
import type { Cpu, SemFn } from '../cpu.js';
import { CF, getCF, setFlags } from '../flags.js';
import { FLAG } from '../rows.js';
import { checkIfChange } from './priv.js';

function clc(cpu: Cpu): void {
  setFlags(cpu, CF, 0);
}
function stc(cpu: Cpu): void {
  setFlags(cpu, CF, CF);
}
function cmc(cpu: Cpu): void {
  setFlags(cpu, CF, getCF(cpu) ^ CF);
}
function cld(cpu: Cpu): void {
  cpu.flagsBits &= ~FLAG.DF;
}
function std(cpu: Cpu): void {
  cpu.flagsBits |= FLAG.DF;
}
function cli(cpu: Cpu): void {
  checkIfChange(cpu);
  cpu.flagsBits &= ~FLAG.IF;
}
function sti(cpu: Cpu): void {
  checkIfChange(cpu);
  if (!(cpu.flagsBits & FLAG.IF)) {
    cpu.flagsBits |= FLAG.IF;
    cpu.interruptShadow = true;
  }
}

export const flagopsSemantics: Record<string, SemFn> = { clc, stc, cmc, cld, std, cli, sti };
