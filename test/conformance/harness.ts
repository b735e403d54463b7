/**
 * The machine the vectors run on: one bare machine (16 MiB, open-bus ports),
 * reused for every test. Between tests only what the previous test touched is
 * put back: every RAM page is watched through PhysicalMemory's code-page watch,
 * whose contract is that any write to a watched page (by the CPU, a loader or
 * DMA, whatever path it takes) notifies the listeners first. A notified page is
 * dirty; after the test it is checked for stray bytes, zeroed through
 * PhysicalMemory.load (so that cached decodings/translations of it are dropped)
 * and watched again. No journal of the CPU's writes is needed, and a write by a
 * buggy instruction to an unexpected address is caught wherever it lands.
 */
import { createBareMachine, type BareMachine } from '../../src/machine/bare.js';
import type { Cpu } from '../../src/x86/cpu.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../../runtime/memory.js';
import type { ActualState, Diff } from './compare.js';
import type { Regs, Setup } from './ia32.js';

/** How compiled code is used: 'off' cold tier only, 'on' translate hot code, 'always' translate everything. */
export type JitMode = 'off' | 'on' | 'always';

/** GPR order EAX ECX EDX EBX ESP EBP ESI EDI and the 286 names of their low words. */
const GPR = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;
/**
 * Upper halves loaded into EAX..EDI. The 286 has none; 16-bit instructions must
 * leave them alone, and nonzero values catch a 32-bit write where a 16-bit one belongs.
 */
export const UPPER_HALVES = [0xa5a5, 0x5a5a, 0x0ff0, 0xf00f, 0x3c3c, 0xc3c3, 0x6969, 0x9696];

/** Why a run ended. */
export type Stop = 'halt' | 'cap' | 'storm' | 'shutdown' | 'host-error';

export interface Outcome {
  stop: Stop;
  /** Instructions (steps) executed. */
  steps: number;
  message: string;
}

/** A run that takes more exceptions than this is stopped: no vector takes more than one. */
const MAX_EXCEPTIONS = 4;

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

export class Harness {
  readonly machine: BareMachine;
  private readonly cpu: Cpu;
  private readonly pages: number;
  private readonly isDirty: Uint8Array;
  private readonly dirty: number[] = [];
  private readonly words: Uint32Array;
  private cleaning = false;

  constructor(readonly jit: JitMode = 'off') {
    // The translator (a later issue) plugs in here for jit 'on'/'always'; until then
    // every mode runs the cold tier.
    this.machine = createBareMachine();
    this.cpu = this.machine.cpu;
    const phys = this.machine.phys;
    this.pages = phys.size >>> PAGE_SHIFT;
    this.isDirty = new Uint8Array(this.pages);
    this.words = new Uint32Array(phys.ram.buffer, phys.ram.byteOffset, phys.size >>> 2);
    phys.onCodeWrite((page) => {
      if (!this.cleaning && !this.isDirty[page]) {
        this.isDirty[page] = 1;
        this.dirty.push(page);
      }
    });
    for (let p = 0; p < this.pages; p++) phys.watchPage(p);
  }

  /** Load registers and RAM for one test (the previous test must have been cleaned up). */
  load(s: Setup): void {
    const cpu = this.cpu;
    cpu.reset();
    const r = s.regs;
    for (let n = 0; n < 8; n++) cpu.r32[n] = (UPPER_HALVES[n]! << 16) | (r[GPR[n]!] & 0xffff);
    for (let seg = 0; seg < 6; seg++) cpu.loadSegment(seg, r[SEGS[seg]!]);
    cpu.eip = r.ip;
    cpu.eflags = r.flags;
    const phys = this.machine.phys;
    for (const [a, v] of s.ram) phys.write8(a, v);
  }

  /** Run until the CPU has executed a HLT, at most `cap` instructions. */
  run(cap: number): Outcome {
    const cpu = this.cpu;
    let exceptions = 0;
    let steps = 0;
    try {
      while (steps < cap) {
        if (cpu.halted) return { stop: 'halt', steps, message: '' };
        const before = cpu.instructionCount;
        const why = cpu.run(1);
        steps++;
        if (why === 'shutdown') return { stop: 'shutdown', steps, message: 'shutdown (triple fault)' };
        if (cpu.instructionCount === before && !cpu.halted && ++exceptions > MAX_EXCEPTIONS) {
          return { stop: 'storm', steps, message: `stopped after ${exceptions} exceptions in ${steps} steps` };
        }
      }
      if (cpu.halted) return { stop: 'halt', steps, message: '' };
      return { stop: 'cap', steps, message: `no HLT within ${cap} instructions` };
    } catch (e) {
      // A host exception is a bug in bt86 (not a guest fault): report it and start clean.
      const err = e as Error;
      const where = err.stack?.split('\n').slice(1, 3).map((l) => l.trim()).join(' / ') ?? '';
      return { stop: 'host-error', steps, message: `host exception: ${err.message}${where ? ` (${where})` : ''}` };
    }
  }

  /** The state after the run, for compare.ts. */
  actual(): ActualState {
    const cpu = this.cpu;
    const regs = {} as Regs;
    const checks: Diff[] = [];
    for (let n = 0; n < 8; n++) {
      regs[GPR[n]!] = cpu.r32[n]! & 0xffff;
      const hi = cpu.r32[n]! >>> 16;
      if (hi !== UPPER_HALVES[n]) checks.push({ what: `e${GPR[n]}[31:16]`, expected: UPPER_HALVES[n]!, actual: hi, mask: 0xffff, digits: 4 });
    }
    for (let seg = 0; seg < 6; seg++) {
      const sel = cpu.segSel[seg]!;
      regs[SEGS[seg]!] = sel;
      const base = cpu.segBase[seg]! >>> 0;
      if (base !== sel * 16) checks.push({ what: `${SEGS[seg]}.base`, expected: sel * 16, actual: base, mask: 0xffffffff, digits: 6 });
    }
    regs.ip = cpu.eip >>> 0;
    regs.flags = cpu.eflags >>> 0;
    const ram = this.machine.phys.ram;
    return { regs, checks, byte: (a) => (a >= 0 && a < ram.length ? ram[a]! : 0xff), stray: this.strayBytes() };
  }

  /** Nonzero bytes in dirty pages (the expectation decides which are expected). */
  private *strayBytes(): Generator<number> {
    const w = this.words;
    const ram = this.machine.phys.ram;
    for (const p of this.dirty) {
      const first = p << (PAGE_SHIFT - 2);
      const last = first + (PAGE_SIZE >>> 2);
      for (let i = first; i < last; i++) {
        if (w[i] === 0) continue;
        for (let b = i << 2; b < (i << 2) + 4; b++) if (ram[b] !== 0) yield b;
      }
    }
  }

  /** Zero every page the test wrote and watch it again. */
  cleanup(): void {
    const phys = this.machine.phys;
    this.cleaning = true;
    try {
      for (const p of this.dirty) {
        phys.load(p << PAGE_SHIFT, ZERO_PAGE);
        phys.watchPage(p);
        this.isDirty[p] = 0;
      }
      this.dirty.length = 0;
    } finally {
      this.cleaning = false;
    }
  }
}
