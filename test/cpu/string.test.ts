/**
 * String instructions (string.ts): MOVS CMPS STOS LODS SCAS INS OUTS with and
 * without REP/REPE/REPNE, both address sizes, DF, segment overrides, and a fault
 * in the middle of a REP that must restart where it stopped.
 */
import { describe, expect, it } from 'vitest';
import { AF, CF, OF, PF, SF, ZF } from '../../src/x86/flags.js';
import { FLAG } from '../../src/x86/rows.js';
import { EXC, SREG } from '../../src/x86/state.js';
import { DATA, type Machine, fault, flags, limitDS, machine, peek16, peek32, peek8, poke32, poke8, reg, run, set } from './harness.js';

const SRC = DATA;
const DST = 0x3000;

function fill(m: Machine, addr: number, bytes: number[]): void {
  m.phys.load(addr, Uint8Array.from(bytes));
}

/** A port bus that records accesses and answers reads from a queue. */
class RecordingBus {
  log: string[] = [];
  next = 0x1000;
  portIn(port: number, size: 1 | 2 | 4): number {
    this.log.push(`in${size} ${port.toString(16)}`);
    return this.next++ & (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);
  }
  portOut(port: number, size: 1 | 2 | 4, v: number): void {
    this.log.push(`out${size} ${port.toString(16)} ${v.toString(16)}`);
  }
}

describe('MOVS', () => {
  it('REP MOVSD copies ECX dwords forward', () => {
    const m = machine();
    poke32(m, SRC, 0x11111111);
    poke32(m, SRC + 4, 0x22222222);
    poke32(m, SRC + 8, 0x33333333);
    set(m, { esi: SRC, edi: DST, ecx: 3 });
    run(m, [0xf3, 0xa5]);
    expect([peek32(m, DST), peek32(m, DST + 4), peek32(m, DST + 8)]).toEqual([0x11111111, 0x22222222, 0x33333333]);
    expect(reg(m, 'esi')).toBe(SRC + 12);
    expect(reg(m, 'edi')).toBe(DST + 12);
    expect(reg(m, 'ecx')).toBe(0);
  });

  it('DF = 1 moves backwards', () => {
    const m = machine();
    fill(m, SRC, [1, 2, 3, 4]);
    set(m, { esi: SRC + 3, edi: DST + 3, ecx: 4, flags: FLAG.DF });
    run(m, [0xf3, 0xa4]);
    expect([peek8(m, DST), peek8(m, DST + 1), peek8(m, DST + 2), peek8(m, DST + 3)]).toEqual([1, 2, 3, 4]);
    expect(reg(m, 'esi')).toBe(SRC - 1);
    expect(reg(m, 'edi')).toBe(DST - 1);
  });

  it('o16 MOVSW in 32-bit code moves words', () => {
    const m = machine();
    poke32(m, SRC, 0xaabbccdd);
    set(m, { esi: SRC, edi: DST });
    run(m, [0x66, 0xa5]);
    expect(peek32(m, DST)).toBe(0xccdd);
    expect(reg(m, 'esi')).toBe(SRC + 2);
  });

  it('a 16-bit address size uses SI, DI, CX and keeps the upper halves', () => {
    const m = machine();
    fill(m, SRC, [7, 8]);
    set(m, { esi: 0xabcd0000 | SRC, edi: 0x12340000 | DST, ecx: 0x00010002 });
    run(m, [0x67, 0xf3, 0xa4]);
    expect([peek8(m, DST), peek8(m, DST + 1)]).toEqual([7, 8]);
    expect(reg(m, 'esi')).toBe((0xabcd0000 | (SRC + 2)) >>> 0);
    expect(reg(m, 'edi')).toBe(0x12340000 | (DST + 2));
    expect(reg(m, 'ecx')).toBe(0x00010000);
  });

  it('SI and DI wrap at 64 KiB with a 16-bit address size', () => {
    const m = machine();
    poke8(m, 0xffff, 0x5a);
    set(m, { esi: 0x7777ffff, edi: 0x8888ffff });
    run(m, [0x67, 0xa4]);
    expect(peek8(m, 0xffff)).toBe(0x5a);
    expect(reg(m, 'esi')).toBe(0x77770000);
    expect(reg(m, 'edi')).toBe(0x88880000);
  });

  it('a segment override applies to the source only', () => {
    const m = machine();
    m.cpu.segBase[SREG.FS] = 0x10000;
    poke8(m, 0x10000 + SRC, 0x99);
    poke8(m, SRC, 0x11);
    set(m, { esi: SRC, edi: DST });
    run(m, [0x64, 0xa4]); // movs byte es:[edi], fs:[esi]
    expect(peek8(m, DST)).toBe(0x99);
    expect(peek8(m, 0x10000 + DST)).toBe(0);
    set(m, { eax: 0x42, edi: DST + 1 });
    run(m, [0x64, 0xaa]); // the override does not move STOS's ES:EDI
    expect(peek8(m, DST + 1)).toBe(0x42);
    expect(peek8(m, 0x10000 + DST + 1)).toBe(0);
  });

  it('REP with ECX = 0 does nothing', () => {
    const m = machine();
    set(m, { esi: SRC, edi: DST, ecx: 0, flags: CF | ZF });
    run(m, [0xf3, 0xa6]); // repe cmpsb
    expect(reg(m, 'esi')).toBe(SRC);
    expect(reg(m, 'edi')).toBe(DST);
    expect(flags(m)).toBe(CF | ZF);
  });

  it('F2 on MOVS repeats like F3', () => {
    const m = machine();
    fill(m, SRC, [1, 2, 3]);
    set(m, { esi: SRC, edi: DST, ecx: 3 });
    run(m, [0xf2, 0xa4]);
    expect(peek8(m, DST + 2)).toBe(3);
    expect(reg(m, 'ecx')).toBe(0);
  });
});

