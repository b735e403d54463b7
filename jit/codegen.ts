/**
 * Code generation: a region (discover.ts) becomes one JavaScript function.
 *
 * ## Shape of the generated code
 *
 * The printed source is the body of a *factory* `function (J, R, M)` that binds
 * the runtime (J: the engine's environment, shared), the region's constants (R:
 * its decoded instructions, their semantics functions, its exit links and block
 * counters) and the memory view of its mode (M: the TLB arrays for its
 * privilege and paging mode), and returns the region function:
 *
 *     let r0 = r32[0], r4 = r32[4], ...          guest registers in locals
 *     let b = J.budget; const icb = cpu.instructionCount + b;
 *     try {
 *       for (;;) switch (blk) {
 *         case 0:                                 one case per block
 *           if (b < 8) { exit to the block's EIP } // instruction budget
 *           b -= 8; C[0]++;
 *           ...the instructions...
 *           blk = 0; continue;                    a jump inside the region
 *           ...spill, flush flags; cpu.eip = T; J.slot = 2; return L[2];   an exit
 *       }
 *     } catch (x) { switch (k) { case 5: restore the state before instruction 5 } throw x; }
 *
 * ## The generic path and the inline forms
 *
 * Every instruction can be translated: the generic path stores the registers
 * and flags the region holds in locals back into the CPU, sets EIP/nextEip/insn
 * and instructionCount exactly as the cold tier's executor does, calls the row's
 * semantics function (the same function object the cold tier calls), and
 * reloads the registers. Instructions with an inline form (forms.ts) instead
 * become straight-line JavaScript over the register locals, with operand access
 * derived from the row's operand descriptors (the same precomputed locations,
 * sem/operand.ts, the semantics use) and flags left lazy (flagstate.ts).
 *
 * ## Precise state
 *
 * Inline forms do every read and check that can fault before they change a
 * register local or a producer local (memory writes may precede, as on the
 * hardware). Before each instruction that can fault, `k = g` records which; the
 * catch handler then knows the state before it: the locals hold it, the flag
 * layers at that point are known at compile time, and the budget refund is a
 * constant. It stores everything back, sets EIP to the instruction and rethrows;
 * the engine delivers the exception exactly as the cold tier does.
 *
 * ## Flags across blocks
 *
 * Two dataflow passes run before emission: a backward liveness of the six
 * arithmetic flags (an instruction that can fault, a generic call and every
 * exit observe all of them), and a forward pass that fixes the flag state at
 * each block's entry. Where the predecessors of a block agree, flags stay in
 * producer locals across the jump; where they disagree and a flag is live, the
 * predecessors flush on that edge; where no flag is live (the usual case at a
 * loop head that starts with CMP/ADD/...), nothing is stored at all.
 *
 * ## Self-modifying code
 *
 * After an inline memory write or a generic call the code tests `J.smc`, which
 * the invalidation listener sets when a write hits the region being run; the
 * region then leaves at the next instruction (state precise), so the modified
 * code is what runs next. A generic call also leaves when the CPU's stopReason
 * is set (a device asked the run loop to stop).
 */
import type * as ES from 'estree';
import { generate } from 'astring';
import {
  and, assign, at, bin, block, bool, BREAK, call, CONTINUE, dot, expr, forever, fn, id, if_, let_, const_, num, NULL, or,
  program, ret, switch_, throw_, try_, update, type Expr, type Stmt,
} from './ast.js';
import type { Insn } from '../src/x86/decoder.js';
import { endsRegion, type RegionPlan, type TBlock, type TInsn } from './discover.js';
import {
  ALL_CPU, ARITH_FLAGS, CANON, CANON_LOCALS, addProducer, ccExpr, flushCode, sameState, stateKey, toCanonCode, type FlagState,
  type Producer,
} from './flagstate.js';
import { FORMS, type Form } from './forms.js';
import { SREG } from '../src/x86/state.js';

export interface CompileMode {
  /** DS, ES and SS are flat: base 0, limit 4 GiB - 1, present writable expand-up data. */
  flat: boolean;
  /** SS.B: a 32-bit stack pointer. */
  stack32: boolean;
  code32: boolean;
  /** Size of RAM: the inline fast path serves physical addresses below it. */
  ramSize: number;
}

export interface GeneratedRegion {
  program: ES.Program;
  /** Restore points: EIP and budget refund, indexed by `k`. */
  pointEip: number[];
  pointRefund: number[];
  /** Static exit targets (EIPs), by link slot. */
  slots: number[];
  inlineInsns: number;
  genericInsns: number;
}

/** Memory operand reference built by `Gen.linear`. */
export interface MemRef {
  /** Local holding the int32 linear address. */
  lin: string;
  seg: number;
  /** Whether cpu.linear has checked it already (else a slow path must). */
  checked: boolean;
}

const ALL = ARITH_FLAGS;

/**
 * The generator's vocabulary: every identifier generated code may contain
 * (variables and property names), and the patterns of its numbered locals.
 * test/jit/safety.ts parses every generated function and rejects any other
 * name, any string or template literal and any regular expression.
 */
