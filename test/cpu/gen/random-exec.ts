/**
 * The engine of the bad-input test (test/cpu/random-exec.test.ts): random code
 * run from random states on the bare CPU and on the full machine, with every
 * host error and broken state recorded.
 *
 * A *world* is a machine plus a way to put it in a fresh random state:
 * - bare: the CPU on 1 MiB of flat RAM without the system hooks: real mode
 *   (through an IVT of random bytes), big real mode, protected mode;
 * - full: CPU + paging MMU + protected-mode runtime on 4 MiB: real mode, 16-
 *   and 32-bit protected mode at CPL 0 and 3, v8086 mode, paging (32-bit, PSE,
 *   PAE with and without NX, page tables of random bytes), a GDT mixing good
 *   and random descriptors, an IDT whose interrupt, trap and task gates lead
 *   into random code, a TSS, an LDT of random bytes.
 * Half the fresh states also get a random x87 state (values of every class and
 * exponent, any control word).
 * Memory starts random; a few pages are refilled before each fresh state, and
 * the descriptor tables every few states (the guest overwrites them too).
 *
 * Two ways to run a world:
 * - run mode: the CPU's own run loop (cpu.run: the cold tier's fast path and
 *   exception delivery) for a random number of instructions; faults go through
 *   the IVT/IDT into more random code until the budget, HLT or a triple fault;
 * - step mode: one instruction at a time (fetch, decode, execute); after an
 *   exception, and every few instructions, execution moves to a new random
 *   address, so nearly every instruction is fresh random bytes (run mode keeps
 *   coming back to the same handlers).
 *
 * REP string instructions yield every REP_LIMIT elements (cpu.repLimit): a
 * random ECX makes one of them run for minutes otherwise.
 */
import { createBareMachine } from '../../../src/machine/bare.js';
import { Machine } from '../../../src/machine/machine.js';
import type { Cpu } from '../../../src/x86/cpu.js';
import { newInsn } from '../../../src/x86/decoder.js';
import { ATTR, CpuException, REG, SREG } from '../../../src/x86/state.js';
import { Rng } from './rng.js';

const VM = 1 << 17;
const TF = 1 << 8;
const REP_LIMIT = 256;

export interface Outcome {
  executed: number;
  /** Fresh random states. */
  runs: number;
  /** How runs (run mode) or instructions (step mode) ended, by kind. */
  ends: Map<string, number>;
  failures: string[];
  /** The slowest single execution seen (step mode). */
  slowest: string;
}

interface World {
  cpu: Cpu;
  read(addr: number): number;
  /** Put the machine in a fresh random state; returns its mode's name. */
  fresh(rng: Rng): string;
  /** A random EIP for the current mode. */
  randomEip(rng: Rng): number;
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

function describeState(w: World, mode: string): string {
  const cpu = w.cpu;
  const lin = (cpu.segBase[SREG.CS]! + cpu.eip) >>> 0;
  const bytes: string[] = [];
  for (let i = 0; i < 16; i++) bytes.push(w.read((lin + i) >>> 0).toString(16).padStart(2, '0'));
  const regs = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].map((n, r) => `${n}=${hex(cpu.r32[r]!)}`).join(' ');
  return `mode ${mode}, cs:eip ${cpu.segSel[SREG.CS]!.toString(16)}:${hex(cpu.eip)} cr0 ${hex(cpu.cr0)} cpl ${cpu.cpl}\n` +
    `    ${regs} eflags=${hex(cpu.eflags)}\n    bytes at cs:eip (physical): ${bytes.join(' ')}`;
}

/** Invariants of a machine state; returns what is wrong, or ''. */
function checkState(cpu: Cpu): string {
  const eip = cpu.eip;
  if (!Number.isInteger(eip) || eip < 0 || eip > 0xffffffff) return `EIP is ${eip}`;
  const fl = cpu.eflags;
  if (!Number.isInteger(fl) || (fl & 2) === 0) return `EFLAGS is ${fl}`;
  if (!(cpu.cpl >= 0 && cpu.cpl <= 3 && Number.isInteger(cpu.cpl))) return `CPL is ${cpu.cpl}`;
  for (const v of [cpu.cr0, cpu.cr2, cpu.cr3, cpu.cr4, cpu.nextEip]) if (!Number.isInteger(v)) return `a control register or nextEip is ${v}`;
  return '';
}

function errorText(e: unknown): string {
  if (e instanceof CpuException) return `a CpuException escaped: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n')}`;
  return String(e);
}

