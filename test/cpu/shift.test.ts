/**
 * Shifts and rotates (shift.ts), 32-bit forms and the count rules of every
 * width, with hand-computed expectations. OF is checked only for a count of 1
 * (the only count for which the SDM defines it) except where a test pins the
 * P6 model on purpose; AF is undefined after a shift and always masked.
 */
import { describe, expect, it } from 'vitest';
import { AF, CF, OF, PF, SF, ZF } from '../../src/x86/flags.js';
import { DATA, abs32, flags, machine, peek32, poke32, reg, run, set } from './harness.js';

describe('SHL/SHR/SAR', () => {
  it('shl eax,1 sets CF from the old top bit and OF = MSB xor CF', () => {
    const m = machine();
    set(m, { eax: 0x80000001 });
    run(m, [0xd1, 0xe0]);
    expect(reg(m, 'eax')).toBe(2);
    expect(flags(m, AF)).toBe(CF | OF);
  });

  it('shl eax,31 and shl by CL=32 (masked to 0: nothing changes, flags included)', () => {
    const m = machine();
    set(m, { eax: 3 });
    run(m, [0xc1, 0xe0, 31]);
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m, AF | OF)).toBe(CF | SF | PF);
    set(m, { eax: 0x1234, ecx: 32, flags: ZF | CF | OF });
    run(m, [0xd3, 0xe0]);
    expect(reg(m, 'eax')).toBe(0x1234);
    expect(flags(m)).toBe(ZF | CF | OF);
  });

  it('shr and sar by 1 (OF = old MSB / 0)', () => {
    const m = machine();
    set(m, { eax: 0x80000001 });
    run(m, [0xd1, 0xe8]);
    expect(reg(m, 'eax')).toBe(0x40000000);
    expect(flags(m, AF)).toBe(CF | OF | PF);
    set(m, { eax: 0x80000001 });
    run(m, [0xd1, 0xf8]);
    expect(reg(m, 'eax')).toBe(0xc0000000);
    expect(flags(m, AF)).toBe(CF | SF | PF);
  });

  it('shr by 4 and sar by 31', () => {
    const m = machine();
    set(m, { eax: 0x80000018 });
    run(m, [0xc1, 0xe8, 4]);
    expect(reg(m, 'eax')).toBe(0x08000001);
    expect(flags(m, AF | OF)).toBe(CF); // bit 3 was 1
    set(m, { eax: 0x80000000 });
    run(m, [0xc1, 0xf8, 31]);
    expect(reg(m, 'eax')).toBe(0xffffffff);
    expect(flags(m, AF | OF)).toBe(SF | PF);
  });

  it('byte shifts by counts past the width: SHL/SHR give 0 and CF 0, SAR the sign', () => {
    const m = machine();
    set(m, { eax: 0x81 });
    run(m, [0xc0, 0xe0, 8]); // shl al,8: CF = old bit 0
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m, AF | OF)).toBe(CF | ZF | PF);
    set(m, { eax: 0xff });
    run(m, [0xc0, 0xe8, 12]); // shr al,12
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m, AF | OF)).toBe(ZF | PF);
    set(m, { eax: 0x80 });
    run(m, [0xc0, 0xf8, 20]); // sar al,20
    expect(reg(m, 'eax')).toBe(0xff);
    expect(flags(m, AF | OF)).toBe(CF | SF | PF);
  });

  it('a memory operand, shifted by CL', () => {
    const m = machine();
    poke32(m, DATA, 0x01000101);
    set(m, { ecx: 8 });
    run(m, [0xd3, ...abs32(4, DATA)]); // shl dword [DATA],cl
    expect(peek32(m, DATA)).toBe(0x00010100);
    expect(flags(m, AF | OF)).toBe(CF | PF);
  });
});

