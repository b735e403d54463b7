/**
 * BT BTS BTR BTC, BSF BSR, BSWAP (bits.ts), with hand-computed expectations.
 */
import { describe, expect, it } from 'vitest';
import { CF, OF, PF, SF, ZF } from '../../src/x86/flags.js';
import { DATA, abs16, abs32, flags, machine, peek16, peek32, poke16, poke32, reg, rr, run, set } from './harness.js';

const EAX = 0, ECX = 1, EBX = 3;

describe('BT/BTS/BTR/BTC', () => {
  it('register destination: the offset is taken mod 32; only CF changes', () => {
    const m = machine();
    set(m, { eax: 0x80000000, ecx: 63, flags: ZF | SF | OF | PF });
    run(m, [0x0f, 0xa3, rr(ECX, EAX)]); // bt eax,ecx
    expect(flags(m)).toBe(CF | ZF | SF | OF | PF);
    run(m, [0x0f, 0xb3, rr(ECX, EAX)]); // btr eax,ecx
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m) & CF).toBe(CF);
    run(m, [0x0f, 0xab, rr(ECX, EAX)]); // bts eax,ecx
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m) & CF).toBe(0);
    run(m, [0x0f, 0xba, 0xf8, 3]); // btc eax,3
    expect(reg(m, 'eax')).toBe(0x80000008);
  });

  it('memory with an immediate offset: the offset is taken mod 32', () => {
    const m = machine();
    poke32(m, DATA, 0x00000008);
    poke32(m, DATA + 4, 0xffffffff);
    run(m, [0x0f, 0xba, ...abs32(4, DATA), 35]); // bt dword [DATA],35 -> bit 3 of [DATA]
    expect(flags(m) & CF).toBe(CF);
    run(m, [0x0f, 0xba, ...abs32(6, DATA), 35]); // btr dword [DATA],35
    expect(peek32(m, DATA)).toBe(0);
    expect(peek32(m, DATA + 4)).toBe(0xffffffff);
  });

  it('memory with a register offset addresses the bit string: positive and negative offsets', () => {
    const m = machine();
    poke32(m, DATA + 12, 0);
    set(m, { ecx: 100 }); // dword 3, bit 4
    run(m, [0x0f, 0xab, ...abs32(ECX, DATA)]); // bts [DATA],ecx
    expect(peek32(m, DATA + 12)).toBe(0x10);
    expect(flags(m) & CF).toBe(0);
    poke32(m, DATA - 4, 0x80000000);
    set(m, { ecx: -1 }); // dword -1, bit 31
    run(m, [0x0f, 0xb3, ...abs32(ECX, DATA)]); // btr [DATA],ecx
    expect(peek32(m, DATA - 4)).toBe(0);
    expect(flags(m) & CF).toBe(CF);
  });

  it('16-bit operand: the offset is a signed word selecting the word', () => {
    const m = machine(16);
    poke16(m, DATA - 4, 0x8000);
    set(m, { eax: 0xffef }); // -17: word -2, bit 15
    run(m, [0x0f, 0xbb, ...abs16(EAX, DATA)]); // btc [DATA],ax
    expect(peek16(m, DATA - 4)).toBe(0);
    expect(flags(m) & CF).toBe(CF);
  });
});

describe('BSF/BSR', () => {
  it('find the lowest and highest set bits', () => {
    const m = machine();
    set(m, { ecx: 0x00080010 });
    run(m, [0x0f, 0xbc, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(4);
    expect(flags(m) & ZF).toBe(0);
    run(m, [0x0f, 0xbd, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(19);
    set(m, { ecx: 0x80000000 });
    run(m, [0x0f, 0xbd, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(31);
    run(m, [0x0f, 0xbc, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(31);
  });

  it('a zero source sets ZF and leaves the destination unchanged', () => {
    const m = machine();
    set(m, { eax: 0xdeadbeef, ecx: 0 });
    run(m, [0x0f, 0xbc, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(0xdeadbeef);
    expect(flags(m) & ZF).toBe(ZF);
    run(m, [0x0f, 0xbd, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(0xdeadbeef);
    expect(flags(m) & ZF).toBe(ZF);
  });

  it('16-bit forms look at the low word only', () => {
    const m = machine();
    set(m, { eax: 0x12345678, ecx: 0x00010000 });
    run(m, [0x66, 0x0f, 0xbc, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(0x12345678);
    expect(flags(m) & ZF).toBe(ZF);
    set(m, { ecx: 0x00018000 });
    run(m, [0x66, 0x0f, 0xbd, rr(EAX, ECX)]);
    expect(reg(m, 'eax')).toBe(0x1234000f);
  });
});

describe('BSWAP', () => {
  it('reverses the bytes of a 32-bit register', () => {
    const m = machine();
    set(m, { ebx: 0x12345678 });
    run(m, [0x0f, 0xc8 + EBX]);
    expect(reg(m, 'ebx')).toBe(0x78563412);
    set(m, { ebx: 0x80000001 });
    run(m, [0x0f, 0xcb]);
    expect(reg(m, 'ebx')).toBe(0x01000080);
  });

  it('with a 16-bit operand clears the low word (P6 behaviour)', () => {
    const m = machine();
    set(m, { ebx: 0x12345678 });
    run(m, [0x66, 0x0f, 0xcb]);
    expect(reg(m, 'ebx')).toBe(0x12340000);
  });
});
