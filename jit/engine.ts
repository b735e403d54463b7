/**
 * The translator's run loop: tiering, dispatch, chaining, invalidation and the
 * statistics the inspector shows. The machine calls `engine.run(n)` where it
 * would call `cpu.run(n)`; with `--jit off` the engine is not used at all.
 *
 * ## Dispatch
 *
 * At a dispatch point (EIP after a control transfer or a mode change) the
 * engine computes the key of the code at CS:EIP (physical address through the
 * MMU's fetch translation, plus the mode bits, `modeKey`) and looks it up. A hit
 * runs the region; a miss counts the key's heat and, below the threshold, runs
 * the cold tier (the CPU's own executor) up to the next block end. `--jit
 * always` compiles at the first miss; `on` after `threshold` misses.
 *
 * ## Chaining
 *
 * A region returns the region to continue with (a linked static exit) or null.
 * The trampoline (`runChain`) calls what it is given; on null it looks the EIP
 * up and, for a static exit, links the slot, so the next time the region goes
 * straight on without a lookup. Links stay on one physical page when paging is
 * on (another page may be remapped at any time; the lookup translates it);
 * without paging every static exit can be linked. A call chain is a loop, not
 * recursion, so the JavaScript stack does not grow.
 *
 * ## Time
 *
 * Generated code counts retired instructions against `J.budget` and enters a
 * block only when the budget covers it, so `run(n)` retires exactly n
 * instructions (as `cpu.run(n)` does, a delivered fault counting as one) and
 * control comes back to this loop at least every `quantum` instructions, where
 * pending interrupts are served (cpu.serveInterrupts, the cold tier's own).
 * With EFLAGS.TF set, everything runs in the cold tier (single-step traps).
 *
 * ## Invalidation
 *
 * The engine listens to code-page writes (runtime/memory.ts reports the
 * physical range before the write lands): the cache drops the regions whose
 * chunks the write touches and cuts the links into them; if the region being
 * run is among them, `J.smc` makes it leave after the current instruction, so
 * the modified code is what runs next. Pages whose code keeps being rewritten
 * back off: in `on` mode their heat threshold doubles with every eight
 * invalidating writes, so a tight self-modifying loop stays in the cold tier
 * instead of recompiling forever; the cache's caps bound memory in any case.
 */
import type { Cpu, StopReason } from '../src/x86/cpu.js';
import { ROWS } from '../src/x86/rows.js';
import { CpuException, SREG, ATTR, type LinearMemory } from '../src/x86/state.js';
import {
  PARITY, getAF, getCF, getOF, getPF, getSF, getZF, setFlags, setLazy, setLazyCarry, szp, testCC,
} from '../src/x86/flags.js';
import { FLAG } from '../src/x86/rows.js';
import type { SemFn } from '../src/x86/cpu.js';
import { Discoverer, MAX_REGION_BLOCKS, endsRegion, type RegionPlan } from './discover.js';
import { Gen, printProgram, type CompileMode } from './codegen.js';
import { compileFactory } from './compile.js';
import { TranslationCache, type InvalidationCause, type Region } from './cache.js';
import { canonFlush, canonWord, ccWord } from './helpers.js';

export type JitMode = 'off' | 'on' | 'always';

/** What the engine needs of physical memory (runtime/memory.ts PhysicalMemory). */
export interface JitPhysical {
  readonly ram: Uint8Array;
  readonly pageFlags: Uint8Array;
  readonly size: number;
  a20Mask: number;
}

/** What the engine needs of the paging MMU (runtime/mmu.ts Mmu): its TLB arrays. */
export interface JitPaging {
  readonly tlbReadSup: Int32Array;
  readonly tlbWriteSup: Int32Array;
  readonly tlbReadUser: Int32Array;
  readonly tlbWriteUser: Int32Array;
}

export interface JitOptions {
  mode?: JitMode;
  /** Misses before a key is compiled in 'on' mode. */
  threshold?: number;
  /** Instructions between interrupt checks. */
  quantum?: number;
  maxRegions?: number;
  maxCodeBytes?: number;
  /** Blocks per region (1 gives single-block translations). */
  maxBlocks?: number;
}

