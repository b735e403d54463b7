/**
 * Stack instructions (stack.ts): PUSH/POP in their register, memory, immediate and
 * segment forms, PUSHA/POPA, PUSHF/POPF, with 32-bit operand sizes and both stack
 * sizes. Expected values are computed by hand from the SDM.
 */
import { describe, expect, it } from 'vitest';
import { CF, ZF } from '../../src/x86/flags.js';
import { FLAG } from '../../src/x86/rows.js';
import { EXC, SREG } from '../../src/x86/state.js';
import { DATA, abs32, fault, machine, peek16, peek32, poke16, poke32, reg, run, set } from './harness.js';

describe('PUSH / POP', () => {
  it('PUSH ESP pushes the value before the decrement; POP ESP loads the popped value', () => {
    const m = machine();
    run(m, [0x54]);
    expect(peek32(m, 0x7ffc)).toBe(0x8000);
    expect(reg(m, 'esp')).toBe(0x7ffc);
    poke32(m, 0x7ffc, 0x6000);
    run(m, [0x5c]);
    expect(reg(m, 'esp')).toBe(0x6000);
  });

  it('PUSH [ESP+4] forms its address before the decrement', () => {
    const m = machine();
    poke32(m, 0x8004, 0xaabbccdd);
    run(m, [0xff, 0x74, 0x24, 0x04]);
    expect(peek32(m, 0x7ffc)).toBe(0xaabbccdd);
  });

  it('POP [ESP] and POP [ESP+4] form their address after the increment', () => {
    const m = machine();
    poke32(m, 0x8000, 0x11111111);
    run(m, [0x8f, 0x04, 0x24]); // pop dword [esp]
    expect(reg(m, 'esp')).toBe(0x8004);
    expect(peek32(m, 0x8004)).toBe(0x11111111);
    set(m, { esp: 0x8000 });
    poke32(m, 0x8000, 0x22222222);
    run(m, [0x8f, 0x44, 0x24, 0x04]); // pop dword [esp+4]
    expect(peek32(m, 0x8008)).toBe(0x22222222);
  });

  it('a faulting POP to memory leaves ESP unchanged', () => {
    const m = machine();
    m.cpu.segLimit[SREG.DS] = DATA - 1;
    expect(fault(m, [0x8f, ...abs32(0, DATA)])).toBe(EXC.GP);
    expect(reg(m, 'esp')).toBe(0x8000);
  });

  it('PUSH imm8 is sign-extended to the operand size', () => {
    const m = machine();
    run(m, [0x6a, 0xff]);
    expect(peek32(m, 0x7ffc)).toBe(0xffffffff);
    run(m, [0x66, 0x6a, 0x80]);
    expect(reg(m, 'esp')).toBe(0x7ffa);
    expect(peek16(m, 0x7ffa)).toBe(0xff80);
    run(m, [0x68, 0x78, 0x56, 0x34, 0x12]);
    expect(peek32(m, 0x7ff6)).toBe(0x12345678);
  });

  it('o16 POP writes only the low word of the register', () => {
    const m = machine();
    set(m, { ebx: 0xaaaa5555 });
    poke16(m, 0x8000, 0x1234);
    run(m, [0x66, 0x5b]);
    expect(reg(m, 'ebx')).toBe(0xaaaa1234);
    expect(reg(m, 'esp')).toBe(0x8002);
  });

  it('a 16-bit stack moves SP only, wrapping at 64 KiB', () => {
    const m = machine();
    m.cpu.segAttr[SREG.SS]! &= ~(1 << 22);
    set(m, { esp: 0x12340002, eax: 0xcafebabe });
    run(m, [0x50]);
    expect(reg(m, 'esp')).toBe(0x1234fffe);
    expect(peek16(m, 0xfffe)).toBe(0xbabe); // one 4-byte access at offset FFFE (SS limit 4 GiB)
    expect(peek16(m, 0x10000)).toBe(0xcafe);
  });

  it('a push past the stack limit is #SS with ESP unchanged', () => {
    const m = machine();
    m.cpu.segAttr[SREG.SS]! &= ~(1 << 22);
    m.cpu.segLimit[SREG.SS] = 0xffff;
    set(m, { esp: 2 });
    expect(fault(m, [0x50])).toBe(EXC.SS); // dword at FFFE..10001
    expect(reg(m, 'esp')).toBe(2);
  });
});

