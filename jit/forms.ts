/**
 * Inline forms: the instructions worth more than a semantics call, written as
 * templates over register locals and lazy flags.
 *
 * One entry per semantics name (the table's `sem`), so an inline form covers
 * every row that shares the operation: `add` covers 00/01/02/03/04/05/80/81/
 * 82/83 /0, in every operand size. Where an operand lives comes from the row's
 * operand descriptors, resolved once by sem/operand.ts (LOC0/LOC1, WIDTH0/1),
 * the same locations the semantics functions read, and which flags an
 * instruction reads and writes comes from the row's flag masks; a form only
 * says what the operation does. A form may decline an instruction (`accepts`),
 * typically a rare mode (16-bit stack) or operand kind; it then runs through
 * the generic path, which calls the semantics function itself.
 *
 * Every form follows the rule of the semantics functions: do every read and
 * check that can fault first, then write memory, then commit registers and
 * record the flag producer (Gen.produce), so that the catch handler finds the
 * state before the instruction in the locals. The differential tests in
 * test/jit run each form against its semantics function on random operands.
 */
import type { Expr } from './ast.js';
import { assign, bin, cond, id, if_, num } from './ast.js';
import type { CompileMode, Gen, MemRef } from './codegen.js';
import { relTarget, type TInsn } from './discover.js';
import { ARITH_FLAGS, CF, OP, SHIFT, type Producer } from './flagstate.js';
import type { Insn } from '../src/x86/decoder.js';
import { L_ACC, L_CL, L_IMM, L_MOFFS, L_ONE, L_REG, L_RM, L_Z, LOC0, LOC1, MASK, width0, width1 } from '../src/x86/sem/operand.js';
import { REG, SREG } from '../src/x86/state.js';

export interface Form {
  /** Whether this instruction, in this mode, compiles inline (else the generic path runs it). */
  accepts(ti: TInsn, mode: CompileMode): boolean;
  /** The flag producer the instruction creates (without its index), if any. */
  producer?(ti: TInsn): Omit<Producer, 'g' | 'slot'> | null;
  /** Whether it can fault (or leave early): it is then a fault point and observes all flags. */
  faults(ti: TInsn, mode: CompileMode): boolean;
  emit(g: Gen, ti: TInsn): void;
  /** A control transfer: it emits the block's ending itself. */
  terminal?: boolean;
  /** A terminal form whose target is computed (RET): it leaves the region. */
  dynamicExit?(ti: TInsn): boolean;
}

// ---- operand helpers (locations from sem/operand.ts) --------------------------------

function isMemLoc(i: Insn, loc: number): boolean {
  return (loc === L_RM && i.mod !== 3) || loc === L_MOFFS;
}

function hasMem(ti: TInsn): boolean {
  const i = ti.insn;
  return i.row.operands.some((o) => o.kind === 'M' || o.kind === 'O' || ((o.kind === 'E') && i.mod !== 3));
}

/** Locations an inline form handles (not segment/control registers or string operands). */
function simpleLoc(loc: number): boolean {
  return loc === L_RM || loc === L_REG || loc === L_Z || loc === L_ACC || loc === L_CL || loc === L_IMM || loc === L_ONE || loc === L_MOFFS;
}

function regOf(i: Insn, loc: number): number {
  return loc === L_REG ? i.reg : loc === L_ACC ? 0 : loc === L_CL ? 1 : i.rm;
}

/** The immediate as a value of `size` bytes (int32 for 4). */
function immValue(i: Insn, size: number): number {
  return size === 4 ? i.imm | 0 : i.imm & MASK[size]!;
}

/** The memory operand at `loc` (ModRM memory or moffs). */
function memOf(g: Gen, i: Insn, loc: number, size: number, write: boolean): MemRef {
  const seg = g.segOf(i);
  if (loc === L_MOFFS) return g.linear(seg, num(i.adsize === 16 ? i.disp & 0xffff : i.disp | 0), size, write);
  return g.linear(seg, g.ea(i), size, write);
}

