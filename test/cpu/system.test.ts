/**
 * Flag instructions (flagops.ts), port I/O (io.ts) and the simple system
 * instructions (system.ts): CLC STC CMC CLD STD CLI STI, IN/OUT, HLT, CPUID, RDTSC,
 * the #UD forms, FWAIT, and the protected-mode-only selector instructions.
 */
import { describe, expect, it } from 'vitest';
import { CF, ZF } from '../../src/x86/flags.js';
import { FLAG } from '../../src/x86/rows.js';
import { CPUID_FEATURE, CPUID_FEATURES_EDX } from '../../src/x86/sem/system.js';
import { EXC } from '../../src/x86/state.js';
import { CODE, DATA, type Machine, abs32, fault, flags, machine, peek16, reg, rr, run, set } from './harness.js';

class RecordingBus {
  log: string[] = [];
  portIn(port: number, size: 1 | 2 | 4): number {
    this.log.push(`in${size} ${port.toString(16)}`);
    return 0x89abcdef & (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff);
  }
  portOut(port: number, size: 1 | 2 | 4, v: number): void {
    this.log.push(`out${size} ${port.toString(16)} ${v.toString(16)}`);
  }
}

function protectedMode(m: Machine, cpl: number, iopl: number): void {
  m.cpu.cr0 |= 1;
  m.cpu.cpl = cpl;
  m.cpu.flagsBits = (m.cpu.flagsBits & ~FLAG.IOPL) | (iopl << 12);
}

describe('flag instructions', () => {
  it('CLC / STC / CMC work on a lazily computed CF', () => {
    const m = machine();
    set(m, { eax: 0xffffffff });
    run(m, [0x83, 0xc0, 0x01]); // add eax,1: CF = 1 (lazy), ZF = 1
    run(m, [0xf5]); // cmc
    expect(flags(m)).toBe(ZF | 0x14); // ZF, PF, AF stay from the add; CF now 0
    run(m, [0xf9]);
    expect(flags(m) & CF).toBe(CF);
    run(m, [0xf8]);
    expect(flags(m) & CF).toBe(0);
    expect(flags(m) & ZF).toBe(ZF);
  });

  it('CLD / STD', () => {
    const m = machine();
    run(m, [0xfd]);
    expect(m.cpu.eflags & FLAG.DF).toBe(FLAG.DF);
    run(m, [0xfc]);
    expect(m.cpu.eflags & FLAG.DF).toBe(0);
  });

  it('STI holds interrupts off only when it sets IF', () => {
    const m = machine();
    run(m, [0xfb]);
    expect(m.cpu.eflags & FLAG.IF).toBe(FLAG.IF);
    expect(m.cpu.interruptShadow).toBe(true);
    run(m, [0xfb]);
    expect(m.cpu.interruptShadow).toBe(false);
    run(m, [0xfa]);
    expect(m.cpu.eflags & FLAG.IF).toBe(0);
  });

  it('CLI/STI are IOPL-sensitive in protected mode and in v8086 mode', () => {
    const m = machine();
    protectedMode(m, 3, 0);
    expect(fault(m, [0xfa])).toBe(EXC.GP);
    expect(fault(m, [0xfb])).toBe(EXC.GP);
    protectedMode(m, 3, 3);
    expect(fault(m, [0xfa])).toBe(-1);
    m.cpu.flagsBits |= FLAG.VM;
    protectedMode(m, 3, 2);
    expect(fault(m, [0xfb])).toBe(EXC.GP);
  });
});

describe('IN / OUT', () => {
  it('sizes and port numbers', () => {
    const m = machine();
    const bus = new RecordingBus();
    m.cpu.ports = bus;
    set(m, { eax: 0x11111111, edx: 0xffff03f8 });
    run(m, [0xe4, 0x60]); // in al,60h
    expect(reg(m, 'eax')).toBe(0x111111ef);
    run(m, [0x66, 0xed]); // in ax,dx
    expect(reg(m, 'eax')).toBe(0x1111cdef);
    run(m, [0xed]); // in eax,dx
    expect(reg(m, 'eax')).toBe(0x89abcdef);
    run(m, [0xe6, 0x80]); // out 80h,al
    run(m, [0xef]); // out dx,eax
    run(m, [0x66, 0xe7, 0x71]); // out 71h,ax
    expect(bus.log).toEqual(['in1 60', 'in2 3f8', 'in4 3f8', 'out1 80 ef', 'out4 3f8 89abcdef', 'out2 71 cdef']);
  });

  it('in protected mode with CPL > IOPL and no I/O bitmap, I/O is #GP', () => {
    const m = machine();
    protectedMode(m, 3, 0);
    expect(fault(m, [0xe4, 0x60])).toBe(EXC.GP);
    expect(fault(m, [0x6c])).toBe(EXC.GP);
    protectedMode(m, 0, 0);
    expect(fault(m, [0xe4, 0x60])).toBe(-1);
  });
});

