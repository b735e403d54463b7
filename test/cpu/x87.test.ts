/**
 * The x87 FPU: what the differential test against the host (x87-native.test.ts)
 * cannot see. The host runs at CPL 3 under Linux with CR0.NE = 1, deprecates
 * FCS/FDS/FOP and writes FDP only on exceptions, so here: #NM from CR0.EM/TS/MP,
 * FERR# with CR0.NE = 0, the P6's last-instruction and operand pointers, the
 * real-mode and 16-bit environment formats, FXSAVE's layout and alignment, the
 * reset state, CPUID, bit-exact round trips of every kind of 80-bit pattern, and
 * precise faults on x87 memory operands.
 */
import { describe, expect, it } from 'vitest';
import { CPUID_FEATURE } from '../../src/x86/sem/system.js';
import { CpuException, EXC, REG, SREG, type LinearMemory } from '../../src/x86/state.js';
import { CODE, DATA, type Machine, abs32, fault, machine, peek16, peek32, peek8, poke16, poke32, poke8, run } from './harness.js';

const CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_NE = 0x20;

/** Write an 80-bit value (sign/exponent, significand) at addr. */
function poke80(m: Machine, addr: number, se: number, sig: bigint): void {
  poke32(m, addr, Number(sig & 0xffffffffn));
  poke32(m, addr + 4, Number(sig >> 32n));
  poke16(m, addr + 8, se);
}

function peek80(m: Machine, addr: number): [number, bigint] {
  const sig = (BigInt(peek32(m, addr + 4)) << 32n) | BigInt(peek32(m, addr));
  return [peek16(m, addr + 8), sig];
}

function fsw(m: Machine): number {
  return m.cpu.fpu.statusWord();
}

const FLD1 = [0xd9, 0xe8];
const FLDZ = [0xd9, 0xee];
const FDIVP = [0xde, 0xf9]; // fdivp st1, st0: 1 / 0
const FWAIT = [0x9b];
const FNINIT = [0xdb, 0xe3];

/** fldcw [DATA+0x100] with the given control word. */
function fldcw(m: Machine, cw: number): void {
  poke16(m, DATA + 0x100, cw);
  run(m, [0xd9, ...abs32(5, DATA + 0x100)]);
}

describe('x87 machine state', () => {
  it('CPUID reports the FPU and FXSAVE/FXRSTOR', () => {
    const m = machine();
    m.cpu.r32[REG.EAX] = 1;
    run(m, [0x0f, 0xa2]);
    const edx = m.cpu.r32[REG.EDX]!;
    expect(edx & CPUID_FEATURE.FPU).toBe(CPUID_FEATURE.FPU);
    expect(edx & CPUID_FEATURE.FXSR).toBe(CPUID_FEATURE.FXSR);
    expect(edx & (CPUID_FEATURE.SSE | CPUID_FEATURE.MMX)).toBe(0);
  });

  it('reset leaves FCW 0040H, FSW 0 and +0.0 in every register, tagged valid (SDM vol. 3 table 9-1)', () => {
    const m = machine();
    m.cpu.reset();
    const f = m.cpu.fpu;
    expect(f.cw).toBe(0x0040);
    expect(f.statusWord()).toBe(0);
    expect(f.tagWord()).toBe(0x5555);
    const m2 = machine();
    run(m2, FNINIT);
    expect(m2.cpu.fpu.cw).toBe(0x037f);
    expect(m2.cpu.fpu.tagWord()).toBe(0xffff);
  });

  it('FLD m80 / FSTP m80 move every kind of 80-bit pattern bit for bit, without exceptions', () => {
    const m = machine();
    run(m, FNINIT);
    const patterns: [number, bigint][] = [
      [0x0000, 0x0000000000000001n], // smallest denormal
      [0x8000, 0x8000000000000001n], // pseudo-denormal
      [0x3fff, 0x4000000000000000n], // unnormal
      [0x7fff, 0x0000000000000000n], // pseudo-infinity
      [0x7fff, 0x4000000000000001n], // pseudo-NaN
      [0xffff, 0x8000000000000001n], // SNaN with a payload
      [0x7fff, 0xc0000000deadbeefn], // QNaN with a payload
      [0x7ffe, 0xffffffffffffffffn], // largest finite
      [0x8000, 0x0000000000000000n], // -0
    ];
    for (const [se, sig] of patterns) {
      poke80(m, DATA, se, sig);
      run(m, [0xdb, ...abs32(5, DATA)]); // fld tword [DATA]
      run(m, [0xdb, ...abs32(7, DATA + 0x20)]); // fstp tword [DATA+0x20]
      expect(peek80(m, DATA + 0x20)).toEqual([se, sig]);
    }
    expect(fsw(m) & 0x7f).toBe(0);
  });
});

