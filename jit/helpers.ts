/**
 * Runtime helpers that generated code calls for the canonical flag record
 * (flagstate.ts): the rare paths, kept out of the generated code. They work
 * through flags.ts on a scratch CPU state, so the flag formulas stay those of
 * the semantics.
 */
import { ARITH_FLAGS, OP, getFlags, setFlags, setLazy, testCC } from '../src/x86/flags.js';
import { CpuState } from '../src/x86/state.js';

const scratch = new CpuState();

/**
 * The six arithmetic flags described by the canonical record: `zm` lazily from
 * (op, a, b, r, size, cin), `ze` from `zbits`, the rest from the CPU.
 */
export function canonWord(cpu: CpuState, op: number, a: number, b: number, r: number, size: number, cin: number,
  zm: number, ze: number, zbits: number): number {
  let w = (zm | ze) !== ARITH_FLAGS ? getFlags(cpu) & ARITH_FLAGS : 0;
  if (ze) w = (w & ~ze) | (zbits & ze);
  if (zm) {
    scratch.flagsBits = 2;
    scratch.lazyOp = op; scratch.lazyA = a; scratch.lazyB = b; scratch.lazyRes = r; scratch.lazySize = size;
    scratch.lazyCin = cin; scratch.lazyMask = zm;
    w = (w & ~zm) | (getFlags(scratch) & zm);
  }
  return w;
}

/** Store the canonical record into the CPU's flag state. */
export function canonFlush(cpu: CpuState, op: number, a: number, b: number, r: number, size: number, cin: number,
  zm: number, ze: number, zbits: number): void {
  if (ze) setFlags(cpu, ze, zbits);
  if (zm) {
    if (op === OP.ADC || op === OP.SBB) cpu.lazyCin = cin;
    setLazy(cpu, op, a, b, r, size, zm);
  }
}

/** Condition code `cc` over a flags word. */
export function ccWord(word: number, cc: number): boolean {
  scratch.lazyMask = 0;
  scratch.flagsBits = word | 2;
  return testCC(scratch, cc);
}