/** Read a source operand into an expression (a local for memory and registers that may change). */
function readLoc(g: Gen, i: Insn, loc: number, size: number): Expr {
  switch (loc) {
    case L_IMM: return num(immValue(i, size));
    case L_ONE: return num(1);
    case L_RM: case L_MOFFS:
      if (isMemLoc(i, loc)) return id(g.load(memOf(g, i, loc, size, false), size));
      return g.reg(i.rm, size);
    default: return g.reg(regOf(i, loc), size);
  }
}

/** Copy an expression into a fresh local (to survive a register commit). */
function keep(g: Gen, e: Expr): Expr {
  if (e.type === 'Literal' || (e.type === 'UnaryExpression' && e.argument.type === 'Literal')) return e;
  const t = g.temp();
  g.emit({ type: 'ExpressionStatement', expression: { type: 'AssignmentExpression', operator: '=', left: id(t), right: e } });
  return id(t);
}

function set(g: Gen, t: string, e: Expr): Expr {
  g.emit({ type: 'ExpressionStatement', expression: { type: 'AssignmentExpression', operator: '=', left: id(t), right: e } });
  return id(t);
}

/** `e` wrapped to `size` bytes: int32 for 4, unsigned for 1 and 2. */
function wrap(e: Expr, size: number): Expr {
  return size === 4 ? bin('|', e, 0) : bin('&', e, MASK[size]!);
}

const CARRY = (g: Gen): Expr => cond(g.cc(2), num(1), num(0));

// ---- the ALU ---------------------------------------------------------------------

const ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7, TEST = 8;
const LAZY_OF = [OP.ADD, OP.LOGIC, OP.ADC, OP.SBB, OP.LOGIC, OP.SUB, OP.LOGIC, OP.SUB, OP.LOGIC];

function aluResult(op: number, a: Expr, b: Expr, cin: Expr | null, size: number): Expr {
  switch (op) {
    case ADD: return wrap(bin('+', a, b), size);
    case ADC: return wrap(bin('+', bin('+', a, b), cin!), size);
    case SBB: return wrap(bin('-', bin('-', a, b), cin!), size);
    case SUB: case CMP: return wrap(bin('-', a, b), size);
    case OR: return bin('|', a, b);
    case XOR: return bin('^', a, b);
    default: return bin('&', a, b);
  }
}

function binary(op: number): Form {
  const writes = op !== CMP && op !== TEST;
  return {
    accepts: (ti) => simpleLoc(LOC0[ti.insn.row.id]!) && simpleLoc(LOC1[ti.insn.row.id]!),
    producer: (ti) => ({ kind: 'lazy', op: LAZY_OF[op]!, size: width0(ti.insn), mask: ARITH_FLAGS, count: 0 }),
    faults: (ti) => hasMem(ti),
    emit(g, ti) {
      const i = ti.insn;
      const id0 = i.row.id;
      const size = width0(i);
      const dloc = LOC0[id0]!;
      const b = readLoc(g, i, LOC1[id0]!, size);
      // The carry-in is read before this producer's locals (which may be the slot of the CF producer) change.
      const cin = op === ADC || op === SBB ? keep(g, CARRY(g)) : null;
      const logic = LAZY_OF[op] === OP.LOGIC;
      if (!isMemLoc(i, dloc)) {
        // A register destination: nothing can fault after the source is read, so
        // the producer locals can take the operands directly.
        const r = regOf(i, dloc);
        const loc = g.flagLocals();
        if (!loc) {
          if (writes) g.setReg(r, size, aluResult(op, g.reg(r, size), b, cin, size));
        } else if (logic) {
          g.emit(assign(loc.a, 0), assign(loc.b, 0), assign(loc.r, aluResult(op, g.reg(r, size), b, cin, size)));
          if (writes) g.setReg(r, size, id(loc.r));
        } else {
          g.emit(assign(loc.a, g.reg(r, size)), assign(loc.b, b));
          if (cin) g.emit(assign(loc.c, cin));
          g.emit(assign(loc.r, aluResult(op, id(loc.a), id(loc.b), cin ? id(loc.c) : null, size)));
          if (writes) g.setReg(r, size, id(loc.r));
        }
        g.commitProducer();
        return;
      }
      const m = memOf(g, i, dloc, size, writes);
      const cinM = cin;
      if (!writes) {
        const a = id(g.load(m, size));
        const res = set(g, g.temp(), aluResult(op, a, b, cinM, size));
        g.produce(logic ? num(0) : a, logic ? num(0) : b, res, cinM ?? undefined);
        return;
      }
      const { v, p } = g.rmwLoad(m, size);
      const res = set(g, g.temp(), aluResult(op, id(v), b, cinM, size));
      g.rmwStore(m, p, size, res);
      g.produce(logic ? num(0) : id(v), logic ? num(0) : b, res, cinM ?? undefined);
    },
  };
}

