/**
 * Random instruction streams for the differential tests: mostly the forms the
 * translator compiles inline (ALU, INC/DEC/NEG/NOT, shifts, MOV/MOVZX/MOVSX/LEA,
 * XCHG, CBW/CWD, SETcc/CMOVcc, PUSH/POP, Jcc/JMP/LOOP/JCXZ/CALL/RET), in every
 * operand size and with register, immediate and memory operands (ModRM with
 * SIB and displacements, moffs), some segment overrides, and a share of other
 * instructions (multiply/divide, string, rotate, flag, BCD) that take the
 * generic path. Every stream is checked to decode; memory operands mostly land
 * in the data window because the base registers start there.
 */
import { decode } from '../../src/x86/decoder.js';
import { prng } from './harness.js';

type Rand = () => number;

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[r() % xs.length]!;
}

function le(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
  return out;
}

/** A ModRM (+SIB +displacement) for the address size; `reg` fills the reg field. */
function modrm(r: Rand, reg: number, a16: boolean, regOnly = false, memOnly = false): number[] {
  let mod = regOnly ? 3 : memOnly ? r() % 3 : r() % 4;
  if (!regOnly && !memOnly && r() % 3 === 0) mod = 3;
  const rm = r() % 8;
  const out = [(mod << 6) | (reg << 3) | rm];
  if (mod === 3) return out;
  if (a16) {
    if (mod === 0 && rm === 6) return [...out, ...le(r() % 0x100, 2)];
    if (mod === 1) out.push(r() & 0xff);
    if (mod === 2) out.push(...le(r() & 0xff, 2));
    return out;
  }
  if (rm === 4) {
    const scale = r() % 4;
    const index = r() % 8;
    const base = r() % 8;
    out.push((scale << 6) | (index << 3) | base);
    if (mod === 0 && base === 5) out.push(...le(0x20000 + (r() % 0x8000), 4));
  } else if (mod === 0 && rm === 5) {
    out.push(...le(0x20000 + (r() % 0xfff0), 4));
  }
  if (mod === 1) out.push(r() & 0xff);
  if (mod === 2) out.push(...le(r() % 3 === 0 ? r() : r() % 0x400, 4));
  return out;
}

