/**
 * Semantics: the simple system instructions. HLT, CPUID, RDTSC, the #UD forms
 * (UD2, UD1, the undefined encodings' row, the SIMD space, RSM outside SMM),
 * and the selector instructions that exist only in protected mode
 * (SLDT STR LLDT LTR VERR VERW LAR LSL ARPL).
 *
 * CPUID describes a P6: "GenuineIntel", family 6 model 1 (the Pentium Pro), with
 * exactly the features this CPU implements in CPUID_FEATURES_EDX (and NX in the
 * extended leaf 80000001H). Later issues that add a feature (the local APIC, ...)
 * add its bit there and nowhere else; the CR4 bits MOV CR4 accepts follow from
 * it (privileged.ts). Not claimed, because not implemented: VME and PVI, DE
 * (I/O breakpoints; no debug breakpoints at all), MCE/MCA, MTRR and PAT (their
 * MSRs are accepted and kept, but caching is not modelled), PSE-36, MMX, SSE.
 *
 * The selector instructions raise #UD in real and v8086 mode (SDM: "not
 * recognized"). In protected mode SLDT, STR and ARPL need only CPU state and are
 * done here; LLDT, LTR, VERR, VERW, LAR and LSL read descriptors and go to the
 * runtime's cpu.sys.selectorOp (state.ts), which this module treats as absent
 * (#UD) when the machine has none.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { setFlags, ZF } from '../flags.js';
import { FLAG } from '../rows.js';
import { EXC, REG } from '../state.js';
import { protectedNotV86, requireCpl0 } from './priv.js';

// ---- HLT --------------------------------------------------------------------------

/** HLT: CPL 0 only; the processor stops after it (EIP points past it) until an interrupt. */
function hlt(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.halted = true;
}

// ---- CPUID -------------------------------------------------------------------------

/** CPUID.1:EDX feature bits (SDM vol. 2 CPUID, "Feature Information Returned in the EDX Register"). */
export const CPUID_FEATURE = {
  FPU: 1 << 0, VME: 1 << 1, DE: 1 << 2, PSE: 1 << 3, TSC: 1 << 4, MSR: 1 << 5, PAE: 1 << 6, MCE: 1 << 7,
  CX8: 1 << 8, APIC: 1 << 9, SEP: 1 << 11, MTRR: 1 << 12, PGE: 1 << 13, MCA: 1 << 14, CMOV: 1 << 15,
  PAT: 1 << 16, PSE36: 1 << 17, MMX: 1 << 23, FXSR: 1 << 24, SSE: 1 << 25, SSE2: 1 << 26,
} as const;

/**
 * The system-architecture features (runtime/, sem/privileged.ts): 4 MiB pages,
 * RDMSR/WRMSR, PAE paging, SYSENTER/SYSEXIT, global pages.
 */
export const CPUID_SYSTEM_FEATURES = CPUID_FEATURE.PSE | CPUID_FEATURE.MSR | CPUID_FEATURE.PAE | CPUID_FEATURE.SEP |
  CPUID_FEATURE.PGE;

/** CPUID.80000001H:EDX bits. */
export const CPUID_EXT_FEATURE = { SYSCALL: 1 << 11, NX: 1 << 20, LM: 1 << 29 } as const;

/** Extended features: execute-disable (PAE paging with EFER.NXE). No SYSCALL, no long mode. */
export const CPUID_EXT_FEATURES_EDX = CPUID_EXT_FEATURE.NX;

/** Highest extended leaf: 80000001H (features) and 80000002H-80000004H (the brand string). */
export const CPUID_MAX_EXT_LEAF = 0x80000004;

/** The brand string of leaves 80000002H-80000004H: 48 bytes, NUL-padded, as 12 little-endian dwords. */
const BRAND = 'bt86 virtual CPU';
const BRAND_DWORDS = new Int32Array(12);
for (let i = 0; i < BRAND.length; i++) BRAND_DWORDS[i >> 2]! |= BRAND.charCodeAt(i) << (8 * (i & 3));

