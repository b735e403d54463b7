/**
 * Semantics: the x87 FPU (escape opcodes D8-DF, FWAIT, FXSAVE/FXRSTOR).
 *
 * State lives in cpu.fpu (fpu-state.ts); numbers are handled exactly, as raw
 * 80-bit patterns, by f80.ts (arithmetic, conversions, rounding under RC/PC)
 * and f80-trans.ts (transcendentals and constants, correctly rounded: the
 * hardware's own last bit may differ by one unit, see there).
 *
 * The order of events in every instruction (SDM vol. 1 §8.5-8.7, vol. 3 §2.5):
 * 1. #NM when CR0.EM or CR0.TS is set (FWAIT: when CR0.MP and CR0.TS are).
 * 2. For waiting instructions (all but FNINIT FNCLEX FNSTCW FNSTSW FNSTENV
 *    FNSAVE and FXSAVE/FXRSTOR): a pending unmasked exception (FSW.ES) is
 *    delivered: #MF when CR0.NE = 1; when CR0.NE = 0 the FERR# output is
 *    asserted once (cpu.onFerr, which the machine wires to IRQ 13 through the
 *    PIC) and the instruction proceeds as if IGNNE# were asserted (the
 *    processor's freeze until the interrupt is not modelled).
 * 3. Memory operands are read (faults are precise: nothing has changed yet).
 * 4. The operation computes its result and exception flags. Stack faults
 *    (an empty source, a full destination) raise IE with SF (C1 = 1 on
 *    overflow, 0 on underflow). IE, DE or ZE unmasked: nothing is written;
 *    OE/UE unmasked: register destinations get the exponent-wrapped result,
 *    memory destinations nothing; unmasked exceptions set ES/B, so the next
 *    waiting instruction takes #MF.
 * 5. A memory destination is written (a write fault is precise as well: pages
 *    crossed are probed before any byte is stored); then the FPU state is
 *    committed: registers, TOP, status word, and, for non-control
 *    instructions, the last instruction pointer (FCS:FIP, the instruction's
 *    first byte including prefixes), its opcode (FOP) and, with a memory
 *    operand, the operand pointer (FDS:FDP).
 *
 * Condition codes the SDM leaves "undefined" after an instruction keep their
 * values (checked on the host).
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { AF, CF, OF, PF, SF as EFLAGS_SF, ZF, setFlags } from '../flags.js';
import { FLAG, ROWS } from '../rows.js';
import { EXC, SREG } from '../state.js';
import { SW, type FpuState } from '../fpu-state.js';
import {
  CMP_UNORDERED, DENORMAL, DOUBLE_OUT, FpEnv, IE, INDEFINITE, INF, NORMAL, QNAN, SF,
  SNAN, UNSUPPORTED, ZERO, add, classify, compare, div, fromBcd, fromDouble, fromInt, fromSingle, mul, negate, abs, remainder,
  roundInt, scale, sqrt, toBcd, toDouble, toInt, toSingle, xtract, type F80,
} from '../f80.js';
import { atan2, f2xm1, loadConstant, trig, trigInRange, yl2x, yl2xp1, type TrigOp } from '../f80-trans.js';

const CR0_MP = 1 << 1;
const CR0_EM = 1 << 2;
const CR0_TS = 1 << 3;
const CR0_NE = 1 << 5;

/** One environment for all operations (semantics never run concurrently). */
const env = new FpEnv();

// ---- per-row operand shapes, resolved once --------------------------------------------

const FMT_FS = 1, FMT_FD = 2, FMT_FT = 3, FMT_WI = 4, FMT_DI = 5, FMT_QI = 6, FMT_BCD = 7;
const FMT_CODES: Record<string, number> = { fs: FMT_FS, fd: FMT_FD, ft: FMT_FT, wi: FMT_WI, di: FMT_DI, qi: FMT_QI, bcd: FMT_BCD };
/** Memory format of the row's x87 memory operand. */
const MEMFMT = new Uint8Array(ROWS.length);
/** 1 when the destination is ST(i) and the source ST(0) (`op STi,ST`). */
const DEST_STI = new Uint8Array(ROWS.length);
for (const row of ROWS) {
  if (row.cls !== 'x87') continue;
  for (const op of row.operands) if (op.x87 && FMT_CODES[op.x87]) MEMFMT[row.id] = FMT_CODES[op.x87]!;
  if (row.operands.length === 2 && row.operands[0]!.kind === 'sti') DEST_STI[row.id] = 1;
}

// ---- entry checks -------------------------------------------------------------------------

/** #NM for an escape instruction (CR0.EM or CR0.TS). */
function checkNM(cpu: Cpu): void {
  if (cpu.cr0 & (CR0_EM | CR0_TS)) cpu.raise(EXC.NM);
}

/** Deliver a pending unmasked exception: #MF, or FERR# when CR0.NE = 0. */
function checkPending(cpu: Cpu): void {
  const fpu = cpu.fpu;
  if (!fpu.pending) return;
  if (cpu.cr0 & CR0_NE) cpu.raise(EXC.MF);
  if (!fpu.ferrAsserted) {
    fpu.ferrAsserted = true;
    if (cpu.onFerr) cpu.onFerr();
  }
}

/** A waiting instruction's entry: #NM, then a pending exception. */
function enter(cpu: Cpu): FpuState {
  checkNM(cpu);
  checkPending(cpu);
  return cpu.fpu;
}

/** Record the last instruction (and operand) pointers of a non-control instruction. */
function notePointers(cpu: Cpu, i: Insn): void {
  const fpu = cpu.fpu;
  fpu.fip = cpu.eip;
  fpu.fcs = cpu.segSel[SREG.CS]!;
  fpu.fop = ((i.opcode & 7) << 8) | (i.modrm & 0xff);
  if (i.mod !== 3) {
    fpu.fdp = cpu.ea(i);
    fpu.fds = cpu.segSel[cpu.seg(i)]!;
  }
}

/**
 * Commit the environment's flags and C1 to the status word. Instructions that
 * do not define C1 (`c1` false) still write it on a stack fault.
 */
