/**
 * Semantics: the privileged system instructions — control and debug register
 * moves, descriptor-table register loads and stores, the machine status word,
 * CLTS, cache and TLB control, MSRs, SYSENTER/SYSEXIT. Each checks privilege
 * exactly where SDM vol. 2 says (CPL 0 in protected mode, #GP(0) in v8086 mode;
 * everything is allowed in real mode), makes every check that can fault before
 * changing state, and tells the machine (cpu.modeChanged, cpu.onInvlpg) when the
 * paging mode or the address space changed; the table marks these rows `ends`,
 * so translated code leaves the block after them.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { FLAG } from '../rows.js';
import { ATTR, EXC, REG, SREG } from '../state.js';
import { requireCpl0 } from './priv.js';
import { CPUID_FEATURE, CPUID_FEATURES_EDX } from './system.js';

const CR0 = { PE: 1, MP: 2, EM: 4, TS: 8, ET: 0x10, NE: 0x20, WP: 0x10000, AM: 0x40000, NW: 0x20000000, CD: 0x40000000, PG: 0x80000000 | 0 } as const;
const CR0_WRITABLE = CR0.PE | CR0.MP | CR0.EM | CR0.TS | CR0.NE | CR0.WP | CR0.AM | CR0.NW | CR0.CD | CR0.PG;
/**
 * CR4 bits for the features CPUID claims (any other bit is reserved: #GP):
 * TSD with the TSC, PSE, PAE, PGE, PCE (RDPMC, on every P6), OSFXSR with FXSR.
 */
const CR4_WRITABLE = (CPUID_FEATURES_EDX & CPUID_FEATURE.TSC ? 0x4 : 0) | (CPUID_FEATURES_EDX & CPUID_FEATURE.DE ? 0x8 : 0) |
  (CPUID_FEATURES_EDX & CPUID_FEATURE.PSE ? 0x10 : 0) | (CPUID_FEATURES_EDX & CPUID_FEATURE.PAE ? 0x20 : 0) |
  (CPUID_FEATURES_EDX & CPUID_FEATURE.MCE ? 0x40 : 0) | (CPUID_FEATURES_EDX & CPUID_FEATURE.PGE ? 0x80 : 0) | 0x100 |
  (CPUID_FEATURES_EDX & CPUID_FEATURE.FXSR ? 0x200 : 0);
const CR4_DE = 0x8;
const EFER_NXE = 1 << 11;

// ---- control registers ---------------------------------------------------------------

function movFromCr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  let v: number;
  switch (i.reg) {
    case 0: v = cpu.cr0 | CR0.ET; break;
    case 2: v = cpu.cr2; break;
    case 3: v = cpu.cr3; break;
    case 4: v = cpu.cr4; break;
    default: cpu.raise(EXC.UD);
  }
  cpu.r32[i.rm] = v;
}

/** Write a control register; the checks come first, and a failed PDPTE load (PAE) undoes the write. */
export function writeCr(cpu: Cpu, n: number, v: number): void {
  const old = n === 0 ? cpu.cr0 : n === 3 ? cpu.cr3 : cpu.cr4;
  switch (n) {
    case 0: {
      if (v & CR0.PG && !(v & CR0.PE)) cpu.raise(EXC.GP, 0);
      if (v & CR0.NW && !(v & CR0.CD)) cpu.raise(EXC.GP, 0);
      const next = (v & CR0_WRITABLE) | CR0.ET;
      cpu.cr0 = next;
      if ((old ^ next) & (CR0.PG | CR0.PE | CR0.WP)) applyMode(cpu, () => { cpu.cr0 = old; }, false);
      return;
    }
    case 2: cpu.cr2 = v >>> 0; return;
    case 3:
      cpu.cr3 = v >>> 0;
      applyMode(cpu, () => { cpu.cr3 = old; }, true);
      return;
    case 4:
      if (v & ~CR4_WRITABLE) cpu.raise(EXC.GP, 0);
      cpu.cr4 = v;
      if ((old ^ v) & 0xb0) applyMode(cpu, () => { cpu.cr4 = old; }, false);
      return;
    default:
      cpu.raise(EXC.UD);
  }
}

function applyMode(cpu: Cpu, undo: () => void, cr3Only: boolean): void {
  try {
    cpu.modeChanged(cr3Only);
  } catch (e) {
    undo();
    cpu.modeChanged(false);
    throw e;
  }
}

function movToCr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  if (i.reg === 1 || i.reg > 4) cpu.raise(EXC.UD);
  writeCr(cpu, i.reg, cpu.r32[i.rm]!);
}

// ---- debug registers ---------------------------------------------------------------------

/** DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD. */
function drIndex(cpu: Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if (cpu.cr4 & CR4_DE) cpu.raise(EXC.UD);
    return n + 2;
  }
  return n;
}

