/**
 * Compile-time model of the arithmetic flags inside a translation.
 *
 * The cold tier keeps flags lazily in the CPU state (src/x86/flags.ts): the last
 * flag-setting operation's kind, operands and result, plus eager bits. Translated
 * code goes one step further: an inline flag-setting instruction (a *producer*)
 * only leaves its operands and result in JavaScript locals (`fa<g>`, `fb<g>`,
 * `fr<g>`, `fc<g>`, named after the instruction's index g), and the translator
 * tracks, at every point of the region, which producer defines each of the six
 * flags. A Jcc after CMP then compiles to `fa3 < fb3`; nothing is stored.
 *
 * The state is a list of *layers*, oldest first: each names a producer and the
 * flags that still come from it; flags in no layer are in the CPU state. Layers
 * only ever sit on top of the CPU state, because anything that reads or writes
 * the CPU's flags (a generic semantics call, an exit, a fault) first *flushes*:
 * it replays the layers, oldest first, with the same setLazy/setFlags calls the
 * semantics would have made, which leaves the CPU state exactly as the cold tier
 * would have left it. Replaying a producer with its full mask is right even when
 * later layers took some of its flags: the later replays overwrite them again.
 *
 * Producers of two kinds:
 *  - 'lazy': the operations flags.ts records lazily (OP.ADD ... OP.NEG), with the
 *    same operand conventions as the semantics (sizes 1/2 unsigned, 4 int32);
 *  - 'shift': SHL/SHR/SAR by a constant count, whose flags the semantics store
 *    eagerly (sem/shift.ts); the translator derives each flag from the
 *    operand, the count and the result with the same formulas.
 *
 * The per-flag expressions below restate flags.ts's computeLazy and shift.ts's
 * flag formulas as templates; the differential fuzz (test/jit) runs every
 * producer against the cold tier to keep them the same.
 */
import type { Expr, Stmt } from './ast.js';
import { assign, at, bin, bnot, bool, call, cond, dot, expr, id, not, num, or } from './ast.js';
import { ARITH_FLAGS, CF, OF, OP, PF, AF, ZF, SF } from '../src/x86/flags.js';

export { ARITH_FLAGS, CF, OF, PF, AF, ZF, SF, OP };

export const SHIFT = { SHL: 4, SHR: 5, SAR: 7 } as const;

export interface Producer {
  /** Instruction index in the region. */
  g: number;
  /**
   * Which set of locals holds its operands (`fa<slot>` ...): producers that can
   * be in the flag state at the same time get different slots (codegen colours
   * them), so a handful of locals serve a whole region.
   */
  slot: number;
  kind: 'lazy' | 'shift';
  /** OP.* for 'lazy', SHIFT.* for 'shift'. */
  op: number;
  size: number;
  /** Flags written. */
  mask: number;
  /** Shift count (1-31) for 'shift'. */
  count: number;
}

export interface Layer {
  p: Producer;
  flags: number;
}

/**
 * Flags state: layers oldest first, over a base that holds the flags in no
 * layer: the CPU state ('cpu'), or the region's *canonical record* ('canon'),
 * a lazy record like the CPU's kept in locals (`zop za zb zr zs zc`: operation,
 * operands, result, size, carry-in; `zm`: flags it defines lazily; `ze`/`zbits`:
 * flags held eagerly; the rest still in the CPU). Where a block's predecessors
 * leave different layers, each of them moves its flags into the canonical
 * record on the edge (register moves, no stores) and the block starts from
 * 'canon'.
 */
export interface FlagState {
  base: 'cpu' | 'canon';
  layers: readonly Layer[];
}

export const ALL_CPU: FlagState = { base: 'cpu', layers: [] };
export const CANON: FlagState = { base: 'canon', layers: [] };

const FLAG_LIST = [CF, PF, AF, ZF, SF, OF];

export function addProducer(s: FlagState, p: Producer): FlagState {
  const out: Layer[] = [];
  for (const l of s.layers) {
    const f = l.flags & ~p.mask;
    if (f) out.push({ p: l.p, flags: f });
  }
  out.push({ p, flags: p.mask });
  return { base: s.base, layers: out };
}

export function sameState(a: FlagState, b: FlagState): boolean {
  if (a.base !== b.base || a.layers.length !== b.layers.length) return false;
  for (let i = 0; i < a.layers.length; i++) {
    if (a.layers[i]!.p !== b.layers[i]!.p || a.layers[i]!.flags !== b.layers[i]!.flags) return false;
  }
  return true;
}