function commitStatus(fpu: FpuState, c1 = true): void {
  let sw = fpu.sw | env.flags;
  if (c1 || env.flags & SF) sw = (sw & ~SW.C1) | (env.c1 ? SW.C1 : 0);
  if (env.flags & ~fpu.cw & 0x3f) sw |= SW.ES | SW.B;
  fpu.sw = sw;
}

// ---- registers ------------------------------------------------------------------------------

function st(fpu: FpuState, i: number): F80 {
  const p = (fpu.top + i) & 7;
  return { se: fpu.se[p]!, sig: fpu.sig[p]! };
}

function setSt(fpu: FpuState, i: number, v: F80): void {
  const p = (fpu.top + i) & 7;
  fpu.se[p] = v.se;
  fpu.sig[p] = v.sig;
  fpu.empty &= ~(1 << p);
}

function pop(fpu: FpuState): void {
  fpu.empty |= 1 << fpu.top;
  fpu.top = (fpu.top + 1) & 7;
}

/** Stack underflow: IE and SF, C1 = 0. True when masked (the masked response follows). */
function underflow(): boolean {
  env.flags |= IE | SF;
  env.c1 = 0;
  return (env.masks & IE) !== 0;
}

/**
 * Push a value (null: the operation was blocked and pushes nothing). A full
 * ST(7) is stack overflow: IE, SF, C1 = 1, and when masked the indefinite is
 * pushed instead.
 */
function push(fpu: FpuState, v: F80 | null): void {
  const p = (fpu.top - 1) & 7;
  if (!((fpu.empty >> p) & 1)) {
    env.flags |= IE | SF;
    env.c1 = 1;
    if (!(env.masks & IE)) return;
    v = INDEFINITE;
  }
  if (v === null) return;
  fpu.top = p;
  setSt(fpu, 0, v);
}

/** ST(7) is in use: a push would overflow. */
function wouldOverflow(fpu: FpuState): boolean {
  return !((fpu.empty >> ((fpu.top - 1) & 7)) & 1);
}

// ---- memory ---------------------------------------------------------------------------------

/** Linear address of the memory operand, checked for `size` bytes. */
function memLin(cpu: Cpu, i: Insn, size: number, write: boolean): number {
  return cpu.linear(cpu.seg(i), cpu.ea(i), size, write);
}

/**
 * Before a store of `len` bytes at `lin` that crosses a page: take the write
 * fault of either page before any byte is stored (the hardware checks the whole
 * access first).
 */
function probeWrite(cpu: Cpu, lin: number, len: number): void {
  if ((lin & 0xfff) + len > 0x1000) cpu.mem.probeWrite(lin, len);
}

function readBytes(cpu: Cpu, lin: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const v = cpu.mem.read32((lin + k) | 0);
    out[k] = v; out[k + 1] = v >>> 8; out[k + 2] = v >>> 16; out[k + 3] = v >>> 24;
  }
  for (; k < len; k++) out[k] = cpu.mem.read8((lin + k) | 0);
  return out;
}

function writeBytes(cpu: Cpu, lin: number, b: Uint8Array): void {
  probeWrite(cpu, lin, b.length);
  let k = 0;
  for (; k + 4 <= b.length; k += 4) {
    cpu.mem.write32((lin + k) | 0, b[k]! | (b[k + 1]! << 8) | (b[k + 2]! << 16) | (b[k + 3]! << 24));
  }
  for (; k < b.length; k++) cpu.mem.write8((lin + k) | 0, b[k]!);
}

/** Scratch for converting between bytes or words and 64-bit BigInts. */
const scratch64 = new BigUint64Array(1);
const scratch8 = new Uint8Array(scratch64.buffer);
const scratch32 = new Uint32Array(scratch64.buffer);

function wordsToBig(lo: number, hi: number): bigint {
  scratch32[0] = lo;
  scratch32[1] = hi;
  return scratch64[0]!;
}

/** The low `len` (up to 8) bytes of an unsigned BigInt, little-endian. */
function bigToBytes(v: bigint, len: number, out = new Uint8Array(len), at = 0): Uint8Array {
  scratch64[0] = v;
  for (let k = 0; k < len; k++) out[at + k] = scratch8[k]!;
  return out;
}

/** The 10 bytes of physical register p, straight from the register file. */
function regBytes(fpu: FpuState, p: number, out: Uint8Array, at: number): void {
  out.set(fpu.sig8.subarray(8 * p, 8 * p + 8), at);
  out[at + 8] = fpu.se[p]!;
  out[at + 9] = fpu.se[p]! >>> 8;
}

/** Set physical register p from 10 bytes (its tag is not changed). */
function setRegBytes(fpu: FpuState, p: number, b: Uint8Array, at: number): void {
  fpu.sig8.set(b.subarray(at, at + 8), 8 * p);
  fpu.se[p] = b[at + 8]! | (b[at + 9]! << 8);
}

function f80ToBytes(v: F80, out = new Uint8Array(10), at = 0): Uint8Array {
  bigToBytes(v.sig, 8, out, at);
  out[at + 8] = v.se & 0xff;
  out[at + 9] = v.se >> 8;
  return out;
}

const FMT_SIZE = [0, 4, 8, 10, 2, 4, 8, 10];

/** The memory operand as read by readOperand: words (low, high, top 16 bits), or the bytes of a BCD operand. */
const opWords = new Uint32Array(3);
let opBytes: Uint8Array = new Uint8Array(10);

/** Read the row's memory operand (all its faults happen here, before anything changes). */
function readOperand(cpu: Cpu, i: Insn): void {
  const fmt = MEMFMT[i.row.id]!;
  const size = FMT_SIZE[fmt]!;
  const lin = memLin(cpu, i, size, false);
  const mem = cpu.mem;
  switch (size) {
    case 2: opWords[0] = mem.read16(lin); return;
    case 4: opWords[0] = mem.read32(lin); return;
    case 8:
      opWords[0] = mem.read32(lin);
      opWords[1] = mem.read32((lin + 4) | 0);
      return;
    default:
      if (fmt === FMT_BCD) {
        opBytes = readBytes(cpu, lin, 10);
        return;
      }
      opWords[0] = mem.read32(lin);
      opWords[1] = mem.read32((lin + 4) | 0);
      opWords[2] = mem.read16((lin + 8) | 0);
  }
}

