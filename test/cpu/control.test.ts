/**
 * Control transfers (control.ts): Jcc, JMP, CALL, RET, LOOPcc, JCXZ/JECXZ, the far
 * forms, INT n/INT3/INT1/INTO, IRET, ENTER, LEAVE and BOUND, mostly in their 32-bit
 * operand- and address-size forms (the 16-bit forms are checked against the 80286
 * vectors). Expected values are computed by hand from the SDM pseudo-code.
 */
import { describe, expect, it } from 'vitest';
import { CF, OF, ZF } from '../../src/x86/flags.js';
import { FLAG } from '../../src/x86/rows.js';
import { EXC, REG, SREG } from '../../src/x86/state.js';
import { CODE, DATA, type Machine, abs32, fault, machine, peek16, peek32, poke16, poke32, reg, run, set } from './harness.js';

/** Run one instruction placed at linear `addr` (flat segments: EIP = addr). */
function runAt(m: Machine, addr: number, code: number[]): void {
  m.phys.load(addr, Uint8Array.from(code));
  m.cpu.eip = addr;
  m.cpu.step();
}

/** Point IVT entry `vector` at seg:off. */
function ivt(m: Machine, vector: number, seg: number, off: number): void {
  poke16(m, vector * 4, off);
  poke16(m, vector * 4 + 2, seg);
}

describe('Jcc / JMP', () => {
  it('Jcc rel8 and rel32, taken and not taken', () => {
    const m = machine();
    set(m, { flags: ZF });
    run(m, [0x74, 0x10]); // je +16
    expect(m.cpu.eip).toBe(CODE + 2 + 0x10);
    run(m, [0x75, 0x10]); // jne: not taken
    expect(m.cpu.eip).toBe(CODE + 2);
    run(m, [0x0f, 0x84, 0x00, 0xff, 0xff, 0xff]); // je -256 (rel32)
    expect(m.cpu.eip).toBe(CODE + 6 - 0x100);
    set(m, { flags: CF });
    run(m, [0x0f, 0x87, 0x10, 0, 0, 0]); // ja: CF=1 so not taken
    expect(m.cpu.eip).toBe(CODE + 6);
  });

  it('a 16-bit operand size masks EIP to 16 bits', () => {
    const m = machine();
    runAt(m, 0x1fff0, [0x66, 0xeb, 0x00]); // jmp short +0 with o16
    expect(m.cpu.eip).toBe(0xfff3);
    runAt(m, 0x2fff0, [0x66, 0xe9, 0x10, 0x00]); // jmp rel16
    expect(m.cpu.eip).toBe(0x0004);
  });

  it('JMP r/m32 and JMP r/m16', () => {
    const m = machine();
    set(m, { eax: 0x12345 });
    run(m, [0xff, 0xe0]); // jmp eax
    expect(m.cpu.eip).toBe(0x12345);
    poke32(m, DATA, 0xabcd1234);
    run(m, [0x66, 0xff, ...abs32(4, DATA)]); // jmp word [DATA]
    expect(m.cpu.eip).toBe(0x1234);
  });

  it('a target beyond the CS limit is #GP(0) with nothing changed', () => {
    const m = machine();
    m.cpu.segLimit[SREG.CS] = 0x1fff;
    expect(fault(m, [0xe9, 0x00, 0x20, 0, 0])).toBe(EXC.GP); // jmp CODE+5+0x2000
    set(m, { flags: ZF });
    expect(fault(m, [0x74, 0x7f, 0x00])).toBe(-1); // inside the limit
    expect(m.cpu.nextEip).toBe(CODE + 2 + 0x7f);
  });
});