/** The producer of flag `f`, or null when it is in the base. */
function sourceOf(s: FlagState, f: number): Producer | null {
  const l = s.layers;
  for (let i = l.length - 1; i >= 0; i--) if (l[i]!.flags & f) return l[i]!.p;
  return null;
}

function covered(s: FlagState): number {
  let c = 0;
  for (const l of s.layers) c |= l.flags;
  return c;
}

/** The canonical record's locals, in the order the helpers take them. */
export const CANON_LOCALS = ['zop', 'za', 'zb', 'zr', 'zs', 'zc', 'zm', 'ze', 'zbits'];

function canonArgs(): Expr[] {
  return [id('cpu'), ...CANON_LOCALS.map(id)];
}

// ---- names of a producer's locals ------------------------------------------------

export function fa(p: Producer): Expr { return id(`fa${p.slot}`); }
export function fb(p: Producer): Expr { return id(`fb${p.slot}`); }
export function fr(p: Producer): Expr { return id(`fr${p.slot}`); }
export function fc(p: Producer): Expr { return id(`fc${p.slot}`); }

/** A key that is equal for flag states whose flush code is the same. */
export function stateKey(s: FlagState): string {
  return `${s.base}:${s.layers.map((l) => `${l.p.slot}.${l.p.kind}.${l.p.op}.${l.p.size}.${l.p.count}.${l.p.mask}/${l.flags}`).join(',')}`;
}

const SIGN = [0, 0x80, 0x8000, 0, 0x80000000];

function u(p: Producer, e: Expr): Expr {
  return p.size === 4 ? bin('>>>', e, 0) : e;
}

/** The sign bit of `e` (a value of the producer's size) as a boolean. */
function signOf(p: Producer, e: Expr): Expr {
  return p.size === 4 ? bin('<', e, 0) : bin('!==', bin('&', e, SIGN[p.size]!), 0);
}

/** `e` sign-extended from the producer's size (for signed compares). */
function signed(p: Producer, e: Expr): Expr {
  if (p.size === 4) return e;
  const sh = 32 - p.size * 8;
  return bin('>>', bin('<<', e, sh), sh);
}

function signConst(p: Producer): number {
  return p.size === 4 ? -0x80000000 : SIGN[p.size]!;
}

/** One flag of a producer, as a boolean expression. */
function flagOf(p: Producer, f: number): Expr {
  const a = fa(p), b = fb(p), r = fr(p);
  if (f === ZF) return bin('===', r, 0);
  if (f === SF) return signOf(p, r);
  if (f === PF) return bin('!==', at('PARITY', bin('&', r, 255)), 0);
  if (p.kind === 'shift') return shiftFlag(p, f);
  switch (f) {
    case CF:
      switch (p.op) {
        case OP.ADD: return bin('<', u(p, r), u(p, a));
        case OP.ADC: return cond(bin('!==', fc(p), 0), bin('<=', u(p, r), u(p, a)), bin('<', u(p, r), u(p, a)));
        case OP.SUB: return bin('<', u(p, a), u(p, b));
        case OP.SBB: return cond(bin('!==', fc(p), 0), bin('<=', u(p, a), u(p, b)), bin('<', u(p, a), u(p, b)));
        case OP.NEG: return bin('!==', b, 0);
        default: return bool(false); // LOGIC (INC/DEC do not write CF)
      }
    case OF:
      switch (p.op) {
        case OP.ADD: case OP.ADC: return signOf(p, bin('&', bin('^', a, r), bin('^', b, r)));
        case OP.SUB: case OP.SBB: return signOf(p, bin('&', bin('^', a, b), bin('^', a, r)));
        case OP.INC: return bin('===', r, signConst(p));
        case OP.DEC: return bin('===', a, signConst(p));
        case OP.NEG: return bin('===', b, signConst(p));
        default: return bool(false);
      }
    case AF:
      switch (p.op) {
        case OP.INC: case OP.DEC: return bin('!==', bin('&', bin('^', bin('^', a, 1), r), 16), 0);
        case OP.NEG: return bin('!==', bin('&', bin('^', b, r), 16), 0);
        case OP.LOGIC: return bool(false);
        default: return bin('!==', bin('&', bin('^', bin('^', a, b), r), 16), 0);
      }
  }
  throw new Error(`jit: flag ${f}`);
}