export const GENERATED_NAMES: ReadonlySet<string> = new Set([
  // factory parameters and what it binds
  'J', 'R', 'M', 'cpu', 'mem', 'r32', 'ram', 'dv', 'pf', 'PARITY', 'setLazy', 'setLazyCarry', 'setFlags', 'szp',
  'testCC', 'canonWord', 'canonFlush', 'ccWord', 'getCF', 'getZF', 'getSF', 'getOF', 'getPF', 'getAF', 'TR', 'TW',
  'I', 'S', 'L', 'E', 'C', 'PE', 'PR',
  // the region function's locals and label
  'b', 'icb', 'k', 'blk', 'xe', 'xs', 'x', 'out', ...CANON_LOCALS,
  // properties
  'budget', 'slot', 'smc', 'eip', 'nextEip', 'insn', 'instructionCount', 'interruptShadow', 'stopReason',
  'lazyOp', 'lazyA', 'lazyB', 'lazyRes', 'lazySize', 'lazyCin', 'lazyMask', 'flagsBits', 'segLimit', 'linear', 'raise',
  'read8', 'read16', 'read32', 'write8', 'write16', 'write32', 'getInt32', 'setInt32', 'getUint16', 'setUint16',
  'tlbRead', 'tlbWrite', 'insns', 'sems', 'links', 'icEip', 'counts', 'pointEip', 'pointRefund',
]);

export const LOCAL_PATTERNS: readonly RegExp[] = [/^r[0-7]$/, /^t\d+$/, /^f[abrc]\d+$/];

/** Print a generated program (astring). */
export function printProgram(p: ES.Program): string {
  return generate(p);
}

export class Gen {
  /** The statement list being filled. */
  out: Stmt[] = [];
  /** The flag state at the current point. */
  state: FlagState = ALL_CPU;
  ti!: TInsn;
  blk!: TBlock;

  private readonly blockAt = new Map<number, number>();
  private readonly forms: (Form | null)[] = [];
  private readonly producers: (Producer | null)[] = [];
  private readonly liveIn: number[] = [];
  private readonly unreached = new Set<number>();
  /** Arithmetic flags live after each instruction (read, or observed by a fault or an exit, before being overwritten). */
  private readonly liveAfter: number[] = [];
  private readonly stateIn: (FlagState | undefined)[] = [];
  private readonly used = new Set<number>();
  private readonly written = new Set<number>();
  private readonly slots: number[] = [];
  private readonly slotOf = new Map<number, number>();
  /** Restore points: EIP and budget refund of each (`k` indexes them), and the flag state there. */
  private readonly points: { eip: number; refund: number; state: FlagState; generic: boolean }[] = [];
  private readonly pointOf = new Map<number, number>();
  private readonly producerLocals = new Set<number>();
  private maxTemp = 0;
  private nextTemp = 0;
  private genericCount = 0;

  constructor(readonly plan: RegionPlan, readonly mode: CompileMode) {
    for (const b of plan.blocks) this.blockAt.set(b.eip, b.index);
    for (const ti of plan.insns) {
      const form = FORMS[ti.insn.row.sem];
      const ok = form !== undefined && form.accepts(ti, mode) && (!form.terminal || ti.j === this.blockOf(ti).insns.length - 1);
      this.forms.push(ok ? form : null);
      const p = ok && form.producer ? form.producer(ti) : null;
      this.producers.push(p ? { ...p, g: ti.g, slot: ti.g } : null);
    }
    // A semantics call may move ESP before it faults; the catch handler puts it back.
    if (plan.insns.some((_, g) => this.forms[g] === null)) { this.used.add(4); this.written.add(4); }
  }

  private blockOf(ti: TInsn): TBlock {
    for (const b of this.plan.blocks) if (b.insns[ti.j] === ti) return b;
    throw new Error('jit: instruction without a block');
  }

  // ---- analysis ------------------------------------------------------------------

  /** Internal successors (block indices) and whether the block may leave the region. */
  private edges(b: TBlock): { internal: number[]; leaves: boolean } {
    const last = b.insns[b.insns.length - 1]!;
    const form = this.forms[last.g];
    let targets: number[];
    let dynamic = false;
    if (b.end === 'fall') targets = [b.fallthrough];
    else if (form && form.terminal) {
      targets = b.succ;
      dynamic = form.dynamicExit?.(last) ?? false;
    } else {
      targets = [];
      dynamic = true;
    }
    if (form && form.terminal && form.dynamicExit?.(last)) targets = this.plan.returns.map((x) => this.plan.blocks[x]!.eip);
    const internal: number[] = [];
    let leaves = dynamic;
    for (const t of targets) {
      const x = this.blockAt.get(t);
      if (x === undefined) leaves = true;
      else internal.push(x);
    }
    // Any instruction of the block can also leave early (a fault, a stop request): those
    // exits are handled by `observesAll` in the transfer function.
    return { internal, leaves };
  }