const INC = 0, DEC = 1, NEG = 2, NOT = 3;

function unary(op: number): Form {
  const lazy = [OP.INC, OP.DEC, OP.NEG][op];
  return {
    accepts: () => true,
    producer: (ti) => (lazy === undefined ? null : {
      kind: 'lazy', op: lazy, size: width0(ti.insn), mask: op === NEG ? ARITH_FLAGS : ARITH_FLAGS & ~CF, count: 0,
    }),
    faults: (ti) => hasMem(ti),
    emit(g, ti) {
      const i = ti.insn;
      const size = width0(i);
      const loc = LOC0[i.row.id]!;
      const calc = (a: Expr): Expr => {
        switch (op) {
          case INC: return wrap(bin('+', a, 1), size);
          case DEC: return wrap(bin('-', a, 1), size);
          case NEG: return wrap({ type: 'UnaryExpression', operator: '-', prefix: true, argument: a }, size);
          default: return wrap({ type: 'UnaryExpression', operator: '~', prefix: true, argument: a }, size);
        }
      };
      const flags = (a: Expr, res: Expr) => {
        if (op === INC || op === DEC) g.produce(a, num(1), res);
        else if (op === NEG) g.produce(num(0), a, res);
      };
      if (!isMemLoc(i, loc)) {
        const fl = lazy === undefined ? null : g.flagLocals();
        if (!fl) {
          g.setReg(i.rm, size, calc(g.reg(i.rm, size)));
        } else {
          g.emit(assign(fl.a, op === NEG ? num(0) : g.reg(i.rm, size)), assign(fl.b, op === NEG ? g.reg(i.rm, size) : num(1)));
          g.emit(assign(fl.r, calc(id(op === NEG ? fl.b : fl.a))));
          g.setReg(i.rm, size, id(fl.r));
        }
        if (lazy !== undefined) g.commitProducer();
        return;
      }
      const m = memOf(g, i, loc, size, true);
      const { v, p } = g.rmwLoad(m, size);
      const res = set(g, g.temp(), calc(id(v)));
      g.rmwStore(m, p, size, res);
      flags(id(v), res);
    },
  };
}

// ---- shifts by a constant -----------------------------------------------------------

function shiftCount(i: Insn): number {
  const loc = LOC1[i.row.id]!;
  return loc === L_ONE ? 1 : loc === L_IMM ? i.imm & 31 : -1;
}

