/**
 * A small harness for instruction-level CPU tests: a bare machine with the code
 * at CODE, registers set by name, one instruction executed at a time.
 *
 * `run` executes through the CPU's own step (decode cache, exception delivery);
 * `fault` executes the decoded instruction directly and returns the vector it
 * raised, so that a test can check that nothing was written before the fault.
 */
import { createBareMachine, type BareMachine } from '../../src/machine/bare.js';
import { enterFlat32 } from '../../src/machine/kernels.js';
import { decode } from '../../src/x86/decoder.js';
import { ARITH_FLAGS } from '../../src/x86/flags.js';
import { CpuException, REAL_MODE_ATTR, REG, SREG } from '../../src/x86/state.js';

export const CODE = 0x1000;
/** Where tests put their memory operands. */
export const DATA = 0x2000;

export type RegName = 'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi';
const NAMES: RegName[] = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export interface Machine extends BareMachine {
  bits: 16 | 32;
}

/** A machine in 32-bit flat mode (through the descriptor caches) or 16-bit real mode. */
export function machine(bits: 16 | 32 = 32): Machine {
  const m = createBareMachine(1 << 20);
  if (bits === 32) {
    enterFlat32(m);
  } else {
    for (let s = 0; s < 6; s++) {
      m.cpu.segSel[s] = 0;
      m.cpu.segBase[s] = 0;
      m.cpu.segLimit[s] = 0xffff;
      m.cpu.segAttr[s] = REAL_MODE_ATTR;
    }
  }
  m.cpu.r32[REG.ESP] = 0x8000;
  return { ...m, bits };
}

/** Set registers by name; `flags` sets EFLAGS. */
export function set(m: Machine, regs: Partial<Record<RegName | 'flags', number>>): void {
  for (const [k, v] of Object.entries(regs)) {
    if (k === 'flags') m.cpu.eflags = v!;
    else m.cpu.r32[NAMES.indexOf(k as RegName)] = v!;
  }
}

export function reg(m: Machine, name: RegName): number {
  return m.cpu.r32[NAMES.indexOf(name)]! >>> 0;
}

/** The six arithmetic flags, optionally without those in `ignore`. */
export function flags(m: Machine, ignore = 0): number {
  return m.cpu.eflags & ARITH_FLAGS & ~ignore;
}

/** Execute `code` (one instruction unless `count` says more) at CODE. */
export function run(m: Machine, code: number[], count = 1): void {
  m.phys.load(CODE, Uint8Array.from(code));
  m.cpu.eip = CODE;
  m.cpu.halted = false;
  for (let k = 0; k < count; k++) m.cpu.step();
}

/** Execute one instruction directly; the vector it raises, or -1. */
export function fault(m: Machine, code: number[]): number {
  m.cpu.eip = CODE;
  const insn = decode(Uint8Array.from(code), 0, m.bits === 32);
  try {
    m.cpu.execute(insn);
  } catch (e) {
    if (e instanceof CpuException) return e.vector;
    throw e;
  }
  return -1;
}

export function poke32(m: Machine, addr: number, v: number): void {
  m.phys.write32(addr, v);
}
export function peek32(m: Machine, addr: number): number {
  return m.phys.read32(addr) >>> 0;
}
export function poke16(m: Machine, addr: number, v: number): void {
  m.phys.write16(addr, v);
}
export function peek16(m: Machine, addr: number): number {
  return m.phys.read16(addr);
}
export function poke8(m: Machine, addr: number, v: number): void {
  m.phys.write8(addr, v);
}
export function peek8(m: Machine, addr: number): number {
  return m.phys.read8(addr);
}

/** Limit DS to `limit` bytes - 1 (to make an access fault). */
export function limitDS(m: Machine, limit: number): void {
  m.cpu.segLimit[SREG.DS] = limit;
}

/** [disp32] ModRM memory operand bytes for reg field `r` (mod 00, rm 101). */
export function abs32(r: number, addr: number): number[] {
  return [(r << 3) | 5, addr & 0xff, (addr >>> 8) & 0xff, (addr >>> 16) & 0xff, addr >>> 24];
}

/** [disp16] ModRM memory operand bytes for reg field `r` (mod 00, rm 110). */
export function abs16(r: number, addr: number): number[] {
  return [(r << 3) | 6, addr & 0xff, (addr >>> 8) & 0xff];
}

/** ModRM for a register-register form. */
export function rr(regField: number, rm: number): number {
  return 0xc0 | (regField << 3) | rm;
}