  private observesAll(ti: TInsn): boolean {
    const form = this.forms[ti.g];
    return form === null || form.faults(ti, this.mode);
  }

  private analyse(): void {
    const blocks = this.plan.blocks;
    // Backward liveness of the arithmetic flags.
    for (const b of blocks) this.liveIn[b.index] = 0;
    for (let changed = true; changed;) {
      changed = false;
      for (let bi = blocks.length - 1; bi >= 0; bi--) {
        const b = blocks[bi]!;
        const e = this.edges(b);
        let live = e.leaves ? ALL : 0;
        for (const x of e.internal) live |= this.liveIn[x]!;
        for (let j = b.insns.length - 1; j >= 0; j--) {
          const ti = b.insns[j]!;
          this.liveAfter[ti.g] = live;
          if (this.observesAll(ti)) { live = ALL; continue; }
          const p = this.producers[ti.g];
          if (p) live &= ~p.mask;
          live |= ti.insn.row.flagsRead & ALL;
        }
        if (live !== this.liveIn[b.index]) { this.liveIn[b.index] = live; changed = true; }
      }
    }
    // Forward: the flag state at each block's entry, recomputed from the current
    // states of all predecessors until nothing changes (an early guess from a
    // predecessor that later changes must not stick).
    const preds: number[][] = blocks.map(() => []);
    for (const b of blocks) for (const x of this.edges(b).internal) preds[x]!.push(b.index);
    for (const b of blocks) this.stateIn[b.index] = b.index === 0 ? ALL_CPU : undefined;
    let stable = false;
    for (let round = 0; round < 64 && !stable; round++) {
      stable = true;
      const outs = blocks.map((b) => {
        const s0 = this.stateIn[b.index];
        return s0 === undefined ? undefined : this.simulate(b, s0);
      });
      for (const b of blocks) {
        const x = b.index;
        let next: FlagState | undefined = x === 0 ? ALL_CPU : undefined;
        for (const p of preds[x]!) {
          const o = outs[p];
          if (o === undefined) continue;
          next = next === undefined || sameState(next, o) ? o : CANON;
        }
        if (next !== undefined && this.liveIn[x] === 0) next = ALL_CPU;
        const cur = this.stateIn[x];
        if (next !== undefined && (cur === undefined || !sameState(cur, next))) { this.stateIn[x] = next; stable = false; }
      }
    }
    // Blocks no edge reaches (a return site without a RET in the region) never run: no code.
    for (const b of blocks) if (this.stateIn[b.index] === undefined) { this.unreached.add(b.index); this.stateIn[b.index] = ALL_CPU; }
    // Not settled (it always does in practice): every merge through the canonical record is always right.
    if (!stable) for (const b of blocks) this.stateIn[b.index] = b.index === 0 ? ALL_CPU : this.liveIn[b.index] === 0 ? ALL_CPU : CANON;
    if (!stable && preds[0]!.length) this.stateIn[0] = CANON;
  }

  /**
   * Give each producer a slot of locals: two producers that are in one flag
   * state together (after the newer one is added) must not share one. Greedy
   * colouring in instruction order over that interference.
   */
  private colourProducers(): void {
    const clash = new Map<Producer, Set<Producer>>();
    const add = (x: Producer, y: Producer) => {
      if (x === y) return;
      let sx = clash.get(x); if (!sx) clash.set(x, sx = new Set()); sx.add(y);
      let sy = clash.get(y); if (!sy) clash.set(y, sy = new Set()); sy.add(x);
    };
    for (const b of this.plan.blocks) {
      if (this.unreached.has(b.index)) continue;
      let s = this.stateIn[b.index]!;
      const touch = (st: FlagState) => {
        for (let i = 0; i < st.layers.length; i++) for (let j = i + 1; j < st.layers.length; j++) add(st.layers[i]!.p, st.layers[j]!.p);
      };
      touch(s);
      for (const ti of b.insns) {
        if (this.forms[ti.g] === null) { s = ALL_CPU; continue; }
        const p = this.producers[ti.g];
        if (p) { s = addProducer(s, p); touch(s); }
      }
    }
    const done = new Set<Producer>();
    for (const p of this.producers) {
      if (!p) continue;
      const used = new Set<number>();
      for (const q of clash.get(p) ?? []) if (done.has(q)) used.add(q.slot);
      done.add(p);
      let slot = 0;
      while (used.has(slot)) slot++;
      p.slot = slot;
    }
  }

  private simulate(b: TBlock, s: FlagState): FlagState {
    for (const ti of b.insns) {
      if (this.forms[ti.g] === null) s = ALL_CPU;
      else {
        const p = this.producers[ti.g];
        if (p) s = addProducer(s, p);
      }
    }
    return s;
  }

  // ---- the API the forms use ------------------------------------------------------

  emit(...s: Stmt[]): void {
    this.out.push(...s);
  }

  temp(): string {
    const n = this.nextTemp++;
    if (this.nextTemp > this.maxTemp) this.maxTemp = this.nextTemp;
    return `t${n}`;
  }

