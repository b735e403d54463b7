/**
 * Semantics: the integer ALU — ADD OR ADC SBB AND SUB XOR CMP TEST, INC DEC NEG NOT.
 *
 * All two-operand forms (Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev  AL,Ib  eAX,Iz  Eb,Ib  Ev,Iz
 * Ev,Ibs) go through `binary`, which reads the row's precomputed operand
 * locations (operand.ts) and special-cases a register destination, the common
 * case, before the memory read-modify-write path.
 *
 * Flags are lazy (flags.ts): each operation records its operands and result and
 * the flags are derived when read. AF after AND/OR/XOR/TEST is undefined; we
 * clear it.
 *
 * Precise state: in a memory read-modify-write the linear address is checked as
 * a write before the read (so a read-only segment faults up front), the result
 * is written, and only then are the flags recorded.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { ARITH_FLAGS, CF, OP, getCF, setLazy, setLazyCarry } from '../flags.js';
import { Loc, FORM, getR, maskOf, memLinear, readLin, readSrc, regOf, setR, size0, writeLin } from './operand.js';

// Operation codes of `binary` (the order of the 00-3F opcode rows), plus TEST.
const enum Op { ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7, TEST = 8 }

/** The result of `a op b` masked by `m`, with carry-in `cin` for ADC/SBB. */
function result(op: number, a: number, b: number, cin: number, m: number): number {
  switch (op) {
    case Op.ADD: return (a + b) & m;
    case Op.OR: return (a | b) & m;
    case Op.ADC: return (a + b + cin) & m;
    case Op.SBB: return (a - b - cin) & m;
    case Op.AND: case Op.TEST: return a & b & m;
    case Op.XOR: return (a ^ b) & m;
    default: return (a - b) & m; // SUB, CMP
  }
}

/** Record the flags of `a op b = r`. */
function record(cpu: Cpu, op: number, a: number, b: number, cin: number, r: number, size: number): void {
  switch (op) {
    case Op.ADD: setLazy(cpu, OP.ADD, a, b, r, size); break;
    case Op.ADC: setLazyCarry(cpu, OP.ADC, a, b, cin, r, size); break;
    case Op.SBB: setLazyCarry(cpu, OP.SBB, a, b, cin, r, size); break;
    case Op.SUB: case Op.CMP: setLazy(cpu, OP.SUB, a, b, r, size); break;
    default: setLazy(cpu, OP.LOGIC, 0, 0, r, size); break;
  }
}

function binary(cpu: Cpu, i: Insn, op: number): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  const m = maskOf(size);
  const sloc = (f >> 4) & 15;
  const b = sloc === Loc.IMM ? i.imm & m : sloc === Loc.REG ? getR(cpu, i.reg, size) : readSrc(cpu, i, sloc, size);
  const dloc = f & 15;
  if (dloc === Loc.RM && i.mod !== 3) {
    binaryMem(cpu, i, op, b, size);
    return;
  }
  const r = regOf(i, dloc);
  const a = getR(cpu, r, size);
  const cin = op === Op.ADC || op === Op.SBB ? getCF(cpu) : 0;
  const res = result(op, a, b, cin, m);
  if (op !== Op.CMP && op !== Op.TEST) setR(cpu, r, size, res);
  record(cpu, op, a, b, cin, res, size);
}

/** `binary` with a memory destination (apart, so that the register path stays small). */
function binaryMem(cpu: Cpu, i: Insn, op: number, b: number, size: number): void {
  const writes = op !== Op.CMP && op !== Op.TEST;
  const lin = memLinear(cpu, i, size, writes);
  const a = readLin(cpu.mem, lin, size);
  const cin = op === Op.ADC || op === Op.SBB ? getCF(cpu) : 0;
  const res = result(op, a, b, cin, maskOf(size));
  if (writes) writeLin(cpu.mem, lin, size, res);
  record(cpu, op, a, b, cin, res, size);
}

/** A one-operand read-modify-write (INC DEC NEG NOT) on operand 0 (E or Z). */
function unary(cpu: Cpu, i: Insn, op: number): void {
  const f = FORM[i.row.id]!;
  const size = size0(f, i);
  if ((f & 15) !== Loc.RM || i.mod === 3) {
    const r = i.rm;
    const a = getR(cpu, r, size);
    const res = unaryResult(op, a, maskOf(size));
    setR(cpu, r, size, res);
    unaryFlags(cpu, op, a, res, size);
    return;
  }
  unaryMem(cpu, i, op, size);
}

function unaryMem(cpu: Cpu, i: Insn, op: number, size: number): void {
  const lin = memLinear(cpu, i, size, true);
  const a = readLin(cpu.mem, lin, size);
  const res = unaryResult(op, a, maskOf(size));
  writeLin(cpu.mem, lin, size, res);
  unaryFlags(cpu, op, a, res, size);
}

const enum Un { INC = 0, DEC = 1, NEG = 2, NOT = 3 }

function unaryResult(op: number, a: number, m: number): number {
  switch (op) {
    case Un.INC: return (a + 1) & m;
    case Un.DEC: return (a - 1) & m;
    case Un.NEG: return -a & m;
    default: return ~a & m;
  }
}

function unaryFlags(cpu: Cpu, op: number, a: number, res: number, size: number): void {
  switch (op) {
    case Un.INC: setLazy(cpu, OP.INC, a, 1, res, size, ARITH_FLAGS & ~CF); break;
    case Un.DEC: setLazy(cpu, OP.DEC, a, 1, res, size, ARITH_FLAGS & ~CF); break;
    case Un.NEG: setLazy(cpu, OP.NEG, 0, a, res, size); break;
    default: break; // NOT changes no flags
  }
}

export const aluSemantics: Record<string, SemFn> = {
  add: (cpu, i) => binary(cpu, i, Op.ADD),
  or: (cpu, i) => binary(cpu, i, Op.OR),
  adc: (cpu, i) => binary(cpu, i, Op.ADC),
  sbb: (cpu, i) => binary(cpu, i, Op.SBB),
  and: (cpu, i) => binary(cpu, i, Op.AND),
  sub: (cpu, i) => binary(cpu, i, Op.SUB),
  xor: (cpu, i) => binary(cpu, i, Op.XOR),
  cmp: (cpu, i) => binary(cpu, i, Op.CMP),
  test: (cpu, i) => binary(cpu, i, Op.TEST),
  inc: (cpu, i) => unary(cpu, i, Un.INC),
  dec: (cpu, i) => unary(cpu, i, Un.DEC),
  neg: (cpu, i) => unary(cpu, i, Un.NEG),
  not: (cpu, i) => unary(cpu, i, Un.NOT),
};

