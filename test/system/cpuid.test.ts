/**
 * CPUID claims exactly what this CPU implements (issue 4, item 5): every
 * instruction feature it reports has semantics for its instructions, every
 * MMU feature is on, nothing else is claimed (no VME, DE, MCE, MTRR, PAT,
 * PSE-36, MMX, SSE), and MOV CR4 accepts exactly the bits of claimed features.
 */
import { describe, expect, it } from 'vitest';
import { createBareMachine } from '../../src/machine/bare.js';
import { enterFlat32 } from '../../src/machine/kernels.js';
import { ROWS } from '../../src/x86/rows.js';
import { SEMANTICS } from '../../src/x86/sem/index.js';
import { writeCr } from '../../src/x86/sem/privileged.js';
import { CPUID_FEATURE as F } from '../../src/x86/sem/system.js';
import { CpuException, REG } from '../../src/x86/state.js';

function cpuid(leaf: number): { eax: number; ebx: number; ecx: number; edx: number } {
  const m = createBareMachine(1 << 20);
  enterFlat32(m);
  m.phys.load(0x1000, new Uint8Array([0x0f, 0xa2, 0xf4])); // cpuid; hlt
  m.cpu.eip = 0x1000;
  m.cpu.r32[REG.EAX] = leaf;
  m.cpu.r32[REG.ECX] = 0;
  expect(m.cpu.run(10)).toBe('halt');
  const r = (n: number) => m.cpu.r32[n]! >>> 0;
  return { eax: r(REG.EAX), ebx: r(REG.EBX), ecx: r(REG.ECX), edx: r(REG.EDX) };
}

const has = (...sems: string[]) => sems.every((s) => SEMANTICS[s] !== undefined);

/** The leaf 1 EDX this CPU must report, from what is implemented. */
function implementedFeatures(): number {
  let f = F.PSE | F.PAE | F.PGE; // the MMU (runtime/mmu.ts) does 4 MiB pages, PAE and global pages
  if (has('fadd', 'fld', 'fninit')) f |= F.FPU;
  if (has('rdtsc')) f |= F.TSC;
  if (has('rdmsr', 'wrmsr')) f |= F.MSR;
  if (has('cmpxchg8b')) f |= F.CX8;
  if (has('sysenter', 'sysexit')) f |= F.SEP;
  if (has('cmovcc')) f |= F.CMOV;
  if (has('fxsave', 'fxrstor')) f |= F.FXSR;
  f |= F.APIC; // the local APIC (runtime/devices/lapic.ts), wired by the PC machine
  return f >>> 0;
}

describe('CPUID', () => {
  it('leaf 0: GenuineIntel, highest basic leaf 2', () => {
    const r = cpuid(0);
    expect(r.eax).toBe(2);
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(r.ebx, 0);
    vendor.writeUInt32LE(r.edx, 4);
    vendor.writeUInt32LE(r.ecx, 8);
    expect(vendor.toString('latin1')).toBe('GenuineIntel');
  });

  it('leaf 1: family 6, exactly the implemented features', () => {
    const r = cpuid(1);
    expect((r.eax >> 8) & 0xf).toBe(6);
    expect(r.ecx).toBe(0);
    expect(r.edx).toBe(implementedFeatures());
    for (const bit of [F.VME, F.DE, F.MCE, F.MTRR, F.MCA, F.PAT, F.PSE36, F.MMX, F.SSE, F.SSE2]) {
      expect(r.edx & bit, `bit ${Math.log2(bit)}`).toBe(0);
    }
  });

  it('every MMX and SSE instruction is #UD', () => {
    const simd = ROWS.filter((row) => row.cls === 'simd' && row.sem !== 'ud');
    expect(simd.map((row) => row.spec.syntax)).toEqual([]);
  });

  it('extended leaves: NX only, and the brand string', () => {
    expect(cpuid(0x80000000).eax).toBe(0x80000004);
    const ext = cpuid(0x80000001);
    expect(ext.edx).toBe(1 << 20);
    expect(ext.ecx).toBe(0);
    const brand = Buffer.alloc(48);
    for (let i = 0; i < 3; i++) {
      const r = cpuid(0x80000002 + i);
      [r.eax, r.ebx, r.ecx, r.edx].forEach((v, k) => brand.writeUInt32LE(v, 16 * i + 4 * k));
    }
    expect(brand.toString('latin1').replace(/\0+$/, '')).toBe('bt86 virtual CPU');
  });

  it('leaves beyond the maxima return the highest basic leaf', () => {
    const two = cpuid(2);
    expect(cpuid(3)).toEqual(two);
    expect(cpuid(0x80000005)).toEqual(two);
  });

  it('MOV CR4 accepts exactly the bits of claimed features', () => {
    const edx = cpuid(1).edx;
    const expected = new Set<number>([2, 4, 5, 7, 8]); // TSD, PSE, PAE, PGE, PCE
    if (edx & F.FXSR) expected.add(9); // OSFXSR
    const m = createBareMachine(1 << 20);
    enterFlat32(m);
    const accepted = new Set<number>();
    for (let bit = 0; bit < 32; bit++) {
      m.cpu.cr4 = 0;
      try {
        writeCr(m.cpu, 4, (1 << bit) >>> 0);
        accepted.add(bit);
      } catch (e) {
        expect(e).toBeInstanceOf(CpuException);
      }
    }
    expect([...accepted].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
  });
});
