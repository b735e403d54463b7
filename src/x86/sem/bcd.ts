/**
 * Semantics: decimal adjustment — DAA DAS AAA AAS AAM AAD, and SALC.
 *
 * The algorithms are the SDM's (vol. 2, each instruction's "Operation"). AAA and
 * AAS adjust AX as a whole (AX + 106h, AX - 6 then AH - 1), which is what the
 * 80286 and later do; the 8086 carried nothing from AL into AH.
 *
 * Undefined flags: DAA/DAS leave OF unchanged; AAA/AAS leave OF, SF, ZF and PF
 * unchanged; AAM clears OF, AF and CF; AAD's OF, AF and CF are those of the
 * 8-bit addition AL + AH * imm8 that it performs (what the hardware computes).
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { AF, ARITH_FLAGS, CF, OP, PF, SF, ZF, getAF, getCF, setFlags, setLazy, szp } from '../flags.js';
import { EXC } from '../state.js';

function daa(cpu: Cpu): void {
  const old = cpu.r8[0]!;
  const oldCF = getCF(cpu);
  let al = old;
  let f = 0;
  if ((old & 0x0f) > 9 || getAF(cpu)) {
    al = (al + 6) & 0xff;
    f |= AF;
  }
  if (old > 0x99 || oldCF) {
    al = (al + 0x60) & 0xff;
    f |= CF;
  }
  cpu.r8[0] = al;
  setFlags(cpu, SF | ZF | AF | PF | CF, f | szp(al, 1));
}

function das(cpu: Cpu): void {
  const old = cpu.r8[0]!;
  const oldCF = getCF(cpu);
  let al = old;
  let f = 0;
  if ((old & 0x0f) > 9 || getAF(cpu)) {
    al = (al - 6) & 0xff;
    f |= AF;
    if (old < 6) f |= CF; // the borrow of AL - 6
  }
  if (old > 0x99 || oldCF) {
    al = (al - 0x60) & 0xff;
    f |= CF;
  }
  cpu.r8[0] = al;
  setFlags(cpu, SF | ZF | AF | PF | CF, f | szp(al, 1));
}

function aaa(cpu: Cpu): void {
  let ax = cpu.r16[0]!;
  if ((ax & 0x0f) > 9 || getAF(cpu)) {
    ax = (ax + 0x106) & 0xffff;
    cpu.r16[0] = ax & 0xff0f;
    setFlags(cpu, AF | CF, AF | CF);
  } else {
    cpu.r16[0] = ax & 0xff0f;
    setFlags(cpu, AF | CF, 0);
  }
}

function aas(cpu: Cpu): void {
  let ax = cpu.r16[0]!;
  if ((ax & 0x0f) > 9 || getAF(cpu)) {
    ax = (ax - 6) & 0xffff;
    ax = (ax - 0x100) & 0xffff;
    cpu.r16[0] = ax & 0xff0f;
    setFlags(cpu, AF | CF, AF | CF);
  } else {
    cpu.r16[0] = ax & 0xff0f;
    setFlags(cpu, AF | CF, 0);
  }
}

function aam(cpu: Cpu, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) cpu.raise(EXC.DE);
  const al = cpu.r8[0]!;
  const q = Math.floor(al / base);
  const r = al - q * base;
  cpu.r8[1] = q;
  cpu.r8[0] = r;
  setFlags(cpu, ARITH_FLAGS, szp(r, 1));
}

function aad(cpu: Cpu, i: Insn): void {
  const al = cpu.r8[0]!;
  const b = (cpu.r8[1]! * (i.imm & 0xff)) & 0xff;
  const r = (al + b) & 0xff;
  cpu.r16[0] = r;
  setLazy(cpu, OP.ADD, al, b, r, 1);
}

/** SALC (undocumented, D6): AL = CF ? FFh : 0; no flags change. */
function salc(cpu: Cpu): void {
  cpu.r8[0] = getCF(cpu) ? 0xff : 0;
}

export const bcdSemantics: Record<string, SemFn> = {
  daa, das, aaa, aas, aam, aad, salc,
};