describe('HLT', () => {
  it('halts with EIP past the HLT', () => {
    const m = machine();
    run(m, [0xf4]);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.eip).toBe(CODE + 1);
    expect(m.cpu.run(10)).toBe('halt');
  });

  it('is #GP at CPL > 0', () => {
    const m = machine();
    protectedMode(m, 1, 3);
    expect(fault(m, [0xf4])).toBe(EXC.GP);
  });
});

describe('CPUID', () => {
  function cpuid(m: Machine, leaf: number): number[] {
    set(m, { eax: leaf, ebx: 0xdead, ecx: 0xdead, edx: 0xdead });
    run(m, [0x0f, 0xa2]);
    return [reg(m, 'eax'), reg(m, 'ebx'), reg(m, 'ecx'), reg(m, 'edx')];
  }
  const text = (...regs: number[]) => regs.map((r) => String.fromCharCode(r & 0xff, (r >> 8) & 0xff, (r >> 16) & 0xff, r >>> 24)).join('');

  it('leaf 0: max leaf 2 and GenuineIntel', () => {
    const m = machine();
    const [eax, ebx, ecx, edx] = cpuid(m, 0);
    expect(eax).toBe(2);
    expect(text(ebx!, edx!, ecx!)).toBe('GenuineIntel');
  });

  it('leaf 1: a P6 signature and the features of CPUID_FEATURES_EDX (test/system/cpuid.test.ts checks the set)', () => {
    const m = machine();
    const [eax, ebx, ecx, edx] = cpuid(m, 1);
    expect((eax! >> 8) & 0xf).toBe(6);
    expect((eax! >> 4) & 0xf).toBe(1);
    expect([ebx, ecx]).toEqual([0, 0]);
    const integer = CPUID_FEATURE.TSC | CPUID_FEATURE.CX8 | CPUID_FEATURE.CMOV;
    expect(edx! & integer).toBe(integer);
    expect(edx).toBe(CPUID_FEATURES_EDX);
  });

  it('leaves above the maximum return the highest basic leaf', () => {
    const m = machine();
    const leaf2 = cpuid(m, 2);
    expect(leaf2[0]! & 0xff).toBe(1);
    expect(cpuid(m, 3)).toEqual(leaf2);
    expect(cpuid(m, 0x80000005)).toEqual(leaf2); // above the highest extended leaf, 80000004H
  });
});

describe('RDTSC', () => {
  it('returns tscOffset + instructions retired, across the 32-bit boundary', () => {
    const m = machine();
    m.cpu.tscOffset = 0xfffffff0n;
    m.cpu.instructionCount = 0x20;
    run(m, [0x0f, 0x31]);
    expect(reg(m, 'eax')).toBe(0x10);
    expect(reg(m, 'edx')).toBe(1);
    m.cpu.tscOffset = 0x1234_0000_0000n;
    m.cpu.instructionCount = 5;
    run(m, [0x0f, 0x31]);
    expect(reg(m, 'eax')).toBe(5);
    expect(reg(m, 'edx')).toBe(0x1234);
  });

  it('CR4.TSD makes it CPL 0 only in protected mode', () => {
    const m = machine();
    m.cpu.cr4 = 4;
    expect(fault(m, [0x0f, 0x31])).toBe(-1); // real mode
    protectedMode(m, 3, 0);
    expect(fault(m, [0x0f, 0x31])).toBe(EXC.GP);
  });
});