describe('CALL / RET', () => {
  it('CALL rel32 pushes the return EIP; RET pops it', () => {
    const m = machine();
    run(m, [0xe8, 0x00, 0x01, 0, 0]); // call +0x100
    expect(m.cpu.eip).toBe(CODE + 5 + 0x100);
    expect(reg(m, 'esp')).toBe(0x7ffc);
    expect(peek32(m, 0x7ffc)).toBe(CODE + 5);
    run(m, [0xc3]);
    expect(m.cpu.eip).toBe(CODE + 5);
    expect(reg(m, 'esp')).toBe(0x8000);
  });

  it('CALL r/m reads its operand before the push (CALL [ESP])', () => {
    const m = machine();
    poke32(m, 0x8000, 0x5555);
    run(m, [0xff, 0x14, 0x24]); // call [esp]
    expect(m.cpu.eip).toBe(0x5555);
    expect(peek32(m, 0x7ffc)).toBe(CODE + 3);
  });

  it('o16 CALL pushes a word and masks the target; RET imm16 releases parameters', () => {
    const m = machine();
    run(m, [0x66, 0xe8, 0x10, 0x00]); // call rel16
    expect(m.cpu.eip).toBe(CODE + 4 + 0x10);
    expect(reg(m, 'esp')).toBe(0x7ffe);
    expect(peek16(m, 0x7ffe)).toBe(CODE + 4);
    set(m, { esp: 0x7ff0 });
    poke32(m, 0x7ff0, 0x3000);
    run(m, [0xc2, 0x08, 0x00]); // ret 8
    expect(m.cpu.eip).toBe(0x3000);
    expect(reg(m, 'esp')).toBe(0x7ff0 + 4 + 8);
  });

  it('RET with a 16-bit stack wraps SP and keeps the upper half of ESP', () => {
    const m = machine();
    m.cpu.segAttr[SREG.SS]! &= ~(1 << 22);
    set(m, { esp: 0x1234fffe });
    poke32(m, 0xfffe, 0x4444); // the dword at SS:FFFE (SS limit raised to hold it)
    m.cpu.segLimit[SREG.SS] = 0x1ffff;
    run(m, [0xc3]);
    expect(m.cpu.eip).toBe(0x4444);
    expect(reg(m, 'esp')).toBe(0x12340002);
  });
});

describe('LOOP / JCXZ', () => {
  it('count with ECX, or CX under an address-size prefix', () => {
    const m = machine();
    set(m, { ecx: 0x10000 });
    run(m, [0xe2, 0x10]); // loop: ECX = 0xFFFF, taken
    expect(reg(m, 'ecx')).toBe(0xffff);
    expect(m.cpu.eip).toBe(CODE + 2 + 0x10);
    set(m, { ecx: 0x10000 });
    run(m, [0x67, 0xe2, 0x10]); // loop with CX: CX 0 -> FFFF, taken, upper half kept
    expect(reg(m, 'ecx')).toBe(0x1ffff);
    expect(m.cpu.eip).toBe(CODE + 3 + 0x10);
    set(m, { ecx: 0x10001 });
    run(m, [0x67, 0xe2, 0x10]); // CX 1 -> 0: falls through
    expect(reg(m, 'ecx')).toBe(0x10000);
    expect(m.cpu.eip).toBe(CODE + 3);
  });

  it('LOOPE / LOOPNE test ZF after the count', () => {
    const m = machine();
    set(m, { ecx: 5, flags: ZF });
    run(m, [0xe1, 0xfe]); // loope: taken
    expect(m.cpu.eip).toBe(CODE);
    expect(reg(m, 'ecx')).toBe(4);
    run(m, [0xe0, 0xfe]); // loopne with ZF=1: not taken, still counts
    expect(m.cpu.eip).toBe(CODE + 2);
    expect(reg(m, 'ecx')).toBe(3);
    set(m, { flags: 0 });
    run(m, [0xe0, 0xfe]); // loopne with ZF=0: taken
    expect(m.cpu.eip).toBe(CODE);
    expect(reg(m, 'ecx')).toBe(2);
  });

  it('a LOOP to beyond the CS limit faults before ECX changes', () => {
    const m = machine();
    m.cpu.segLimit[SREG.CS] = CODE + 0x10;
    set(m, { ecx: 7 });
    expect(fault(m, [0xe2, 0x40])).toBe(EXC.GP);
    expect(reg(m, 'ecx')).toBe(7);
  });

  it('JECXZ tests ECX, JCXZ (a16) tests CX', () => {
    const m = machine();
    set(m, { ecx: 0x10000 });
    run(m, [0xe3, 0x10]);
    expect(m.cpu.eip).toBe(CODE + 2);
    run(m, [0x67, 0xe3, 0x10]);
    expect(m.cpu.eip).toBe(CODE + 3 + 0x10);
  });
});