function shift(op: number): Form {
  return {
    // CL counts, and a count of 0 on memory (which still reads), run generically.
    accepts: (ti) => { const c = shiftCount(ti.insn); return c > 0 || (c === 0 && ti.insn.mod === 3); },
    producer: (ti) => {
      const c = shiftCount(ti.insn);
      return c > 0 ? { kind: 'shift', op, size: width0(ti.insn), mask: ARITH_FLAGS, count: c } : null;
    },
    faults: (ti) => hasMem(ti),
    emit(g, ti) {
      const i = ti.insn;
      const size = width0(i);
      const c = shiftCount(i);
      if (c === 0) return;
      const calc = (a: Expr): Expr => {
        if (op === SHIFT.SHL) return wrap(bin('<<', a, c), size);
        if (op === SHIFT.SHR) return size === 4 ? bin('|', bin('>>>', a, c), 0) : bin('>>>', a, c);
        if (size === 4) return bin('>>', a, c);
        const sh = 32 - size * 8;
        return bin('&', bin('>>', bin('>>', bin('<<', a, sh), sh), c), MASK[size]!);
      };
      if (i.mod === 3) {
        const fl = g.flagLocals();
        if (!fl) {
          g.setReg(i.rm, size, calc(g.reg(i.rm, size)));
        } else {
          g.emit(assign(fl.a, g.reg(i.rm, size)), assign(fl.b, c), assign(fl.r, calc(id(fl.a))));
          g.setReg(i.rm, size, id(fl.r));
        }
        g.commitProducer();
        return;
      }
      const m = memOf(g, i, L_RM, size, true);
      const { v, p } = g.rmwLoad(m, size);
      const res = set(g, g.temp(), calc(id(v)));
      g.rmwStore(m, p, size, res);
      g.produce(id(v), num(c), res);
    },
  };
}

// ---- data movement ---------------------------------------------------------------

const mov: Form = {
  accepts: (ti) => simpleLoc(LOC0[ti.insn.row.id]!) && simpleLoc(LOC1[ti.insn.row.id]!),
  faults: (ti) => hasMem(ti),
  emit(g, ti) {
    const i = ti.insn;
    const size = width0(i);
    const dloc = LOC0[i.row.id]!;
    const v = readLoc(g, i, LOC1[i.row.id]!, size);
    if (isMemLoc(i, dloc)) g.store(memOf(g, i, dloc, size, true), size, v);
    else g.setReg(regOf(i, dloc), size, v);
  },
};

function extend(signed: boolean): Form {
  return {
    accepts: () => true,
    faults: (ti) => hasMem(ti),
    emit(g, ti) {
      const i = ti.insn;
      const w = width1(i);
      const v = readLoc(g, i, L_RM, w);
      const sh = 32 - w * 8;
      g.setReg(i.reg, i.opsize >> 3, signed ? bin('>>', bin('<<', v, sh), sh) : v);
    },
  };
}

const lea: Form = {
  accepts: () => true,
  faults: () => false,
  emit(g, ti) {
    const i = ti.insn;
    g.setReg(i.reg, i.opsize >> 3, g.ea(i));
  },
};

const nop: Form = { accepts: () => true, faults: () => false, emit() {} };

const xchg: Form = {
  accepts: (ti) => LOC0[ti.insn.row.id] !== L_RM || ti.insn.mod === 3,
  faults: () => false,
  emit(g, ti) {
    const i = ti.insn;
    const size = width0(i);
    const [x, y] = LOC0[i.row.id] !== L_RM ? [i.rm, 0] : [i.reg, i.rm];
    const a = keep(g, g.reg(x, size));
    const b = keep(g, g.reg(y, size));
    g.setReg(x, size, b);
    g.setReg(y, size, a);
  },
};

const cbw: Form = {
  accepts: () => true,
  faults: () => false,
  emit(g, ti) {
    if (ti.insn.opsize === 16) g.setReg(0, 2, bin('>>', bin('<<', g.reg(0, 1), 24), 24));
    else g.setReg(0, 4, bin('>>', bin('<<', g.reg(0, 2), 16), 16));
  },
};

const cwd: Form = {
  accepts: () => true,
  faults: () => false,
  emit(g, ti) {
    if (ti.insn.opsize === 16) g.setReg(REG.EDX, 2, bin('>>', bin('<<', g.reg(0, 2), 16), 31));
    else g.setReg(REG.EDX, 4, bin('>>', g.reg(0, 4), 31));
  },
};

