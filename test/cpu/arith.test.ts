/**
 * The integer ALU (alu.ts), multiply/divide (muldiv.ts) and decimal adjustment
 * (bcd.ts) in their 32-bit forms, with hand-computed expectations. The 16-bit
 * forms are checked against the 80286 hardware vectors as well.
 */
import { describe, expect, it } from 'vitest';
import { AF, CF, OF, PF, SF, ZF } from '../../src/x86/flags.js';
import { EXC } from '../../src/x86/state.js';
import {
  DATA, abs32, fault, flags, limitDS, machine, peek32, poke32, reg, rr, run, set,
} from './harness.js';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3;

describe('ADD/ADC/SUB/SBB/CMP (32-bit)', () => {
  it('add eax,ebx wraps to zero with CF, ZF, AF, PF', () => {
    const m = machine();
    set(m, { eax: 0xffffffff, ebx: 1 });
    run(m, [0x01, rr(EBX, EAX)]);
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m)).toBe(CF | ZF | AF | PF);
  });

  it('add eax,imm32 overflows into the sign', () => {
    const m = machine();
    set(m, { eax: 0x7fffffff });
    run(m, [0x05, 1, 0, 0, 0]);
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m)).toBe(OF | SF | AF | PF);
  });

  it('add ecx,-1 (83 /0 sign-extends its imm8)', () => {
    const m = machine();
    set(m, { ecx: 5 });
    run(m, [0x83, 0xc1, 0xff]);
    expect(reg(m, 'ecx')).toBe(4);
    expect(flags(m)).toBe(CF | AF);
  });

  it('adc adds the carry in, and a carry-in can make CF', () => {
    const m = machine();
    set(m, { eax: 0xffffffff, ebx: 0, flags: CF });
    run(m, [0x11, rr(EBX, EAX)]);
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m)).toBe(CF | ZF | AF | PF);
  });

  it('sbb subtracts the borrow in', () => {
    const m = machine();
    set(m, { eax: 0, ebx: 0, flags: CF });
    run(m, [0x19, rr(EBX, EAX)]);
    expect(reg(m, 'eax')).toBe(0xffffffff);
    expect(flags(m)).toBe(CF | SF | AF | PF);
  });

  it('sbb with equal operands and a borrow in sets CF (a <= b)', () => {
    const m = machine();
    set(m, { eax: 5, ebx: 5, flags: CF });
    run(m, [0x1b, rr(EAX, EBX)]);
    expect(reg(m, 'eax')).toBe(0xffffffff);
    expect(flags(m) & CF).toBe(CF);
  });

  it('sub overflows from the most negative number', () => {
    const m = machine();
    set(m, { eax: 0x80000000 });
    run(m, [0x2d, 1, 0, 0, 0]);
    expect(reg(m, 'eax')).toBe(0x7fffffff);
    expect(flags(m)).toBe(OF | AF | PF);
  });

  it('cmp with a memory operand sets flags and writes nothing', () => {
    const m = machine();
    poke32(m, DATA, 10);
    set(m, { eax: 11 });
    run(m, [0x39, ...abs32(EAX, DATA)]);
    expect(peek32(m, DATA)).toBe(10);
    expect(flags(m)).toBe(CF | SF | AF | PF); // 10 - 11 = -1
  });

  it('add [mem],reg is a read-modify-write', () => {
    const m = machine();
    poke32(m, DATA, 0x12345678);
    set(m, { ecx: 0x11111111 });
    run(m, [0x01, ...abs32(ECX, DATA)]);
    expect(peek32(m, DATA)).toBe(0x23456789);
    expect(flags(m)).toBe(0);
  });

  it('lock add [mem],imm8 runs; lock add reg,reg is #UD', () => {
    const m = machine();
    poke32(m, DATA, 1);
    run(m, [0xf0, 0x83, ...abs32(0, DATA), 2]);
    expect(peek32(m, DATA)).toBe(3);
    expect(fault(m, [0xf0, 0x01, rr(EBX, EAX)])).toBe(EXC.UD);
  });

  it('a faulting memory destination leaves registers and flags untouched', () => {
    const m = machine();
    limitDS(m, 0x1fff);
    set(m, { eax: 7, flags: CF | ZF });
    expect(fault(m, [0x01, ...abs32(EAX, 0x1ffe)])).toBe(EXC.GP);
    expect(reg(m, 'eax')).toBe(7);
    expect(flags(m)).toBe(CF | ZF);
  });

  it('16-bit and high-byte forms touch only their part of the register', () => {
    const m = machine();
    set(m, { eax: 0x1234ffff, ebx: 0x00000001 });
    run(m, [0x66, 0x01, rr(EBX, EAX)]); // add ax,bx
    expect(reg(m, 'eax')).toBe(0x12340000);
    expect(flags(m)).toBe(CF | ZF | AF | PF);
    set(m, { eax: 0x00007f00, ebx: 0x00000100 });
    run(m, [0x00, rr(7, 4)]); // add ah,bh
    expect(reg(m, 'eax')).toBe(0x00008000);
    expect(flags(m)).toBe(OF | SF | AF);
  });
});