/** Flags of SHL/SHR/SAR by a constant count (sem/shift.ts): CF, OF; AF is cleared. */
function shiftFlag(p: Producer, f: number): Expr {
  const bits = p.size * 8;
  const top = bits - 1;
  const c = p.count;
  const a = fa(p), r = fr(p);
  const bit = (e: Expr) => bin('!==', bin('&', e, 1), 0);
  const cf = (): Expr => {
    switch (p.op) {
      case SHIFT.SHL: return c <= bits ? bit(bin('>>>', a, bits - c)) : bool(false);
      case SHIFT.SHR: return bit(bin('>>>', a, c - 1));
      default: return bit(bin('>>', signed(p, a), c - 1));
    }
  };
  switch (f) {
    case CF: return cf();
    case OF:
      switch (p.op) {
        case SHIFT.SHL: return bin('!==', bit(bin('>>>', r, top)), cf());
        case SHIFT.SHR: return bit(bin('^', bin('>>>', r, top), bin('>>>', r, top - 1)));
        default: return bool(false);
      }
    case AF: return bool(false);
  }
  throw new Error(`jit: shift flag ${f}`);
}

/** A CPU-held flag, through flags.ts's getters. */
function cpuFlag(f: number): Expr {
  const cpu = id('cpu');
  switch (f) {
    case CF: return bin('!==', call('getCF', [cpu]), 0);
    case ZF: return call('getZF', [cpu]);
    case SF: return call('getSF', [cpu]);
    case OF: return call('getOF', [cpu]);
    case PF: return call('getPF', [cpu]);
    default: return call('getAF', [cpu]);
  }
}

function flagExpr(s: FlagState, f: number): Expr {
  const p = sourceOf(s, f);
  if (p) return flagOf(p, f);
  if (s.base === 'cpu') return cpuFlag(f);
  return bin('!==', bin('&', call('canonWord', canonArgs()), f), 0);
}

/** Flags each condition-code pair reads (cc >> 1). */
const CC_READS = [OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF];

export function ccReads(cc: number): number {
  return CC_READS[cc >> 1]!;
}

/** Condition code `cc` (0-15) in the flag state `s`, as a boolean expression. */
export function ccExpr(s: FlagState, cc: number): Expr {
  const need = CC_READS[cc >> 1]!;
  let src: Producer | null = null;
  let first = true;
  let mixed = false;
  for (const f of FLAG_LIST) {
    if (!(need & f)) continue;
    const p = sourceOf(s, f);
    if (first) { src = p; first = false; } else if (p !== src) mixed = true;
  }
  let e: Expr | null = null;
  if (!mixed) {
    if (src !== null) e = specialised(src, cc & ~1);
    else if (s.base === 'cpu') e = call('testCC', [id('cpu'), cc & ~1]);
    else e = call('ccWord', [call('canonWord', canonArgs()), cc & ~1]);
  }
  if (!e) {
    const F = (f: number) => flagExpr(s, f);
    switch (cc >> 1) {
      case 0: e = F(OF); break;
      case 1: e = F(CF); break;
      case 2: e = F(ZF); break;
      case 3: e = or(F(CF), F(ZF)); break;
      case 4: e = F(SF); break;
      case 5: e = F(PF); break;
      case 6: e = bin('!==', F(SF), F(OF)); break;
      default: e = or(F(ZF), bin('!==', F(SF), F(OF))); break;
    }
  }
  return cc & 1 ? not(e) : e;
}

/** Direct forms of the even condition codes for one producer, or null. */
function specialised(p: Producer, cc: number): Expr | null {
  if (p.kind !== 'lazy') return null;
  const a = fa(p), b = fb(p), r = fr(p);
  if (p.op === OP.SUB) {
    switch (cc >> 1) {
      case 1: return bin('<', u(p, a), u(p, b));
      case 2: return bin('===', r, 0);
      case 3: return bin('<=', u(p, a), u(p, b));
      case 4: return signOf(p, r);
      case 6: return bin('<', signed(p, a), signed(p, b));
      case 7: return bin('<=', signed(p, a), signed(p, b));
      default: return null;
    }
  }
  if (p.op === OP.LOGIC) {
    switch (cc >> 1) {
      case 0: case 1: return bool(false);
      case 2: case 3: return bin('===', r, 0);
      case 4: case 6: return signOf(p, r);
      case 7: return p.size === 4 ? bin('<=', r, 0) : or(bin('===', r, 0), signOf(p, r));
      default: return null;
    }
  }
  return null;
}

/** Replay one producer into the CPU state through flags.ts (what its semantics would have called). */
function replay(p: Producer): Stmt {
  const cpu = id('cpu');
  if (p.kind === 'shift') {
    const word = bin('|', bin('|', cond(flagOf(p, CF), num(CF), num(0)), call('szp', [fr(p), p.size])),
      cond(flagOf(p, OF), num(OF), num(0)));
    return expr(call('setFlags', [cpu, ARITH_FLAGS, word]));
  }
  if (p.op === OP.ADC || p.op === OP.SBB) return expr(call('setLazyCarry', [cpu, p.op, fa(p), fb(p), fc(p), fr(p), p.size]));
  return expr(call('setLazy', [cpu, p.op, fa(p), fb(p), fr(p), p.size, p.mask]));
}