  /** Register `n` of `size` bytes (size 1: AL CL DL BL AH CH DH BH), as a value of that size. */
  reg(n: number, size: number): Expr {
    if (size === 4) { this.used.add(n); return id(`r${n}`); }
    if (size === 2) { this.used.add(n); return bin('&', id(`r${n}`), 0xffff); }
    if (n < 4) { this.used.add(n); return bin('&', id(`r${n}`), 0xff); }
    this.used.add(n - 4);
    return bin('&', bin('>>', id(`r${n - 4}`), 8), 0xff);
  }

  /** The full 32-bit register as an int32 (for addresses). */
  reg32(n: number): Expr {
    this.used.add(n);
    return id(`r${n}`);
  }

  /** Commit a register write; `v` is a value of that size (int32 for size 4). */
  setReg(n: number, size: number, v: Expr): void {
    this.emit(this.regAssign(n, size, v));
  }

  /** The statement `setReg` emits. */
  regAssign(n: number, size: number, v: Expr): Stmt {
    if (size === 4) {
      this.used.add(n); this.written.add(n);
      return assign(`r${n}`, v);
    }
    const r = size === 1 && n >= 4 ? n - 4 : n;
    this.used.add(r); this.written.add(r);
    const name = `r${r}`;
    if (size === 2) return assign(name, bin('|', bin('&', id(name), -65536), bin('&', v, 0xffff)));
    if (n < 4) return assign(name, bin('|', bin('&', id(name), -256), bin('&', v, 0xff)));
    return assign(name, bin('|', bin('&', id(name), -65281), bin('<<', bin('&', v, 0xff), 8)));
  }

  /** After a write by a control transfer: leave to `eip` if the write hit this region's code. */
  smcCheck(eip: number): void {
    this.emit(if_(bin('!==', dot('J', 'smc'), 0), this.stopAt(eip, this.ti.j + 1)));
  }

  /**
   * A restore point: the state (flags as now, registers in their locals) with
   * EIP = `eip` and `done` instructions of the block retired. Returns its number.
   */
  private point(eip: number, done: number, generic = false): number {
    const n = this.blk.insns.length;
    this.points.push({ eip, refund: n - done, state: generic ? ALL_CPU : this.state, generic });
    return this.points.length - 1;
  }

  /**
   * Leave at a restore point through the catch handler: `k = p; throw J`. Used
   * for the rare stops in the middle of a block (a write hit this region's code,
   * a device asked to stop), so that each costs two statements here and shares
   * the handler's restore code.
   */
  private stopAt(eip: number, done: number): Stmt[] {
    return [assign('k', this.point(eip, done)), throw_(id('J'))];
  }

  /** `if (target > CS limit) #GP(0)`, unless the region's entry check already covers it. */
  checkTarget(target: number): void {
    if (target <= this.plan.needLimit) return;
    this.emit(if_(bin('>', target, at(dot('cpu', 'segLimit'), SREG.CS)), [expr(call(dot('cpu', 'raise'), [13, 0]))]));
  }

  /** The EIPs of the region's return sites (RET continues there without leaving). */
  returnSites(): number[] {
    return this.plan.returns.map((x) => this.plan.blocks[x]!.eip);
  }

  /** Statements for `if (cond) edge(taken) else edge(fall)`. */
  branch(test: Expr, taken: Stmt[], fall: Stmt[]): void {
    this.emit(if_(test, taken), ...fall);
  }

  /** The memory operand's segment. */
  segOf(i: Insn): number {
    return i.segOverride >= 0 ? i.segOverride : i.defaultSeg;
  }

  /** The effective address of the ModRM memory operand (int32 for 32-bit addressing, else 0-FFFF). */
  ea(i: Insn): Expr {
    if (i.adsize === 16) {
      let e: Expr = num(i.disp & 0xffff);
      if (i.base >= 0) e = bin('+', this.reg(i.base, 2), e);
      if (i.index >= 0) e = bin('+', e, this.reg(i.index, 2));
      return bin('&', e, 0xffff);
    }
    let e: Expr | null = null;
    if (i.base >= 0) e = this.reg32(i.base);
    if (i.index >= 0) {
      const x = i.scale ? bin('<<', this.reg32(i.index), i.scale) : this.reg32(i.index);
      e = e ? bin('+', e, x) : x;
    }
    const d = i.disp | 0;
    if (!e) return num(d);
    if (d !== 0) e = bin('+', e, num(d));
    return bin('|', e, 0);
  }

  /** Whether accesses through `seg` need no segment checks in this mode. */
  private flatSeg(seg: number): boolean {
    return this.mode.flat && (seg === SREG.DS || seg === SREG.ES || seg === SREG.SS);
  }

  /**
   * The linear address of `size` bytes at offset `off` of `seg`, in a local.
   * Flat segments need no code; others call cpu.linear (limit and type checks,
   * as the cold tier does), which can fault.
   */
  linear(seg: number, off: Expr, size: number, write: boolean): MemRef {
    const lin = this.temp();
    if (this.flatSeg(seg)) {
      this.emit(assign(lin, bin('|', off, 0)));
      return { lin, seg, checked: false };
    }
    this.emit(assign(lin, call(dot('cpu', 'linear'), [seg, bin('>>>', off, 0), size, bool(write)])));
    return { lin, seg, checked: true };
  }