describe('AND/OR/XOR/TEST (32-bit)', () => {
  it('clear OF and CF and set SZP from the result', () => {
    const m = machine();
    set(m, { eax: 0xf0f0f0f0, ebx: 0x0f0f0f0f, flags: CF | OF });
    run(m, [0x09, rr(EBX, EAX)]);
    expect(reg(m, 'eax')).toBe(0xffffffff);
    expect(flags(m, AF)).toBe(SF | PF);
    run(m, [0x31, rr(EAX, EAX)]);
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m, AF)).toBe(ZF | PF);
  });

  it('and with Iz, test without a write', () => {
    const m = machine();
    set(m, { eax: 0x12345678 });
    run(m, [0x25, 0x0f, 0, 0, 0x80]);
    expect(reg(m, 'eax')).toBe(0x00000008);
    expect(flags(m, AF)).toBe(0);
    set(m, { ecx: 0x80000000 });
    run(m, [0xf7, 0xc1, 0, 0, 0, 0x80]); // test ecx,80000000h
    expect(reg(m, 'ecx')).toBe(0x80000000);
    expect(flags(m, AF)).toBe(SF | PF);
  });
});

describe('INC/DEC/NEG/NOT', () => {
  it('inc and dec keep CF', () => {
    const m = machine();
    set(m, { eax: 0x7fffffff, flags: CF });
    run(m, [0x40]);
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m)).toBe(CF | OF | SF | AF | PF);
    set(m, { ecx: 0, flags: 0 });
    run(m, [0xff, 0xc9]); // dec ecx
    expect(reg(m, 'ecx')).toBe(0xffffffff);
    expect(flags(m)).toBe(SF | AF | PF);
  });

  it('inc on memory (FE /0, byte)', () => {
    const m = machine();
    poke32(m, DATA, 0x000000ff);
    run(m, [0xfe, ...abs32(0, DATA)]);
    expect(peek32(m, DATA)).toBe(0);
    expect(flags(m)).toBe(ZF | AF | PF);
  });

  it('neg: CF unless zero; OF for the most negative number', () => {
    const m = machine();
    set(m, { eax: 0 });
    run(m, [0xf7, 0xd8]);
    expect(flags(m)).toBe(ZF | PF);
    set(m, { eax: 0x80000000 });
    run(m, [0xf7, 0xd8]);
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m)).toBe(CF | OF | SF | PF);
    set(m, { eax: 1 });
    run(m, [0xf7, 0xd8]);
    expect(reg(m, 'eax')).toBe(0xffffffff);
    expect(flags(m)).toBe(CF | SF | AF | PF);
  });

  it('not changes no flags', () => {
    const m = machine();
    set(m, { edx: 0x0000ffff, flags: ZF | CF });
    run(m, [0xf7, 0xd2]);
    expect(reg(m, 'edx')).toBe(0xffff0000);
    expect(flags(m)).toBe(ZF | CF);
  });
});

