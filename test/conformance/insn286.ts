/**
 * A small, independent decoder for the 16-bit one-byte opcode map as the 80286
 * vectors use it: prefixes, opcode, ModRM and displacement, length, the 16-bit
 * effective address, and a model of the memory accesses an instruction makes in
 * order. The conformance runner uses it to classify each test (its form, and
 * whether it falls in one of the 286-vs-IA-32 cases) from the test's own bytes.
 *
 * It deliberately does not use src/x86/decoder.ts: the runner must not depend
 * on the code it checks to decide what a test is.
 *
 * Segment numbers are the hardware encoding order (ES CS SS DS FS GS = 0..5),
 * the same as the Sw field and as src/x86/state.ts's SREG.
 */

export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;

/** The 16-bit register file of a test (the 286's register names). */
export interface Regs16 {
  ax: number; bx: number; cx: number; dx: number;
  cs: number; ss: number; ds: number; es: number;
  sp: number; bp: number; si: number; di: number;
  ip: number; flags: number;
}

export interface Insn286 {
  /** Prefix bytes in order. */
  prefixes: number[];
  /** The last segment override (ES..DS), or -1. */
  seg: number;
  lock: boolean;
  /** The last of F2/F3, or 0. */
  rep: number;
  opcode: number;
  /** ModRM fields, or -1 when the opcode takes none. */
  modrm: number;
  mod: number;
  reg: number;
  rm: number;
  /** ModRM displacement (16-bit, disp8 sign-extended), or 0. */
  disp: number;
  /** Offset in the bytes of the first immediate (or moffs) byte. */
  immAt: number;
  /** Immediate/moffs bytes that follow ModRM. */
  immBytes: number;
  /** Total length including prefixes. */
  length: number;
}

/** Prefixes of the 286: segment overrides, LOCK, REPNE, REP. */
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);
const SEG_PREFIX: Record<number, number> = { 0x26: ES, 0x2e: CS, 0x36: SS, 0x3e: DS };

/** Whether opcode `op` of the one-byte map takes a ModRM byte (8086/186/286 map). */
export function hasModrm(op: number): boolean {
  if (op < 0x40) return (op & 7) < 4 && op !== 0x0f;
  if (op === 0x62 || op === 0x63 || op === 0x69 || op === 0x6b) return true;
  if (op >= 0x80 && op <= 0x8f) return true;
  if (op === 0xc0 || op === 0xc1 || (op >= 0xc4 && op <= 0xc7)) return true;
  if (op >= 0xd0 && op <= 0xd3) return true;
  if (op >= 0xd8 && op <= 0xdf) return true;
  return op === 0xf6 || op === 0xf7 || op === 0xfe || op === 0xff;
}

/** Immediate (or moffs / far pointer) bytes of opcode `op` with ModRM reg field `reg`. */
export function immediateBytes(op: number, reg: number): number {
  if (op < 0x40) {
    if ((op & 7) === 4) return 1;
    if ((op & 7) === 5) return 2;
    return 0;
  }
  switch (op) {
    case 0x68: case 0x69: return 2;
    case 0x6a: case 0x6b: return 1;
    case 0x80: case 0x82: case 0x83: return 1;
    case 0x81: return 2;
    case 0x9a: case 0xea: return 4;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: return 2;
    case 0xa8: return 1;
    case 0xa9: return 2;
    case 0xc0: case 0xc1: return 1;
    case 0xc2: case 0xca: return 2;
    case 0xc6: return 1;
    case 0xc7: return 2;
    case 0xc8: return 3;
    case 0xcd: return 1;
    case 0xd4: case 0xd5: return 1;
    case 0xe8: case 0xe9: return 2;
    case 0xf6: return reg === 0 || reg === 1 ? 1 : 0;
    case 0xf7: return reg === 0 || reg === 1 ? 2 : 0;
    default: break;
  }
  if (op >= 0x70 && op <= 0x7f) return 1;
  if (op >= 0xb0 && op <= 0xb7) return 1;
  if (op >= 0xb8 && op <= 0xbf) return 2;
  if (op >= 0xe0 && op <= 0xe7) return 1;
  if (op === 0xeb) return 1;
  return 0;
}