/** The features this CPU implements: the one list to extend. */
export const CPUID_FEATURES_EDX = CPUID_FEATURE.FPU | CPUID_FEATURE.TSC | CPUID_FEATURE.CX8 | CPUID_FEATURE.CMOV |
  CPUID_FEATURE.FXSR | CPUID_FEATURE.APIC | CPUID_SYSTEM_FEATURES;

/** Family 6, model 1, stepping 9: a Pentium Pro. */
export const CPUID_SIGNATURE = 0x0619;

/** Highest basic leaf (the Pentium Pro's). */
export const CPUID_MAX_LEAF = 2;

/**
 * Leaf 2 cache and TLB descriptors of a Pentium Pro with 256 KiB L2: 01 (one
 * iteration), 01 ITLB 4K, 02 ITLB 4M, 03 DTLB 4K; 42 L2 256K, 0A L1D 8K,
 * 04 DTLB 4M, 06 L1I 8K.
 */
const LEAF2_EAX = 0x03020101;
const LEAF2_EDX = 0x06040a42;

/** "GenuineIntel" as EBX, EDX, ECX. */
const VENDOR_EBX = 0x756e6547; // "Genu"
const VENDOR_EDX = 0x49656e69; // "ineI"
const VENDOR_ECX = 0x6c65746e; // "ntel"

/**
 * CPUID. Leaves above the maximum basic leaf, or above the maximum extended
 * leaf, return the highest basic leaf's data, as Intel processors do.
 */
function cpuid(cpu: Cpu): void {
  const r = cpu.r32;
  let leaf = r[REG.EAX]! >>> 0;
  if (leaf >= 0x80000000 && leaf <= CPUID_MAX_EXT_LEAF) {
    cpuidExtended(cpu, leaf);
    return;
  }
  if (leaf > CPUID_MAX_LEAF) leaf = CPUID_MAX_LEAF;
  switch (leaf) {
    case 0:
      r[REG.EAX] = CPUID_MAX_LEAF;
      r[REG.EBX] = VENDOR_EBX;
      r[REG.ECX] = VENDOR_ECX;
      r[REG.EDX] = VENDOR_EDX;
      return;
    case 1:
      r[REG.EAX] = CPUID_SIGNATURE;
      r[REG.EBX] = 0;
      r[REG.ECX] = 0;
      r[REG.EDX] = CPUID_FEATURES_EDX;
      return;
    default:
      r[REG.EAX] = LEAF2_EAX;
      r[REG.EBX] = 0;
      r[REG.ECX] = 0;
      r[REG.EDX] = LEAF2_EDX;
  }
}

/** The extended leaves (Intel: vendor registers and the signature of leaf 80000001H read 0). */
function cpuidExtended(cpu: Cpu, leaf: number): void {
  const r = cpu.r32;
  r[REG.EBX] = 0;
  r[REG.ECX] = 0;
  r[REG.EDX] = 0;
  if (leaf === 0x80000000) {
    r[REG.EAX] = CPUID_MAX_EXT_LEAF;
  } else if (leaf === 0x80000001) {
    r[REG.EAX] = 0;
    r[REG.EDX] = CPUID_EXT_FEATURES_EDX;
  } else {
    const at = (leaf - 0x80000002) * 4;
    r[REG.EAX] = BRAND_DWORDS[at]!;
    r[REG.EBX] = BRAND_DWORDS[at + 1]!;
    r[REG.ECX] = BRAND_DWORDS[at + 2]!;
    r[REG.EDX] = BRAND_DWORDS[at + 3]!;
  }
}

// ---- RDTSC -------------------------------------------------------------------------

const CR4_TSD = 1 << 2;
const TWO32 = 0x100000000;

/** cpu.tscOffset split into 32-bit halves, recomputed only when the offset changes (no BigInt per RDTSC). */
let tscKey = 0n;
let tscLo = 0;
let tscHi = 0;

/**
 * RDTSC: EDX:EAX = tscOffset + the CPU's time base (cpu.tscTicks: the machine's
 * clock, or the instruction count on a bare CPU). With CR4.TSD it is CPL 0 only
 * in protected mode.
 */