describe('x87 exceptions and their delivery', () => {
  it('#NM when CR0.EM or CR0.TS is set, before anything changes', () => {
    const m = machine();
    run(m, FNINIT);
    m.cpu.cr0 |= CR0_EM;
    expect(fault(m, FLD1)).toBe(EXC.NM);
    expect(fault(m, FNINIT)).toBe(EXC.NM);
    expect(fault(m, [0x0f, 0xae, ...abs32(0, DATA)])).toBe(EXC.NM); // fxsave
    expect(fault(m, FWAIT)).toBe(-1); // EM does not affect WAIT
    m.cpu.cr0 &= ~CR0_EM;
    m.cpu.cr0 |= CR0_TS;
    expect(fault(m, FLD1)).toBe(EXC.NM);
    expect(fault(m, [0x0f, 0xae, ...abs32(1, DATA)])).toBe(EXC.NM); // fxrstor
    expect(fault(m, FWAIT)).toBe(-1); // TS without MP: WAIT runs
    m.cpu.cr0 |= CR0_MP;
    expect(fault(m, FWAIT)).toBe(EXC.NM);
    expect(m.cpu.fpu.top).toBe(0);
    expect(m.cpu.fpu.empty).toBe(0xff);
  });

  it('an unmasked exception is delivered as #MF at the next waiting instruction when CR0.NE = 1', () => {
    const m = machine();
    m.cpu.cr0 |= CR0_NE;
    run(m, FNINIT);
    fldcw(m, 0x037b); // ZE unmasked
    run(m, FLD1);
    run(m, FLDZ);
    run(m, FDIVP);
    expect(fsw(m) & 0x8084).toBe(0x8084); // B, ES, ZE
    expect(m.cpu.fpu.top).toBe(6); // not popped: the operands are kept
    // The non-waiting instructions run; the waiting ones take #MF first.
    expect(fault(m, [0xdf, 0xe0])).toBe(-1); // fnstsw ax
    expect(m.cpu.r16[0]).toBe(fsw(m));
    expect(fault(m, [0xd9, ...abs32(7, DATA)])).toBe(-1); // fnstcw
    expect(fault(m, FWAIT)).toBe(EXC.MF);
    expect(fault(m, FLD1)).toBe(EXC.MF);
    expect(fault(m, [0xd9, 0xd0])).toBe(EXC.MF); // fnop waits too
    expect(fault(m, [0xdb, 0xe0])).toBe(-1); // fneni (a 287 no-op) does not
    expect(fault(m, [0xdb, 0xe2])).toBe(-1); // fnclex clears it
    expect(fault(m, FWAIT)).toBe(-1);
  });

  it('with CR0.NE = 0 the exception asserts FERR# (cpu.onFerr) once and the instruction proceeds', () => {
    const m = machine();
    let ferr = 0;
    m.cpu.onFerr = () => { ferr++; };
    run(m, FNINIT);
    fldcw(m, 0x037b);
    run(m, FLD1);
    run(m, FLDZ);
    run(m, FDIVP);
    expect(ferr).toBe(0); // signalled by the next waiting instruction, not by the one that raised it
    expect(fault(m, FWAIT)).toBe(-1);
    expect(ferr).toBe(1);
    expect(fault(m, FLD1)).toBe(-1); // runs, as with IGNNE# asserted
    expect(m.cpu.fpu.top).toBe(5);
    expect(ferr).toBe(1); // still the same exception
    run(m, [0xdb, 0xe2]); // fnclex
    run(m, FLDZ);
    run(m, [0xde, 0xf9]); // 1 / 0 again
    run(m, FWAIT);
    expect(ferr).toBe(2);
  });

  it('FLDCW that unmasks a flag already set makes it pending (ES), and FNSTENV masks everything', () => {
    const m = machine();
    m.cpu.cr0 |= CR0_NE;
    run(m, FNINIT);
    run(m, FLD1);
    run(m, FLDZ);
    run(m, FDIVP); // masked: ZE set, result +inf
    expect(fsw(m) & 0x80).toBe(0);
    fldcw(m, 0x037b);
    expect(fsw(m) & 0x8080).toBe(0x8080);
    run(m, [0xd9, ...abs32(6, DATA)]); // fnstenv [DATA]
    expect(peek16(m, DATA + 4) & 0x80).toBe(0x80); // stored with ES
    expect(m.cpu.fpu.cw & 0x3f).toBe(0x3f);
    expect(fsw(m) & 0x8080).toBe(0); // and ES is gone with the masks
  });
});