/**
 * The operand readOperand read, as a register value, exactly. For FLD
 * (`operand` false) an m32/m64 SNaN raises IE and a denormal DE (null when IE
 * is unmasked); as the operand of an arithmetic or compare instruction they are
 * left to the operation (see fromFloat).
 */
function memValue(fmt: number, operand = true): F80 | null {
  switch (fmt) {
    case FMT_FS: return fromSingle(env, opWords[0]!, operand);
    case FMT_FD: return fromDouble(env, opWords[0]!, opWords[1]!, operand);
    case FMT_FT: return { se: opWords[2]!, sig: wordsToBig(opWords[0]!, opWords[1]!) };
    case FMT_WI: return fromInt(BigInt((opWords[0]! << 16) >> 16));
    case FMT_DI: return fromInt(BigInt(opWords[0]! | 0));
    case FMT_QI: return fromInt(BigInt.asIntN(64, wordsToBig(opWords[0]!, opWords[1]!)));
    default: return fromBcd(opBytes);
  }
}

// ---- arithmetic ----------------------------------------------------------------------------------

type BinOp = 'add' | 'mul' | 'sub' | 'subr' | 'div' | 'divr';

function compute(op: BinOp, a: F80, b: F80): F80 | null {
  switch (op) {
    case 'add': return add(env, a, b);
    case 'mul': return mul(env, a, b);
    case 'sub': return add(env, a, b, true);
    case 'subr': return add(env, b, a, true);
    case 'div': return div(env, a, b);
    default: return div(env, b, a);
  }
}

/**
 * FADD FMUL FSUB FSUBR FDIV FDIVR and their P and I forms: dest = dest op src,
 * where (dest, src) is (ST0, memory), (ST0, STi) or (STi, ST0).
 */
function arith(cpu: Cpu, i: Insn, op: BinOp, popAfter: boolean): void {
  const fpu = enter(cpu);
  const fmt = MEMFMT[i.row.id]!;
  if (fmt) readOperand(cpu, i);
  env.begin(fpu.cw);
  const dst = fmt ? 0 : DEST_STI[i.row.id] ? i.rm : 0;
  const srcReg = fmt ? -1 : DEST_STI[i.row.id] ? 0 : i.rm;
  let result: F80 | null;
  if (fpu.isEmpty(dst) || (srcReg >= 0 && fpu.isEmpty(srcReg))) {
    result = underflow() ? INDEFINITE : null;
  } else {
    const src = fmt ? memValue(fmt) : st(fpu, srcReg);
    result = src === null ? null : compute(op, st(fpu, dst), src);
  }
  notePointers(cpu, i);
  if (result !== null) {
    setSt(fpu, dst, result);
    if (popAfter) pop(fpu);
  }
  commitStatus(fpu);
}

const fadd: SemFn = (cpu, i) => arith(cpu, i, 'add', false);
const fmul: SemFn = (cpu, i) => arith(cpu, i, 'mul', false);
const fsub: SemFn = (cpu, i) => arith(cpu, i, 'sub', false);
const fsubr: SemFn = (cpu, i) => arith(cpu, i, 'subr', false);
const fdiv: SemFn = (cpu, i) => arith(cpu, i, 'div', false);
const fdivr: SemFn = (cpu, i) => arith(cpu, i, 'divr', false);
const faddp: SemFn = (cpu, i) => arith(cpu, i, 'add', true);
const fmulp: SemFn = (cpu, i) => arith(cpu, i, 'mul', true);
const fsubp: SemFn = (cpu, i) => arith(cpu, i, 'sub', true);
const fsubrp: SemFn = (cpu, i) => arith(cpu, i, 'subr', true);
const fdivp: SemFn = (cpu, i) => arith(cpu, i, 'div', true);
const fdivrp: SemFn = (cpu, i) => arith(cpu, i, 'divr', true);

// ---- compares -------------------------------------------------------------------------------------

/** C3 C2 C0 for each comparison result. */
const CC_OF = [SW.C0, SW.C3, 0, SW.C3 | SW.C2 | SW.C0];

function setCompareCC(fpu: FpuState, r: number): void {
  fpu.sw = (fpu.sw & ~(SW.C0 | SW.C1 | SW.C2 | SW.C3)) | CC_OF[r]!;
}

/**
 * FCOM FCOMP FCOMPP FUCOM FUCOMP FUCOMPP FICOM FICOMP FTST: compare ST0 with the
 * source and set C3 C2 C0 (C1 = 0); `pops` registers are popped afterwards.
 */
function fcompare(cpu: Cpu, i: Insn, srcReg: number, unordered: boolean, pops: number, zeroSrc = false): void {
  const fpu = enter(cpu);
  const fmt = MEMFMT[i.row.id]!;
  if (fmt) readOperand(cpu, i);
  env.begin(fpu.cw);
  let r: number;
  if (fpu.isEmpty(0) || (srcReg >= 0 && fpu.isEmpty(srcReg))) {
    underflow();
    r = CMP_UNORDERED;
  } else {
    const src = zeroSrc ? { se: 0, sig: 0n } : fmt ? memValue(fmt)! : st(fpu, srcReg);
    r = compare(env, st(fpu, 0), src, unordered);
  }
  notePointers(cpu, i);
  // The condition codes are written even when the exception is unmasked; the pops are not done.
  setCompareCC(fpu, r);
  if (!env.blocked) for (let k = 0; k < pops; k++) pop(fpu);
  commitStatus(fpu);
}