function movFromDr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const n = drIndex(cpu, i.reg);
  let v = cpu.dr[n]!;
  if (n === 6) v = (v & 0xe00f) | 0xffff0ff0;
  if (n === 7) v = (v & 0xffff2bff) | 0x400;
  cpu.r32[i.rm] = v;
}

function movToDr(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const n = drIndex(cpu, i.reg);
  cpu.dr[n] = cpu.r32[i.rm]!;
}

// ---- descriptor-table registers ---------------------------------------------------------

function readPseudoDescriptor(cpu: Cpu, i: Insn): { limit: number; base: number } {
  const seg = cpu.seg(i);
  const ea = cpu.ea(i);
  const limit = cpu.read16(seg, ea);
  let base = cpu.read32(seg, i.adsize === 16 ? (ea + 2) & 0xffff : (ea + 2) >>> 0);
  if (i.opsize === 16) base &= 0xffffff;
  return { limit, base };
}

function lgdt(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const d = readPseudoDescriptor(cpu, i);
  cpu.gdtrLimit = d.limit;
  cpu.gdtrBase = d.base | 0;
}

function lidt(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const d = readPseudoDescriptor(cpu, i);
  cpu.idtrLimit = d.limit;
  cpu.idtrBase = d.base | 0;
}

/** SGDT/SIDT store the limit and the full 32-bit base (any CPL: the P6 has no UMIP). */
function storePseudoDescriptor(cpu: Cpu, i: Insn, limit: number, base: number): void {
  const seg = cpu.seg(i);
  const ea = cpu.ea(i);
  const ea2 = i.adsize === 16 ? (ea + 2) & 0xffff : (ea + 2) >>> 0;
  // Both writes are checked before either lands.
  cpu.linear(seg, ea, 2, true);
  cpu.linear(seg, ea2, 4, true);
  cpu.write16(seg, ea, limit);
  cpu.write32(seg, ea2, base);
}

function sgdt(cpu: Cpu, i: Insn): void {
  storePseudoDescriptor(cpu, i, cpu.gdtrLimit, cpu.gdtrBase);
}

function sidt(cpu: Cpu, i: Insn): void {
  storePseudoDescriptor(cpu, i, cpu.idtrLimit, cpu.idtrBase);
}

// ---- machine status word, TS, caches, TLB ---------------------------------------------------

/** SMSW: 16 bits to memory; to a register, all of CR0 with a 32-bit operand size (P6). */
function smsw(cpu: Cpu, i: Insn): void {
  const v = cpu.cr0 | CR0.ET;
  if (i.mod === 3) cpu.setReg(i.rm, i.opsize >> 3, v);
  else cpu.write16(cpu.seg(i), cpu.ea(i), v);
}

/** LMSW: loads PE, MP, EM, TS; it can set PE but never clear it. */
function lmsw(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const v = cpu.readE(i, 2);
  const next = (cpu.cr0 & ~0xe) | (v & 0xe) | ((cpu.cr0 | v) & CR0.PE);
  writeCr(cpu, 0, next);
}

function clts(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.cr0 &= ~CR0.TS;
}

function invd(cpu: Cpu): void {
  requireCpl0(cpu);
}

function wbinvd(cpu: Cpu): void {
  requireCpl0(cpu);
}

/** INVLPG: the operand's linear address, with no segment-limit check (it accesses nothing). */
function invlpg(cpu: Cpu, i: Insn): void {
  requireCpl0(cpu);
  const lin = (cpu.segBase[cpu.seg(i)]! + cpu.ea(i)) | 0;
  cpu.invlpg(lin);
}

// ---- MSRs -------------------------------------------------------------------------------------

/** MSRs accepted and kept: MTRRs, PAT, and the misc-enable/platform MSRs firmware reads. */
function keptMsr(index: number): boolean {
  return index === 0xfe || (index >= 0x200 && index <= 0x20f) || index === 0x250 || index === 0x258 ||
    index === 0x259 || (index >= 0x268 && index <= 0x26f) || index === 0x277 || index === 0x2ff ||
    index === 0x17 || index === 0x8b || index === 0x1a0 || index === 0x179 || index === 0x17b;
}

const MTRRCAP = 0x508n; // 8 variable ranges, fixed ranges, write-combining

function rdmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const index = cpu.r32[REG.ECX]! >>> 0;
  let v: bigint;
  const device = cpu.deviceMsrs?.read(index);
  if (device !== undefined) v = device;
  else if (index === 0x10) v = BigInt.asUintN(64, cpu.tscOffset + BigInt(cpu.tscTicks()));
  else if (index === 0x174) v = BigInt(cpu.sysenterCs);
  else if (index === 0x175) v = BigInt(cpu.sysenterEsp >>> 0);
  else if (index === 0x176) v = BigInt(cpu.sysenterEip >>> 0);
  else if (index === 0xc0000080) v = BigInt(cpu.efer);
  else if (index === 0xfe) v = MTRRCAP;
  else if (index === 0x277) v = cpu.msrs.get(index) ?? 0x0007040600070406n; // PAT power-on value
  else if (keptMsr(index)) v = cpu.msrs.get(index) ?? 0n;
  else cpu.raise(EXC.GP, 0);
  cpu.r32[REG.EAX] = Number(v & 0xffffffffn);
  cpu.r32[REG.EDX] = Number((v >> 32n) & 0xffffffffn);
}

function wrmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const index = cpu.r32[REG.ECX]! >>> 0;
  const lo = cpu.r32[REG.EAX]! >>> 0;
  const hi = cpu.r32[REG.EDX]! >>> 0;
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  const device = cpu.deviceMsrs?.write(index, v);
  if (device === 'gp') cpu.raise(EXC.GP, 0);
  if (device === 'ok') return;
  switch (index) {
    case 0x10:
      cpu.tscOffset = v - BigInt(cpu.tscTicks());
      return;
    case 0x174: cpu.sysenterCs = lo & 0xffff; return;
    case 0x175: cpu.sysenterEsp = lo | 0; return;
    case 0x176: cpu.sysenterEip = lo | 0; return;
    case 0xc0000080: {
      // Only NXE is implemented (no long mode): any other bit is reserved.
      if (hi !== 0 || lo & ~EFER_NXE) cpu.raise(EXC.GP, 0);
      const old = cpu.efer;
      cpu.efer = lo;
      if (old !== lo) applyMode(cpu, () => { cpu.efer = old; }, false);
      return;
    }
    default:
      if (!keptMsr(index) || index === 0xfe) cpu.raise(EXC.GP, 0); // MTRRcap is read-only
      cpu.msrs.set(index, v);
  }
}

function rdpmc(cpu: Cpu): void {
  const pce = (cpu.cr4 & 0x100) !== 0;
  if (!pce && cpu.cr0 & 1 && (cpu.cpl !== 0 || cpu.flagsBits & FLAG.VM)) cpu.raise(EXC.GP, 0);
  if ((cpu.r32[REG.ECX]! >>> 0) > 1) cpu.raise(EXC.GP, 0);
  cpu.r32[REG.EAX] = 0;
  cpu.r32[REG.EDX] = 0;
}

// ---- SYSENTER / SYSEXIT ------------------------------------------------------------------------

function flatSegment(cpu: Cpu, seg: number, selector: number, dpl: number, code: boolean): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0xffffffff;
  cpu.segAttr[seg] = ATTR.P | ATTR.S | ATTR.ACCESSED | ATTR.DB | ATTR.G | (dpl << ATTR.DPL_SHIFT) |
    (code ? ATTR.CODE | 0x200 : ATTR.WRITABLE);
}

function sysenter(cpu: Cpu): void {
  if (!(cpu.cr0 & CR0.PE) || (cpu.sysenterCs & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  cpu.eflags = cpu.eflags & ~(FLAG.VM | FLAG.IF | FLAG.RF);
  const cs = cpu.sysenterCs & 0xfffc;
  flatSegment(cpu, SREG.CS, cs, 0, true);
  flatSegment(cpu, SREG.SS, cs + 8, 0, false);
  cpu.setCpl(0);
  cpu.r32[REG.ESP] = cpu.sysenterEsp;
  cpu.nextEip = cpu.sysenterEip >>> 0;
}

function sysexit(cpu: Cpu): void {
  if (!(cpu.cr0 & CR0.PE) || cpu.cpl !== 0 || cpu.flagsBits & FLAG.VM || (cpu.sysenterCs & 0xfffc) === 0) cpu.raise(EXC.GP, 0);
  const cs = cpu.sysenterCs & 0xfffc;
  flatSegment(cpu, SREG.CS, (cs + 16) | 3, 3, true);
  flatSegment(cpu, SREG.SS, (cs + 24) | 3, 3, false);
  cpu.setCpl(3);
  cpu.r32[REG.ESP] = cpu.r32[REG.ECX]!;
  cpu.nextEip = cpu.r32[REG.EDX]! >>> 0;
}

export const privilegedSemantics: Record<string, SemFn> = {
  mov_from_cr: movFromCr, mov_to_cr: movToCr, mov_from_dr: movFromDr, mov_to_dr: movToDr,
  lgdt, lidt, sgdt, sidt, smsw, lmsw, clts, invd, wbinvd, invlpg,
  rdmsr, wrmsr, rdpmc, sysenter, sysexit,
};