export interface JitTotals {
  regionsCompiled: number;
  blocksCompiled: number;
  insnsCompiled: number;
  hits: number;
  misses: number;
  invalidations: Record<InvalidationCause, number>;
  codeBytes: number;
  liveRegions: number;
  coldInsns: number;
  jitInsns: number;
  chained: number;
  dispatched: number;
  untranslatable: number;
  faults: number;
  smcExits: number;
  time: { discover: number; generate: number; print: number; compile: number };
}

/** Per-region record for the inspector. */
export interface RegionStats {
  id: number;
  eip: number;
  csBase: number;
  phys: number;
  mode: number;
  insns: number;
  bytes: number;
  inlineInsns: number;
  genericInsns: number;
  blocks: { eip: number; insns: number; bytes: number; executions: number }[];
  entries: number;
  compileMs: number;
  times: Region['times'];
  sourceBytes: number;
  valid: boolean;
  invalidatedBy: InvalidationCause | null;
}

/** The environment generated code runs against (the factory's `J`). */
export interface JitEnv {
  cpu: Cpu;
  mem: LinearMemory;
  r32: Int32Array;
  ram: Uint8Array;
  dv: DataView;
  pf: Uint8Array;
  PARITY: Uint8Array;
  setLazy: typeof setLazy;
  setLazyCarry: typeof setLazyCarry;
  setFlags: typeof setFlags;
  szp: typeof szp;
  testCC: typeof testCC;
  getCF: typeof getCF; getZF: typeof getZF; getSF: typeof getSF; getOF: typeof getOF; getPF: typeof getPF; getAF: typeof getAF;
  canonWord: typeof canonWord;
  canonFlush: typeof canonFlush;
  ccWord: typeof ccWord;
  budget: number;
  slot: number;
  smc: number;
}

interface MemView { tlbRead: Int32Array; tlbWrite: Int32Array }

const CR0_PG = 0x80000000 | 0;
/** The attribute bits a flat data segment must have (P S W, no code, no expand-down). */
const FLAT_ATTR_MASK = ATTR.P | ATTR.S | ATTR.CODE | ATTR.EXPAND_DOWN | ATTR.WRITABLE;
const FLAT_ATTR = ATTR.P | ATTR.S | ATTR.WRITABLE;

export class JitEngine {
  readonly mode: JitMode;
  threshold: number;
  quantum: number;
  readonly cache: TranslationCache;
  readonly env: JitEnv;
  private readonly discoverer: Discoverer;
  private readonly sems: (SemFn | undefined)[];
  private readonly hot = new Map<number, number>();
  private readonly identity = new Int32Array(1 << 20);
  private identityA20: number | null = null;
  private readonly views = new Map<string, MemView>();
  private current: Region | null = null;
  private nextId = 1;
  private maxBlocks: number;
  readonly totals: JitTotals = {
    regionsCompiled: 0, blocksCompiled: 0, insnsCompiled: 0, hits: 0, misses: 0,
    invalidations: { write: 0, evict: 0, flush: 0 }, codeBytes: 0, liveRegions: 0,
    coldInsns: 0, jitInsns: 0, chained: 0, dispatched: 0, untranslatable: 0, faults: 0, smcExits: 0,
    time: { discover: 0, generate: 0, print: 0, compile: 0 },
  };
  /** Invalidated regions kept for the inspector (most recent last). */
  readonly retired: Region[] = [];

  constructor(
    readonly cpu: Cpu,
    readonly phys: JitPhysical,
    readonly paging: JitPaging | null = null,
    opts: JitOptions = {},
  ) {
    this.mode = opts.mode ?? 'on';
    this.threshold = this.mode === 'always' ? 0 : opts.threshold ?? 32;
    this.quantum = opts.quantum ?? 65536;
    this.maxBlocks = opts.maxBlocks ?? MAX_REGION_BLOCKS;
    this.cache = new TranslationCache(opts.maxRegions, opts.maxCodeBytes);
    this.cache.onInvalidate = (r, cause) => {
      this.totals.invalidations[cause]++;
      if (r === this.current) this.env.smc = 1;
      this.retired.push(r);
      if (this.retired.length > 256) this.retired.shift();
    };
    // The semantics the cold tier resolved, by row id (the same function objects).
    this.sems = ROWS.map((row) => cpu.semantics[row.sem]);
    this.discoverer = new Discoverer(cpu, (row) => this.sems[row.id] !== undefined);
    const ram = phys.ram;
    this.env = {
      cpu, mem: cpu.mem, r32: cpu.r32, ram, dv: new DataView(ram.buffer, ram.byteOffset, ram.byteLength),
      pf: phys.pageFlags, PARITY, setLazy, setLazyCarry, setFlags, szp, testCC, getCF, getZF, getSF, getOF, getPF, getAF,
      canonWord, canonFlush, ccWord, budget: 0, slot: -1, smc: 0,
    };
    cpu.mem.onCodeWrite((page, addr, len) => this.codeWritten(page, addr, len));
  }