const fcom: SemFn = (cpu, i) => fcompare(cpu, i, MEMFMT[i.row.id] ? -1 : i.rm, false, 0);
const fcomp: SemFn = (cpu, i) => fcompare(cpu, i, MEMFMT[i.row.id] ? -1 : i.rm, false, 1);
const fcompp: SemFn = (cpu, i) => fcompare(cpu, i, 1, false, 2);
const fucom: SemFn = (cpu, i) => fcompare(cpu, i, i.rm, true, 0);
const fucomp: SemFn = (cpu, i) => fcompare(cpu, i, i.rm, true, 1);
const fucompp: SemFn = (cpu, i) => fcompare(cpu, i, 1, true, 2);
const ficom: SemFn = (cpu, i) => fcompare(cpu, i, -1, false, 0);
const ficomp: SemFn = (cpu, i) => fcompare(cpu, i, -1, false, 1);
const ftst: SemFn = (cpu, i) => fcompare(cpu, i, -1, false, 0, true);

/** EFLAGS ZF PF CF for each comparison result (OF SF AF are cleared). */
const EFLAGS_OF = [CF, ZF, 0, ZF | PF | CF];

/** FCOMI FCOMIP FUCOMI FUCOMIP: compare ST0 with ST(i) into EFLAGS. */
function fcomiOp(cpu: Cpu, i: Insn, unordered: boolean, popAfter: boolean): void {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let r: number;
  if (fpu.isEmpty(0) || fpu.isEmpty(i.rm)) {
    underflow();
    r = CMP_UNORDERED;
  } else {
    r = compare(env, st(fpu, 0), st(fpu, i.rm), unordered);
  }
  notePointers(cpu, i);
  setFlags(cpu, CF | PF | AF | ZF | EFLAGS_SF | OF, EFLAGS_OF[r]!);
  if (popAfter && !env.blocked) pop(fpu);
  commitStatus(fpu, false); // C1 is left alone (checked on the host), except by a stack fault
}

const fcomi: SemFn = (cpu, i) => fcomiOp(cpu, i, false, false);
const fcomip: SemFn = (cpu, i) => fcomiOp(cpu, i, false, true);
const fucomi: SemFn = (cpu, i) => fcomiOp(cpu, i, true, false);
const fucomip: SemFn = (cpu, i) => fcomiOp(cpu, i, true, true);

/** FXAM: C3 C2 C0 classify ST0 (empty included), C1 = its sign. No exceptions. */
const fxam: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  const v = st(fpu, 0);
  let cc: number;
  if (fpu.isEmpty(0)) cc = SW.C3 | SW.C0;
  else {
    switch (classify(v)) {
      case UNSUPPORTED: cc = 0; break;
      case QNAN: case SNAN: cc = SW.C0; break;
      case NORMAL: cc = SW.C2; break;
      case INF: cc = SW.C2 | SW.C0; break;
      case ZERO: cc = SW.C3; break;
      default: cc = SW.C3 | SW.C2; break; // denormal
    }
  }
  notePointers(cpu, i);
  fpu.sw = (fpu.sw & ~(SW.C0 | SW.C1 | SW.C2 | SW.C3)) | cc | (v.se & 0x8000 ? SW.C1 : 0);
};

// ---- loads and stores ---------------------------------------------------------------------------

/** FLD m32/m64/m80, FLD ST(i), FILD, FBLD. */
function fld(cpu: Cpu, i: Insn): void {
  const fpu = enter(cpu);
  const fmt = MEMFMT[i.row.id]!;
  if (fmt) readOperand(cpu, i);
  env.begin(fpu.cw);
  let v: F80 | null;
  if (!fmt && fpu.isEmpty(i.rm)) {
    // An empty source is reported as underflow even when ST(7) is full too.
    v = null;
    if (underflow()) {
      fpu.top = (fpu.top - 1) & 7;
      setSt(fpu, 0, INDEFINITE);
    }
  } else if (wouldOverflow(fpu)) {
    v = INDEFINITE; // push() raises the overflow
  } else if (fmt) {
    v = memValue(fmt, false);
  } else {
    v = st(fpu, i.rm);
  }
  notePointers(cpu, i);
  if (v !== null) push(fpu, v);
  commitStatus(fpu);
}

/** The memory image of a value stored in format `fmt`, or null when an unmasked exception forbids the store. */
function storeImage(fmt: number, v: F80): Uint8Array | null {
  switch (fmt) {
    case FMT_FS: { const w = toSingle(env, v); return w < 0 ? null : bigToBytes(BigInt(w), 4); }
    case FMT_FD: { if (!toDouble(env, v)) return null; return bigToBytes(wordsToBig(DOUBLE_OUT[0]!, DOUBLE_OUT[1]!), 8); }
    case FMT_FT: return f80ToBytes(v);
    case FMT_WI: { const b = toInt(env, v, 16); return b === null ? null : bigToBytes(b, 2); }
    case FMT_DI: { const b = toInt(env, v, 32); return b === null ? null : bigToBytes(b, 4); }
    case FMT_QI: { const b = toInt(env, v, 64); return b === null ? null : bigToBytes(b, 8); }
    default: return toBcd(env, v);
  }
}

/** The image of the indefinite in each format (masked stack underflow). */
function indefiniteImage(fmt: number): Uint8Array {
  switch (fmt) {
    case FMT_FS: return bigToBytes(0xffc00000n, 4);
    case FMT_FD: return bigToBytes(0xfff8000000000000n, 8);
    case FMT_FT: return f80ToBytes(INDEFINITE);
    case FMT_WI: return bigToBytes(0x8000n, 2);
    case FMT_DI: return bigToBytes(0x80000000n, 4);
    case FMT_QI: return bigToBytes(0x8000000000000000n, 8);
    default: { const b = new Uint8Array(10); b[9] = 0xff; b[8] = 0xff; b[7] = 0xc0; return b; }
  }
}