const setcc: Form = {
  accepts: () => true,
  faults: (ti) => hasMem(ti),
  emit(g, ti) {
    const i = ti.insn;
    const v = cond(g.cc(i.opcode & 15), num(1), num(0));
    if (i.mod === 3) g.setReg(i.rm, 1, v);
    else {
      const m = memOf(g, i, L_RM, 1, true);
      g.store(m, 1, keep(g, v));
    }
  },
};

const cmovcc: Form = {
  accepts: () => true,
  faults: (ti) => hasMem(ti),
  emit(g, ti) {
    const i = ti.insn;
    const size = i.opsize >> 3;
    const v = keep(g, readLoc(g, i, L_RM, size));
    g.emit({ type: 'IfStatement', test: g.cc(i.opcode & 15), consequent: { type: 'BlockStatement', body: [g.regAssign(i.reg, size, v)] }, alternate: null });
  },
};

// ---- the stack (32-bit stack pointer) ------------------------------------------------

/** Push `v` (`size` bytes) and commit ESP. */
function pushValue(g: Gen, v: Expr, size: number): void {
  const off = set(g, g.temp(), bin('|', bin('-', g.reg32(REG.ESP), size), 0));
  g.store(g.linear(SREG.SS, off, size, true), size, v);
  g.setReg(REG.ESP, 4, off);
}

const push: Form = {
  accepts: (ti, mode) => mode.stack32,
  faults: () => true,
  emit(g, ti) {
    const i = ti.insn;
    const size = i.opsize >> 3;
    let v: Expr;
    if (i.opcode === 0xff) v = keep(g, readLoc(g, i, L_RM, size));
    else if (i.opcode === 0x68 || i.opcode === 0x6a) v = num(immValue(i, size));
    else v = keep(g, g.reg(i.rm, size));
    pushValue(g, v, size);
  },
};

const pop: Form = {
  accepts: (ti, mode) => mode.stack32 && (ti.insn.opcode !== 0x8f || ti.insn.mod === 3),
  faults: () => true,
  emit(g, ti) {
    const i = ti.insn;
    const size = i.opsize >> 3;
    const v = g.load(g.linear(SREG.SS, g.reg32(REG.ESP), size, false), size);
    g.setReg(REG.ESP, 4, bin('|', bin('+', g.reg32(REG.ESP), size), 0));
    g.setReg(i.rm, size, id(v));
  },
};

const leave: Form = {
  accepts: (ti, mode) => mode.stack32,
  faults: () => true,
  emit(g, ti) {
    const size = ti.insn.opsize >> 3;
    const v = g.load(g.linear(SREG.SS, g.reg32(REG.EBP), size, false), size);
    g.setReg(REG.ESP, 4, bin('|', bin('+', g.reg32(REG.EBP), size), 0));
    g.setReg(REG.EBP, size, id(v));
  },
};

// ---- control transfers ------------------------------------------------------------

const jmp: Form = {
  terminal: true,
  accepts: (ti) => ti.insn.opcode !== 0xff,
  faults: () => true,
  emit(g, ti) {
    const t = relTarget(ti);
    g.checkTarget(t);
    g.emit(...g.edge(t));
  },
};

const jcc: Form = {
  terminal: true,
  accepts: () => true,
  faults: () => true,
  emit(g, ti) {
    const t = relTarget(ti);
    const taken = g.edge(t);
    const fall = g.edge(ti.next);
    const check: typeof taken = [];
    const before = g.out;
    g.out = check;
    g.checkTarget(t);
    g.out = before;
    g.branch(g.cc(ti.insn.opcode & 15), [...check, ...taken], fall);
  },
};

