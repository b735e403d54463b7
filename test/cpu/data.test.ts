/**
 * Data movement (data.ts): MOV's forms, MOVZX/MOVSX, XCHG, XADD, CMPXCHG,
 * CMPXCHG8B, LEA, CBW/CWDE/CWD/CDQ, SETcc, CMOVcc, LAHF/SAHF, XLAT, NOP.
 */
import { describe, expect, it } from 'vitest';
import { AF, CF, OF, PF, SF, ZF } from '../../src/x86/flags.js';
import { EXC } from '../../src/x86/state.js';
import {
  DATA, abs32, fault, flags, limitDS, machine, peek32, peek8, poke32, poke8, reg, rr, run, set,
} from './harness.js';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3;

describe('MOV', () => {
  it('register, memory, immediate and moffs forms', () => {
    const m = machine();
    set(m, { eax: 0x11223344 });
    run(m, [0x89, ...abs32(EAX, DATA)]); // mov [DATA],eax
    expect(peek32(m, DATA)).toBe(0x11223344);
    run(m, [0x8b, ...abs32(EBX, DATA)]); // mov ebx,[DATA]
    expect(reg(m, 'ebx')).toBe(0x11223344);
    run(m, [0xb9, 0x78, 0x56, 0x34, 0x12]); // mov ecx,12345678h
    expect(reg(m, 'ecx')).toBe(0x12345678);
    run(m, [0xb4, 0xaa]); // mov ah,0AAh
    expect(reg(m, 'eax')).toBe(0x1122aa44);
    run(m, [0xc7, ...abs32(0, DATA + 4), 0xff, 0xff, 0xff, 0xff]); // mov dword [DATA+4],-1
    expect(peek32(m, DATA + 4)).toBe(0xffffffff);
    run(m, [0xa1, 0x04, 0x20, 0, 0]); // mov eax,[DATA+4]
    expect(reg(m, 'eax')).toBe(0xffffffff);
    set(m, { eax: 0x5a });
    run(m, [0xa2, 0x08, 0x20, 0, 0]); // mov [DATA+8],al
    expect(peek8(m, DATA + 8)).toBe(0x5a);
    run(m, [0x66, 0x89, rr(EAX, EDX)]); // mov dx,ax
    expect(reg(m, 'edx') & 0xffff).toBe(0x5a);
  });

  it('changes no flags', () => {
    const m = machine();
    set(m, { flags: CF | ZF | SF | OF | AF | PF });
    run(m, [0xb8, 0, 0, 0, 0]);
    expect(flags(m)).toBe(CF | ZF | SF | OF | AF | PF);
  });
});

describe('MOVZX/MOVSX', () => {
  it('zero- and sign-extend bytes and words', () => {
    const m = machine();
    set(m, { ecx: 0x1234ff80 });
    run(m, [0x0f, 0xb6, rr(EAX, ECX)]); // movzx eax,cl
    expect(reg(m, 'eax')).toBe(0x80);
    run(m, [0x0f, 0xbe, rr(EAX, ECX)]); // movsx eax,cl
    expect(reg(m, 'eax')).toBe(0xffffff80);
    run(m, [0x0f, 0xb7, rr(EAX, ECX)]); // movzx eax,cx
    expect(reg(m, 'eax')).toBe(0xff80);
    run(m, [0x0f, 0xbf, rr(EAX, ECX)]); // movsx eax,cx
    expect(reg(m, 'eax')).toBe(0xffffff80);
    set(m, { eax: 0x12345678 });
    run(m, [0x66, 0x0f, 0xbe, rr(EAX, ECX)]); // movsx ax,cl
    expect(reg(m, 'eax')).toBe(0x1234ff80);
    poke8(m, DATA, 0x7f);
    run(m, [0x0f, 0xbe, ...abs32(EDX, DATA)]); // movsx edx,byte [DATA]
    expect(reg(m, 'edx')).toBe(0x7f);
  });
});