  // ---- invalidation ----------------------------------------------------------------

  private codeWritten(page: number, addr: number, len: number): void {
    if (this.cache.written(page, addr, len)) this.cpu.mem.watchCodePage(page);
  }

  /** Drop every translation (for tests, and for changes that affect all of them). */
  flush(): void {
    this.cache.flush('flush');
    this.hot.clear();
  }

  // ---- keys ------------------------------------------------------------------------

  private flatSegments(): boolean {
    const cpu = this.cpu;
    for (const s of [SREG.DS, SREG.ES, SREG.SS]) {
      if (cpu.segBase[s] !== 0 || cpu.segLimit[s] !== 0xffffffff) return false;
      if ((cpu.segAttr[s]! & FLAT_ATTR_MASK) !== FLAT_ATTR) return false;
    }
    return true;
  }

  /** Mode bits of the key: CS.D, SS.B, CPL, PE, VM, PG, flat DS/ES/SS. */
  modeKey(): number {
    const cpu = this.cpu;
    return (cpu.code32 ? 1 : 0) | (cpu.stack32 ? 2 : 0) | ((cpu.cpl & 3) << 2) | ((cpu.cr0 & 1) << 4) |
      (cpu.flagsBits & FLAG.VM ? 32 : 0) | (cpu.cr0 & CR0_PG ? 64 : 0) | (this.flatSegments() ? 128 : 0);
  }

  private memView(mode: number): MemView {
    const paging = (mode & 64) !== 0 && this.paging !== null;
    const user = ((mode >> 2) & 3) === 3;
    const name = paging ? (user ? 'user' : 'sup') : 'identity';
    let v = this.views.get(name);
    if (!v) {
      if (!paging) v = { tlbRead: this.identity, tlbWrite: this.identity };
      else if (user) v = { tlbRead: this.paging!.tlbReadUser, tlbWrite: this.paging!.tlbWriteUser };
      else v = { tlbRead: this.paging!.tlbReadSup, tlbWrite: this.paging!.tlbWriteSup };
      this.views.set(name, v);
    }
    return v;
  }

  /**
   * The TLB of the unpaged modes: linear page -> physical frame | 1 for RAM
   * (with the A20 gate applied), 0 elsewhere (the slow path). Rebuilt when the
   * A20 gate changes; translations that linked across pages are dropped then.
   */
  private checkA20(): void {
    const mask = this.phys.a20Mask | 0;
    if (mask === this.identityA20) return;
    if (this.identityA20 !== null) this.cache.flush('flush');
    this.identityA20 = mask;
    const pages = this.phys.size >>> 12;
    const t = this.identity;
    for (let p = 0; p < t.length; p++) {
      const frame = ((p << 12) & mask) >>> 0;
      t[p] = frame >>> 12 < pages ? frame | 1 : 0;
    }
  }

  // ---- lookup and compilation ----------------------------------------------------------

  /** The region for CS:EIP (compiling it when hot enough), or null to run the cold tier. */
  private find(): Region | null {
    const cpu = this.cpu;
    const csBase = cpu.segBase[SREG.CS]!;
    const eip = cpu.eip;
    let phys: number;
    try {
      phys = cpu.mem.translateCode((csBase + eip) | 0);
    } catch (e) {
      if (e instanceof CpuException) return null; // the cold tier takes the fault
      throw e;
    }
    const mode = this.modeKey();
    const key = phys * 256 + mode;
    const r = this.cache.lookup(key, eip, csBase);
    if (r) {
      if (r.needLimit > cpu.segLimit[SREG.CS]!) return null;
      this.totals.hits++;
      return r;
    }
    this.totals.misses++;
    const heat = (this.hot.get(key) ?? 0) + 1;
    if (heat <= this.thresholdFor(phys >>> 12)) {
      this.hot.set(key, heat);
      if (this.hot.size > 1 << 20) this.hot.clear();
      return null;
    }
    this.hot.delete(key);
    const region = this.compile(eip, phys, csBase, mode, key);
    if (!region) {
      this.totals.untranslatable++;
      this.hot.set(key, -1024); // try again much later
      return null;
    }
    if (region.needLimit > cpu.segLimit[SREG.CS]!) return null;
    return region;
  }