describe('MUL/IMUL (32-bit)', () => {
  const SZAP = SF | ZF | AF | PF;

  it('mul ecx: full 64-bit product in EDX:EAX', () => {
    const m = machine();
    set(m, { eax: 0xffffffff, ecx: 0xffffffff });
    run(m, [0xf7, 0xe1]);
    expect(reg(m, 'edx')).toBe(0xfffffffe);
    expect(reg(m, 'eax')).toBe(1);
    expect(flags(m, SZAP)).toBe(CF | OF);
    set(m, { eax: 3, ecx: 7 });
    run(m, [0xf7, 0xe1]);
    expect([reg(m, 'edx'), reg(m, 'eax')]).toEqual([0, 21]);
    expect(flags(m, SZAP)).toBe(0);
  });

  it('imul ecx (one operand) is signed', () => {
    const m = machine();
    set(m, { eax: 0xffffffff, ecx: 0xffffffff });
    run(m, [0xf7, 0xe9]);
    expect([reg(m, 'edx'), reg(m, 'eax')]).toEqual([0, 1]);
    expect(flags(m, SZAP)).toBe(0);
    set(m, { eax: 0x80000000, ecx: 0xffffffff });
    run(m, [0xf7, 0xe9]);
    expect([reg(m, 'edx'), reg(m, 'eax')]).toEqual([0, 0x80000000]);
    expect(flags(m, SZAP)).toBe(CF | OF);
    set(m, { eax: 0x80000000, ecx: 0x80000000 });
    run(m, [0xf7, 0xe9]);
    expect([reg(m, 'edx'), reg(m, 'eax')]).toEqual([0x40000000, 0]);
  });

  it('imul r,r/m and imul r,r/m,imm truncate and flag overflow', () => {
    const m = machine();
    set(m, { eax: 0xfffffffd, ecx: 7 });
    run(m, [0x0f, 0xaf, rr(EAX, ECX)]); // imul eax,ecx
    expect(reg(m, 'eax')).toBe(0xffffffeb); // -21
    expect(flags(m, SZAP)).toBe(0);
    set(m, { ecx: 0x10000 });
    run(m, [0x69, rr(EAX, ECX), 0, 0, 1, 0]); // imul eax,ecx,10000h
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m, SZAP)).toBe(CF | OF);
    set(m, { ecx: 5 });
    run(m, [0x6b, rr(EDX, ECX), 0xfe]); // imul edx,ecx,-2
    expect(reg(m, 'edx')).toBe(0xfffffff6);
    expect(flags(m, SZAP)).toBe(0);
  });

  it('agree with BigInt on a spread of operands', () => {
    const m = machine();
    const vals = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0x9abcdef0, 0xdeadbeef, 0x10001, 0xffff, 0x10000];
    for (const a of vals) {
      for (const b of vals) {
        set(m, { eax: a, ecx: b });
        run(m, [0xf7, 0xe1]);
        const p = BigInt(a) * BigInt(b);
        expect([reg(m, 'edx'), reg(m, 'eax')]).toEqual([Number(p >> 32n), Number(p & 0xffffffffn)]);
        set(m, { eax: a, ecx: b });
        run(m, [0xf7, 0xe9]);
        const s = BigInt.asIntN(32, BigInt(a)) * BigInt.asIntN(32, BigInt(b));
        const u = BigInt.asUintN(64, s);
        expect([reg(m, 'edx'), reg(m, 'eax')]).toEqual([Number(u >> 32n), Number(u & 0xffffffffn)]);
        expect(flags(m, SZAP)).toBe(s === BigInt.asIntN(32, s) ? 0 : CF | OF);
      }
    }
  });
});

describe('DIV/IDIV (32-bit)', () => {
  it('div ecx divides EDX:EAX', () => {
    const m = machine();
    set(m, { edx: 1, eax: 0, ecx: 2 });
    run(m, [0xf7, 0xf1]);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([0x80000000, 0]);
    set(m, { edx: 0x12345678, eax: 0x9abcdef0, ecx: 0x87654321 });
    run(m, [0xf7, 0xf1]);
    const n = (0x12345678n << 32n) | 0x9abcdef0n;
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([Number(n / 0x87654321n), Number(n % 0x87654321n)]);
  });

  it('agree with BigInt on a spread of dividends and divisors', () => {
    const m = machine();
    const his = [0, 1, 0x7ffffffe, 0x12345678, 0xfffffffe];
    const los = [0, 1, 0x80000000, 0xffffffff, 0x9abcdef0];
    const ds = [0xffffffff, 0x80000001, 0x12345679, 0xfffffff, 3];
    for (const h of his) for (const l of los) for (const d of ds) {
      if (h >= d) continue;
      set(m, { edx: h, eax: l, ecx: d });
      run(m, [0xf7, 0xf1]);
      const n = (BigInt(h) << 32n) | BigInt(l);
      expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([Number(n / BigInt(d)), Number(n % BigInt(d))]);
    }
  });

  it('#DE on divide by zero and on a quotient too large, before any write', () => {
    const m = machine();
    set(m, { edx: 0, eax: 5, ecx: 0, flags: ZF });
    expect(fault(m, [0xf7, 0xf1])).toBe(EXC.DE);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([5, 0]);
    set(m, { edx: 2, eax: 0, ecx: 2 });
    expect(fault(m, [0xf7, 0xf1])).toBe(EXC.DE);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([0, 2]);
  });

  it('idiv truncates toward zero; the remainder takes the dividend sign', () => {
    const m = machine();
    set(m, { edx: 0xffffffff, eax: 0xfffffff9, ecx: 2 }); // -7 / 2
    run(m, [0xf7, 0xf9]);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([0xfffffffd, 0xffffffff]);
    set(m, { edx: 0, eax: 7, ecx: 0xfffffffe }); // 7 / -2
    run(m, [0xf7, 0xf9]);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([0xfffffffd, 1]);
  });

  it('idiv accepts the most negative quotient and faults just beyond it', () => {
    const m = machine();
    set(m, { edx: 0xffffffff, eax: 0, ecx: 2 }); // -2^32 / 2 = -2^31
    run(m, [0xf7, 0xf9]);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([0x80000000, 0]);
    set(m, { edx: 0xffffffff, eax: 0x80000000, ecx: 0xffffffff }); // -2^31 / -1
    expect(fault(m, [0xf7, 0xf9])).toBe(EXC.DE);
    expect(reg(m, 'eax')).toBe(0x80000000);
    set(m, { edx: 0, eax: 0x80000000, ecx: 1 }); // 2^31 / 1
    expect(fault(m, [0xf7, 0xf9])).toBe(EXC.DE);
    set(m, { eax: 0xff00, ecx: 2 }); // idiv cl: -256 / 2 = -128
    run(m, [0xf6, 0xf9]);
    expect(reg(m, 'eax') & 0xffff).toBe(0x0080);
  });

  it('div with a memory divisor faults on the read before anything else', () => {
    const m = machine();
    limitDS(m, 0x1fff);
    set(m, { edx: 0, eax: 9 });
    expect(fault(m, [0xf7, ...abs32(6, 0x1ffe)])).toBe(EXC.GP);
    expect(reg(m, 'eax')).toBe(9);
  });
});