/** Decode the instruction at the start of `bytes` (16-bit operand and address size). */
export function decode286(bytes: readonly number[]): Insn286 {
  let p = 0;
  const prefixes: number[] = [];
  let seg = -1;
  let lock = false;
  let rep = 0;
  while (p < bytes.length && PREFIXES.has(bytes[p]!)) {
    const b = bytes[p++]!;
    prefixes.push(b);
    if (b in SEG_PREFIX) seg = SEG_PREFIX[b]!;
    else if (b === 0xf0) lock = true;
    else rep = b;
  }
  const opcode = bytes[p++] ?? 0;
  let modrm = -1, mod = -1, reg = -1, rm = -1, disp = 0;
  if (hasModrm(opcode)) {
    modrm = bytes[p++] ?? 0;
    mod = modrm >> 6;
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    if (mod === 1) {
      disp = ((bytes[p++] ?? 0) << 24 >> 24) & 0xffff;
    } else if (mod === 2 || (mod === 0 && rm === 6)) {
      disp = (bytes[p] ?? 0) | ((bytes[p + 1] ?? 0) << 8);
      p += 2;
    }
  }
  const immAt = p;
  const immBytes = immediateBytes(opcode, reg);
  p += immBytes;
  return { prefixes, seg, lock, rep, opcode, modrm, mod, reg, rm, disp, immAt, immBytes, length: p };
}

/** Little-endian immediate of `n` bytes at `at`. */
export function readImm(bytes: readonly number[], at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v |= (bytes[at + i] ?? 0) << (8 * i);
  return v >>> 0;
}

/** The 16-bit effective address of a ModRM memory operand and its segment (override or default). */
export function effectiveAddress(d: Insn286, r: Regs16): { seg: number; offset: number } {
  let off: number;
  let def = DS;
  if (d.mod === 0 && d.rm === 6) {
    off = d.disp;
  } else {
    switch (d.rm) {
      case 0: off = r.bx + r.si; break;
      case 1: off = r.bx + r.di; break;
      case 2: off = r.bp + r.si; def = SS; break;
      case 3: off = r.bp + r.di; def = SS; break;
      case 4: off = r.si; break;
      case 5: off = r.di; break;
      case 6: off = r.bp; def = SS; break;
      default: off = r.bx; break;
    }
    off += d.disp;
  }
  return { seg: d.seg >= 0 ? d.seg : def, offset: off & 0xffff };
}

/** One memory access: `size` bytes at `offset` in segment `seg`. */
export interface Access {
  seg: number;
  offset: number;
  size: number;
  write: boolean;
}

/** Size in bytes of the ModRM memory operand of `op` (/reg), 0 when it is not accessed. */
function modrmOperandSize(op: number, reg: number): number | null {
  if (op < 0x40) return op & 1 ? 2 : 1;
  switch (op) {
    case 0x62: return 4; // BOUND: two words
    case 0x63: case 0x69: case 0x6b: return 2;
    case 0x80: case 0x82: return 1;
    case 0x81: case 0x83: return 2;
    case 0x8c: case 0x8e: case 0x8f: return 2;
    case 0x8d: return 0; // LEA computes the address only
    case 0xc0: case 0xc6: case 0xd0: case 0xd2: case 0xf6: case 0xfe: return 1;
    case 0xc1: case 0xc7: case 0xd1: case 0xd3: case 0xf7: return 2;
    case 0xc4: case 0xc5: return 4; // offset and selector
    case 0xff: return reg === 3 || reg === 5 ? 4 : 2;
    default: break;
  }
  if (op >= 0x84 && op <= 0x8b) return op & 1 ? 2 : 1;
  return null; // x87 escapes and anything else: no model
}

/**
 * The memory accesses instruction `d` makes from register state `r`, in the order
 * an IA-32 processor performs (and limit-checks) them; null when we have no model
 * (x87 escapes, ENTER). For a string instruction this is one iteration at the
 * current SI/DI; a REP with CX = 0 makes none. Interrupt-vector reads are linear
 * (not segmented) and left out.
 */
