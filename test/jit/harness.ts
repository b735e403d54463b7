/**
 * Differential harness for the translator: the same program on two bare
 * machines, one run by the cold tier (cpu.run) and one by the JIT engine, with
 * the same instruction counts, then every register, EFLAGS, the segment state,
 * the instruction count and all of RAM compared.
 *
 * The machines are 32-bit flat (hidden descriptor caches, as the kernels use) or
 * 16-bit real mode. Every interrupt vector points at a HLT at 0x500, so a
 * program that faults (a divide error, #UD from a random byte) ends the same
 * way in both tiers.
 */
import { createBareMachine, type BareMachine } from '../../src/machine/bare.js';
import { enterFlat32 } from '../../src/machine/kernels.js';
import { REAL_MODE_ATTR, REG, SREG } from '../../src/x86/state.js';
import { JitEngine, type JitOptions } from '../../jit/engine.js';

export const CODE = 0x1000;
export const DATA = 0x20000;
export const DATA_SIZE = 0x10000;
export const STACK = 0x80000;
export const HANDLER = 0x500;
export const MEM_SIZE = 1 << 20;

export interface Setup {
  bits: 16 | 32;
  code: Uint8Array;
  regs?: number[];
  eflags?: number;
  /** Seed for the data window's contents. */
  seed?: number;
}

export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
}

export function machine(s: Setup): BareMachine {
  const m = createBareMachine(MEM_SIZE);
  const { cpu, phys } = m;
  if (s.bits === 32) enterFlat32(m);
  else {
    for (let g = 0; g < 6; g++) {
      cpu.segSel[g] = 0; cpu.segBase[g] = 0; cpu.segLimit[g] = 0xffff; cpu.segAttr[g] = REAL_MODE_ATTR;
    }
  }
  // IVT: every vector to 0000:0500, where a HLT waits.
  const ivt = new Uint8Array(1024);
  for (let v = 0; v < 256; v++) { ivt[v * 4] = HANDLER & 0xff; ivt[v * 4 + 1] = HANDLER >> 8; }
  phys.load(0, ivt);
  phys.load(HANDLER, Uint8Array.of(0xf4));
  const next = prng(s.seed ?? 1);
  const data = new Uint8Array(DATA_SIZE);
  for (let i = 0; i < data.length; i++) data[i] = next() & 0xff;
  phys.load(DATA, data);
  phys.load(CODE, s.code);
  cpu.r32.fill(0);
  if (s.regs) for (let r = 0; r < 8; r++) cpu.r32[r] = s.regs[r]!;
  cpu.r32[REG.ESP] = s.bits === 32 ? STACK : 0xfff0;
  if (s.bits === 16) { cpu.segBase[SREG.SS] = 0x70000; cpu.segSel[SREG.SS] = 0x7000; }
  cpu.eflags = s.eflags ?? 2;
  cpu.eip = CODE;
  cpu.halted = false;
  return m;
}

/** Snapshot of everything compared. */
export interface Snapshot {
  regs: number[];
  eip: number;
  eflags: number;
  seg: number[];
  count: number;
  halted: boolean;
  ram: Uint8Array;
}

export function snapshot(m: BareMachine): Snapshot {
  const c = m.cpu;
  return {
    regs: [...c.r32].map((v) => v >>> 0), eip: c.eip >>> 0, eflags: c.eflags >>> 0,
    seg: [...c.segSel, ...[...c.segBase].map((v) => v >>> 0), ...c.segLimit, ...c.segAttr],
    count: c.instructionCount, halted: c.halted, ram: m.phys.ram,
  };
}

const NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export function compare(a: Snapshot, b: Snapshot): string[] {
  const d: string[] = [];
  const hex = (v: number) => (v >>> 0).toString(16);
  a.regs.forEach((v, i) => { if (v !== b.regs[i]) d.push(`${NAMES[i]}: cold ${hex(v)} jit ${hex(b.regs[i]!)}`); });
  if (a.eip !== b.eip) d.push(`eip: cold ${hex(a.eip)} jit ${hex(b.eip)}`);
  if (a.eflags !== b.eflags) d.push(`eflags: cold ${hex(a.eflags)} jit ${hex(b.eflags)}`);
  if (a.seg.some((v, i) => v !== b.seg[i])) d.push('segment state differs');
  if (a.count !== b.count) d.push(`instructionCount: cold ${a.count} jit ${b.count}`);
  if (a.halted !== b.halted) d.push(`halted: cold ${a.halted} jit ${b.halted}`);
  if (!Buffer.from(a.ram.buffer, a.ram.byteOffset, a.ram.length).equals(Buffer.from(b.ram.buffer, b.ram.byteOffset, b.ram.length))) {
    let first = -1, n = 0;
    for (let i = 0; i < a.ram.length; i++) if (a.ram[i] !== b.ram[i]) { if (first < 0) first = i; n++; }
    d.push(`ram: ${n} bytes differ, first at ${hex(first)} (cold ${hex(a.ram[first]!)} jit ${hex(b.ram[first]!)})`);
  }
  return d;
}

export interface DiffOptions extends JitOptions {
  /** Instructions to run, as chunks of run() calls (each entry one call). */
  chunks: number[];
}

/** Run `s` on both tiers and return the differences (empty when they agree). */
export function differential(s: Setup, opts: DiffOptions): { diffs: string[]; cold: Snapshot; jit: Snapshot; engine: JitEngine } {
  const a = machine(s);
  const b = machine(s);
  const engine = new JitEngine(b.cpu, b.phys, null, { mode: 'always', ...opts });
  for (const n of opts.chunks) {
    if (!a.cpu.halted) a.cpu.run(n);
    if (!b.cpu.halted) engine.run(n);
  }
  const cold = snapshot(a);
  const jit = snapshot(b);
  return { diffs: compare(cold, jit), cold, jit, engine };
}
