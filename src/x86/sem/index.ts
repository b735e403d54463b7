/**
 * The semantics registry: every `sem` name used by the instruction table mapped
 * to its function. Each group module (one per instruction family, as DESIGN.md
 * lays out) exports a record; this file merges them. The cold tier calls these
 * functions directly and the translator emits calls to the same ones, so each
 * instruction's meaning exists exactly once.
 *
 * Rules for semantics functions (see cpu.ts for the operand/stack/flag helpers):
 * - Precise state: do every read and check that can fault before writing any
 *   register or flag; a memory write may come last. Multi-word stack sequences
 *   read/write with cpu.peek/poke first and move SP at the end.
 * - The Insn passed in is reused by the executor: never keep a reference to it.
 * - No allocation or closure creation per call: generated code calls these too.
 * - Control transfers set cpu.nextEip; faults are cpu.raise(EXC.x, code).
 */
import type { SemFn } from '../cpu.js';
import { ROWS } from '../rows.js';
import { aluSemantics } from './alu.js';
import { shiftSemantics } from './shift.js';
import { muldivSemantics } from './muldiv.js';
import { bcdSemantics } from './bcd.js';
import { bitsSemantics } from './bits.js';
import { dataSemantics } from './data.js';
import { stringSemantics } from './string.js';
import { controlSemantics } from './control.js';
import { stackSemantics } from './stack.js';
import { segmentSemantics } from './segment.js';
import { flagopsSemantics } from './flagops.js';
import { ioSemantics } from './io.js';
import { systemSemantics } from './system.js';
import { x87Semantics } from './x87.js';
import { privilegedSemantics } from './privileged.js';

const GROUPS: Record<string, SemFn>[] = [
  aluSemantics, shiftSemantics, muldivSemantics, bcdSemantics, bitsSemantics, dataSemantics,
  stringSemantics, controlSemantics, stackSemantics, segmentSemantics, flagopsSemantics, ioSemantics,
  systemSemantics, privilegedSemantics, x87Semantics,
];

function merge(groups: Record<string, SemFn>[]): Record<string, SemFn> {
  const out: Record<string, SemFn> = {};
  for (const g of groups) {
    for (const [name, fn] of Object.entries(g)) {
      if (out[name]) throw new Error(`semantics: ${name} defined twice`);
      out[name] = fn;
    }
  }
  return out;
}

/** Every semantics function, by the table's `sem` names. */
export const SEMANTICS: Readonly<Record<string, SemFn>> = merge(GROUPS);

/** The table's semantics names, of the given classes, that have no function. */
export function missingSemantics(sem: Readonly<Record<string, SemFn>>, classes: string[] = ['int', 'sys', 'ud', 'simd']): string[] {
  const missing = new Set<string>();
  for (const row of ROWS) if (classes.includes(row.cls) && !sem[row.sem]) missing.add(row.sem);
  return [...missing].sort();
}