  private thresholdFor(page: number): number {
    if (this.mode === 'always') return 0;
    const n = this.cache.writeInvalidations(page);
    return n < 8 ? this.threshold : this.threshold * 2 ** Math.min(20, n >> 3);
  }

  private compile(eip: number, phys: number, csBase: number, mode: number, key: number): Region | null {
    const t0 = performance.now();
    const plan = this.discoverer.region(eip, phys, this.maxBlocks);
    if (!plan) return null;
    const t1 = performance.now();
    const cmode: CompileMode = {
      flat: (mode & 128) !== 0, stack32: (mode & 2) !== 0, code32: (mode & 1) !== 0, ramSize: this.phys.size,
    };
    const gen = new Gen(plan, cmode).generate();
    const t2 = performance.now();
    const source = printProgram(gen.program);
    const t3 = performance.now();
    if (this.cache.full(source.length)) this.cache.flush('evict');
    const factory = compileFactory(source);
    const region = this.makeRegion(plan, gen.slots, key, mode, source, gen.inlineInsns, gen.genericInsns);
    region.pointEip = Float64Array.from(gen.pointEip);
    region.pointRefund = Int32Array.from(gen.pointRefund);
    region.fn = factory(this.env, region, this.memView(mode)) as () => Region | null;
    const t4 = performance.now();
    region.times = { discover: t1 - t0, generate: t2 - t1, print: t3 - t2, compile: t4 - t3 };
    const tt = this.totals;
    tt.time.discover += t1 - t0; tt.time.generate += t2 - t1; tt.time.print += t3 - t2; tt.time.compile += t4 - t3;
    tt.regionsCompiled++;
    tt.blocksCompiled += plan.blocks.length;
    tt.insnsCompiled += plan.insns.length;
    this.cache.insert(region);
    this.cpu.mem.watchCodePage(phys >>> 12);
    return region;
  }

  private makeRegion(plan: RegionPlan, slots: number[], key: number, mode: number, source: string,
    inlineInsns: number, genericInsns: number): Region {
    return {
      id: this.nextId++, key, eip: plan.eip, csBase: plan.csBase, phys: plan.phys, mode, page: plan.phys >>> 12,
      chunks: plan.chunks, needLimit: plan.needLimit, entryLen: plan.blocks[0]!.insns.length,
      fn: () => null, links: slots.map(() => null), slots, icEip: new Float64Array(slots.length).fill(-1), incoming: [],
      insns: plan.insns.map((ti) => ti.insn), sems: plan.insns.map((ti) => this.sems[ti.insn.row.id]!),
      counts: new Float64Array(plan.blocks.length), pointEip: new Float64Array(0), pointRefund: new Int32Array(0),
      valid: true, nextAlias: null,
      blocks: plan.blocks.map((b) => ({ eip: b.eip, insns: b.insns.length, bytes: b.insns.reduce((n, ti) => n + ti.insn.length, 0) })),
      insnCount: plan.insns.length, bytes: plan.bytes, inlineInsns, genericInsns, sourceBytes: source.length, source,
      times: { discover: 0, generate: 0, print: 0, compile: 0 }, entries: 0, invalidatedBy: null,
    };
  }

  // ---- running ---------------------------------------------------------------------

  /** Run up to `count` instructions (as cpu.run: a delivered fault counts as one); returns why it stopped. */
  run(count: number): StopReason {
    const cpu = this.cpu;
    cpu.stopReason = '';
    let left = count;
    while (left > 0) {
      if (cpu.nmiPending || cpu.interruptController) cpu.serveInterrupts();
      if (cpu.halted) return 'halt';
      if (this.mode === 'off' || cpu.flagsBits & FLAG.TF) {
        left -= this.cold(Math.min(left, 64));
      } else {
        this.checkA20();
        const r = this.find();
        if (r === null || r.entryLen > left) left -= this.cold(r === null ? Math.min(left, 64) : 1);
        else left -= this.runChain(r, Math.min(left, this.quantum));
      }
      if (cpu.stopReason) return cpu.stopReason;
    }
    return 'count';
  }