function store(field: string, v: Expr | number): Stmt {
  return assign(dot('cpu', field), v);
}

/**
 * Statements that leave the CPU's flag state as the cold tier would. The
 * common case, a lazy producer on top whose missing flags (INC/DEC's CF) come
 * from older layers, is written out as stores; anything else replays the base
 * and the layers, oldest first, through flags.ts (setLazy, setLazyCarry,
 * setFlags) and the canonical record's helper.
 */
export function flushCode(s: FlagState): Stmt[] {
  const layers = s.layers;
  if (layers.length === 0) return s.base === 'cpu' ? [] : [expr(call('canonFlush', canonArgs()))];
  const n = layers[layers.length - 1]!.p;
  const rest = ARITH_FLAGS & ~n.mask;
  if (n.kind === 'lazy' && (covered(s) & rest) === rest) {
    const out: Stmt[] = [];
    if (rest) {
      let bits: Expr | null = null;
      for (const f of FLAG_LIST) {
        if (!(rest & f)) continue;
        const e = cond(flagOf(sourceOf(s, f)!, f), num(f), num(0));
        bits = bits ? bin('|', bits, e) : e;
      }
      out.push(store('flagsBits', bin('|', bin('&', dot('cpu', 'flagsBits'), ~rest), bits!)));
    }
    out.push(store('lazyOp', n.op), store('lazyA', fa(n)), store('lazyB', fb(n)), store('lazyRes', fr(n)), store('lazySize', n.size));
    if (n.op === OP.ADC || n.op === OP.SBB) out.push(store('lazyCin', fc(n)));
    out.push(store('lazyMask', bin('|', bin('&', dot('cpu', 'lazyMask'), ~ARITH_FLAGS), n.mask)));
    return out;
  }
  const out: Stmt[] = [];
  if (s.base === 'canon' && covered(s) !== ARITH_FLAGS) out.push(expr(call('canonFlush', canonArgs())));
  for (const { p } of layers) out.push(replay(p));
  return out;
}

/**
 * Statements that move the flag state `s` into the canonical record (on an
 * edge into a block whose predecessors disagree). The newest lazy producer
 * becomes the record; flags it does not define are evaluated into the eager
 * bits (from older layers inline, from an old record through canonWord).
 */
export function toCanonCode(s: FlagState): Stmt[] {
  const layers = s.layers;
  if (layers.length === 0) {
    return s.base === 'canon' ? [] : [assign('zm', 0), assign('ze', 0)];
  }
  const out: Stmt[] = [];
  const cov = covered(s);
  const n = layers[layers.length - 1]!.p;
  // Flags of the base that survive: evaluate an old record's lazy ones before it is replaced.
  const keep = ARITH_FLAGS & ~cov;
  if (s.base === 'cpu') {
    out.push(assign('ze', 0), assign('zm', 0));
  } else if (keep) {
    const lazyKept = bin('&', id('zm'), keep);
    out.push(assign('zbits', bin('|', bin('&', id('zbits'), bnot(lazyKept)), bin('&', call('canonWord', canonArgs()), lazyKept))));
    out.push(assign('ze', bin('|', bin('&', id('ze'), keep), lazyKept)), assign('zm', 0));
  } else {
    out.push(assign('ze', 0), assign('zm', 0));
  }
  // Older layers' flags (and a shift's) become eager bits.
  const eager = n.kind === 'lazy' ? cov & ~n.mask : cov;
  if (eager) {
    let bits: Expr = num(0);
    for (const f of FLAG_LIST) {
      if (!(eager & f)) continue;
      bits = bin('|', bits, cond(flagOf(sourceOf(s, f)!, f), num(f), num(0)));
    }
    out.push(assign('zbits', bin('|', bin('&', id('zbits'), ~eager), bits)), assign('ze', bin('|', id('ze'), eager)));
  }
  if (n.kind === 'lazy') {
    out.push(assign('zop', n.op), assign('za', fa(n)), assign('zb', fb(n)), assign('zr', fr(n)), assign('zs', n.size));
    if (n.op === OP.ADC || n.op === OP.SBB) out.push(assign('zc', fc(n)));
    out.push(assign('zm', n.mask));
  }
  return out;
}

export const FLAG_NAMES = FLAG_LIST;