describe('far transfers (real mode)', () => {
  it('JMP ptr16:32 loads CS the real-mode way', () => {
    const m = machine();
    run(m, [0xea, 0x78, 0x56, 0x00, 0x00, 0x34, 0x12]); // jmp 1234:00005678
    expect(m.cpu.segSel[SREG.CS]).toBe(0x1234);
    expect(m.cpu.segBase[SREG.CS]).toBe(0x12340);
    expect(m.cpu.eip).toBe(0x5678);
  });

  it('CALL m16:32 pushes CS in a 4-byte slot and EIP; RETF imm16 pops them and the parameters', () => {
    const m = machine();
    poke32(m, DATA, 0x0100);
    poke16(m, DATA + 4, 0x0200);
    poke32(m, 0x7ffc, 0xffffffff);
    run(m, [0xff, ...abs32(3, DATA)]); // call far [DATA]
    expect(m.cpu.segSel[SREG.CS]).toBe(0x200);
    expect(m.cpu.eip).toBe(0x100);
    expect(reg(m, 'esp')).toBe(0x7ff8);
    expect(peek32(m, 0x7ffc)).toBe(0); // CS zero-extended
    expect(peek32(m, 0x7ff8)).toBe(CODE + 6);
    // RETF 8 from CS base 0x2000: place it at linear 0x2000 + 0x100.
    m.phys.load(0x2100, Uint8Array.from([0xca, 0x08, 0x00]));
    m.cpu.step();
    expect(m.cpu.segSel[SREG.CS]).toBe(0);
    expect(m.cpu.eip).toBe(CODE + 6);
    expect(reg(m, 'esp')).toBe(0x8008);
  });

  it('o16 far CALL/RETF in 16-bit code', () => {
    const m = machine(16);
    run(m, [0x9a, 0x34, 0x12, 0x00, 0x00]); // call 0000:1234
    expect(m.cpu.eip).toBe(0x1234);
    expect(reg(m, 'esp')).toBe(0x7ffc);
    expect(peek16(m, 0x7ffc)).toBe(CODE + 5);
    expect(peek16(m, 0x7ffe)).toBe(0);
    run(m, [0x66, 0xcb]); // o32 retf: pops a dword offset and a dword CS slot
    expect(reg(m, 'esp')).toBe(0x8004);
  });

  it('a far target beyond the CS limit is #GP before anything is pushed', () => {
    const m = machine();
    m.cpu.segLimit[SREG.CS] = 0xffff;
    expect(fault(m, [0x9a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])).toBe(EXC.GP); // call 0000:00010000
    expect(reg(m, 'esp')).toBe(0x8000);
    expect(m.cpu.segSel[SREG.CS]).toBe(0);
  });
});