describe('x87 last instruction and operand pointers (P6: always kept)', () => {
  it('FIP/FCS at the first prefix byte, FOP, FDP/FDS of the memory operand; control instructions leave them', () => {
    const m = machine();
    m.cpu.cr0 |= CR0_PE; // protected-mode (selector) format
    m.cpu.segSel[SREG.CS] = 0x08;
    m.cpu.segSel[SREG.ES] = 0x23;
    run(m, FNINIT);
    m.cpu.r32[REG.EBX] = DATA + 0x40;
    poke32(m, DATA + 0x44, 0x3f800000);
    run(m, [0x26, 0xd9, 0x43, 0x04]); // fld dword es:[ebx+4]
    run(m, [0xd9, ...abs32(7, DATA + 0x200)]); // fnstcw: a control instruction
    run(m, [0xd9, ...abs32(6, DATA)]); // fnstenv [DATA]
    expect(peek32(m, DATA + 12)).toBe(CODE); // FIP: the ES prefix
    expect(peek32(m, DATA + 16)).toBe((0x143 << 16) | 0x08); // FOP = (D9 & 7) << 8 | 43h, FCS
    expect(peek32(m, DATA + 20)).toBe(DATA + 0x44); // FDP
    expect(peek32(m, DATA + 24)).toBe(0xffff0023); // FDS = ES
    run(m, [0xd8, 0xc1]); // fadd st0, st1: a register form keeps FDP
    run(m, [0xd9, ...abs32(6, DATA)]);
    expect(peek32(m, DATA + 16) >>> 16).toBe(0x0c1);
    expect(peek32(m, DATA + 20)).toBe(DATA + 0x44);
  });

  it('the real-mode formats store linear pointers (32-bit and 16-bit), and FLDENV reads them back', () => {
    const m = machine(16);
    const cs = 0x0fff; // the code at linear 0x10ff0: FIP has a bit above 16
    m.cpu.segSel[SREG.CS] = cs;
    m.cpu.segBase[SREG.CS] = cs << 4;
    const lin = 0x10ff0;
    const ip = lin - (cs << 4);
    const exec = (code: number[]) => {
      m.phys.load(lin, Uint8Array.from(code));
      m.cpu.eip = ip;
      m.cpu.step();
    };
    exec(FNINIT);
    exec([0xdd, 0x06, 0x00, 0x30]); // fld qword [3000h]
    // 16-bit real-mode FNSTENV at [3100h]: FIP[15:0], FIP[19:16] << 12 | FOP, FDP[15:0], FDP[19:16] << 12.
    exec([0xd9, 0x36, 0x00, 0x31]);
    expect(peek16(m, 0x3106)).toBe(lin & 0xffff);
    expect(peek16(m, 0x3108)).toBe(((lin >>> 16) << 12) | 0x506);
    expect(peek16(m, 0x310a)).toBe(0x3000);
    expect(peek16(m, 0x310c)).toBe(0);
    // 32-bit real-mode format (66 prefix).
    exec([0x66, 0xd9, 0x36, 0x00, 0x32]);
    expect(peek32(m, 0x3200 + 12)).toBe((0xffff0000 | (lin & 0xffff)) >>> 0);
    expect(peek32(m, 0x3200 + 16)).toBe(((lin >>> 16) << 12) | 0x506);
    expect(peek32(m, 0x3200 + 20)).toBe(0xffff3000);
    // FLDENV of the 16-bit image restores the control word and the pointers.
    poke16(m, 0x3100, 0x0c7f);
    exec([0xd9, 0x26, 0x00, 0x31]);
    expect(m.cpu.fpu.cw).toBe(0x0c7f);
    expect(m.cpu.fpu.fip).toBe(lin);
    expect(m.cpu.fpu.fop).toBe(0x506);
  });

  it('the 16-bit protected-mode FNSAVE image is 94 bytes: offsets and selectors, then the registers', () => {
    const m = machine();
    m.cpu.cr0 |= CR0_PE;
    m.cpu.segSel[SREG.CS] = 0x1b;
    m.cpu.segSel[SREG.DS] = 0x33;
    run(m, FNINIT);
    poke32(m, DATA + 0x300, 0x40490fdb); // 3.1415927f
    run(m, [0xd9, ...abs32(0, DATA + 0x300)]); // fld dword
    poke8(m, DATA + 94, 0xaa);
    run(m, [0x66, 0xdd, ...abs32(6, DATA)]); // fnsave (16-bit)
    expect(peek16(m, DATA)).toBe(0x037f);
    expect(peek16(m, DATA + 2)).toBe(0x3800); // TOP = 7
    expect(peek16(m, DATA + 4)).toBe(0x3fff); // R7 valid, the rest empty
    expect(peek16(m, DATA + 6)).toBe(CODE & 0xffff);
    expect(peek16(m, DATA + 8)).toBe(0x1b);
    expect(peek16(m, DATA + 10)).toBe((DATA + 0x300) & 0xffff);
    expect(peek16(m, DATA + 12)).toBe(0x33);
    expect(peek80(m, DATA + 14)).toEqual([0x4000, 0xc90fdb0000000000n]);
    expect(peek8(m, DATA + 94)).toBe(0xaa); // nothing beyond the image
    expect(m.cpu.fpu.tagWord()).toBe(0xffff); // FNSAVE reinitialises
    run(m, [0x66, 0xdd, ...abs32(4, DATA)]); // frstor (16-bit)
    expect(m.cpu.fpu.top).toBe(7);
    expect(m.cpu.fpu.fdp).toBe((DATA + 0x300) & 0xffff);
  });
});