const loop: Form = {
  terminal: true,
  accepts: () => true,
  faults: () => true,
  emit(g, ti) {
    const i = ti.insn;
    const a16 = i.adsize === 16;
    const t = relTarget(ti);
    const count = set(g, g.temp(), a16 ? bin('&', bin('-', g.reg(REG.ECX, 2), 1), 0xffff) : bin('|', bin('-', g.reg32(REG.ECX), 1), 0));
    let test: Expr = bin('!==', count, 0);
    if (i.opcode !== 0xe2) test = { type: 'LogicalExpression', operator: '&&', left: test, right: g.cc(i.opcode === 0xe1 ? 4 : 5) };
    const commit = g.regAssign(REG.ECX, a16 ? 2 : 4, count);
    const check: typeof g.out = [];
    const before = g.out;
    g.out = check;
    g.checkTarget(t);
    g.out = before;
    g.branch(test, [...check, commit, ...g.edge(t)], [commit, ...g.edge(ti.next)]);
  },
};

const jcxz: Form = {
  terminal: true,
  accepts: () => true,
  faults: () => true,
  emit(g, ti) {
    const i = ti.insn;
    const t = relTarget(ti);
    const check: typeof g.out = [];
    const before = g.out;
    g.out = check;
    g.checkTarget(t);
    g.out = before;
    g.branch(bin('===', i.adsize === 16 ? g.reg(REG.ECX, 2) : g.reg32(REG.ECX), 0), [...check, ...g.edge(t)], g.edge(ti.next));
  },
};

const call: Form = {
  terminal: true,
  accepts: (ti, mode) => mode.stack32 && ti.insn.opcode === 0xe8,
  faults: () => true,
  emit(g, ti) {
    const size = ti.insn.opsize >> 3;
    const t = relTarget(ti);
    g.checkTarget(t);
    pushValue(g, num(size === 4 ? ti.next | 0 : ti.next), size);
    g.smcCheck(t);
    g.emit(...g.edge(t));
  },
};

const ret: Form = {
  terminal: true,
  dynamicExit: () => true,
  accepts: (ti, mode) => mode.stack32,
  faults: () => true,
  emit(g, ti) {
    const i = ti.insn;
    const size = i.opsize >> 3;
    const v = g.load(g.linear(SREG.SS, g.reg32(REG.ESP), size, false), size);
    const target = size === 4 ? set(g, g.temp(), bin('>>>', id(v), 0)) : id(v);
    g.emit({
      type: 'IfStatement', test: bin('>', target, { type: 'MemberExpression', object: { type: 'MemberExpression', object: id('cpu'), property: id('segLimit'), computed: false, optional: false }, property: num(SREG.CS), computed: true, optional: false }),
      consequent: { type: 'BlockStatement', body: [{ type: 'ExpressionStatement', expression: { type: 'CallExpression', callee: { type: 'MemberExpression', object: id('cpu'), property: id('raise'), computed: false, optional: false }, arguments: [num(13), num(0)], optional: false } }] },
      alternate: null,
    });
    g.setReg(REG.ESP, 4, bin('|', bin('+', g.reg32(REG.ESP), size + (i.opcode === 0xc2 ? i.imm & 0xffff : 0)), 0));
    // Returns to a call site of this region stay in it.
    for (const site of g.returnSites()) g.emit(if_(bin('===', target, site), g.edge(site)));
    g.emit(...g.exitIndirect(target));
  },
};

/** Inline forms by semantics name; every other name runs through the generic path. */
export const FORMS: Readonly<Record<string, Form>> = {
  add: binary(ADD), or: binary(OR), adc: binary(ADC), sbb: binary(SBB), and: binary(AND), sub: binary(SUB),
  xor: binary(XOR), cmp: binary(CMP), test: binary(TEST),
  inc: unary(INC), dec: unary(DEC), neg: unary(NEG), not: unary(NOT),
  shl: shift(SHIFT.SHL), shr: shift(SHIFT.SHR), sar: shift(SHIFT.SAR),
  mov, movzx: extend(false), movsx: extend(true), lea, nop, xchg, cbw, cwd, setcc, cmovcc,
  push, pop, leave,
  jmp, jcc, loop, jcxz, call, ret,
};