export function accesses(d: Insn286, bytes: readonly number[], r: Regs16): Access[] | null {
  const op = d.opcode;
  const out: Access[] = [];
  let sp = r.sp;
  const push = (n = 1): void => {
    for (let i = 0; i < n; i++) {
      sp = (sp - 2) & 0xffff;
      out.push({ seg: SS, offset: sp, size: 2, write: true });
    }
  };
  const pop = (n = 1): void => {
    for (let i = 0; i < n; i++) {
      out.push({ seg: SS, offset: sp, size: 2, write: false });
      sp = (sp + 2) & 0xffff;
    }
  };
  const srcSeg = d.seg >= 0 ? d.seg : DS;
  const w = op & 1 ? 2 : 1;
  if (d.modrm >= 0) {
    if (d.mod === 3) {
      // Register operand: only the stack accesses of the forms that have them.
      if (op === 0x8f) pop();
      else if (op === 0xff && d.reg === 2) push();
      else if (op === 0xff && d.reg === 6) push();
      return out;
    }
    const size = modrmOperandSize(op, d.reg);
    if (size === null) return null;
    const ea = effectiveAddress(d, r);
    const mem = (write: boolean): void => { if (size) out.push({ seg: ea.seg, offset: ea.offset, size, write }); };
    if (op === 0x8f) { pop(); mem(true); return out; } // POP Ew: the stack read comes first
    if (op === 0xff && (d.reg === 2 || d.reg === 6)) { mem(false); push(); return out; }
    if (op === 0xff && d.reg === 3) { mem(false); push(2); return out; }
    const writes = op === 0x88 || op === 0x89 || op === 0x8c || op === 0xc6 || op === 0xc7;
    mem(writes);
    return out;
  }
  if ((op >= 0xa4 && op <= 0xaf) || (op >= 0x6c && op <= 0x6f)) {
    if (d.rep && r.cx === 0) return out;
    const src = (): void => { out.push({ seg: srcSeg, offset: r.si, size: w, write: false }); };
    const dst = (write: boolean): void => { out.push({ seg: ES, offset: r.di, size: w, write }); };
    switch (op & 0xfe) {
      case 0xa4: src(); dst(true); break; // MOVS
      case 0xa6: src(); dst(false); break; // CMPS
      case 0xaa: dst(true); break; // STOS
      case 0xac: src(); break; // LODS
      case 0xae: dst(false); break; // SCAS
      case 0x6c: dst(true); break; // INS
      case 0x6e: src(); break; // OUTS
      default: break; // A8/A9: TEST AL/AX,imm
    }
    return out;
  }
  if (op >= 0xa0 && op <= 0xa3) {
    // MOV AL/AX <-> moffs: the offset is the immediate.
    out.push({ seg: srcSeg, offset: readImm(bytes, d.immAt, 2), size: w, write: op >= 0xa2 });
    return out;
  }
  if (op === 0xd7) return [{ seg: srcSeg, offset: (r.bx + (r.ax & 0xff)) & 0xffff, size: 1, write: false }];
  if (op === 0xc8) return null; // ENTER: not in the vectors
  switch (op) {
    case 0x06: case 0x0e: case 0x16: case 0x1e: case 0x68: case 0x6a: case 0x9c: case 0xe8: push(); break;
    case 0x07: case 0x17: case 0x1f: case 0x9d: case 0xc2: case 0xc3: pop(); break;
    case 0x60: push(8); break;
    case 0x61: pop(8); break;
    case 0x9a: push(2); break;
    case 0xca: case 0xcb: pop(2); break;
    case 0xcf: pop(3); break;
    case 0xc9: out.push({ seg: SS, offset: r.bp, size: 2, write: false }); break; // LEAVE: SP = BP, pop BP
    case 0xcc: case 0xcd: push(3); break; // the interrupt's frame
    default:
      if (op >= 0x50 && op <= 0x57) push();
      else if (op >= 0x58 && op <= 0x5f) pop();
      break;
  }
  return out;
}

/** The first access that runs past offset FFFF (the real-mode segment limit), or null. */
export function firstLimitViolation(list: readonly Access[]): Access | null {
  for (const a of list) if (a.offset + a.size - 1 > 0xffff) return a;
  return null;
}

/**
 * Whether LOCK is legal on this instruction on IA-32 (SDM vol. 2, LOCK: ADD ADC
 * AND BTC BTR BTS CMPXCHG CMPXCHG8B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG, and
 * only with a memory destination). The 0F forms do not occur in 286 code.
 */
export function lockLegalIA32(d: Insn286): boolean {
  if (d.mod === 3 || d.modrm < 0) return false;
  const op = d.opcode;
  if (op < 0x40) {
    // 00/01 ADD .. 30/31 XOR with a memory destination (Eb,Gb / Ev,Gv); not CMP (38/39).
    return (op & 7) < 2 && (op >> 3) !== 7;
  }
  if (op >= 0x80 && op <= 0x83) return d.reg !== 7;
  if (op === 0x86 || op === 0x87) return true;
  if (op === 0xf6 || op === 0xf7) return d.reg === 2 || d.reg === 3;
  if (op === 0xfe || op === 0xff) return d.reg === 0 || d.reg === 1;
  return false;
}