describe('FXSAVE / FXRSTOR', () => {
  it('stores the x87 state in the 512-byte layout and restores it bit for bit', () => {
    const m = machine();
    m.cpu.cr0 |= CR0_PE;
    m.cpu.segSel[SREG.CS] = 0x08;
    m.cpu.segSel[SREG.DS] = 0x10;
    run(m, FNINIT);
    fldcw(m, 0x0e7a);
    run(m, FLD1);
    poke80(m, DATA + 0x80, 0x3fff, 0x4000000000000000n); // an unnormal
    run(m, [0xdb, ...abs32(5, DATA + 0x80)]);
    const area = DATA + 0x400;
    for (let k = 160; k < 512; k += 4) poke32(m, area + k, 0x5a5a5a5a);
    run(m, [0x0f, 0xae, ...abs32(0, area)]);
    expect(peek16(m, area)).toBe(0x0e7a);
    expect(peek16(m, area + 2)).toBe(0x3000); // TOP = 6
    expect(peek8(m, area + 4)).toBe(0xc0); // R6, R7 not empty
    expect(peek16(m, area + 6)).toBe(0x300 | 0x2d); // FOP of fld tword [disp32]: DB 2D
    expect(peek32(m, area + 8)).toBe(CODE);
    expect(peek16(m, area + 12)).toBe(0x08);
    expect(peek32(m, area + 16)).toBe(DATA + 0x80);
    expect(peek16(m, area + 20)).toBe(0x10);
    expect(peek32(m, area + 24)).toBe(0); // no MXCSR on this CPU
    expect(peek80(m, area + 32)).toEqual([0x3fff, 0x4000000000000000n]); // ST0
    expect(peek80(m, area + 48)).toEqual([0x3fff, 0x8000000000000000n]); // ST1
    expect(peek32(m, area + 160)).toBe(0x5a5a5a5a); // XMM area untouched
    run(m, FNINIT);
    run(m, [0x0f, 0xae, ...abs32(1, area)]);
    expect(m.cpu.fpu.cw).toBe(0x0e7a);
    expect(m.cpu.fpu.top).toBe(6);
    expect(m.cpu.fpu.tagWord()).toBe(0x2fff); // R6 special (unnormal), R7 valid
    expect(m.cpu.fpu.fdp).toBe(DATA + 0x80);
  });

  it('#GP(0) for an operand that is not 16-byte aligned', () => {
    const m = machine();
    expect(fault(m, [0x0f, 0xae, ...abs32(0, DATA + 8)])).toBe(EXC.GP);
    expect(fault(m, [0x0f, 0xae, ...abs32(1, DATA + 4)])).toBe(EXC.GP);
  });
});

