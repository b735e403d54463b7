/**
 * The Intel-syntax disassembler, derived from the table: a row's mnemonic and
 * operand notation plus the decoder's fields are all it needs.
 *
 * Output follows GNU objdump's `-M intel` conventions so that the two can be
 * compared line by line (test/x86/objdump.test.ts; the accepted differences, each
 * with its reason, are in test/x86/objdump-differences.ts):
 * - lower case, `SIZE PTR seg:[base+index*scale+disp]`, an absolute address as
 *   `ds:0x1234`, a SIB byte without an index shown as `eiz`;
 * - immediates in hexadecimal at the operand's size, branch targets absolute;
 * - LOCK and REP shown as `lock`, `rep`/`repz`/`repnz`; a segment, operand-size or
 *   address-size prefix that the text does not show is printed by name before the
 *   mnemonic (`es nop`, `data16 fwait`, `addr32 mov ax,ds:0x1`);
 * - where the operand size is not visible in the operands, a `w`/`d` suffix when it
 *   differs from the mode's (`retw`, `pushd fs`, `iretw`, `fldenvd`) and always for
 *   the descriptor-table instructions (`sgdtd`, `lidtw`);
 * - the mnemonic of a few rows follows objdump rather than the table where both name
 *   the same instruction: PUSHA/POPA/PUSHF/POPF/IRET by their base names, JCXZ/JECXZ
 *   by the address size (the table's a/b pair is by operand size), `66 90` as
 *   `xchg ax,ax`, PREFETCHh for 0F 18 /0-3, `notrack` for 3E on indirect near
 *   branches.
 */
import { decode, SEG, type Insn } from './decoder.js';
import type { Operand } from './rows.js';