  /** The linear address for the slow path (with cpu.linear's checks when not done yet). */
  private slowLin(m: MemRef, size: number, write: boolean): Expr {
    if (m.checked) return id(m.lin);
    return call(dot('cpu', 'linear'), [m.seg, bin('>>>', id(m.lin), 0), size, bool(write)]);
  }

  /** `(e - 1 >>> 0) < RAM && page offset + size <= 4096`: the TLB entry maps RAM and the access stays in the page. */
  private fastTest(e: string, m: MemRef, size: number): Expr {
    const inRam = bin('<', bin('>>>', bin('-', id(e), 1), 0), this.mode.ramSize);
    if (size === 1) return inRam;
    return { type: 'LogicalExpression', operator: '&&', left: inRam, right: bin('<=', bin('&', id(m.lin), 4095), 4096 - size) };
  }

  private physOf(e: string, m: MemRef): Expr {
    return bin('|', bin('&', id(e), -4096), bin('&', id(m.lin), 4095));
  }

  private static readonly GET = ['', 'ram', 'getUint16', '', 'getInt32'];
  private static readonly SET = ['', 'ram', 'setUint16', '', 'setInt32'];

  private rawLoad(phys: Expr, size: number): Expr {
    if (size === 1) return at('ram', phys);
    return call(dot('dv', Gen.GET[size]!), [phys, bool(true)]);
  }

  private rawStore(phys: Expr, size: number, v: Expr): Stmt {
    if (size === 1) return assign(at('ram', phys), v);
    return expr(call(dot('dv', Gen.SET[size]!), [phys, v, bool(true)]));
  }

  private slowLoad(lin: Expr, size: number): Expr {
    const c = call(dot('mem', size === 1 ? 'read8' : size === 2 ? 'read16' : 'read32'), [lin]);
    return size === 4 ? bin('|', c, 0) : c;
  }

  private slowStore(lin: Expr, size: number, v: Expr): Stmt {
    return expr(call(dot('mem', size === 1 ? 'write8' : size === 2 ? 'write16' : 'write32'), [lin, v]));
  }

  /** Load `size` bytes; returns the local holding the value (int32 for size 4, else unsigned). */
  load(m: MemRef, size: number): string {
    const e = this.temp();
    const v = this.temp();
    this.emit(assign(e, at('TR', bin('>>>', id(m.lin), 12))));
    this.emit(if_(this.fastTest(e, m, size),
      [assign(v, this.rawLoad(this.physOf(e, m), size))],
      [assign(v, this.slowLoad(this.slowLin(m, size, false), size))]));
    return v;
  }

  /** Store `size` bytes of `v`. Leaves through J.smc is the caller's (see `afterWrite`). */
  store(m: MemRef, size: number, v: Expr): void {
    const e = this.temp();
    this.emit(assign(e, at('TW', bin('>>>', id(m.lin), 12))));
    const fast = { type: 'LogicalExpression', operator: '&&', left: this.fastTest(e, m, size),
      right: bin('===', at('pf', bin('>>>', id(e), 12)), 0) } as Expr;
    this.emit(if_(fast, [this.rawStore(this.physOf(e, m), size, v)], [this.slowStore(this.slowLin(m, size, true), size, v)]));
    this.wrote = true;
  }

  /**
   * Read-modify-write: the read half. The TLB's write entry decides the fast
   * path (a writable entry is readable); the slow path reads through memory as
   * the semantics do. Returns the value local and the physical-address local
   * (-1 on the slow path) for `rmwStore`.
   */
  rmwLoad(m: MemRef, size: number): { v: string; p: string } {
    const e = this.temp();
    const p = this.temp();
    const v = this.temp();
    this.emit(assign(e, at('TW', bin('>>>', id(m.lin), 12))));
    const fast = { type: 'LogicalExpression', operator: '&&', left: this.fastTest(e, m, size),
      right: bin('===', at('pf', bin('>>>', id(e), 12)), 0) } as Expr;
    const slow: Stmt[] = [assign(p, -1)];
    // The semantics check the segment for writing before the read (a flat segment only
    // at the top of the address space can fail).
    if (!m.checked) slow.push(assign(m.lin, this.slowLin(m, size, true)));
    slow.push(assign(v, this.slowLoad(id(m.lin), size)));
    this.emit(if_(fast, [assign(p, this.physOf(e, m)), assign(v, this.rawLoad(id(p), size))], slow));
    return { v, p };
  }

  rmwStore(m: MemRef, p: string, size: number, v: Expr): void {
    this.emit(if_(bin('>=', id(p), 0), [this.rawStore(id(p), size, v)], [this.slowStore(id(m.lin), size, v)]));
    this.wrote = true;
  }