describe('a fault in the middle of REP', () => {
  it('leaves ECX/ESI/EDI at the failing element and restarts from there', () => {
    const m = machine();
    fill(m, SRC, [1, 2, 3, 4, 5]);
    limitDS(m, SRC + 2);
    set(m, { esi: SRC, edi: DST, ecx: 5 });
    expect(fault(m, [0xf3, 0xa4])).toBe(EXC.GP);
    expect(reg(m, 'ecx')).toBe(2);
    expect(reg(m, 'esi')).toBe(SRC + 3);
    expect(reg(m, 'edi')).toBe(DST + 3);
    expect([peek8(m, DST), peek8(m, DST + 1), peek8(m, DST + 2), peek8(m, DST + 3)]).toEqual([1, 2, 3, 0]);
    limitDS(m, 0xffffffff);
    expect(fault(m, [0xf3, 0xa4])).toBe(-1);
    expect(reg(m, 'ecx')).toBe(0);
    expect(peek8(m, DST + 4)).toBe(5);
  });

  it('through the executor: EIP stays at the instruction when the fault is delivered', () => {
    const m = machine(16);
    poke8(m, 13 * 4, 0x00); // IVT 13 -> 0000:0500
    poke8(m, 13 * 4 + 1, 0x05);
    set(m, { esi: 0xfffe, edi: DST, ecx: 3 });
    run(m, [0xf3, 0xa5]); // SI = FFFE, 0000, 0002: SI wraps between words, all three succeed
    expect(reg(m, 'ecx')).toBe(0);
    set(m, { esi: 0xfffd, edi: DST, ecx: 3, esp: 0x8000 });
    run(m, [0xf3, 0xa5]); // SI FFFD: word at FFFD..FFFE, then FFFF..10000: #GP
    expect(m.cpu.eip).toBe(0x500);
    expect(peek16(m, 0x7ffa)).toBe(0x1000); // the REP MOVSW itself
    expect(reg(m, 'ecx')).toBe(2);
    expect(reg(m, 'esi')).toBe(0xffff);
  });

  it('REP CMPS that faults keeps EFLAGS from before the instruction (SDM vol. 2 REP; the host CPU agrees)', () => {
    const m = machine();
    fill(m, SRC, [5, 5, 5]);
    fill(m, DST, [5, 5, 5]);
    limitDS(m, SRC + 1);
    set(m, { esi: SRC, edi: DST, ecx: 3, flags: CF });
    expect(fault(m, [0xf3, 0xa6])).toBe(EXC.GP);
    expect(reg(m, 'ecx')).toBe(1);
    expect(flags(m)).toBe(CF);
  });
});