describe('INT / IRET (real mode)', () => {
  it('INT n pushes FLAGS, CS, IP and clears IF and TF', () => {
    const m = machine(16);
    ivt(m, 0x21, 0x0300, 0x0040);
    ivt(m, 1, 0x0000, 0x0800);
    set(m, { flags: FLAG.IF | FLAG.TF | CF });
    run(m, [0xcd, 0x21]);
    // TF was set when INT began, so the single-step trap follows it, at the handler's
    // first instruction (SDM vol. 3 §17.3.1.4: "single step an INT n instruction").
    expect(m.cpu.segSel[SREG.CS]).toBe(0);
    expect(m.cpu.eip).toBe(0x800);
    expect(reg(m, 'esp')).toBe(0x7ff4);
    expect([peek16(m, 0x7ff4), peek16(m, 0x7ff6), peek16(m, 0x7ff8)]).toEqual([0x40, 0x300, CF | 2]);
    expect(peek16(m, 0x7ffa)).toBe(CODE + 2);
    expect(peek16(m, 0x7ffc)).toBe(0);
    expect(peek16(m, 0x7ffe)).toBe(FLAG.IF | FLAG.TF | CF | 2);
    expect(m.cpu.eflags & (FLAG.IF | FLAG.TF)).toBe(0);
    // IRET from the single-step handler to the INT handler, then IRET back.
    m.phys.load(0x800, Uint8Array.from([0xcf]));
    m.cpu.step();
    expect([m.cpu.segSel[SREG.CS], m.cpu.eip, reg(m, 'esp')]).toEqual([0x300, 0x40, 0x7ffa]);
    m.phys.load(0x3040, Uint8Array.from([0xcf]));
    m.cpu.step();
    expect(m.cpu.segSel[SREG.CS]).toBe(0);
    expect(m.cpu.eip).toBe(CODE + 2);
    expect(m.cpu.eflags).toBe(FLAG.IF | FLAG.TF | CF | 2);
    expect(reg(m, 'esp')).toBe(0x8000);
  });

  it('INT3 and INT1 return to the next instruction; INTO traps only with OF', () => {
    const m = machine(16);
    ivt(m, 3, 0, 0x500);
    ivt(m, 1, 0, 0x600);
    ivt(m, 4, 0, 0x700);
    run(m, [0xcc]);
    expect(m.cpu.eip).toBe(0x500);
    expect(peek16(m, 0x7ffa)).toBe(CODE + 1);
    set(m, { esp: 0x8000 });
    run(m, [0xf1]);
    expect(m.cpu.eip).toBe(0x600);
    expect(peek16(m, 0x7ffa)).toBe(CODE + 1);
    set(m, { esp: 0x8000, flags: 0 });
    run(m, [0xce]);
    expect(m.cpu.eip).toBe(CODE + 1);
    set(m, { flags: OF });
    run(m, [0xce]);
    expect(m.cpu.eip).toBe(0x700);
    expect(peek16(m, 0x7ffa)).toBe(CODE + 1);
  });

  it('IRETD: EFLAGS = (popped AND 257FD5h) OR (EFLAGS AND 1A0000h); IOPL and NT load', () => {
    const m = machine(16);
    poke32(m, 0x8000, 0x2222);
    poke32(m, 0x8004, 0xffff0300); // CS slot: upper half discarded
    poke32(m, 0x8008, 0xffffffff);
    run(m, [0x66, 0xcf]);
    expect(m.cpu.eip).toBe(0x2222);
    expect(m.cpu.segSel[SREG.CS]).toBe(0x300);
    expect(m.cpu.eflags).toBe(0x257fd7);
    expect(reg(m, 'esp')).toBe(0x800c);
  });

  it('16-bit IRET replaces FLAGS[15:0] only', () => {
    const m = machine(16);
    set(m, { flags: FLAG.AC | FLAG.ID });
    poke16(m, 0x8000, 0x10);
    poke16(m, 0x8002, 0);
    poke16(m, 0x8004, 0xffff);
    run(m, [0xcf]);
    expect(m.cpu.eflags).toBe(FLAG.AC | FLAG.ID | 0x7fd7);
  });

  it('a real-mode IVT entry beyond the IDTR limit is #GP', () => {
    const m = machine(16);
    m.cpu.idtrLimit = 0x7f; // 32 vectors
    ivt(m, 13, 0, 0x900);
    run(m, [0xcd, 0x20]);
    expect(m.cpu.eip).toBe(0x900); // #GP delivered instead, with the INT's own address
    expect(peek16(m, 0x7ffa)).toBe(CODE);
  });
});