  /** Set by store/rmwStore: the instruction wrote memory (an SMC check follows it). */
  wrote = false;

  /** Record a flag producer for the current instruction; its locals are set from these values. */
  produce(a: Expr, b: Expr, r: Expr, c?: Expr): void {
    const loc = this.flagLocals();
    if (loc) {
      this.emit(assign(loc.a, a), assign(loc.b, b), assign(loc.r, r));
      if (c) this.emit(assign(loc.c, c));
    }
    this.commitProducer();
  }

  /**
   * The current instruction's producer locals, or null when its flags are dead
   * (overwritten before anything reads them, faults or leaves): then nothing
   * needs to be recorded. Forms that compute straight into the locals call this,
   * then `commitProducer` once their flags are final.
   */
  flagLocals(): { a: string; b: string; r: string; c: string } | null {
    const p = this.producers[this.ti.g];
    if (!p) throw new Error('jit: no producer for this instruction');
    if (!(this.liveAfter[p.g]! & p.mask)) return null;
    this.producerLocals.add(p.slot);
    return { a: `fa${p.slot}`, b: `fb${p.slot}`, r: `fr${p.slot}`, c: `fc${p.slot}` };
  }

  /** The instruction's flags now come from its producer. */
  commitProducer(): void {
    this.state = addProducer(this.state, this.producers[this.ti.g]!);
  }

  /** The condition `cc` (0-15) in the current flag state. */
  cc(cc: number): Expr {
    return ccExpr(this.state, cc);
  }

  /** Register this instruction as a fault point (call before anything that can throw). */
  faultPoint(generic = false): void {
    const ti = this.ti;
    if (this.pointOf.has(ti.g)) return;
    const p = this.point(ti.eip, ti.j, generic);
    this.pointOf.set(ti.g, p);
    this.emit(assign('k', p));
  }

  /**
   * The catch handler: registers back, the flags of the restore point `k`
   * (one case per distinct flag state), EIP and the budget from the point
   * tables; then a stop (`throw J`) returns to the run loop and a fault goes on
   * to the engine, which delivers it.
   */
  private handler(): Stmt[] {
    const groups = new Map<string, { tests: number[]; body: Stmt[] }>();
    this.points.forEach((pt, k) => {
      // A semantics function that faults has left the registers (but ESP) and the flags
      // as they must stay (a REP string instruction stops at the failing element): take
      // them from the CPU, so that only ESP comes back from the locals.
      const key = pt.generic ? 'generic' : stateKey(pt.state);
      let gr = groups.get(key);
      if (!gr) { gr = { tests: [], body: pt.generic ? this.reload(true) : flushCode(pt.state) }; groups.set(key, gr); }
      gr.tests.push(k);
    });
    const cases: { test: number | null; body: Stmt[] }[] = [];
    for (const gr of groups.values()) {
      if (gr.body.length === 0) continue;
      gr.tests.forEach((t, i) => cases.push({ test: t, body: i === gr.tests.length - 1 ? [...gr.body, BREAK] : [] }));
    }
    return [
      switch_(id('k'), cases),
      ...this.spill(),
      assign(dot('cpu', 'eip'), at('PE', id('k'))),
      assign('b', at('PR', id('k')), '+='),
      assign(dot('J', 'budget'), id('b')),
      assign(dot('cpu', 'instructionCount'), bin('-', id('icb'), id('b'))),
      if_(bin('===', id('x'), id('J')), [assign(dot('J', 'slot'), -1), ret(NULL)]),
      throw_(id('x')),
    ];
  }

  /**
   * Store the register locals the region writes. The set is only known once the
   * whole region is emitted (a loop writes in a later block what an earlier exit
   * must store), so this returns a placeholder block filled in by `generate`.
   */
  private spill(): Stmt[] {
    const body: Stmt[] = [];
    this.spillSites.push(body);
    return [block(body)];
  }

  /** Reload every register local after a semantics call (placeholder, as `spill`). */
  private reload(exceptEsp = false): Stmt[] {
    const body: Stmt[] = [];
    (exceptEsp ? this.reloadSitesNoEsp : this.reloadSites).push(body);
    return [block(body)];
  }

  private readonly reloadSitesNoEsp: Stmt[][] = [];

  private readonly spillSites: Stmt[][] = [];
  private readonly reloadSites: Stmt[][] = [];

  /**
   * Leave the region: registers and flags back to the CPU, EIP, budget and
   * instruction count, then return the linked successor (static exits) or null.
   * `done` instructions of the current block have retired.
   */
  exit(eip: Expr | number, done: number, slot: number): Stmt[] {
    // Every exit goes through the one exit path after the loop (see `exitPath`):
    // the flags move into the canonical record, the target and slot into locals.
    const n = this.blk.insns.length;
    const s: Stmt[] = [...toCanonCode(this.state), assign('xe', eip), assign('xs', slot)];
    if (n - done) s.push(assign('b', n - done, '+='));
    s.push({ type: 'BreakStatement', label: id('out') });
    return s;
  }