describe('#UD forms and FWAIT', () => {
  it('UD2, UD1, RSM and an undefined encoding are #UD', () => {
    const m = machine();
    expect(fault(m, [0x0f, 0x0b])).toBe(EXC.UD);
    expect(fault(m, [0x0f, 0xb9, 0xc0])).toBe(EXC.UD);
    expect(fault(m, [0x0f, 0xaa])).toBe(EXC.UD);
    expect(fault(m, [0x0f, 0x04])).toBe(EXC.UD);
  });

  it('FWAIT does nothing unless CR0.MP and CR0.TS are both set', () => {
    const m = machine();
    expect(fault(m, [0x9b])).toBe(-1);
    m.cpu.cr0 |= 8;
    expect(fault(m, [0x9b])).toBe(-1);
    m.cpu.cr0 |= 2;
    expect(fault(m, [0x9b])).toBe(EXC.NM);
  });
});

describe('protected-mode-only selector instructions', () => {
  const forms: [string, number[]][] = [
    ['sldt', [0x0f, 0x00, 0xc0]], ['str', [0x0f, 0x00, 0xc8]], ['lldt', [0x0f, 0x00, 0xd0]],
    ['ltr', [0x0f, 0x00, 0xd8]], ['verr', [0x0f, 0x00, 0xe0]], ['verw', [0x0f, 0x00, 0xe8]],
    ['lar', [0x0f, 0x02, 0xc0]], ['lsl', [0x0f, 0x03, 0xc0]], ['arpl', [0x63, 0xc0]],
  ];

  it('are #UD in real mode and in v8086 mode', () => {
    const m = machine(16);
    for (const [, code] of forms) expect(fault(m, code)).toBe(EXC.UD);
    protectedMode(m, 3, 3);
    m.cpu.flagsBits |= FLAG.VM;
    for (const [, code] of forms) expect(fault(m, code)).toBe(EXC.UD);
  });

  it('SLDT/STR store the selector (zero-extended to r32, 16 bits to memory)', () => {
    const m = machine();
    protectedMode(m, 0, 0);
    m.cpu.ldtrSel = 0x28;
    m.cpu.trSel = 0x30;
    set(m, { eax: 0xffffffff });
    run(m, [0x0f, 0x00, rr(0, 0)]);
    expect(reg(m, 'eax')).toBe(0x28);
    run(m, [0x0f, 0x00, ...abs32(1, DATA)]);
    expect(peek16(m, DATA)).toBe(0x30);
  });

  it('ARPL raises the RPL and reports it in ZF', () => {
    const m = machine();
    protectedMode(m, 3, 0);
    set(m, { eax: 0x0011, ecx: 0x0003 });
    run(m, [0x63, rr(1, 0)]); // arpl ax,cx
    expect(reg(m, 'eax')).toBe(0x0013);
    expect(flags(m) & ZF).toBe(ZF);
    run(m, [0x63, rr(1, 0)]);
    expect(flags(m) & ZF).toBe(0);
  });

  it('without the runtime hook, LLDT LTR VERR VERW LAR LSL are #UD in protected mode', () => {
    const m = machine();
    protectedMode(m, 0, 0);
    for (const [name, code] of forms) {
      if (name === 'sldt' || name === 'str' || name === 'arpl') continue;
      expect(fault(m, code)).toBe(EXC.UD);
    }
  });

  it('LAR/LSL/VERR go through cpu.sys.selectorOp', () => {
    const m = machine();
    protectedMode(m, 0, 0);
    const calls: string[] = [];
    m.cpu.sys = {
      selectorOp: (_cpu: unknown, op: string, sel: number) => {
        calls.push(`${op} ${sel.toString(16)}`);
        return op === 'lar' ? 0x00cf9300 : op === 'lsl' ? -1 : 1;
      },
    } as never;
    set(m, { eax: 0x1234, ecx: 0xffffffff, edx: 7 });
    run(m, [0x0f, 0x02, rr(1, 0)]); // lar ecx,ax
    expect(reg(m, 'ecx')).toBe(0x00cf9300);
    expect(flags(m) & ZF).toBe(ZF);
    run(m, [0x0f, 0x03, rr(2, 0)]); // lsl edx,ax: fails
    expect(reg(m, 'edx')).toBe(7);
    expect(flags(m) & ZF).toBe(0);
    run(m, [0x0f, 0x00, rr(4, 0)]); // verr ax
    expect(flags(m) & ZF).toBe(ZF);
    expect(calls).toEqual(['lar 1234', 'lsl 1234', 'verr 1234']);
  });
});