describe('ROL/ROR/RCL/RCR', () => {
  it('rol and ror move bits around and set CF from the result', () => {
    const m = machine();
    set(m, { eax: 0x12345678 });
    run(m, [0xc1, 0xc0, 8]);
    expect(reg(m, 'eax')).toBe(0x34567812);
    expect(flags(m, OF) & CF).toBe(0);
    set(m, { eax: 0x12345678 });
    run(m, [0xc1, 0xc8, 4]);
    expect(reg(m, 'eax')).toBe(0x81234567);
    expect(flags(m, OF) & CF).toBe(CF);
  });

  it('rol/ror change only CF and OF', () => {
    const m = machine();
    set(m, { eax: 0x80000000, flags: ZF | SF | PF | AF });
    run(m, [0xd1, 0xc0]); // rol eax,1
    expect(reg(m, 'eax')).toBe(1);
    expect(flags(m)).toBe(ZF | SF | PF | AF | CF | OF);
  });

  it('rol al,8: the rotation is a no-op but CF is still set from bit 0', () => {
    const m = machine();
    set(m, { eax: 0x01, flags: 0 });
    run(m, [0xc0, 0xc0, 8]);
    expect(reg(m, 'eax')).toBe(0x01);
    expect(flags(m, OF)).toBe(CF);
  });

  it('rcl/rcr by 1 go through CF', () => {
    const m = machine();
    set(m, { eax: 0x80000000, flags: CF });
    run(m, [0xd1, 0xd0]); // rcl eax,1
    expect(reg(m, 'eax')).toBe(1);
    expect(flags(m)).toBe(CF | OF);
    set(m, { eax: 1, flags: CF });
    run(m, [0xd1, 0xd8]); // rcr eax,1
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m)).toBe(CF | OF);
  });

  it('rcl eax,31 is a right rotation by 2 over 33 bits', () => {
    const m = machine();
    set(m, { eax: 0x00000002, flags: 0 });
    run(m, [0xc1, 0xd0, 31]);
    expect(reg(m, 'eax')).toBe(0);
    expect(flags(m, OF)).toBe(CF);
    set(m, { eax: 0x00000001, flags: CF });
    run(m, [0xc1, 0xd8, 31]); // rcr eax,31 = rcl by 2: 1:00000001 -> 0:00000006
    expect(reg(m, 'eax')).toBe(0x00000006);
    expect(flags(m, OF)).toBe(0);
  });

  it('rcl/rcr of bytes and words count mod 9 and 17', () => {
    const m = machine();
    set(m, { eax: 0x81, flags: CF });
    run(m, [0xc0, 0xd0, 9]); // rcl al,9: no change, CF kept
    expect(reg(m, 'eax')).toBe(0x81);
    expect(flags(m, OF)).toBe(CF);
    set(m, { eax: 0x81, flags: 0 });
    run(m, [0xc0, 0xd0, 10]); // rcl al,10 = rcl al,1
    expect(reg(m, 'eax')).toBe(0x02);
    expect(flags(m, OF)).toBe(CF);
    set(m, { eax: 0x8001, flags: 0 });
    run(m, [0x66, 0xc1, 0xd8, 18]); // rcr ax,18 = rcr ax,1
    expect(reg(m, 'eax')).toBe(0x4000);
    expect(flags(m, OF)).toBe(CF);
  });
});

describe('SHLD/SHRD', () => {
  it('32-bit shld/shrd by an immediate', () => {
    const m = machine();
    set(m, { eax: 0x12345678, ebx: 0x9abcdef0 });
    run(m, [0x0f, 0xa4, 0xd8, 4]); // shld eax,ebx,4
    expect(reg(m, 'eax')).toBe(0x23456789);
    expect(flags(m, AF | OF)).toBe(CF);
    set(m, { eax: 0x12345678, ebx: 0x9abcdef0 });
    run(m, [0x0f, 0xac, 0xd8, 4]); // shrd eax,ebx,4
    expect(reg(m, 'eax')).toBe(0x01234567);
    expect(flags(m, AF | OF)).toBe(CF);
  });

  it('count 1 defines OF (a sign change); count 0 changes nothing', () => {
    const m = machine();
    set(m, { eax: 0x40000000, ebx: 0 });
    run(m, [0x0f, 0xa4, 0xd8, 1]);
    expect(reg(m, 'eax')).toBe(0x80000000);
    expect(flags(m, AF)).toBe(OF | SF | PF);
    set(m, { eax: 0x1234, ebx: 0xffff, ecx: 0, flags: ZF });
    run(m, [0x0f, 0xa5, 0xd8]); // shld eax,ebx,cl (cl = 0)
    expect(reg(m, 'eax')).toBe(0x1234);
    expect(flags(m)).toBe(ZF);
  });

  it('shrd on memory by CL', () => {
    const m = machine();
    poke32(m, DATA, 0x000000ff);
    set(m, { ebx: 0x00000001, ecx: 8 });
    run(m, [0x0f, 0xad, ...abs32(3, DATA)]); // shrd [DATA],ebx,cl
    expect(peek32(m, DATA)).toBe(0x01000000);
    expect(flags(m, AF | OF)).toBe(CF | PF);
  });

  it('16-bit counts past 16 follow the P6 model (dest:src:dest)', () => {
    const m = machine();
    set(m, { eax: 0x1234, ebx: 0x5678 });
    run(m, [0x66, 0x0f, 0xa4, 0xd8, 20]); // shld ax,bx,20
    expect(reg(m, 'eax')).toBe(0x6781);
    set(m, { eax: 0x1234, ebx: 0x5678 });
    run(m, [0x66, 0x0f, 0xac, 0xd8, 20]); // shrd ax,bx,20
    expect(reg(m, 'eax')).toBe(0x4567);
  });
});