/** Linear memory that raises #PF on writes to one page (to check that x87 stores are all or nothing). */
class ReadOnlyPage implements LinearMemory {
  constructor(private readonly inner: LinearMemory, private readonly page: number) {}
  private check(lin: number, n: number): void {
    for (let k = 0; k < n; k++) if (((lin + k) >>> 12) === this.page) throw new CpuException(EXC.PF, 7);
  }
  read8(lin: number): number { return this.inner.read8(lin); }
  read16(lin: number): number { return this.inner.read16(lin); }
  read32(lin: number): number { return this.inner.read32(lin); }
  write8(lin: number, v: number): void { this.check(lin, 1); this.inner.write8(lin, v); }
  write16(lin: number, v: number): void { this.check(lin, 2); this.inner.write16(lin, v); }
  write32(lin: number, v: number): void { this.check(lin, 4); this.inner.write32(lin, v); }
  fetch(lin: number, buf: Uint8Array, at: number, max: number): number { return this.inner.fetch(lin, buf, at, max); }
  translateCode(lin: number): number { return this.inner.translateCode(lin); }
  watchCodePage(page: number): void { this.inner.watchCodePage(page); }
  onCodeWrite(l: Parameters<LinearMemory["onCodeWrite"]>[0]): void { this.inner.onCodeWrite(l); }
  readSystem(lin: number, size: 1 | 2 | 4): number { return this.inner.readSystem(lin, size); }
  writeSystem(lin: number, size: 1 | 2 | 4, v: number): void { this.inner.writeSystem(lin, size, v); }
  probeWrite(lin: number, size: number): void { this.check(lin, size); }
}

describe('x87 faults are precise', () => {
  it('a store that crosses into a read-only page writes nothing and leaves the FPU as it was', () => {
    const m = machine();
    run(m, FNINIT);
    run(m, FLD1);
    m.cpu.mem = new ReadOnlyPage(m.cpu.mem, (DATA + 0x1000) >>> 12);
    const at = DATA + 0x1000 - 4;
    poke32(m, at, 0x11111111);
    const before = m.cpu.fpu.save();
    expect(fault(m, [0xdd, ...abs32(3, at)])).toBe(EXC.PF); // fstp qword: 4 bytes on each page
    expect(peek32(m, at)).toBe(0x11111111);
    expect(m.cpu.fpu.save()).toEqual(before);
    expect(fault(m, [0xdd, ...abs32(6, DATA + 0x1000 - 50)])).toBe(EXC.PF); // fnsave
    expect(m.cpu.fpu.save()).toEqual(before);
    expect(fault(m, [0x0f, 0xae, ...abs32(0, DATA + 0x1000 - 256)])).toBe(EXC.PF); // fxsave
    expect(peek32(m, DATA + 0x1000 - 256)).toBe(0);
  });

  it('an operand beyond the segment limit faults before the load or the store', () => {
    const m = machine();
    run(m, FNINIT);
    run(m, FLD1);
    m.cpu.segLimit[SREG.DS] = DATA + 0x103;
    const before = m.cpu.fpu.save();
    expect(fault(m, [0xdb, ...abs32(5, DATA + 0xfc)])).toBe(EXC.GP); // fld tword: 10 bytes, 8 inside
    expect(fault(m, [0xdf, ...abs32(7, DATA + 0xfe)])).toBe(EXC.GP); // fistp qword
    expect(fault(m, [0xdd, ...abs32(4, DATA + 0x100)])).toBe(EXC.GP); // frstor
    expect(m.cpu.fpu.save()).toEqual(before);
    expect(peek32(m, DATA + 0xfc)).toBe(0);
  });
});