/** FST/FSTP to memory or ST(i), FIST/FISTP, FBSTP. */
function fstore(cpu: Cpu, i: Insn, popAfter: boolean): void {
  const fpu = enter(cpu);
  const fmt = MEMFMT[i.row.id]!;
  env.begin(fpu.cw);
  if (!fmt) {
    // FST/FSTP ST(i): a register copy, no conversion. The undocumented FSTP1
    // (D9 D8+i) differs on an empty ST0: no exception, no copy, only the pop
    // (checked on the host).
    let v: F80 | null;
    if (fpu.isEmpty(0)) {
      if (i.opcode === 0xd9) {
        notePointers(cpu, i);
        pop(fpu);
        fpu.sw &= ~SW.C1;
        return;
      }
      v = underflow() ? INDEFINITE : null;
    } else {
      v = st(fpu, 0);
    }
    notePointers(cpu, i);
    if (v !== null) {
      setSt(fpu, i.rm, v);
      if (popAfter) pop(fpu);
    }
    commitStatus(fpu);
    return;
  }
  const size = FMT_SIZE[fmt]!;
  const lin = memLin(cpu, i, size, true);
  let img: Uint8Array | null;
  if (fpu.isEmpty(0)) {
    img = underflow() ? indefiniteImage(fmt) : null;
  } else if (fmt === FMT_FS || fmt === FMT_FD) {
    // The common stores, without a byte image.
    const v = st(fpu, 0);
    let ok: boolean;
    if (fmt === FMT_FS) {
      const w = toSingle(env, v);
      ok = w >= 0;
      if (ok) cpu.mem.write32(lin, w);
    } else {
      ok = toDouble(env, v);
      if (ok) {
        probeWrite(cpu, lin, 8);
        cpu.mem.write32(lin, DOUBLE_OUT[0]!);
        cpu.mem.write32((lin + 4) | 0, DOUBLE_OUT[1]!);
      }
    }
    notePointers(cpu, i);
    if (ok && popAfter) pop(fpu);
    commitStatus(fpu);
    return;
  } else {
    img = storeImage(fmt, st(fpu, 0));
  }
  if (img) writeBytes(cpu, lin, img);
  notePointers(cpu, i);
  if (img && popAfter) pop(fpu);
  commitStatus(fpu);
}

const fst: SemFn = (cpu, i) => fstore(cpu, i, false);
const fstp: SemFn = (cpu, i) => fstore(cpu, i, true);
const fist: SemFn = (cpu, i) => fstore(cpu, i, false);
const fistp: SemFn = (cpu, i) => fstore(cpu, i, true);
const fbstp: SemFn = (cpu, i) => fstore(cpu, i, true);

/** FXCH ST(i). Empty registers (masked underflow) are taken as the indefinite. */
const fxch: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let ok = true;
  let a = st(fpu, 0), b = st(fpu, i.rm);
  if (fpu.isEmpty(0) || fpu.isEmpty(i.rm)) {
    if (underflow()) {
      if (fpu.isEmpty(0)) a = INDEFINITE;
      if (fpu.isEmpty(i.rm)) b = INDEFINITE;
    } else ok = false;
  }
  notePointers(cpu, i);
  if (ok) {
    setSt(fpu, 0, b);
    setSt(fpu, i.rm, a);
  }
  commitStatus(fpu);
};

/** FCMOVcc ST0, ST(i). */
const fcmov: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  const cond = fcmovCondition(cpu, i);
  let v: F80 | null = null;
  if (fpu.isEmpty(0) || fpu.isEmpty(i.rm)) {
    // Masked underflow loads the indefinite whatever the condition.
    if (underflow()) v = INDEFINITE;
  } else if (cond) {
    v = st(fpu, i.rm);
  }
  notePointers(cpu, i);
  if (v !== null) setSt(fpu, 0, v);
  commitStatus(fpu, false);
};

function fcmovCondition(cpu: Cpu, i: Insn): boolean {
  const f = cpu.eflags;
  let c: boolean;
  switch ((i.modrm >> 3) & 3) {
    case 0: c = (f & CF) !== 0; break; // B
    case 1: c = (f & ZF) !== 0; break; // E
    case 2: c = (f & (CF | ZF)) !== 0; break; // BE
    default: c = (f & PF) !== 0; break; // U
  }
  return i.opcode === 0xdb ? !c : c;
}

// ---- one-operand arithmetic on ST0 ------------------------------------------------------------------

/** An operation on ST0 that replaces it (FCHS FABS FSQRT FRNDINT F2XM1). */
function unary(cpu: Cpu, i: Insn, f: (v: F80) => F80 | null): void {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let r: F80 | null;
  if (fpu.isEmpty(0)) r = underflow() ? INDEFINITE : null;
  else r = f(st(fpu, 0));
  notePointers(cpu, i);
  if (r !== null) setSt(fpu, 0, r);
  commitStatus(fpu);
}

const fchs: SemFn = (cpu, i) => unary(cpu, i, (v) => negate(v));
const fabs: SemFn = (cpu, i) => unary(cpu, i, (v) => abs(v));
const fsqrt: SemFn = (cpu, i) => unary(cpu, i, (v) => sqrt(env, v));
const frndint: SemFn = (cpu, i) => unary(cpu, i, (v) => {
  const save = env.prec;
  env.prec = 64;
  const r = roundInt(env, v);
  env.prec = save;
  return r;
});
const f2xm1Sem: SemFn = (cpu, i) => unary(cpu, i, (v) => f2xm1(env, v));

/** An operation on ST0 and ST1 whose result replaces ST1, then a pop (FYL2X FYL2XP1 FPATAN). */
function binaryPop(cpu: Cpu, i: Insn, f: (y: F80, x: F80) => F80 | null): void {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let r: F80 | null;
  if (fpu.isEmpty(0) || fpu.isEmpty(1)) r = underflow() ? INDEFINITE : null;
  else r = f(st(fpu, 1), st(fpu, 0));
  notePointers(cpu, i);
  if (r !== null) {
    setSt(fpu, 1, r);
    pop(fpu);
  }
  commitStatus(fpu);
}

const fyl2x: SemFn = (cpu, i) => binaryPop(cpu, i, (y, x) => yl2x(env, y, x));
const fyl2xp1: SemFn = (cpu, i) => binaryPop(cpu, i, (y, x) => yl2xp1(env, y, x));
const fpatan: SemFn = (cpu, i) => binaryPop(cpu, i, (y, x) => atan2(env, y, x));