describe('XCHG/XADD', () => {
  it('xchg with memory, registers and eAX', () => {
    const m = machine();
    poke32(m, DATA, 1);
    set(m, { ecx: 2 });
    run(m, [0x87, ...abs32(ECX, DATA)]);
    expect([peek32(m, DATA), reg(m, 'ecx')]).toEqual([2, 1]);
    set(m, { eax: 10, ebx: 20 });
    run(m, [0x93]); // xchg ebx,eax
    expect([reg(m, 'eax'), reg(m, 'ebx')]).toEqual([20, 10]);
    set(m, { eax: 0x1234, ecx: 0x5678 });
    run(m, [0x86, rr(4, ECX)]); // xchg cl,ah
    expect([reg(m, 'eax'), reg(m, 'ecx')]).toEqual([0x7834, 0x5612]);
  });

  it('xchg with a faulting memory operand leaves the register', () => {
    const m = machine();
    limitDS(m, 0x1fff);
    set(m, { ecx: 2 });
    expect(fault(m, [0x87, ...abs32(ECX, 0x1ffe)])).toBe(EXC.GP);
    expect(reg(m, 'ecx')).toBe(2);
  });

  it('xadd exchanges and adds, with ADD flags', () => {
    const m = machine();
    poke32(m, DATA, 0xffffffff);
    set(m, { ecx: 1 });
    run(m, [0x0f, 0xc1, ...abs32(ECX, DATA)]);
    expect([peek32(m, DATA), reg(m, 'ecx')]).toEqual([0, 0xffffffff]);
    expect(flags(m)).toBe(CF | ZF | AF | PF);
    set(m, { eax: 5 });
    run(m, [0x0f, 0xc1, rr(EAX, EAX)]); // xadd eax,eax: the sum wins
    expect(reg(m, 'eax')).toBe(10);
  });
});

describe('CMPXCHG/CMPXCHG8B', () => {
  it('cmpxchg equal: destination = source, ZF', () => {
    const m = machine();
    poke32(m, DATA, 7);
    set(m, { eax: 7, ecx: 9 });
    run(m, [0x0f, 0xb1, ...abs32(ECX, DATA)]);
    expect(peek32(m, DATA)).toBe(9);
    expect(reg(m, 'eax')).toBe(7);
    expect(flags(m)).toBe(ZF | PF);
  });

  it('cmpxchg not equal: accumulator = destination, flags of CMP', () => {
    const m = machine();
    poke32(m, DATA, 8);
    set(m, { eax: 7, ecx: 9 });
    run(m, [0x0f, 0xb1, ...abs32(ECX, DATA)]);
    expect(peek32(m, DATA)).toBe(8);
    expect(reg(m, 'eax')).toBe(8);
    expect(flags(m)).toBe(CF | SF | AF | PF); // 7 - 8
  });

  it('cmpxchg writes its destination back even when not equal', () => {
    const m = machine();
    const writes: number[] = [];
    const mem = m.cpu.mem;
    const write8 = mem.write8.bind(mem);
    mem.write8 = (lin: number, v: number) => { writes.push(lin); write8(lin, v); };
    poke8(m, DATA, 5);
    set(m, { eax: 6, ecx: 9 });
    run(m, [0x0f, 0xb0, ...abs32(ECX, DATA)]); // cmpxchg [DATA],cl
    expect(writes).toEqual([DATA]);
    expect(peek8(m, DATA)).toBe(5);
    expect(reg(m, 'eax') & 0xff).toBe(5);
  });

  it('cmpxchg register forms', () => {
    const m = machine();
    set(m, { eax: 3, ebx: 3, ecx: 4 });
    run(m, [0x0f, 0xb1, rr(ECX, EBX)]); // cmpxchg ebx,ecx
    expect(reg(m, 'ebx')).toBe(4);
    expect(flags(m) & ZF).toBe(ZF);
    set(m, { eax: 0x1200, ebx: 0x34 });
    run(m, [0x0f, 0xb0, rr(ECX, EBX)]); // cmpxchg bl,cl
    expect(reg(m, 'eax')).toBe(0x1234);
    expect(reg(m, 'ebx')).toBe(0x34);
    expect(flags(m) & ZF).toBe(0);
  });

  it('cmpxchg8b equal and not equal', () => {
    const m = machine();
    poke32(m, DATA, 0x11111111);
    poke32(m, DATA + 4, 0x22222222);
    set(m, { eax: 0x11111111, edx: 0x22222222, ebx: 0x33333333, ecx: 0x44444444 });
    run(m, [0x0f, 0xc7, ...abs32(1, DATA)]);
    expect([peek32(m, DATA), peek32(m, DATA + 4)]).toEqual([0x33333333, 0x44444444]);
    expect(flags(m) & ZF).toBe(ZF);
    set(m, { eax: 0, edx: 0 });
    run(m, [0x0f, 0xc7, ...abs32(1, DATA)]);
    expect([reg(m, 'eax'), reg(m, 'edx')]).toEqual([0x33333333, 0x44444444]);
    expect([peek32(m, DATA), peek32(m, DATA + 4)]).toEqual([0x33333333, 0x44444444]);
    expect(flags(m) & ZF).toBe(0);
  });

  it('cmpxchg8b with a register operand is #UD', () => {
    const m = machine();
    expect(fault(m, [0x0f, 0xc7, 0xc8])).toBe(EXC.UD);
  });
});