/** One random instruction's bytes. */
function instruction(r: Rand, code32: boolean, inlineOnly: boolean): number[] {
  const pre: number[] = [];
  if (r() % 6 === 0) pre.push(0x66);
  if (r() % 40 === 0) pre.push(0x67);
  if (r() % 25 === 0) pre.push(pick(r, [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]));
  const a16 = code32 === pre.includes(0x67);
  const osz = code32 === pre.includes(0x66) ? 2 : 4;
  const iz = () => le(r() % 4 === 0 ? r() : r() % 256, osz);
  const ib = () => [r() & 0xff];
  const m = (reg: number, regOnly = false, memOnly = false) => modrm(r, reg, a16, regOnly, memOnly);
  const k = r() % (inlineOnly ? 100 : 118);
  let body: number[];
  if (k < 22) {
    const op = r() % 8;
    switch (r() % 7) {
      case 0: body = [op * 8 + (r() % 4), ...m(r() % 8)]; break;
      case 1: body = [op * 8 + 4, ...ib()]; break;
      case 2: body = [op * 8 + 5, ...iz()]; break;
      case 3: body = [0x80, ...m(op), ...ib()]; break;
      case 4: body = [0x81, ...m(op), ...iz()]; break;
      default: body = [0x83, ...m(op), ...ib()]; break;
    }
  } else if (k < 26) {
    body = pick(r, [() => [0x84 + (r() % 2), ...m(r() % 8)], () => [0xa8, ...ib()], () => [0xa9, ...iz()],
      () => [0xf6, ...m(0), ...ib()], () => [0xf7, ...m(0), ...iz()]])();
  } else if (k < 32) {
    body = pick(r, [() => [0x40 + (r() % 16)], () => [0xfe, ...m(r() % 2)], () => [0xff, ...m(r() % 2)],
      () => [0xf6 + (r() % 2), ...m(2 + (r() % 2))]])();
  } else if (k < 38) {
    const op = pick(r, [4, 5, 7, 4, 5, 7, 0, 1, 2, 3, 6]);
    body = pick(r, [() => [0xc0 + (r() % 2), ...m(op), r() % 3 === 0 ? r() & 0xff : r() % 34],
      () => [0xd0 + (r() % 2), ...m(op)], () => [0xd2 + (r() % 2), ...m(op)]])();
  } else if (k < 52) {
    body = pick(r, [() => [0x88 + (r() % 4), ...m(r() % 8)], () => [0xb0 + (r() % 8), ...ib()],
      () => [0xb8 + (r() % 8), ...iz()], () => [0xc6, ...m(0), ...ib()], () => [0xc7, ...m(0), ...iz()],
      () => [0xa0 + (r() % 4), ...le(a16 ? 0x100 + (r() % 0xe00) : 0x20000 + (r() % 0xfff0), a16 ? 2 : 4)]])();
  } else if (k < 58) {
    body = pick(r, [() => [0x0f, pick(r, [0xb6, 0xb7, 0xbe, 0xbf]), ...m(r() % 8)], () => [0x8d, ...m(r() % 8, false, true)]])();
  } else if (k < 62) {
    body = pick(r, [() => [0x86 + (r() % 2), ...m(r() % 8, true)], () => [0x91 + (r() % 7)], () => [0x98 + (r() % 2)]])();
  } else if (k < 68) {
    body = pick(r, [() => [0x0f, 0x90 + (r() % 16), ...m(0)], () => [0x0f, 0x40 + (r() % 16), ...m(r() % 8)]])();
  } else if (k < 80) {
    body = pick(r, [() => [0x50 + (r() % 8)], () => [0x58 + (r() % 8)], () => [0x68, ...iz()], () => [0x6a, ...ib()],
      () => [0xff, ...m(6)], () => [0xc9], () => [0x58 + pick(r, [0, 1, 2, 3, 5, 6, 7])]])();
  } else if (k < 94) {
    // Forward branches (a few bytes), so programs end.
    body = pick(r, [() => [0x70 + (r() % 16), r() % 12], () => [0x0f, 0x80 + (r() % 16), ...le(r() % 16, osz)],
      () => [0xeb, r() % 12], () => [0xe2, r() % 12], () => [0xe3, r() % 12], () => [0xe1 + (r() % 2) - 1, r() % 12]])();
  } else if (k < 100) {
    // Calls and returns: a call to just after itself, or a RET that pops what is there.
    body = pick(r, [() => [0xe8, ...le(r() % 8, osz)], () => [0xc3], () => [0xc2, ...le(r() % 8, 2)]])();
  } else {
    body = pick(r, [
      () => [0xf7, ...m(4 + (r() % 4))], () => [0xf6, ...m(4 + (r() % 4))], () => [0x0f, 0xaf, ...m(r() % 8)],
      () => [0x69, ...m(r() % 8), ...iz()], () => [0x6b, ...m(r() % 8), ...ib()], () => [pick(r, [0xf8, 0xf9, 0xf5, 0xfc])],
      () => [0x0f, pick(r, [0xa3, 0xab, 0xb3, 0xbb, 0xbc, 0xbd]), ...m(r() % 8)], () => [pick(r, [0x27, 0x2f, 0x37, 0x3f])],
      () => [pick(r, [0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad])], () => [0xf3, pick(r, [0xa4, 0xa5, 0xaa, 0xab])],
      () => [0x9c], () => [0x9f], () => [0x9e], () => [0x0f, 0xc8 + (r() % 8)], () => [0x0f, 0xc0 + (r() % 2), ...m(r() % 8)],
      () => [0x0f, 0xb0 + (r() % 2), ...m(r() % 8)], () => [0xd7],
    ])();
  }
  return [...pre, ...body];
}

/** A program of `n` random instructions followed by HLT, every instruction decodable. */
export function program(seed: number, n: number, code32: boolean, inlineOnly = false): Uint8Array {
  const r = prng(seed);
  const out: number[] = [];
  while (out.length === 0 || countInsns(out, code32) < n) {
    const bytes = instruction(r, code32, inlineOnly);
    const insn = decode(Uint8Array.from(bytes), 0, code32);
    if (insn.fault || insn.length !== bytes.length) continue;
    out.push(...bytes);
  }
  out.push(0xf4);
  return Uint8Array.from(out);
}

function countInsns(bytes: number[], code32: boolean): number {
  let n = 0;
  const buf = Uint8Array.from(bytes);
  for (let at = 0; at < buf.length; n++) at += decode(buf, at, code32).length || 1;
  return n;
}

/** Registers that point into the data window (EAX..EDI; ESP is set by the harness). */
export function pointerRegs(seed: number): number[] {
  const r = prng(seed * 7 + 3);
  return Array.from({ length: 8 }, () => (r() % 5 === 0 ? r() : 0x20000 + (r() % 0x8000)));
}