function count(o: Outcome, kind: string): void {
  o.ends.set(kind, (o.ends.get(kind) ?? 0) + 1);
}

function randomRegs(cpu: Cpu, rng: Rng): void {
  for (let r = 0; r < 8; r++) cpu.r32[r] = rng.chance(0.3) ? rng.int(0x10000) : rng.u32();
}

/**
 * A random x87 state: control word (mostly masked exceptions), TOP, tags, and
 * register values of every class (zeros, denormals, normals of any exponent,
 * infinities, NaNs, unsupported encodings).
 */
function randomFpu(cpu: Cpu, rng: Rng): void {
  const f = cpu.fpu;
  f.cw = (rng.chance(0.7) ? 0x037f : rng.u32() & 0x1f3f) | 0x40;
  f.sw = rng.chance(0.8) ? 0 : rng.u32() & 0x7f7f & ~0x80;
  f.top = rng.int(8);
  f.empty = rng.chance(0.5) ? rng.int(256) : 0;
  for (let p = 0; p < 8; p++) {
    const r = rng.int(10);
    const exp = r < 4 ? 16383 + rng.int(130) - 65 : r < 6 ? rng.int(0x7fff) : r < 7 ? 0 : r < 8 ? 0x7fff : rng.int(0x8000);
    let sig = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
    if (r < 6 && rng.chance(0.95)) sig |= 1n << 63n;
    if (rng.chance(0.1)) sig &= ~((1n << BigInt(rng.int(64))) - 1n);
    f.sig[p] = sig;
    f.se[p] = exp | (rng.int(2) << 15);
  }
}

/** Random EFLAGS: arithmetic flags, DF, IF, IOPL, AC, NT, ID, sometimes TF. */
function randomFlags(rng: Rng): number {
  let f = (rng.u32() & 0x247fd5) | 2;
  if (!rng.chance(0.1)) f &= ~TF;
  return f;
}

// ---- the two ways to run ---------------------------------------------------------------------

export function runMode(w: World, seed: number, total: number): Outcome {
  const rng = new Rng(seed);
  const cpu = w.cpu;
  const out: Outcome = { executed: 0, runs: 0, ends: new Map(), failures: [], slowest: '' };
  while (out.executed < total && out.failures.length < 5) {
    const mode = w.fresh(rng);
    out.runs++;
    const start = describeState(w, mode);
    const before = cpu.instructionCount;
    try {
      const end = cpu.run(rng.range(100, 40_000));
      count(out, cpu.halted ? 'halt' : end);
    } catch (e) {
      out.failures.push(`${errorText(e)}\n  started in ${start}\n  stopped in ${describeState(w, mode)}`);
      count(out, 'host error');
    }
    const bad = checkState(cpu);
    if (bad) out.failures.push(`${bad}\n  started in ${start}`);
    out.executed += cpu.instructionCount - before;
  }
  return out;
}

export function stepMode(w: World, seed: number, total: number): Outcome {
  const rng = new Rng(seed);
  const cpu = w.cpu;
  const insn = newInsn();
  const out: Outcome = { executed: 0, runs: 0, ends: new Map(), failures: [], slowest: '' };
  let slowest = 0;
  let mode = '';
  const snapRegs = new Int32Array(8);
  while (out.executed < total && out.failures.length < 5) {
    if (!mode || rng.chance(0.002)) {
      mode = w.fresh(rng);
      out.runs++;
    }
    cpu.eip = w.randomEip(rng);
    cpu.halted = false;
    for (let k = rng.range(1, 8); k > 0; k--) {
      const esp = cpu.r32[REG.ESP]!;
      // The state before the instruction, formatted only when it is needed.
      snapRegs.set(cpu.r32);
      const snapEip = cpu.eip, snapFlags = cpu.eflags, snapCs = cpu.segSel[SREG.CS]!, snapBase = cpu.segBase[SREG.CS]!;
      const start = () => {
        const now = [cpu.r32.slice(), cpu.eip, cpu.eflags, cpu.segSel[SREG.CS]!, cpu.segBase[SREG.CS]!] as const;
        cpu.r32.set(snapRegs);
        cpu.eip = snapEip;
        cpu.eflags = snapFlags;
        cpu.segSel[SREG.CS] = snapCs;
        cpu.segBase[SREG.CS] = snapBase;
        const text = describeState(w, mode);
        cpu.r32.set(now[0]);
        cpu.eip = now[1];
        cpu.eflags = now[2];
        cpu.segSel[SREG.CS] = now[3];
        cpu.segBase[SREG.CS] = now[4];
        return text;
      };
      const t0 = performance.now();
      let stop = false;
      try {
        cpu.execute(cpu.fetchDecode(insn));
        count(out, 'completed');
      } catch (e) {
        cpu.r32[REG.ESP] = esp;
        if (e instanceof CpuException) count(out, `#${e.vector}`);
        else {
          out.failures.push(`${errorText(e)}\n  in ${start()}`);
          count(out, 'host error');
        }
        stop = true;
      }
      const dt = performance.now() - t0;
      if (dt > slowest) {
        slowest = dt;
        out.slowest = `${dt.toFixed(1)} ms: ${start()}`;
      }
      out.executed++;
      const bad = checkState(cpu);
      if (bad) out.failures.push(`${bad}\n  after ${start()}`);
      if (stop || cpu.halted || cpu.stopReason) {
        cpu.stopReason = '';
        break;
      }
    }
  }
  return out;
}