function rdtsc(cpu: Cpu): void {
  if (cpu.cr4 & CR4_TSD && cpu.cr0 & 1 && (cpu.cpl !== 0 || cpu.flagsBits & FLAG.VM)) cpu.raise(EXC.GP, 0);
  if (cpu.tscOffset !== tscKey) {
    tscKey = cpu.tscOffset;
    const u = BigInt.asUintN(64, tscKey);
    tscLo = Number(u & 0xffffffffn);
    tscHi = Number(u >> 32n);
  }
  const t = tscLo + cpu.tscTicks(); // exact below 2^53
  const lo = t % TWO32;
  cpu.r32[REG.EAX] = lo;
  cpu.r32[REG.EDX] = tscHi + (t - lo) / TWO32;
}

// ---- #UD --------------------------------------------------------------------------

function ud(cpu: Cpu): void {
  cpu.raise(EXC.UD);
}

/** RSM: only valid in system-management mode, which this CPU never enters. */
function rsm(cpu: Cpu): void {
  cpu.raise(EXC.UD);
}

// ---- protected-mode selector instructions ---------------------------------------------

/** #UD outside protected mode (real and v8086 mode). */
function requireProtected(cpu: Cpu): void {
  if (!protectedNotV86(cpu)) cpu.raise(EXC.UD);
}

/** Store a selector to Ew: 16 bits to memory, zero-extended to a 32-bit register (P6). */
function storeSelector(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.setReg(i.rm, i.opsize >> 3, v);
  else cpu.write16(cpu.seg(i), cpu.ea(i), v);
}

function sldt(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  storeSelector(cpu, i, cpu.ldtrSel);
}

function str(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  storeSelector(cpu, i, cpu.trSel);
}

/** The runtime's selector instruction, or #UD without one. */
function selectorOp(cpu: Cpu, op: 'lldt' | 'ltr' | 'verr' | 'verw' | 'lar' | 'lsl', selector: number): number {
  const sys = cpu.sys;
  if (!sys || !sys.selectorOp) cpu.raise(EXC.UD);
  return sys.selectorOp(cpu, op, selector);
}

function lldt(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  selectorOp(cpu, 'lldt', cpu.readE(i, 2));
}

function ltr(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  selectorOp(cpu, 'ltr', cpu.readE(i, 2));
}

function verr(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  setFlags(cpu, ZF, selectorOp(cpu, 'verr', cpu.readE(i, 2)) ? ZF : 0);
}

function verw(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  setFlags(cpu, ZF, selectorOp(cpu, 'verw', cpu.readE(i, 2)) ? ZF : 0);
}

/** LAR/LSL Gv, Ew: on success the register gets the value (16 or 32 bits) and ZF = 1; else ZF = 0. */
function larLsl(cpu: Cpu, i: Insn, op: 'lar' | 'lsl'): void {
  requireProtected(cpu);
  const v = selectorOp(cpu, op, cpu.readE(i, 2));
  if (v === -1) {
    setFlags(cpu, ZF, 0);
    return;
  }
  cpu.setReg(i.reg, i.opsize >> 3, v);
  setFlags(cpu, ZF, ZF);
}

function lar(cpu: Cpu, i: Insn): void {
  larLsl(cpu, i, 'lar');
}

function lsl(cpu: Cpu, i: Insn): void {
  larLsl(cpu, i, 'lsl');
}

/** ARPL Ew, Gw: raise the destination selector's RPL to the source's; ZF says whether it changed. */
function arpl(cpu: Cpu, i: Insn): void {
  requireProtected(cpu);
  const dest = cpu.readE(i, 2);
  const src = cpu.r16[i.reg << 1]!;
  if ((dest & 3) < (src & 3)) {
    cpu.writeE(i, 2, (dest & ~3) | (src & 3));
    setFlags(cpu, ZF, ZF);
  } else {
    setFlags(cpu, ZF, 0);
  }
}

export const systemSemantics: Record<string, SemFn> = {
  hlt, cpuid, rdtsc, ud, rsm,
  sldt, str, lldt, ltr, verr, verw, lar, lsl, arpl,
};
