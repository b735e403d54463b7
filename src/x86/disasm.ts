/**
 * The Intel-syntax disassembler, derived from the table: a row's mnemonic and
 * operand notation plus the decoder's fields are all it needs. Output follows GNU
 * objdump's `-M intel` conventions (lower case, `SIZE PTR seg:[base+index*scale+disp]`,
 * hexadecimal immediates in the operand size, absolute branch targets), so that the
 * two can be compared line by line; the accepted differences are listed in
 * test/x86/objdump-differences.ts.
 */
import { decode, SEG, type Insn } from './decoder.js';
import type { Operand } from './rows.js';

const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?', '?'];

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

function memAddress(insn: Insn): string {
  const parts: string[] = [];
  const regs = insn.adsize === 16 ? REG16 : REG32;
  if (insn.base >= 0) parts.push(regs[insn.base]!);
  if (insn.index >= 0) parts.push(regs[insn.index]! + (insn.adsize === 32 ? `*${1 << insn.scale}` : ''));
  let inner = parts.join('+');
  const disp16 = insn.adsize === 16;
  if (parts.length === 0) {
    const seg = insn.segOverride >= 0 ? SREG[insn.segOverride]! : 'ds';
    return `${seg}:${hex(disp16 ? insn.disp & 0xffff : insn.disp)}`;
  }
  const d = disp16 ? (insn.disp << 16) >> 16 : insn.disp | 0;
  if (insn.mod === 1 || insn.mod === 2 || (insn.base < 0 && insn.index >= 0)) {
    inner += d < 0 ? `-${hex(-d)}` : `+${hex(d)}`;
  }
  const seg = insn.segOverride >= 0 ? SREG[insn.segOverride]! + ':' : '';
  return `${seg}[${inner}]`;
}

function stringOperand(insn: Insn, es: boolean, op: Operand): string {
  const regs = insn.adsize === 16 ? REG16 : REG32;
  const seg = es ? 'es' : insn.segOverride >= 0 ? SREG[insn.segOverride]! : 'ds';
  return `${PTR[width(op.size, insn)] ?? ''}${seg}:[${regs[es ? 7 : 6]}]`;
}

function formatOperand(insn: Insn, op: Operand, address: number): string {
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
    case 'D': return `db${insn.reg}`;
    case 'R': return gpr(insn.rm, 4);
    case 'Z': return gpr(insn.rm, w);
    case 'E': case 'M':
      if (insn.mod === 3) return gpr(insn.rm, w);
      if (insn.row.sem === 'lea' || op.size === '' && !op.x87) return memAddress(insn);
      return (PTR[w] ?? '') + memAddress(insn);
    case 'I': {
      if (op.size === 'bs') return hex(insn.opsize === 16 ? insn.imm & 0xffff : insn.imm);
      const mask = w >= 4 ? 0xffffffff : (1 << (w * 8)) - 1;
      return hex(insn.imm & mask);
    }
    case 'J': {
      const target = address + insn.length + insn.imm;
      return hex(insn.opsize === 16 ? target & 0xffff : target >>> 0);
    }
    case 'O': return `${insn.segOverride >= 0 ? SREG[insn.segOverride] : 'ds'}:${hex(insn.disp)}`;
    case 'A': return `${hex(insn.imm2)}:${hex(insn.imm)}`;
    case 'X': return stringOperand(insn, false, op);
    case 'Y': return stringOperand(insn, true, op);
  }
}

/** Intel-syntax text of a decoded instruction at guest address `address`. */
export function formatInsn(insn: Insn, address: number): string {
  if (insn.fault) return '(bad)';
  const row = insn.row;
  const mnemonic = insn.opsize === 32 ? row.mnemonic32 : row.mnemonic16;
  const ops = row.operands.filter((o) => row.cls !== 'simd' || o.kind !== 'I');
  let prefix = '';
  if (insn.lock) prefix += 'lock ';
  if (insn.rep) {
    const cmp = row.sem === 'cmps' || row.sem === 'scas';
    prefix += insn.rep === 0xf3 ? (cmp ? 'repz ' : 'rep ') : cmp ? 'repnz ' : 'repnz ';
  }
  const text = ops.map((o) => formatOperand(insn, o, address)).join(',');
  return prefix + mnemonic + (text ? ' ' + text : '');
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
      text = formatInsn(insn, org + p);
    }
    out.push({ address: org + p, bytes: bytes.subarray(p, p + len), text, insn });
    p += len;
  }
  return out;
}

export { SEG };