describe('PUSHA / POPA', () => {
  it('PUSHAD pushes EAX ECX EDX EBX (original) ESP EBP ESI EDI', () => {
    const m = machine();
    set(m, { eax: 1, ecx: 2, edx: 3, ebx: 4, ebp: 6, esi: 7, edi: 8 });
    run(m, [0x60]);
    const slots = Array.from({ length: 8 }, (_, k) => peek32(m, 0x8000 - 4 * (k + 1)));
    expect(slots).toEqual([1, 2, 3, 4, 0x8000, 6, 7, 8]);
    expect(reg(m, 'esp')).toBe(0x8000 - 32);
  });

  it('POPAD skips the ESP slot', () => {
    const m = machine();
    set(m, { esp: 0x7000 });
    for (let k = 0; k < 8; k++) poke32(m, 0x7000 + 4 * k, 0x100 + k); // EDI first
    run(m, [0x61]);
    expect(reg(m, 'edi')).toBe(0x100);
    expect(reg(m, 'esi')).toBe(0x101);
    expect(reg(m, 'ebp')).toBe(0x102);
    expect(reg(m, 'ebx')).toBe(0x104);
    expect(reg(m, 'edx')).toBe(0x105);
    expect(reg(m, 'ecx')).toBe(0x106);
    expect(reg(m, 'eax')).toBe(0x107);
    expect(reg(m, 'esp')).toBe(0x7020);
  });

  it('o16 PUSHA/POPA move words and keep the registers\' upper halves', () => {
    const m = machine();
    set(m, { eax: 0xaaaa0001, ebp: 0xbbbb0006 });
    run(m, [0x66, 0x60]);
    expect(reg(m, 'esp')).toBe(0x8000 - 16);
    expect(peek16(m, 0x7ffe)).toBe(1);
    expect(peek16(m, 0x7ff6)).toBe(0x8000); // SP
    poke16(m, 0x7ffe, 0x4444); // AX slot
    run(m, [0x66, 0x61]);
    expect(reg(m, 'eax')).toBe(0xaaaa4444);
    expect(reg(m, 'ebp')).toBe(0xbbbb0006);
    expect(reg(m, 'esp')).toBe(0x8000);
  });

  it('a POPAD that faults changes no register', () => {
    const m = machine();
    m.cpu.segLimit[SREG.SS] = 0x801b; // the last slot (EAX at 801C) is outside
    set(m, { eax: 5, edi: 6 });
    expect(fault(m, [0x61])).toBe(EXC.SS);
    expect(reg(m, 'eax')).toBe(5);
    expect(reg(m, 'edi')).toBe(6);
    expect(reg(m, 'esp')).toBe(0x8000);
  });
});

describe('PUSHF / POPF (real mode)', () => {
  it('PUSHFD clears VM and RF in the image; PUSHF pushes the low word', () => {
    const m = machine();
    m.cpu.flagsBits = 2 | FLAG.RF | FLAG.AC | FLAG.IOPL | CF;
    run(m, [0x9c]);
    expect(peek32(m, 0x7ffc)).toBe(2 | FLAG.AC | FLAG.IOPL | CF);
    run(m, [0x66, 0x9c]);
    expect(peek16(m, 0x7ffa)).toBe(2 | FLAG.IOPL | CF);
  });

  it('POPFD loads every non-reserved flag but VM, VIF, VIP, and clears RF', () => {
    const m = machine();
    m.cpu.flagsBits = 2 | FLAG.RF | FLAG.VIP;
    poke32(m, 0x8000, 0xffffffff);
    run(m, [0x9d]);
    expect(m.cpu.eflags).toBe(0x247fd7 | FLAG.VIP);
    expect(reg(m, 'esp')).toBe(0x8004);
  });

  it('16-bit POPF writes bits 0-15 (IOPL and NT included) and keeps the rest', () => {
    const m = machine();
    set(m, { flags: FLAG.AC | ZF });
    poke16(m, 0x8000, 0xffff);
    run(m, [0x66, 0x9d]);
    expect(m.cpu.eflags).toBe(FLAG.AC | 0x7fd7);
  });

  it('in protected mode at CPL 3, POPF keeps IOPL and, with CPL > IOPL, IF', () => {
    const m = machine();
    m.cpu.cr0 |= 1;
    m.cpu.cpl = 3;
    set(m, { flags: 0 });
    poke32(m, 0x8000, FLAG.IOPL | FLAG.IF | CF);
    run(m, [0x9d]);
    expect(m.cpu.eflags).toBe(2 | CF);
  });
});

describe('PUSH / POP Sreg', () => {
  it('o32 PUSH Sreg moves ESP by 4 and writes only the selector', () => {
    const m = machine();
    m.cpu.segSel[SREG.FS] = 0x1234;
    poke32(m, 0x7ffc, 0xdeadbeef);
    run(m, [0x0f, 0xa0]);
    expect(reg(m, 'esp')).toBe(0x7ffc);
    expect(peek32(m, 0x7ffc)).toBe(0xdead1234);
    run(m, [0x66, 0x06]); // o16 push es
    expect(reg(m, 'esp')).toBe(0x7ffa);
  });

  it('POP DS reads a dword slot and loads the low word; POP SS holds interrupts off', () => {
    const m = machine();
    poke32(m, 0x8000, 0xffff0040);
    run(m, [0x1f]);
    expect(m.cpu.segSel[SREG.DS]).toBe(0x40);
    expect(m.cpu.segBase[SREG.DS]).toBe(0x400);
    expect(reg(m, 'esp')).toBe(0x8004);
    expect(m.cpu.interruptShadow).toBe(false);
    poke32(m, 0x8004, 0);
    run(m, [0x17]);
    expect(m.cpu.interruptShadow).toBe(true);
    expect(reg(m, 'esp')).toBe(0x8008);
    run(m, [0x90]);
    expect(m.cpu.interruptShadow).toBe(false);
  });
});