describe('LEA', () => {
  it('computes the address without touching memory, in the address and operand sizes', () => {
    const m = machine();
    set(m, { ebx: 0x1000, esi: 0x10 });
    run(m, [0x8d, 0x44, 0x73, 0x07]); // lea eax,[ebx+esi*2+7]
    expect(reg(m, 'eax')).toBe(0x1027);
    set(m, { ebx: 0xffff, esi: 2 });
    run(m, [0x67, 0x8d, 0x00]); // lea eax,[bx+si] (16-bit address wraps)
    expect(reg(m, 'eax')).toBe(1);
    set(m, { eax: 0xaaaaaaaa, ebx: 0x12345678 });
    run(m, [0x66, 0x8d, 0x43, 0x01]); // lea ax,[ebx+1]
    expect(reg(m, 'eax')).toBe(0xaaaa5679);
  });
});

describe('CBW/CWDE/CWD/CDQ', () => {
  it('sign-extend the accumulator', () => {
    const m = machine();
    set(m, { eax: 0x12340080 });
    run(m, [0x66, 0x98]); // cbw
    expect(reg(m, 'eax')).toBe(0x1234ff80);
    run(m, [0x98]); // cwde
    expect(reg(m, 'eax')).toBe(0xffffff80);
    run(m, [0x99]); // cdq
    expect(reg(m, 'edx')).toBe(0xffffffff);
    set(m, { eax: 0x8000007f, edx: 0x12345678 });
    run(m, [0x66, 0x99]); // cwd
    expect(reg(m, 'edx')).toBe(0x12340000);
  });
});

describe('SETcc/CMOVcc', () => {
  it('setcc writes 0 or 1 to a byte', () => {
    const m = machine();
    set(m, { eax: 0xffffffff, flags: ZF });
    run(m, [0x0f, 0x94, 0xc0]); // sete al
    expect(reg(m, 'eax')).toBe(0xffffff01);
    run(m, [0x0f, 0x95, 0xc4]); // setne ah
    expect(reg(m, 'eax')).toBe(0xffff0001);
    set(m, { flags: SF });
    run(m, [0x0f, 0x9c, ...abs32(0, DATA)]); // setl [DATA] (SF != OF)
    expect(peek8(m, DATA)).toBe(1);
  });

  it('cmovcc moves only when the condition holds', () => {
    const m = machine();
    set(m, { eax: 1, ecx: 2, flags: CF });
    run(m, [0x0f, 0x42, rr(EAX, ECX)]); // cmovb eax,ecx
    expect(reg(m, 'eax')).toBe(2);
    set(m, { eax: 1 });
    run(m, [0x0f, 0x43, rr(EAX, ECX)]); // cmovae eax,ecx (false)
    expect(reg(m, 'eax')).toBe(1);
    set(m, { eax: 0xaaaaaaaa });
    run(m, [0x66, 0x0f, 0x42, rr(EAX, ECX)]); // cmovb ax,cx
    expect(reg(m, 'eax')).toBe(0xaaaa0002);
  });

  it('a false cmovcc still reads its memory source, and can fault', () => {
    const m = machine();
    limitDS(m, 0x1fff);
    set(m, { eax: 1, flags: 0 });
    expect(fault(m, [0x0f, 0x42, ...abs32(EAX, 0x1ffe)])).toBe(EXC.GP);
    expect(reg(m, 'eax')).toBe(1);
  });
});

describe('LAHF/SAHF/XLAT/NOP', () => {
  it('lahf and sahf move SF ZF AF PF CF through AH', () => {
    const m = machine();
    set(m, { eax: 0, flags: SF | ZF | AF | PF | CF | OF });
    run(m, [0x9f]);
    expect(reg(m, 'eax')).toBe(0xd700);
    set(m, { eax: 0x4100 }); // ZF | CF
    run(m, [0x9e]);
    expect(flags(m)).toBe(ZF | CF | OF);
  });

  it('xlat reads [ebx + al]', () => {
    const m = machine();
    poke8(m, DATA + 0x80, 0x42);
    set(m, { eax: 0x12345680, ebx: DATA });
    run(m, [0xd7]);
    expect(reg(m, 'eax')).toBe(0x12345642);
  });

  it('nop and the hint nops do nothing', () => {
    const m = machine();
    set(m, { eax: 1, flags: CF });
    run(m, [0x90]);
    run(m, [0x0f, 0x1f, 0x44, 0x00, 0x00]);
    expect(reg(m, 'eax')).toBe(1);
    expect(flags(m)).toBe(CF);
  });
});