describe('ENTER / LEAVE', () => {
  it('ENTER imm16, 0 with a 32-bit stack', () => {
    const m = machine();
    set(m, { esp: 0x8000, ebp: 0x9000 });
    run(m, [0xc8, 0x08, 0x00, 0x00]);
    expect(peek32(m, 0x7ffc)).toBe(0x9000);
    expect(reg(m, 'ebp')).toBe(0x7ffc);
    expect(reg(m, 'esp')).toBe(0x7ff4);
  });

  it('ENTER with nesting level 3 copies two frame pointers and pushes FrameTemp', () => {
    const m = machine();
    set(m, { esp: 0x8000, ebp: 0x9000 });
    poke32(m, 0x8ffc, 0xaaaa0001);
    poke32(m, 0x8ff8, 0xbbbb0002);
    run(m, [0xc8, 0x10, 0x00, 0x03]);
    expect(peek32(m, 0x7ffc)).toBe(0x9000);
    expect(peek32(m, 0x7ff8)).toBe(0xaaaa0001);
    expect(peek32(m, 0x7ff4)).toBe(0xbbbb0002);
    expect(peek32(m, 0x7ff0)).toBe(0x7ffc);
    expect(reg(m, 'ebp')).toBe(0x7ffc);
    expect(reg(m, 'esp')).toBe(0x7fe0);
  });

  it('the nesting level is taken modulo 32', () => {
    const m = machine();
    set(m, { esp: 0x8000, ebp: 0x9000 });
    run(m, [0xc8, 0x00, 0x00, 33]); // level 1
    expect(peek32(m, 0x7ffc)).toBe(0x9000);
    expect(peek32(m, 0x7ff8)).toBe(0x7ffc);
    expect(reg(m, 'ebp')).toBe(0x7ffc);
    expect(reg(m, 'esp')).toBe(0x7ff8);
  });

  it('16-bit ENTER in real mode', () => {
    const m = machine(16);
    set(m, { esp: 0x100, ebp: 0xabcd0200 });
    poke16(m, 0x1fe, 0x1234);
    run(m, [0xc8, 0x04, 0x00, 0x02]);
    expect(peek16(m, 0xfe)).toBe(0x200);
    expect(peek16(m, 0xfc)).toBe(0x1234);
    expect(peek16(m, 0xfa)).toBe(0xfe);
    expect(reg(m, 'ebp')).toBe(0xabcd00fe);
    expect(reg(m, 'esp')).toBe(0xf6);
  });

  it('a fault in the middle of ENTER leaves EBP and ESP unchanged', () => {
    const m = machine(16);
    set(m, { esp: 0x100, ebp: 1 });
    expect(fault(m, [0xc8, 0x00, 0x00, 0x02])).toBe(EXC.SS); // reads the word at SS:FFFF
    expect(reg(m, 'esp')).toBe(0x100);
    expect(reg(m, 'ebp')).toBe(1);
  });

  it('LEAVE: ESP = EBP, pop EBP; o16 pops BP only', () => {
    const m = machine();
    set(m, { ebp: 0x7000, esp: 0x6000 });
    poke32(m, 0x7000, 0x12345678);
    run(m, [0xc9]);
    expect(reg(m, 'esp')).toBe(0x7004);
    expect(reg(m, 'ebp')).toBe(0x12345678);
    set(m, { ebp: 0x00017000, esp: 0x6000 });
    poke16(m, 0x17000, 0xbeef);
    run(m, [0x66, 0xc9]);
    expect(reg(m, 'esp')).toBe(0x17002);
    expect(reg(m, 'ebp')).toBe(0x0001beef);
  });
});

describe('BOUND', () => {
  it('signed 32-bit bounds; #BR is a fault', () => {
    const m = machine();
    poke32(m, DATA, -10 >>> 0);
    poke32(m, DATA + 4, 10);
    set(m, { eax: -10 >>> 0 });
    expect(fault(m, [0x62, ...abs32(REG.EAX, DATA)])).toBe(-1);
    set(m, { eax: 10 });
    expect(fault(m, [0x62, ...abs32(REG.EAX, DATA)])).toBe(-1);
    set(m, { eax: 11 });
    expect(fault(m, [0x62, ...abs32(REG.EAX, DATA)])).toBe(EXC.BR);
    set(m, { eax: -11 >>> 0 });
    expect(fault(m, [0x62, ...abs32(REG.EAX, DATA)])).toBe(EXC.BR);
    // Delivered through the IVT with the BOUND's own address.
    ivt(m, 5, 0, 0x4000);
    run(m, [0x62, ...abs32(REG.EAX, DATA)]);
    expect(m.cpu.eip).toBe(0x4000);
    expect(peek16(m, 0x7ffa)).toBe(CODE);
  });

  it('16-bit bounds are signed words', () => {
    const m = machine(16);
    poke16(m, DATA, 0xfff0); // -16
    poke16(m, DATA + 2, 0x0010);
    set(m, { ebx: 0xfff5 });
    expect(fault(m, [0x62, 0x1e, DATA & 0xff, DATA >> 8])).toBe(-1); // bound bx,[DATA]
    set(m, { ebx: 0x8000 });
    expect(fault(m, [0x62, 0x1e, DATA & 0xff, DATA >> 8])).toBe(EXC.BR);
  });
});
