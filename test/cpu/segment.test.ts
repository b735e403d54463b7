/**
 * Segment-register moves (segment.ts): MOV Sreg,r/m, MOV r/m,Sreg, LES LDS LSS LFS
 * LGS, in real mode with 32-bit operand sizes.
 */
import { describe, expect, it } from 'vitest';
import { EXC, SREG } from '../../src/x86/state.js';
import { DATA, abs32, fault, limitDS, machine, peek32, poke16, poke32, reg, rr, run, set } from './harness.js';

const EAX = 0, ECX = 1, EBX = 3;

describe('MOV Sreg', () => {
  it('MOV DS, r/m16 loads selector and base', () => {
    const m = machine();
    poke16(m, DATA, 0xf000);
    run(m, [0x8e, ...abs32(SREG.GS, DATA)]);
    expect(m.cpu.segBase[SREG.GS]).toBe(0xf0000);
    set(m, { eax: 0xffff1234 });
    run(m, [0x8e, rr(SREG.DS, EAX)]);
    expect(m.cpu.segSel[SREG.DS]).toBe(0x1234);
    expect(m.cpu.segBase[SREG.DS]).toBe(0x12340);
  });

  it('MOV CS and sreg 6/7 are #UD', () => {
    const m = machine();
    expect(fault(m, [0x8e, rr(SREG.CS, EAX)])).toBe(EXC.UD);
    expect(fault(m, [0x8e, rr(6, EAX)])).toBe(EXC.UD);
    expect(fault(m, [0x8e, rr(7, EAX)])).toBe(EXC.UD);
    expect(fault(m, [0x8c, rr(6, EAX)])).toBe(EXC.UD);
    expect(fault(m, [0x8c, ...abs32(7, DATA)])).toBe(EXC.UD);
  });

  it('MOV SS holds interrupts off for one instruction; MOV ES does not', () => {
    const m = machine();
    run(m, [0x8e, rr(SREG.ES, EAX)]);
    expect(m.cpu.interruptShadow).toBe(false);
    run(m, [0x8e, rr(SREG.SS, EAX)]);
    expect(m.cpu.interruptShadow).toBe(true);
  });

  it('MOV r32, Sreg zero-extends; MOV r16 keeps the upper half; MOV m, Sreg writes 16 bits', () => {
    const m = machine();
    m.cpu.segSel[SREG.ES] = 0x8765;
    set(m, { eax: 0xffffffff, ecx: 0xffffffff });
    run(m, [0x8c, rr(SREG.ES, EAX)]);
    expect(reg(m, 'eax')).toBe(0x8765);
    run(m, [0x66, 0x8c, rr(SREG.ES, ECX)]);
    expect(reg(m, 'ecx')).toBe(0xffff8765);
    poke32(m, DATA, 0xaaaaaaaa);
    run(m, [0x8c, ...abs32(SREG.ES, DATA)]);
    expect(peek32(m, DATA)).toBe(0xaaaa8765);
  });
});

describe('LES LDS LSS LFS LGS', () => {
  it('a 32-bit far pointer: offset dword then selector', () => {
    const m = machine();
    poke32(m, DATA, 0x12345678);
    poke16(m, DATA + 4, 0x0100);
    run(m, [0xc4, ...abs32(EBX, DATA)]); // les ebx,[DATA]
    expect(reg(m, 'ebx')).toBe(0x12345678);
    expect(m.cpu.segSel[SREG.ES]).toBe(0x100);
    run(m, [0xc5, ...abs32(ECX, DATA)]); // lds ecx,[DATA]
    expect(m.cpu.segSel[SREG.DS]).toBe(0x100);
    expect(reg(m, 'ecx')).toBe(0x12345678);
    run(m, [0x0f, 0xb4, ...abs32(EAX, DATA - 0x1000)]); // lfs eax,[DS:DATA-0x1000] (DS base 0x1000 now)
    expect(m.cpu.segSel[SREG.FS]).toBe(0x100);
    expect(reg(m, 'eax')).toBe(0x12345678);
    run(m, [0x0f, 0xb5, ...abs32(EAX, DATA - 0x1000)]);
    expect(m.cpu.segSel[SREG.GS]).toBe(0x100);
  });

  it('LSS loads SS without an interrupt shadow; o16 reads offset word then selector', () => {
    const m = machine();
    poke32(m, DATA, 0x56780200);
    poke16(m, DATA + 4, 0x0300);
    set(m, { esp: 0xaaaa0000 });
    run(m, [0x66, 0x0f, 0xb2, ...abs32(4, DATA)]); // lss sp,[DATA]
    expect(reg(m, 'esp')).toBe(0xaaaa0200);
    expect(m.cpu.segSel[SREG.SS]).toBe(0x5678);
    expect(m.cpu.interruptShadow).toBe(false);
  });

  it('a pointer crossing the segment limit is #GP with nothing loaded', () => {
    const m = machine();
    limitDS(m, DATA + 4);
    set(m, { ebx: 7 });
    expect(fault(m, [0xc4, ...abs32(EBX, DATA)])).toBe(EXC.GP);
    expect(reg(m, 'ebx')).toBe(7);
    expect(m.cpu.segSel[SREG.ES]).toBe(0);
  });

  it('the register form is #UD', () => {
    const m = machine();
    expect(fault(m, [0xc5, rr(EAX, ECX)])).toBe(EXC.UD);
  });
});