/** FSCALE: ST0 = ST0 × 2^trunc(ST1). */
const fscale: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let r: F80 | null;
  if (fpu.isEmpty(0) || fpu.isEmpty(1)) r = underflow() ? INDEFINITE : null;
  else r = scale(env, st(fpu, 0), st(fpu, 1));
  notePointers(cpu, i);
  if (r !== null) setSt(fpu, 0, r);
  commitStatus(fpu);
};

/** FPREM / FPREM1: C2 = incomplete; on completion C0 C3 C1 = quotient bits 2 1 0. */
function fremOp(cpu: Cpu, i: Insn, ieee: boolean): void {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let value: F80 | null = null;
  let cc = -1;
  if (fpu.isEmpty(0) || fpu.isEmpty(1)) {
    if (underflow()) value = INDEFINITE;
  } else {
    const r = remainder(env, st(fpu, 0), st(fpu, 1), ieee);
    if (r) {
      value = r.value;
      const q = r.q;
      if (r.partial) cc = SW.C2;
      else if (q >= 0) cc = (q & 4 ? SW.C0 : 0) | (q & 2 ? SW.C3 : 0) | (q & 1 ? SW.C1 : 0);
    }
  }
  notePointers(cpu, i);
  if (value !== null) setSt(fpu, 0, value);
  if (cc >= 0) {
    fpu.sw = (fpu.sw & ~(SW.C0 | SW.C1 | SW.C2 | SW.C3)) | cc;
    env.c1 = cc & SW.C1 ? 1 : 0;
  } else {
    // NaN, invalid or blocked: C2 and C1 cleared, C0 and C3 kept (checked on the host).
    fpu.sw &= ~SW.C2;
  }
  commitStatus(fpu);
}

const fprem: SemFn = (cpu, i) => fremOp(cpu, i, false);
const fprem1: SemFn = (cpu, i) => fremOp(cpu, i, true);

/** FXTRACT: ST0 = exponent, then push the significand. */
const fxtract: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  let pair: [F80, F80] | null = null;
  if (fpu.isEmpty(0)) {
    if (underflow()) pair = [INDEFINITE, INDEFINITE];
  } else if (wouldOverflow(fpu)) {
    env.flags |= IE | SF;
    env.c1 = 1;
    if (env.masks & IE) pair = [INDEFINITE, INDEFINITE];
  } else {
    pair = xtract(env, st(fpu, 0));
  }
  notePointers(cpu, i);
  if (pair) {
    setSt(fpu, 0, pair[0]);
    fpu.top = (fpu.top - 1) & 7;
    setSt(fpu, 0, pair[1]);
  }
  commitStatus(fpu);
};

/** FSIN FCOS FPTAN FSINCOS: out-of-range operands (|x| ≥ 2^63) set C2 and change nothing. */
function trigOp(cpu: Cpu, i: Insn, op: TrigOp): void {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  const pushes = op === 'tan' || op === 'sincos';
  let results: F80[] | null = null;
  let c2 = 0;
  if (fpu.isEmpty(0)) {
    if (underflow()) results = pushes ? [INDEFINITE, INDEFINITE] : [INDEFINITE];
  } else if (pushes && wouldOverflow(fpu)) {
    env.flags |= IE | SF;
    env.c1 = 1;
    if (env.masks & IE) results = [INDEFINITE, INDEFINITE];
  } else {
    const x = st(fpu, 0);
    const c = classify(x);
    if ((c === NORMAL || c === DENORMAL) && !trigInRange(x)) {
      c2 = SW.C2;
    } else {
      results = trig(env, op, x);
    }
  }
  notePointers(cpu, i);
  if (results) {
    setSt(fpu, 0, results[0]!);
    if (pushes) {
      fpu.top = (fpu.top - 1) & 7;
      setSt(fpu, 0, results[1]!);
    }
  }
  fpu.sw = (fpu.sw & ~SW.C2) | c2;
  commitStatus(fpu);
}

const fsin: SemFn = (cpu, i) => trigOp(cpu, i, 'sin');
const fcos: SemFn = (cpu, i) => trigOp(cpu, i, 'cos');
const fptan: SemFn = (cpu, i) => trigOp(cpu, i, 'tan');
const fsincos: SemFn = (cpu, i) => trigOp(cpu, i, 'sincos');

// ---- constants ----------------------------------------------------------------------------------

function loadConst(cpu: Cpu, i: Insn, v: () => F80): void {
  const fpu = enter(cpu);
  env.begin(fpu.cw);
  const value = wouldOverflow(fpu) ? INDEFINITE : v();
  notePointers(cpu, i);
  push(fpu, value);
  commitStatus(fpu);
}

const fld1: SemFn = (cpu, i) => loadConst(cpu, i, () => ({ se: 0x3fff, sig: 1n << 63n }));
const fldz: SemFn = (cpu, i) => loadConst(cpu, i, () => ({ se: 0, sig: 0n }));
const fldpi: SemFn = (cpu, i) => loadConst(cpu, i, () => loadConstant(env, 'fldpi'));
const fldl2t: SemFn = (cpu, i) => loadConst(cpu, i, () => loadConstant(env, 'fldl2t'));
const fldl2e: SemFn = (cpu, i) => loadConst(cpu, i, () => loadConstant(env, 'fldl2e'));
const fldlg2: SemFn = (cpu, i) => loadConst(cpu, i, () => loadConstant(env, 'fldlg2'));
const fldln2: SemFn = (cpu, i) => loadConst(cpu, i, () => loadConstant(env, 'fldln2'));

// ---- stack management ------------------------------------------------------------------------------

/** FFREE: tag ST(i) empty; C1 is cleared (checked on the host). */
const ffree: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  notePointers(cpu, i);
  fpu.empty |= 1 << fpu.phys(i.rm);
  fpu.sw &= ~SW.C1;
};