describe('decimal adjustment', () => {
  it('daa after 79h + 35h', () => {
    const m = machine();
    set(m, { eax: 0x79 });
    run(m, [0x04, 0x35, 0x27], 2); // add al,35h; daa
    expect(reg(m, 'eax')).toBe(0x14);
    expect(flags(m, OF)).toBe(CF | AF | PF);
  });

  it('das after 35h - 47h', () => {
    const m = machine();
    set(m, { eax: 0x35 });
    run(m, [0x2c, 0x47, 0x2f], 2); // sub al,47h; das
    expect(reg(m, 'eax')).toBe(0x88);
    expect(flags(m, OF)).toBe(CF | AF | SF | PF);
  });

  it('aaa adjusts AX as a whole (AX + 106h)', () => {
    const m = machine();
    set(m, { eax: 0x000b, flags: 0 });
    run(m, [0x37]);
    expect(reg(m, 'eax')).toBe(0x0101);
    expect(flags(m) & (AF | CF)).toBe(AF | CF);
    set(m, { eax: 0x00fa, flags: 0 });
    run(m, [0x37]);
    expect(reg(m, 'eax')).toBe(0x0200);
    set(m, { eax: 0x0005, flags: 0 });
    run(m, [0x37]);
    expect(reg(m, 'eax')).toBe(0x0005);
    expect(flags(m) & (AF | CF)).toBe(0);
  });

  it('aas: AX - 6, then AH - 1', () => {
    const m = machine();
    set(m, { eax: 0x0205, flags: AF });
    run(m, [0x3f]);
    expect(reg(m, 'eax')).toBe(0x000f); // 0205h - 6 = 01FFh, AH - 1
    expect(flags(m) & (AF | CF)).toBe(AF | CF);
  });

  it('aam and aad, with other bases; aam 0 is #DE', () => {
    const m = machine();
    set(m, { eax: 0x12345663 }); // AL = 99
    run(m, [0xd4, 0x0a]);
    expect(reg(m, 'eax')).toBe(0x12340909);
    expect(flags(m, OF | AF | CF)).toBe(PF);
    set(m, { eax: 0x0207 });
    run(m, [0xd5, 0x0a]);
    expect(reg(m, 'eax')).toBe(0x1b);
    set(m, { eax: 0x0103 });
    run(m, [0xd5, 0x10]); // base 16
    expect(reg(m, 'eax')).toBe(0x13);
    set(m, { eax: 0x55 });
    expect(fault(m, [0xd4, 0x00])).toBe(EXC.DE);
    expect(reg(m, 'eax')).toBe(0x55);
  });

  it('salc copies CF into every bit of AL', () => {
    const m = machine();
    set(m, { eax: 0x1234, flags: CF });
    run(m, [0xd6]);
    expect(reg(m, 'eax')).toBe(0x12ff);
    set(m, { flags: 0 });
    run(m, [0xd6]);
    expect(reg(m, 'eax')).toBe(0x1200);
  });
});