  /** The cold tier up to the end of a block (or `max` steps); returns the steps taken. */
  private cold(max: number): number {
    const cpu = this.cpu;
    let n = 0;
    while (n < max) {
      if (n > 0 && (cpu.nmiPending || cpu.interruptController)) {
        cpu.serveInterrupts();
        if (cpu.halted) break;
      }
      const before = cpu.instructionCount;
      cpu.step();
      n++;
      if (cpu.instructionCount === before) break; // a fault was delivered
      this.totals.coldInsns++;
      if (cpu.stopReason || cpu.halted) break;
      const insn = cpu.insn;
      if (insn && endsRegion(insn.row)) break;
    }
    return n;
  }

  /** Run regions from `first` while they chain, within `budget` instructions; returns the steps taken. */
  private runChain(first: Region, budget: number): number {
    const env = this.env;
    const cpu = this.cpu;
    env.budget = budget;
    env.smc = 0;
    let r: Region | null = first;
    let faults = 0;
    while (r !== null) {
      this.current = r;
      r.entries++;
      let next: Region | null;
      try {
        next = r.fn();
      } catch (e) {
        this.current = null;
        if (!(e instanceof CpuException)) throw e;
        // The region put back the state before the faulting instruction.
        this.totals.faults++;
        faults++;
        cpu.deliverException(e, cpu.eip);
        break;
      }
      const from: Region = r;
      this.current = null;
      if (env.smc) {
        env.smc = 0;
        this.totals.smcExits++;
        break;
      }
      if (next !== null) {
        this.totals.chained++;
        r = next;
        continue;
      }
      // Unlinked exit: look the successor up (and link it if the exit was static).
      if (cpu.stopReason || cpu.halted || env.budget <= 0 || cpu.flagsBits & FLAG.TF) break;
      if (cpu.nmiPending || (cpu.interruptController && cpu.flagsBits & FLAG.IF)) break;
      const slot = env.slot;
      const to = this.find();
      if (to === null || to.entryLen > env.budget) break;
      this.totals.dispatched++;
      if (slot >= 0 && from.valid && to.valid && this.linkable(from, to)) {
        // A static exit has one target; an indirect one fills the free way of its
        // two-way cache, else replaces one of them.
        const way = from.slots[slot] !== -1 || from.links[slot] === null ? slot
          : from.links[slot + 1] === null ? slot + 1 : slot + (from.entries & 1);
        from.icEip[way] = cpu.eip;
        this.cache.link(from, way, to);
      }
      r = to;
    }
    const used = budget - env.budget;
    this.totals.jitInsns += used;
    return used + faults;
  }

  private linkable(from: Region, to: Region): boolean {
    if (from.mode !== to.mode) return false;
    return from.page === to.page || (from.mode & 64) === 0 || this.paging === null;
  }

  // ---- statistics --------------------------------------------------------------------

  stats(): { totals: JitTotals; regions: RegionStats[] } {
    this.totals.codeBytes = this.cache.codeBytes;
    this.totals.liveRegions = this.cache.regionCount;
    const regions: RegionStats[] = [];
    const add = (r: Region) => regions.push({
      id: r.id, eip: r.eip, csBase: r.csBase, phys: r.phys, mode: r.mode, insns: r.insnCount, bytes: r.bytes,
      inlineInsns: r.inlineInsns, genericInsns: r.genericInsns,
      blocks: r.blocks.map((b, i) => ({ ...b, executions: r.counts[i]! })), entries: r.entries,
      compileMs: r.times.discover + r.times.generate + r.times.print + r.times.compile, times: r.times,
      sourceBytes: r.sourceBytes, valid: r.valid, invalidatedBy: r.invalidatedBy,
    });
    for (const r of this.cache.regions()) add(r);
    for (const r of this.retired) add(r);
    return { totals: { ...this.totals, invalidations: { ...this.totals.invalidations } }, regions };
  }
}