/** FFREEP (undocumented DF C0+i): FFREE ST(i), then pop. */
const ffreep: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  notePointers(cpu, i);
  fpu.empty |= 1 << fpu.phys(i.rm);
  pop(fpu);
  fpu.sw &= ~SW.C1;
};

const fincstp: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  notePointers(cpu, i);
  fpu.top = (fpu.top + 1) & 7;
  fpu.sw &= ~SW.C1;
};

const fdecstp: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  notePointers(cpu, i);
  fpu.top = (fpu.top - 1) & 7;
  fpu.sw &= ~SW.C1;
};

/**
 * FNOP (D9 D0) waits and counts as the last x87 instruction. The 8087/287
 * control instructions FNENI, FNDISI and FNSETPM (DB E0, E1, E4), which the 387
 * and later execute as no-ops, neither wait nor touch the pointers (checked
 * on the host).
 */
const fnop: SemFn = (cpu, i) => {
  if (i.opcode === 0xdb) {
    checkNM(cpu);
    return;
  }
  enter(cpu);
  notePointers(cpu, i);
};

// ---- control instructions -----------------------------------------------------------------------------

const fninit: SemFn = (cpu) => {
  checkNM(cpu);
  cpu.fpu.init();
};

const fnclex: SemFn = (cpu) => {
  checkNM(cpu);
  const fpu = cpu.fpu;
  fpu.sw &= ~(0x00ff | SW.B);
  fpu.ferrAsserted = false;
};

const fldcw: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  const v = cpu.mem.read16(memLin(cpu, i, 2, false));
  fpu.loadControlWord(v);
};

const fnstcw: SemFn = (cpu, i) => {
  checkNM(cpu);
  cpu.mem.write16(memLin(cpu, i, 2, true), cpu.fpu.cw);
};

/** FNSTSW m16 / FNSTSW AX. */
const fnstsw: SemFn = (cpu, i) => {
  checkNM(cpu);
  const v = cpu.fpu.statusWord();
  if (i.mod === 3) cpu.r16[0] = v;
  else cpu.mem.write16(memLin(cpu, i, 2, true), v);
};

/** Real-address or virtual-8086 mode: the environment holds linear pointers. */
function realFormat(cpu: Cpu): boolean {
  return !(cpu.cr0 & 1) || (cpu.flagsBits & FLAG.VM) !== 0;
}

/** The 14- or 28-byte environment image (SDM vol. 1 figures 8-9 to 8-12). */
function envImage(cpu: Cpu, opsize: number): Uint8Array {
  const fpu = cpu.fpu;
  const b = new Uint8Array(opsize === 32 ? 28 : 14);
  const v = new DataView(b.buffer);
  const real = realFormat(cpu);
  const fip = real ? (((fpu.fcs << 4) + fpu.fip) >>> 0) : fpu.fip;
  const fdp = real ? (((fpu.fds << 4) + fpu.fdp) >>> 0) : fpu.fdp;
  if (opsize === 32) {
    v.setUint32(0, 0xffff0000 | fpu.cw, true);
    v.setUint32(4, 0xffff0000 | fpu.statusWord(), true);
    v.setUint32(8, 0xffff0000 | fpu.tagWord(), true);
    if (real) {
      v.setUint32(12, 0xffff0000 | (fip & 0xffff), true);
      v.setUint32(16, ((fip >>> 16) << 12) | fpu.fop, true);
      v.setUint32(20, 0xffff0000 | (fdp & 0xffff), true);
      v.setUint32(24, (fdp >>> 16) << 12, true);
    } else {
      v.setUint32(12, fip, true);
      v.setUint32(16, (fpu.fop << 16) | fpu.fcs, true);
      v.setUint32(20, fdp, true);
      v.setUint32(24, 0xffff0000 | fpu.fds, true);
    }
  } else {
    v.setUint16(0, fpu.cw, true);
    v.setUint16(2, fpu.statusWord(), true);
    v.setUint16(4, fpu.tagWord(), true);
    if (real) {
      v.setUint16(6, fip & 0xffff, true);
      v.setUint16(8, (((fip >>> 16) & 0xf) << 12) | fpu.fop, true);
      v.setUint16(10, fdp & 0xffff, true);
      v.setUint16(12, ((fdp >>> 16) & 0xf) << 12, true);
    } else {
      v.setUint16(6, fip & 0xffff, true);
      v.setUint16(8, fpu.fcs, true);
      v.setUint16(10, fdp & 0xffff, true);
      v.setUint16(12, fpu.fds, true);
    }
  }
  return b;
}

/** Load an environment image (FLDENV, FRSTOR). */
function loadEnv(cpu: Cpu, b: Uint8Array, opsize: number): void {
  const fpu = cpu.fpu;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const real = realFormat(cpu);
  if (opsize === 32) {
    fpu.cw = (v.getUint16(0, true) & 0x1f3f) | 0x40;
    fpu.loadTagWord(v.getUint16(8, true));
    if (real) {
      const w16 = v.getUint32(16, true);
      fpu.fip = (v.getUint16(12, true) | (((w16 >>> 12) & 0xffff) << 16)) >>> 0;
      fpu.fop = w16 & 0x7ff;
      fpu.fcs = 0;
      fpu.fdp = (v.getUint16(20, true) | (((v.getUint32(24, true) >>> 12) & 0xffff) << 16)) >>> 0;
      fpu.fds = 0;
    } else {
      fpu.fip = v.getUint32(12, true);
      const w16 = v.getUint32(16, true);
      fpu.fcs = w16 & 0xffff;
      fpu.fop = (w16 >>> 16) & 0x7ff;
      fpu.fdp = v.getUint32(20, true);
      fpu.fds = v.getUint16(24, true);
    }
    fpu.loadStatusWord(v.getUint16(4, true));
  } else {
    fpu.cw = (v.getUint16(0, true) & 0x1f3f) | 0x40;
    fpu.loadTagWord(v.getUint16(4, true));
    if (real) {
      const w8 = v.getUint16(8, true);
      fpu.fip = v.getUint16(6, true) | ((w8 >>> 12) << 16);
      fpu.fop = w8 & 0x7ff;
      fpu.fcs = 0;
      fpu.fdp = v.getUint16(10, true) | ((v.getUint16(12, true) >>> 12) << 16);
      fpu.fds = 0;
    } else {
      fpu.fip = v.getUint16(6, true);
      fpu.fcs = v.getUint16(8, true);
      fpu.fdp = v.getUint16(10, true);
      fpu.fds = v.getUint16(12, true);
    }
    fpu.loadStatusWord(v.getUint16(2, true));
  }
}