const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?', '?'];
const SEG_PREFIX_BYTE = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const SEG_PREFIX: Record<number, string> = { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds', 0x64: 'fs', 0x65: 'gs' };

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** Byte width of a size code under the instruction's operand size (0 when unsized). */
function width(size: string, insn: Insn): number {
  switch (size) {
    case 'b': case 'bs': return 1;
    case 'w': return 2;
    case 'd': return 4;
    case 'q': return 8;
    case 't': return 10;
    case 'v': case 'z': return insn.opsize / 8;
    case 'p': return insn.opsize === 16 ? 4 : 6;
    case 'a': return insn.opsize === 16 ? 4 : 8;
    default: return 0;
  }
}

const PTR: Record<number, string> = { 1: 'BYTE PTR ', 2: 'WORD PTR ', 4: 'DWORD PTR ', 6: 'FWORD PTR ', 8: 'QWORD PTR ', 10: 'TBYTE PTR ' };

function gpr(n: number, bytes: number): string {
  return bytes === 1 ? REG8[n]! : bytes === 2 ? REG16[n]! : REG32[n]!;
}

/** The context one instruction is printed in. */
interface Ctx {
  insn: Insn;
  address: number;
  /** The code size of the mode (CS.D), inferred from the operand size and a 66 prefix. */
  code32: boolean;
}

/** Rows whose Ew register form names a register of the operand size (objdump, and the CPU). */
const EW_REG_BY_OPSIZE = new Set(['mov_to_seg', 'sldt', 'str', 'smsw', 'lar', 'lsl']);

/** An address without base or index register. */
function isAbsolute(insn: Insn): boolean {
  return insn.base < 0 && insn.index < 0;
}

/** True when objdump shows a SIB byte's missing index as `eiz`. */
function showsEiz(ctx: Ctx): boolean {
  const insn = ctx.insn;
  if (insn.adsize !== 32 || insn.rm !== 4 || insn.index >= 0) return false;
  if (insn.base === 4 && insn.scale === 0) return false; // the canonical [esp] form
  // In 16-bit code, [disp32] through a SIB byte reads as a plain absolute address.
  if (!ctx.code32 && insn.base < 0 && insn.scale === 0) return false;
  return true;
}

function memAddress(ctx: Ctx, segShown: boolean): string {
  const insn = ctx.insn;
  const parts: string[] = [];
  const a32 = insn.adsize === 32;
  const regs = a32 ? REG32 : REG16;
  if (insn.base >= 0) parts.push(regs[insn.base]!);
  if (insn.index >= 0) parts.push(regs[insn.index]! + (a32 ? `*${1 << insn.scale}` : ''));
  else if (showsEiz(ctx)) parts.push(`eiz*${1 << insn.scale}`);
  const seg = segShown && insn.segOverride >= 0 ? SREG[insn.segOverride]! : '';
  if (parts.length === 0) return `${seg || 'ds'}:${hex(a32 ? insn.disp : insn.disp & 0xffff)}`;
  let inner = parts.join('+');
  const d = a32 ? insn.disp | 0 : (insn.disp << 16) >> 16;
  if (insn.mod === 1 || insn.mod === 2 || insn.base < 0) inner += d < 0 ? `-${hex(-d)}` : `+${hex(d)}`;
  return `${seg ? seg + ':' : ''}[${inner}]`;
}

function stringOperand(insn: Insn, es: boolean, op: Operand): string {
  const regs = insn.adsize === 16 ? REG16 : REG32;
  const seg = es ? 'es' : insn.segOverride >= 0 ? SREG[insn.segOverride]! : 'ds';
  return `${PTR[width(op.size, insn)] ?? ''}${seg}:[${regs[es ? 7 : 6]}]`;
}

/** The size of a ModRM memory operand as objdump prints it (0: no `PTR`). */
function memWidth(insn: Insn, op: Operand): number {
  switch (insn.row.sem) {
    case 'lea': case 'sgdt': case 'sidt': case 'lgdt': case 'lidt': return 0;
    case 'invlpg': return 1;
    case 'nop': return isPrefetch(insn) ? 1 : width(op.size, insn);
    case 'mov_from_seg': return 2; // a segment register is stored as a word whatever the operand size
    default: return op.x87 === 'env' || op.x87 === 'st' ? 0 : width(op.size, insn);
  }
}

/** 0F 18 /0-3 with a memory operand: SSE's PREFETCHh, a hint NOP on the P6. */
function isPrefetch(insn: Insn): boolean {
  return insn.map === 1 && insn.opcode === 0x18 && insn.mod !== 3 && insn.reg < 4;
}

/** True when 3E on this instruction is CET's NOTRACK (indirect near CALL/JMP), as objdump shows it. */
function isNotrack(insn: Insn): boolean {
  return insn.segOverride === SEG.DS && insn.map === 0 && insn.opcode === 0xff && (insn.reg === 2 || insn.reg === 4);
}

function formatOperand(ctx: Ctx, op: Operand, immIndex: number): string {
  const insn = ctx.insn;
  const w = width(op.size, insn);
  switch (op.kind) {
    case 'reg': return gpr(op.reg, w);
    case 'sreg': return SREG[op.reg]!;
    case 'one': return '1';
    case 'st0': return 'st';
    case 'sti': return `st(${insn.rm})`;
    case 'G': return gpr(insn.reg, w);
    case 'S': return SREG[insn.reg]!;
    case 'C': return `cr${insn.reg}`;
    case 'D': return `dr${insn.reg}`;
    case 'R': return gpr(insn.rm, 4);
    case 'Z':
      // BSWAP with a 16-bit operand size names the 16-bit register (its result is undefined).
      return gpr(insn.rm, insn.row.sem === 'bswap' ? insn.opsize / 8 : w);
    case 'E': case 'M': {
      if (insn.mod === 3) return gpr(insn.rm, EW_REG_BY_OPSIZE.has(insn.row.sem) ? insn.opsize / 8 : w);
      const mw = memWidth(insn, op);
      return (PTR[mw] ?? '') + memAddress(ctx, !isNotrack(insn));
    }
    case 'I': {
      const v = immIndex === 0 ? insn.imm : insn.imm2;
      if (op.size === 'bs') return hex(insn.opsize === 16 ? v & 0xffff : v);
      return hex(w >= 4 ? v : v & ((1 << (w * 8)) - 1));
    }
    case 'J': {
      // With a 16-bit operand size the new IP wraps within 64 KiB. In 16-bit code we
      // keep, like objdump, the address bits above them (a segment base: a listing
      // at --org 0xf0000 shows targets in that segment); in 32-bit code the address
      // is an offset in CS and a 66 prefix truncates it to 16 bits.
      const target = ctx.address + insn.length + insn.imm;
      if (insn.opsize === 32) return hex(target);
      return hex(ctx.code32 ? target & 0xffff : (target & 0xffff) | (ctx.address & ~0xffff));
    }
    case 'O': return `${insn.segOverride >= 0 ? SREG[insn.segOverride] : 'ds'}:${hex(insn.disp)}`;
    case 'A': return `${hex(insn.imm2)}:${hex(insn.imm)}`;
    case 'X': return stringOperand(insn, false, op);
    case 'Y': return stringOperand(insn, true, op);
  }
}

const REP_STRING = new Set(['movs', 'lods', 'stos', 'ins', 'outs']);

/**
 * Instructions whose operand size objdump shows as a `w`/`d` suffix on the mnemonic
 * when a 66 prefix changes it, by semantics name, with the base mnemonic.
 */
const SUFFIX_WHEN_CHANGED: Record<string, string> = {
  push_seg: 'push', pop_seg: 'pop', ret: 'ret', ret_far: 'retf', enter: 'enter', leave: 'leave',
  pusha: 'pusha', popa: 'popa', pushf: 'pushf', popf: 'popf', iret: 'iret',
  fldenv: 'fldenv', fnstenv: 'fnstenv', frstor: 'frstor', fnsave: 'fnsave',
};
/** Instructions that always carry the suffix. */
const SUFFIX_ALWAYS = new Set(['sgdt', 'sidt', 'lgdt', 'lidt']);
const PREFETCH = ['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2'];

/** The mnemonic, and whether it (rather than an operand) shows the operand size. */
function mnemonicOf(ctx: Ctx): { name: string; showsOpsize: boolean } {
  const insn = ctx.insn;
  const row = insn.row;
  const changed = insn.opsize !== (ctx.code32 ? 32 : 16);
  const suffix = insn.opsize === 16 ? 'w' : 'd';
  const sem = row.sem;
  const base = SUFFIX_WHEN_CHANGED[sem];
  // PUSH imm and the near relative CALL/JMP Jz take the suffix too.
  const pushImm = sem === 'push' && row.operands[0]!.kind === 'I';
  const relz = (sem === 'call' || sem === 'jmp') && row.operands[0]!.kind === 'J' && row.operands[0]!.size === 'z';
  if (base !== undefined || pushImm || relz) {
    const name = base ?? row.mnemonic32;
    return { name: changed ? name + suffix : name, showsOpsize: true };
  }
  if (SUFFIX_ALWAYS.has(sem)) return { name: row.mnemonic32 + suffix, showsOpsize: true };
  if (sem === 'jcxz') return { name: insn.adsize === 16 ? 'jcxz' : 'jecxz', showsOpsize: false };
  if (sem === 'nop' && insn.map === 0 && insn.opcode === 0x90 && changed && !row.prefix) {
    return { name: 'xchg', showsOpsize: true };
  }
  if (isPrefetch(insn)) {
    return { name: PREFETCH[insn.reg]!, showsOpsize: false };
  }
  return { name: insn.opsize === 32 ? row.mnemonic32 : row.mnemonic16, showsOpsize: row.mnemonic16 !== row.mnemonic32 };
}

/** True when the operand size shows in the operands' text. */
function operandsShowOpsize(insn: Insn): boolean {
  const sem = insn.row.sem;
  if (sem === 'bswap') return true;
  if (EW_REG_BY_OPSIZE.has(sem) && insn.mod === 3) return true;
  if (sem === 'mov_from_seg') return insn.mod === 3;
  if (isPrefetch(insn)) return false;
  for (const op of insn.row.operands) {
    if (op.size === 'v' || op.size === 'z' || op.size === 'a' || op.size === 'p') return true;
  }
  return false;
}

/** True when the instruction has a memory operand that a segment override applies to. */
function hasSegmentedMemory(insn: Insn): boolean {
  if (insn.row.sem === 'xlat') return true;
  for (const op of insn.row.operands) {
    if ((op.kind === 'E' || op.kind === 'M') && insn.mod !== 3) return true;
    if (op.kind === 'O' || op.kind === 'X') return true;
  }
  return false;
}

/**
 * True when objdump considers the address size shown by the text: a ModRM or string
 * memory operand, XLAT, or JCXZ/JECXZ. (It does not for moffs or LOOP, and in 16-bit
 * code not for a 32-bit absolute address, so it prints `addr16`/`addr32` there.)
 */
function textShowsAdsize(ctx: Ctx): boolean {
  const insn = ctx.insn;
  const sem = insn.row.sem;
  if (sem === 'jcxz' || sem === 'xlat') return true;
  for (const op of insn.row.operands) {
    if ((op.kind === 'E' || op.kind === 'M') && insn.mod !== 3) return ctx.code32 || !isAbsolute(insn);
    if (op.kind === 'X' || op.kind === 'Y') return true;
  }
  return false;
}

/**
 * The prefixes objdump prints before the mnemonic: LOCK and REP always (except a
 * mandatory prefix), and each segment, operand-size or address-size prefix that the
 * rest of the text does not already show, in the order of the bytes.
 */
function prefixText(ctx: Ctx, prefixes: ArrayLike<number>, opsizeShown: boolean): string {
  const insn = ctx.insn;
  const row = insn.row;
  let mandatory = -1;
  let lastSeg = -1;
  let last66 = -1;
  let last67 = -1;
  for (let i = 0; i < prefixes.length; i++) {
    const b = prefixes[i]!;
    if (b === row.prefix) mandatory = i;
    if (b in SEG_PREFIX) lastSeg = i;
    else if (b === 0x66) last66 = i;
    else if (b === 0x67) last67 = i;
  }
  const segUsed = hasSegmentedMemory(insn) && !isNotrack(insn);
  const adUsed = textShowsAdsize(ctx);
  let out = '';
  for (let i = 0; i < prefixes.length; i++) {
    if (i === mandatory) continue;
    const b = prefixes[i]!;
    let name = '';
    if (b === 0xf0) name = 'lock';
    else if (b === 0xf3) name = REP_STRING.has(row.sem) ? 'rep' : 'repz';
    else if (b === 0xf2) name = 'repnz';
    else if (b === 0x66) name = i === last66 && opsizeShown ? '' : ctx.code32 ? 'data16' : 'data32';
    else if (b === 0x67) name = i === last67 && adUsed ? '' : ctx.code32 ? 'addr16' : 'addr32';
    else if (b in SEG_PREFIX) name = i === lastSeg && segUsed ? '' : i === lastSeg && isNotrack(insn) ? 'notrack' : SEG_PREFIX[b]!;
    if (name) out += name + ' ';
  }
  return out;
}

/**
 * Intel-syntax text of a decoded instruction at guest address `address`. Given the
 * instruction's bytes (`bytes[at..]`), prefixes the text does not show are printed
 * as objdump prints them; without them, only LOCK, REP and the segment override are
 * known, and the operand size is taken to be the mode's.
 */
export function formatInsn(insn: Insn, address: number, bytes?: Uint8Array, at = 0): string {
  if (insn.fault) return '(bad)';
  const row = insn.row;
  let prefixes: ArrayLike<number>;
  if (bytes) prefixes = bytes.subarray(at, at + insn.prefixCount);
  else {
    const p: number[] = [];
    if (insn.lock) p.push(0xf0);
    if (insn.rep) p.push(insn.rep);
    if (insn.segOverride >= 0) p.push(SEG_PREFIX_BYTE[insn.segOverride]!);
    prefixes = p;
  }
  let has66 = false;
  for (let i = 0; i < prefixes.length; i++) if (prefixes[i] === 0x66 && row.prefix !== 0x66) has66 = true;
  const ctx: Ctx = { insn, address, code32: (insn.opsize === 32) !== has66 };
  const { name, showsOpsize } = mnemonicOf(ctx);
  let text = '';
  let immIndex = 0;
  for (const op of row.operands) {
    if (row.cls === 'simd' && op.kind === 'I') continue; // SIMD rows are described by length only
    text += (text ? ',' : '') + formatOperand(ctx, op, op.kind === 'I' ? immIndex++ : 0);
  }
  if (name === 'xchg' && row.sem === 'nop') text = insn.opsize === 16 ? 'ax,ax' : 'eax,eax';
  if (row.sem === 'xlat') text = `BYTE PTR ${insn.segOverride >= 0 ? SREG[insn.segOverride] : 'ds'}:[${insn.adsize === 16 ? 'bx' : 'ebx'}]`;
  const prefix = prefixText(ctx, prefixes, showsOpsize || operandsShowOpsize(insn));
  return prefix + name + (text ? ' ' + text : '');
}

export interface ListingLine {
  address: number;
  bytes: Uint8Array;
  text: string;
  insn: Insn;
}

/** Disassemble a whole buffer, as `bt86 disasm` prints it. */
export function disassemble(bytes: Uint8Array, bits: 16 | 32, org = 0): ListingLine[] {
  const out: ListingLine[] = [];
  let p = 0;
  while (p < bytes.length) {
    const insn = decode(bytes, p, bits === 32);
    let len = insn.length;
    let text: string;
    if (insn.fault === 'truncated' || len === 0) {
      len = 1;
      text = '(bad)';
    } else {
      text = formatInsn(insn, org + p, bytes, p);
    }
    out.push({ address: org + p, bytes: bytes.subarray(p, p + len), text, insn });
    p += len;
  }
  return out;
}

export { SEG };