// ---- the bare world ------------------------------------------------------------------------------

export function bareWorld(seed: number): World {
  const rng = new Rng(seed);
  const MEM = 1 << 20;
  const m = createBareMachine(MEM);
  const cpu = m.cpu;
  m.phys.load(0, rng.bytes(MEM));
  let mode = 'real';
  return {
    cpu,
    read: (a) => m.phys.read8(a),
    randomEip: (r) => (mode === 'real' || mode === 'pm16-nohooks' ? r.int(0x10000) : r.int(MEM)),
    fresh(r: Rng): string {
      for (let k = 0; k < 4; k++) m.phys.load(r.int(MEM >> 12) << 12, r.bytes(0x1000));
      if (r.chance(0.05)) m.phys.load(0, r.bytes(0x400)); // a new IVT
      cpu.reset();
      cpu.repLimit = REP_LIMIT;
      cpu.stopReason = '';
      mode = r.pick(['real', 'big-real', 'pm32-nohooks', 'pm16-nohooks']);
      randomRegs(cpu, r);
      if (r.chance(0.5)) randomFpu(cpu, r);
      cpu.eflags = randomFlags(r);
      cpu.idtrBase = 0;
      cpu.idtrLimit = r.chance(0.9) ? 0x3ff : r.int(0x400);
      const d32 = mode === 'big-real' || mode === 'pm32-nohooks';
      for (let s = 0; s < 6; s++) {
        cpu.segSel[s] = r.int(0x10000);
        cpu.segBase[s] = mode === 'real' ? cpu.segSel[s]! << 4 : 0;
        if (mode !== 'real') {
          cpu.segLimit[s] = r.chance(0.8) ? 0xffffffff : r.u32();
          cpu.segAttr[s] = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED | (d32 ? ATTR.DB | ATTR.G : 0) | (s === SREG.CS ? ATTR.CODE : 0);
        }
      }
      if (mode === 'pm32-nohooks' || mode === 'pm16-nohooks') cpu.cr0 |= 1;
      cpu.r32[REG.ESP] = r.chance(0.7) ? r.int(MEM) : r.u32();
      cpu.eip = this.randomEip(r);
      return mode;
    },
  };
}

// ---- the full world ------------------------------------------------------------------------------

const GDT = 0x1000;
const IDT = 0x2000;
const TSS = 0x3000;
const LDT = 0x6000;
const PD = 0x8000;
const PT = 0x9000;
const PDPT = 0xa000;
const PAE_PD = 0xb000;
const PAE_PT = 0xc000;
const TABLES_END = 0x10000;

/** Descriptor dwords for a base, a byte limit (page-granular above 1 MiB), an access byte and the D/L/AVL nibble. */
function desc(base: number, limit: number, access: number, flags: number): [number, number] {
  const g = limit > 0xfffff;
  const raw = g ? limit >>> 12 : limit;
  const lo = ((base & 0xffff) << 16) | (raw & 0xffff);
  const hi = ((base >>> 16) & 0xff) | (access << 8) | (raw & 0xf0000) | ((flags | (g ? 8 : 0)) << 20) | (base & 0xff000000);
  return [lo >>> 0, hi >>> 0];
}

const SEL = { CODE32: 0x08, DATA32: 0x10, CODE32U: 0x1b, DATA32U: 0x23, CODE16: 0x28, DATA16: 0x30, TSS: 0x38, LDT: 0x40 };