  /**
   * The region's single exit path. Sharing it keeps the rarely taken exits
   * (budget exhausted, self-modifying write) from being code V8 has never run
   * and would deoptimize on. It stores the registers and the canonical flag
   * record, EIP, budget and instruction count, and returns the linked region
   * when the exit's slot (or, for an indirect exit, one of its two ways) was
   * linked for this target.
   */
  private exitPath(): Stmt[] {
    const z = (n: string) => id(n);
    return [
      ...this.spill(),
      if_(and(bin('===', z('zm'), ARITH_FLAGS), bin('===', z('ze'), 0)), [
        assign(dot('cpu', 'lazyOp'), z('zop')), assign(dot('cpu', 'lazyA'), z('za')), assign(dot('cpu', 'lazyB'), z('zb')),
        assign(dot('cpu', 'lazyRes'), z('zr')), assign(dot('cpu', 'lazySize'), z('zs')), assign(dot('cpu', 'lazyCin'), z('zc')),
        assign(dot('cpu', 'lazyMask'), bin('|', bin('&', dot('cpu', 'lazyMask'), ~ARITH_FLAGS), ARITH_FLAGS)),
      ], [if_(bin('!==', bin('|', z('zm'), z('ze')), 0), [expr(call('canonFlush', [id('cpu'), ...CANON_LOCALS.map(id)]))])]),
      assign(dot('cpu', 'eip'), id('xe')),
      assign(dot('J', 'budget'), id('b')),
      assign(dot('cpu', 'instructionCount'), bin('-', id('icb'), id('b'))),
      assign(dot('J', 'slot'), id('xs')),
      if_(bin('>=', id('xs'), 0), [
        if_(bin('===', at('E', id('xs')), id('xe')), [ret(at('L', id('xs')))]),
        if_(bin('===', at('E', bin('+', id('xs'), 1)), id('xe')), [ret(at('L', bin('+', id('xs'), 1)))]),
      ]),
      ret(NULL),
    ];
  }

  /** Transfer to `target` after the whole block: a jump inside the region, or a linked exit. */
  edge(target: number): Stmt[] {
    const x = this.blockAt.get(target);
    const n = this.blk.insns.length;
    if (x === undefined) {
      let slot = this.slotOf.get(target);
      if (slot === undefined) {
        // Two entries per slot, as for indirect exits (the second stays unused).
        slot = this.slots.length; this.slots.push(target, -3); this.slotOf.set(target, slot);
      }
      return this.exit(target, n, slot);
    }
    const want = this.stateIn[x]!;
    const s: Stmt[] = [];
    if (this.liveIn[x] !== 0 && !sameState(want, this.state)) {
      if (!sameState(want, CANON)) throw new Error(`jit: flag states disagree on an edge to ${target.toString(16)}: ${JSON.stringify(want.layers.map((l) => [l.p.g, l.flags]))}/${want.base} vs ${JSON.stringify(this.state.layers.map((l) => [l.p.g, l.flags]))}/${this.state.base}`);
      s.push(...toCanonCode(this.state));
    }
    s.push(assign('blk', x), CONTINUE);
    return s;
  }

  /** Leave to a computed EIP after a mode change or a semantics call: no link. */
  exitDynamic(eip: Expr): Stmt[] {
    return this.exit(eip, this.blk.insns.length, -1);
  }

  /**
   * Leave to a computed EIP of a near indirect transfer (RET, JMP/CALL r/m),
   * which keeps the mode: a two-way inline cache of (EIP, region) pairs in
   * slots s and s+1 (`slots` -1 and -2) lets the region continue into the
   * last two successors seen without a lookup. `eip` must be a local.
   */
  exitIndirect(eip: Expr): Stmt[] {
    const s = this.slots.length;
    this.slots.push(-1, -2);
    return this.exit(eip, this.blk.insns.length, s);
  }

  // ---- emission ---------------------------------------------------------------------

  private generic(ti: TInsn): void {
    this.genericCount++;
    this.faultPoint(true);
    const n = this.blk.insns.length;
    const g = ti.g;
    this.emit(...this.spill(), ...flushCode(this.state));
    this.state = ALL_CPU;
    this.emit(
      assign(dot('cpu', 'eip'), ti.eip), assign(dot('cpu', 'nextEip'), ti.next), assign(dot('cpu', 'insn'), at('I', g)),
      assign(dot('cpu', 'instructionCount'), n - ti.j ? bin('-', bin('-', id('icb'), id('b')), n - ti.j) : bin('-', id('icb'), id('b'))),
      expr(call(at('S', g), [id('cpu'), at('I', g)])),
      ...this.reload(),
    );
    if (endsRegion(ti.insn.row)) {
      this.emit(...this.exitDynamic(dot('cpu', 'nextEip')));
      this.terminated = true;
    } else {
      this.emit(if_(or(dot('cpu', 'stopReason'), bin('!==', dot('J', 'smc'), 0)), this.stopAt(ti.next, ti.j + 1)));
    }
  }

  /** Set when the last instruction emitted its own control transfer. */
  terminated = false;