describe('CMPS / SCAS', () => {
  it('REPE CMPSB stops at the first difference with the flags of SRC - DST', () => {
    const m = machine();
    fill(m, SRC, [0x61, 0x62, 0x63, 0x58]);
    fill(m, DST, [0x61, 0x62, 0x63, 0x59]);
    set(m, { esi: SRC, edi: DST, ecx: 10 });
    run(m, [0xf3, 0xa6]);
    expect(reg(m, 'ecx')).toBe(6);
    expect(reg(m, 'esi')).toBe(SRC + 4);
    expect(reg(m, 'edi')).toBe(DST + 4);
    expect(flags(m)).toBe(CF | SF | AF | PF); // 58h - 59h = FFh
  });

  it('REPNE SCASB stops at the match', () => {
    const m = machine();
    fill(m, DST, [1, 2, 3, 0, 5]);
    set(m, { eax: 0xffffff00, edi: DST, ecx: 100 });
    run(m, [0xf2, 0xae]);
    expect(reg(m, 'edi')).toBe(DST + 4);
    expect(reg(m, 'ecx')).toBe(96);
    expect(flags(m) & ZF).toBe(ZF);
  });

  it('REPE SCASD runs out of ECX with ZF from the last element', () => {
    const m = machine();
    poke32(m, DST, 0x80000000);
    poke32(m, DST + 4, 0x80000000);
    set(m, { eax: 0x80000000, edi: DST, ecx: 2 });
    run(m, [0xf3, 0xaf]);
    expect(reg(m, 'ecx')).toBe(0);
    expect(reg(m, 'edi')).toBe(DST + 8);
    expect(flags(m)).toBe(ZF | PF);
  });

  it('CMPSD compares dwords with the top bit set', () => {
    const m = machine();
    poke32(m, SRC, 0x7fffffff);
    poke32(m, DST, 0xffffffff);
    set(m, { esi: SRC, edi: DST });
    run(m, [0xa7]); // 7FFFFFFF - FFFFFFFF = 80000000, borrow, overflow
    expect(flags(m)).toBe(CF | OF | SF | PF);
  });
});

describe('LODS / STOS', () => {
  it('LODSD, o16 STOSW, REP STOSB', () => {
    const m = machine();
    poke32(m, SRC, 0xdeadbeef);
    set(m, { esi: SRC });
    run(m, [0xad]);
    expect(reg(m, 'eax')).toBe(0xdeadbeef);
    expect(reg(m, 'esi')).toBe(SRC + 4);
    set(m, { edi: DST });
    run(m, [0x66, 0xab]);
    expect(peek32(m, DST)).toBe(0xbeef);
    expect(reg(m, 'edi')).toBe(DST + 2);
    set(m, { eax: 0x7e, edi: DST + 0x10, ecx: 3 });
    run(m, [0xf3, 0xaa]);
    expect(peek32(m, DST + 0x10)).toBe(0x7e7e7e);
    expect(reg(m, 'edi')).toBe(DST + 0x13);
  });

  it('REP LODSB leaves the last element in AL', () => {
    const m = machine();
    fill(m, SRC, [1, 2, 3]);
    set(m, { eax: 0x12345678, esi: SRC, ecx: 3 });
    run(m, [0xf3, 0xac]);
    expect(reg(m, 'eax')).toBe(0x12345603);
  });
});

describe('INS / OUTS', () => {
  it('REP INSW reads the port DX once per element into ES:EDI', () => {
    const m = machine();
    const bus = new RecordingBus();
    m.cpu.ports = bus;
    set(m, { edx: 0x101f0, edi: DST, ecx: 3 });
    run(m, [0x66, 0xf3, 0x6d]);
    expect(bus.log).toEqual(['in2 1f0', 'in2 1f0', 'in2 1f0']);
    expect([peek16(m, DST), peek16(m, DST + 2), peek16(m, DST + 4)]).toEqual([0x1000, 0x1001, 0x1002]);
    expect(reg(m, 'edi')).toBe(DST + 6);
  });

  it('INSD checks the destination before it reads the port', () => {
    const m = machine();
    const bus = new RecordingBus();
    m.cpu.ports = bus;
    m.cpu.segLimit[SREG.ES] = DST + 2;
    set(m, { edx: 0x60, edi: DST });
    expect(fault(m, [0x6d])).toBe(EXC.GP);
    expect(bus.log).toEqual([]);
  });

  it('OUTSB with a segment override; OUTSD', () => {
    const m = machine();
    const bus = new RecordingBus();
    m.cpu.ports = bus;
    m.cpu.segBase[SREG.GS] = 0x10000;
    fill(m, 0x10000 + SRC, [0xa1, 0xa2]);
    set(m, { edx: 0x3f8, esi: SRC, ecx: 2 });
    run(m, [0xf3, 0x65, 0x6e]);
    poke32(m, SRC, 0xcafef00d);
    set(m, { esi: SRC });
    run(m, [0x6f]);
    expect(bus.log).toEqual(['out1 3f8 a1', 'out1 3f8 a2', 'out4 3f8 cafef00d']);
  });
});