export function fullWorld(seed: number): World {
  const rng = new Rng(seed);
  const MEM = 4 << 20;
  const m = new Machine({ memSize: MEM, noReboot: true });
  const cpu = m.cpu;
  const phys = m.phys;
  phys.load(0, rng.bytes(MEM));
  const w32 = (a: number, v: number) => phys.write32(a, v);
  const put = (a: number, d: [number, number]) => { w32(a, d[0]); w32(a + 4, d[1]); };
  let mode = 'real';
  let states = 0;

  const tables = (r: Rng) => {
    phys.load(0, r.bytes(TABLES_END));
    // GDT: good descriptors in the first slots, random bytes in the rest.
    put(GDT, [0, 0]);
    put(GDT + SEL.CODE32, desc(0, 0xffffffff, 0x9a, 4));
    put(GDT + SEL.DATA32, desc(0, 0xffffffff, 0x92, 4));
    put(GDT + (SEL.CODE32U & ~3), desc(0, 0xffffffff, 0xfa, 4));
    put(GDT + (SEL.DATA32U & ~3), desc(0, 0xffffffff, 0xf2, 4));
    put(GDT + SEL.CODE16, desc(r.int(MEM) & ~0xf, 0xffff, 0x9a, 0));
    put(GDT + SEL.DATA16, desc(r.int(MEM) & ~0xf, 0xffff, 0x92, 0));
    put(GDT + SEL.TSS, desc(TSS, 0x67 + 0x2000, 0x89, 0));
    put(GDT + SEL.LDT, desc(LDT, r.int(0x800), 0x82, 0));
    // IDT: gates into random code (interrupt, trap, 16-bit, task gates), mostly present.
    for (let v = 0; v < 256; v++) {
      const off = r.int(MEM);
      const x = r.int(100);
      const type = x < 45 ? 0xe : x < 85 ? 0xf : x < 92 ? r.pick([6, 7]) : x < 96 ? 5 : r.int(16);
      const dpl = r.chance(0.7) ? 3 : 0;
      const p = r.chance(0.97) ? 0x80 : 0;
      const sel = type === 5 ? SEL.TSS : r.chance(0.95) ? SEL.CODE32 : r.pick([SEL.CODE16, SEL.CODE32U, r.int(0x10000)]);
      w32(IDT + v * 8, ((sel & 0xffff) << 16) | (off & 0xffff));
      w32(IDT + v * 8 + 4, ((off & 0xffff0000) | ((p | (dpl << 5) | type) << 8)) >>> 0);
    }
    // TSS: a ring-0 stack; the rest (a task switch's new state, the I/O bitmap) stays random.
    w32(TSS + 4, r.int(MEM));
    w32(TSS + 8, SEL.DATA32);
    w32(TSS + 0x64, (0x68 << 16) | (r.chance(0.1) ? 1 : 0));
    // Page tables: identity maps of the first 4 MiB (32-bit 4 KiB pages, PAE), random entries elsewhere.
    for (let i = 0; i < 1024; i++) w32(PD + 4 * i, i === 0 ? PT | 0x7 : r.chance(0.5) ? 0 : r.u32());
    for (let i = 0; i < 1024; i++) w32(PT + 4 * i, (i << 12) | (r.chance(0.95) ? 0x7 : r.int(8)));
    for (let i = 0; i < 4; i++) { w32(PDPT + 8 * i, i === 0 ? PAE_PD | 1 : 0); w32(PDPT + 8 * i + 4, 0); }
    for (let i = 0; i < 512; i++) { w32(PAE_PD + 8 * i, i < 2 ? (PAE_PT + i * 0x1000) | 7 : 0); w32(PAE_PD + 8 * i + 4, 0); }
    for (let i = 0; i < 1024; i++) { w32(PAE_PT + 8 * i, (i << 12) | 7); w32(PAE_PT + 8 * i + 4, r.chance(0.1) ? 0x80000000 : 0); }
  };

  const seg = (s: number, sel: number, base: number, limit: number, attr: number) => {
    cpu.segSel[s] = sel;
    cpu.segBase[s] = base | 0;
    cpu.segLimit[s] = limit >>> 0;
    cpu.segAttr[s] = attr;
  };
  const modes = ['real', 'pm16', 'pm32', 'pm32-cpl3', 'v86', 'paging', 'paging-pse', 'pae', 'random-tables'];

  const world: World = {
    cpu,
    read: (a) => phys.read8(a),
    randomEip: (r) => (mode === 'real' || mode === 'v86' || mode === 'pm16' ? r.int(0x10000) : r.int(MEM)),
    fresh(r: Rng): string {
      for (;;) {
        if (states++ % 8 === 0) tables(r);
        for (let k = 0; k < 4; k++) phys.load(TABLES_END + (r.int((MEM - TABLES_END) >> 12) << 12), r.bytes(0x1000));
        cpu.reset();
        cpu.repLimit = REP_LIMIT;
        cpu.stopReason = '';
        mode = r.pick(modes);
        randomRegs(cpu, r);
        if (r.chance(0.5)) randomFpu(cpu, r);
        cpu.r32[REG.ESP] = r.int(MEM);
        let flags = randomFlags(r);
        cpu.gdtrBase = GDT;
        cpu.gdtrLimit = r.chance(0.9) ? 0xff : r.int(0x100);
        cpu.idtrBase = IDT;
        cpu.idtrLimit = r.chance(0.95) ? 0x7ff : r.int(0x800);
        cpu.trSel = SEL.TSS;
        cpu.trBase = TSS;
        cpu.trLimit = 0x67 + 0x2000;
        cpu.trAttr = 0x8b00;
        cpu.ldtrSel = SEL.LDT;
        cpu.ldtrBase = LDT;
        cpu.ldtrLimit = 0x7ff;
        if (mode === 'real') {
          cpu.idtrBase = r.int(MEM - 0x400);
          cpu.idtrLimit = 0x3ff;
          for (let s = 0; s < 6; s++) {
            cpu.segSel[s] = r.int(0x10000);
            cpu.segBase[s] = cpu.segSel[s]! << 4;
          }
        } else if (mode === 'v86') {
          cpu.cr0 |= 1;
          cpu.setCpl(3);
          for (let s = 0; s < 6; s++) {
            const sel = r.int(0x10000);
            seg(s, sel, sel << 4, 0xffff, 0x0000f300);
          }
          flags |= VM;
        } else {
          cpu.cr0 |= 1;
          if (mode === 'pm16') {
            const b = r.int(MEM) & ~0xf;
            seg(SREG.CS, SEL.CODE16, b, 0xffff, 0x00009b00);
            for (const s of [0, 2, 3, 4, 5]) seg(s, SEL.DATA16, b, 0xffff, 0x00009300);
          } else {
            const user = mode === 'pm32-cpl3' || (mode !== 'pm32' && r.chance(0.3));
            seg(SREG.CS, user ? SEL.CODE32U : SEL.CODE32, 0, 0xffffffff, user ? 0x00c0fb00 : 0x00c09b00);
            for (const s of [0, 2, 3, 4, 5]) seg(s, user ? SEL.DATA32U : SEL.DATA32, 0, 0xffffffff, user ? 0x00c0f300 : 0x00c09300);
            cpu.setCpl(user ? 3 : 0);
            if (mode === 'paging') { cpu.cr3 = PD; cpu.cr0 |= 0x80000000; }
            if (mode === 'paging-pse') { cpu.cr3 = PD; cpu.cr4 = 0x10; w32(PD, 0x87); cpu.cr0 |= 0x80000000; }
            if (mode === 'pae') { cpu.cr3 = PDPT; cpu.cr4 = 0x20; cpu.efer = r.chance(0.5) ? 0x800 : 0; cpu.cr0 |= 0x80000000; }
            if (mode === 'random-tables') {
              cpu.cr3 = r.int(MEM) & ~0xfff;
              cpu.cr4 = r.pick([0, 0x10, 0x80, 0x90]);
              cpu.cr0 |= 0x80000000;
            }
            if (r.chance(0.2)) cpu.cr0 |= 1 << 18; // AM
            if (r.chance(0.2)) cpu.cr0 |= 1 << 16; // WP
          }
        }
        cpu.eflags = flags;
        cpu.eip = this.randomEip(r);
        try {
          cpu.modeChanged(false);
        } catch (e) {
          if (!(e instanceof CpuException)) throw e;
          continue; // PAE PDPTEs with reserved bits: MOV CR3 would have refused them
        }
        return mode;
      }
    },
  };
  return world;
}

export function report(name: string, o: Outcome, ms: number): string {
  const ends = [...o.ends.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${name}: ${(o.executed / 1e6).toFixed(2)} M instructions from ${o.runs} random states (${ends}), ${(ms / 1000).toFixed(1)} s` +
    (o.slowest ? `\n  slowest instruction ${o.slowest}` : '');
}