  private instruction(ti: TInsn): void {
    this.ti = ti;
    this.nextTemp = 0;
    this.wrote = false;
    const form = this.forms[ti.g];
    this.stateAt[ti.g] = this.state;
    if (!form) { this.generic(ti); return; }
    if (form.faults(ti, this.mode)) this.faultPoint();
    form.emit(this, ti);
    if (form.terminal) this.terminated = true;
    else if (this.wrote) {
      this.emit(if_(bin('!==', dot('J', 'smc'), 0), this.stopAt(ti.next, ti.j + 1)));
    }
  }

  private readonly stateAt: FlagState[] = [];

  private blockCode(b: TBlock): Stmt[] {
    this.blk = b;
    this.state = this.stateIn[b.index]!;
    this.out = [];
    this.terminated = false;
    const n = b.insns.length;
    this.ti = b.insns[0]!;
    this.emit(if_(bin('<', id('b'), n), this.exit(b.eip, n, -1)));
    this.emit(assign('b', n, '-='), update(at('C', b.index)));
    for (const ti of b.insns) this.instruction(ti);
    if (!this.terminated) this.emit(...this.edge(b.fallthrough));
    return this.out;
  }

  generate(): GeneratedRegion {
    this.analyse();
    this.colourProducers();
    const cases = this.plan.blocks.filter((b) => !this.unreached.has(b.index))
      .map((b) => ({ test: b.index, body: [block(this.blockCode(b))] as Stmt[] }));
    const exitPath = this.exitPath();
    const handler = this.handler();
    const regs = [...this.used].sort();
    const written = [...this.written].sort();
    for (const site of this.spillSites) site.push(...written.map((r) => assign(at('r32', r), id(`r${r}`))));
    for (const site of this.reloadSites) site.push(...regs.map((r) => assign(`r${r}`, at('r32', r))));
    for (const site of this.reloadSitesNoEsp) site.push(...regs.filter((r) => r !== 4).map((r) => assign(`r${r}`, at('r32', r))));
    const temps: [string, number][] = [];
    for (let t = 0; t < this.maxTemp; t++) temps.push([`t${t}`, 0]);
    const flagLocals: [string, number][] = [];
    for (const slot of [...this.producerLocals].sort((x, y) => x - y)) {
      flagLocals.push([`fa${slot}`, 0], [`fb${slot}`, 0], [`fr${slot}`, 0], [`fc${slot}`, 0]);
    }
    const body: Stmt[] = [];
    if (regs.length) body.push(let_(regs.map((r) => [`r${r}`, at('r32', r)])));
    body.push(let_([['b', dot('J', 'budget')]]));
    body.push(const_([['icb', bin('+', dot('cpu', 'instructionCount'), id('b'))]]));
    body.push(let_([['k', -1], ['blk', 0], ['xe', 0], ['xs', -1], ...temps, ...flagLocals]));
    body.push(let_(CANON_LOCALS.map((n) => [n, 0] as [string, number])));
    body.push(assign(dot('cpu', 'interruptShadow'), bool(false)));
    const loop: Stmt = { type: 'LabeledStatement', label: id('out'), body: forever([switch_(id('blk'), cases)]) };
    body.push(try_([loop, ...exitPath], 'x', handler));
    const factory: Stmt[] = [
      const_([
        ['cpu', dot('J', 'cpu')], ['mem', dot('J', 'mem')], ['r32', dot('J', 'r32')], ['ram', dot('J', 'ram')],
        ['dv', dot('J', 'dv')], ['pf', dot('J', 'pf')], ['PARITY', dot('J', 'PARITY')],
        ['setLazy', dot('J', 'setLazy')], ['setLazyCarry', dot('J', 'setLazyCarry')], ['setFlags', dot('J', 'setFlags')],
        ['szp', dot('J', 'szp')], ['testCC', dot('J', 'testCC')], ['canonWord', dot('J', 'canonWord')],
        ['canonFlush', dot('J', 'canonFlush')], ['ccWord', dot('J', 'ccWord')], ['getCF', dot('J', 'getCF')], ['getZF', dot('J', 'getZF')],
        ['getSF', dot('J', 'getSF')], ['getOF', dot('J', 'getOF')], ['getPF', dot('J', 'getPF')], ['getAF', dot('J', 'getAF')],
        ['TR', dot('M', 'tlbRead')], ['TW', dot('M', 'tlbWrite')],
        ['I', dot('R', 'insns')], ['S', dot('R', 'sems')], ['L', dot('R', 'links')], ['E', dot('R', 'icEip')], ['PE', dot('R', 'pointEip')], ['PR', dot('R', 'pointRefund')],
        ['C', dot('R', 'counts')],
      ]),
      ret(fn([], body)),
    ];
    const prog = program(factory);
    return {
      program: prog, slots: this.slots,
      pointEip: this.points.map((p) => p.eip), pointRefund: this.points.map((p) => p.refund),
      inlineInsns: this.plan.insns.length - this.genericCount, genericInsns: this.genericCount,
    };
  }
}