const fnstenv: SemFn = (cpu, i) => {
  checkNM(cpu);
  const img = envImage(cpu, i.opsize);
  writeBytes(cpu, memLin(cpu, i, img.length, true), img);
  // FSTENV masks every exception once the environment is saved (which clears ES and B).
  cpu.fpu.loadControlWord(cpu.fpu.cw | 0x3f);
};

const fldenv: SemFn = (cpu, i) => {
  enter(cpu);
  const size = i.opsize === 32 ? 28 : 14;
  const b = readBytes(cpu, memLin(cpu, i, size, false), size);
  loadEnv(cpu, b, i.opsize);
};

const fnsave: SemFn = (cpu, i) => {
  checkNM(cpu);
  const fpu = cpu.fpu;
  const envImg = envImage(cpu, i.opsize);
  const img = new Uint8Array(envImg.length + 80);
  img.set(envImg);
  for (let k = 0; k < 8; k++) regBytes(fpu, fpu.phys(k), img, envImg.length + 10 * k);
  writeBytes(cpu, memLin(cpu, i, img.length, true), img);
  fpu.init();
};

const frstor: SemFn = (cpu, i) => {
  const fpu = enter(cpu);
  const envSize = i.opsize === 32 ? 28 : 14;
  const b = readBytes(cpu, memLin(cpu, i, envSize + 80, false), envSize + 80);
  loadEnv(cpu, b, i.opsize);
  for (let k = 0; k < 8; k++) setRegBytes(fpu, fpu.phys(k), b, envSize + 10 * k);
};

/**
 * FXSAVE: the 512-byte area's x87 part (SDM vol. 2 FXSAVE, table 3-53): FCW,
 * FSW, the abridged tag byte, FOP, FIP, FCS, FDP, FDS, and ST0-ST7 in 16-byte
 * slots (the six bytes after each register are written as zeros). This CPU
 * has no SSE (CPUID does not claim it), so MXCSR and MXCSR_MASK are written as
 * zeros and the XMM area (bytes 160 and up) is left alone. #GP(0) when the
 * operand is not 16-byte aligned; no pending-exception check.
 */
const fxsave: SemFn = (cpu, i) => {
  checkNM(cpu);
  const off = cpu.ea(i);
  if (off & 15) cpu.raise(EXC.GP, 0);
  const fpu = cpu.fpu;
  const b = new Uint8Array(160);
  const v = new DataView(b.buffer);
  v.setUint16(0, fpu.cw, true);
  v.setUint16(2, fpu.statusWord(), true);
  b[4] = fpu.abridgedTag();
  v.setUint16(6, fpu.fop, true);
  v.setUint32(8, fpu.fip, true);
  v.setUint16(12, fpu.fcs, true);
  v.setUint32(16, fpu.fdp, true);
  v.setUint16(20, fpu.fds, true);
  for (let k = 0; k < 8; k++) regBytes(fpu, fpu.phys(k), b, 32 + 16 * k);
  const lin = cpu.linear(cpu.seg(i), off, 512, true);
  probeWrite(cpu, lin, 512); // the access is 512 bytes, even though only the x87 part is written
  writeBytes(cpu, lin, b);
};

const fxrstor: SemFn = (cpu, i) => {
  checkNM(cpu);
  const off = cpu.ea(i);
  if (off & 15) cpu.raise(EXC.GP, 0);
  const lin = cpu.linear(cpu.seg(i), off, 512, false);
  const b = readBytes(cpu, lin, 160);
  const v = new DataView(b.buffer);
  const fpu = cpu.fpu;
  fpu.cw = (v.getUint16(0, true) & 0x1f3f) | 0x40;
  fpu.loadAbridgedTag(b[4]!);
  fpu.fop = v.getUint16(6, true) & 0x7ff;
  fpu.fip = v.getUint32(8, true);
  fpu.fcs = v.getUint16(12, true);
  fpu.fdp = v.getUint32(16, true);
  fpu.fds = v.getUint16(20, true);
  fpu.loadStatusWord(v.getUint16(2, true));
  for (let k = 0; k < 8; k++) setRegBytes(fpu, fpu.phys(k), b, 32 + 16 * k);
};

/** FWAIT/WAIT: #NM when CR0.MP and CR0.TS are both set; then a pending exception is delivered. */
const fwait: SemFn = (cpu) => {
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) cpu.raise(EXC.NM);
  checkPending(cpu);
};

export const x87Semantics: Record<string, SemFn> = {
  fadd, fmul, fsub, fsubr, fdiv, fdivr, faddp, fmulp, fsubp, fsubrp, fdivp, fdivrp,
  fiadd: fadd, fimul: fmul, fisub: fsub, fisubr: fsubr, fidiv: fdiv, fidivr: fdivr,
  fcom, fcomp, fcompp, fucom, fucomp, fucompp, ficom, ficomp, ftst, fxam,
  fcomi, fcomip, fucomi, fucomip,
  fld, fild: fld, fbld: fld, fst, fstp, fist, fistp, fbstp, fxch, fcmov,
  fchs, fabs, fsqrt, frndint, f2xm1: f2xm1Sem, fyl2x, fyl2xp1, fpatan, fscale, fprem, fprem1, fxtract,
  fsin, fcos, fptan, fsincos,
  fld1, fldz, fldpi, fldl2t, fldl2e, fldlg2, fldln2,
  ffree, ffreep, fincstp, fdecstp, fnop,
  fninit, fnclex, fldcw, fnstcw, fnstsw, fnstenv, fldenv, fnsave, frstor, fxsave, fxrstor, fwait,
};
