/**
 * The bt86 half of the integer differential test: a Machine (CPU + paging MMU +
 * the protected-mode runtime) set up to look, to user code, like the native
 * runner's 32-bit Linux process (test/native/native.ts), at the same linear
 * addresses.
 *
 * Why paging rather than relocation through segment bases (as the x87 test
 * does): the integer cases push return addresses, jump through registers and
 * memory, run string instructions off the end of the data window and use
 * 16-bit addressing and 16-bit branch targets that land in low memory. All of
 * that must fault, or not, exactly where the host's does, with the same page
 * fault error code and CR2 (si_addr), and code addresses pushed on the stack
 * must be the host's. So bt86 runs with the host's linear layout, mapped by PAE
 * page tables (EFER.NXE set, as on the host, so instruction-fetch faults carry
 * the I/D bit):
 *
 *   0x20000000  64 KiB  user RW, no-execute   the data window (phys 0x20000)
 *   0x30000000   4 KiB  user RW, executable   the code page   (phys 0x30000)
 *   0x40000000   4 KiB  supervisor            the GDT         (phys 0x10000)
 *
 * and nothing else: every other user address faults with a not-present #PF,
 * as the host's do (the generator only aims at the window and at unmapped
 * neighbours of it; the runner's own mappings are never addressed).
 *
 * Segments: CPL 3 with the selectors the host process has (CS 23h, DS/ES/SS
 * 2Bh, FS 0, GS 63h: probed natively), and a GDT built from what LAR and LSL
 * report natively for every selector, so that segment loads give the same
 * selector values and the same faults. Descriptors LAR cannot see from CPL 3
 * (kernel segments, the TSS, empty slots) are entered as present DPL-0 data
 * segments, which a CPL-3 load refuses with #GP(selector), as the host does
 * for each of them. Bases are 0 in bt86; the host's TLS segment (GS) has
 * another base, so the generator never addresses memory through GS.
 * CR0 = PG AM WP NE ET MP PE as Linux sets it (AM: EFLAGS.AC enables #AC).
 */
import { Machine } from '../../../src/machine/machine.js';
import { newInsn, type Insn } from '../../../src/x86/decoder.js';
import { CpuException, REG } from '../../../src/x86/state.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, runNative } from '../../native/native.js';

const PHYS_PDPT = 0x1000;
const PHYS_PD0 = 0x2000;
const PHYS_PD1 = 0x3000;
const PHYS_PT_DATA = 0x4000;
const PHYS_PT_CODE = 0x5000;
const PHYS_PT_GDT = 0x6000;
const PHYS_GDT = 0x10000;
export const PHYS_DATA = 0x20000;
export const PHYS_CODE = 0x30000;
const GDT_LIN = 0x40000000;

/** What the host process's segmentation looks like from CPL 3. */
export interface HostSegments {
  /** ES CS SS DS FS GS at the start of a case. */
  selectors: number[];
  /** Per GDT slot (selector >> 3): LAR's access rights and LSL's limit, or null when LAR fails. */
  gdt: ({ rights: number; limit: number } | null)[];
}

/** Probe the host process's selectors and GDT with a few native cases. */
export function probeHostSegments(): HostSegments {
  const regs = [0, 0, 0, 0, DATA_BASE + 0x100, 0, 0, 0];
  // mov eax,es; mov ecx,cs; mov edx,ss; mov ebx,ds; mov esi,fs; mov edi,gs (8C /r, 32-bit register forms)
  const code = Uint8Array.of(0x8c, 0xc0, 0x8c, 0xc9, 0x8c, 0xd2, 0x8c, 0xdb, 0x8c, 0xe6, 0x8c, 0xef);
  const cases = [{ code, regs }];
  // lar eax,ecx; pushfd; pop edx; lsl ebx,ecx; pushfd; pop ebp   (ECX = selector | 3)
  const larCode = Uint8Array.of(0x0f, 0x02, 0xc1, 0x9c, 0x5a, 0x0f, 0x03, 0xd9, 0x9c, 0x5d);
  for (let slot = 0; slot < 32; slot++) cases.push({ code: larCode, regs: [0, (slot << 3) | 3, 0, 0, DATA_BASE + 0x100, 0, 0, 0] });
  const res = runNative(cases);
  const first = res[0]!;
  if (first.status !== 'ok') throw new Error(`probe of the host selectors failed: ${first.status}`);
  const r = first.regs;
  const selectors = [r[0]!, r[1]!, r[2]!, r[3]!, r[6]!, r[7]!].map((v) => v & 0xffff);
  const gdt = res.slice(1).map((x) => {
    if (x.status !== 'ok') throw new Error(`LAR probe failed: ${x.status}`);
    if (!(x.regs[2]! & 0x40)) return null;
    return { rights: x.regs[0]! >>> 0, limit: x.regs[5]! & 0x40 ? x.regs[3]! >>> 0 : 0 };
  });
  return { selectors, gdt };
}

export interface Bt86Outcome {
  /** True when EIP reached the end of the code. */
  done: boolean;
  /** The exception raised, or -1. */
  vector: number;
  errorCode: number;
  cr2: number;
  eip: number;
  regs: Uint32Array;
  eflags: number;
  /** The final 64 KiB window. */
  memory: Uint8Array;
  /** Host error (anything but a CpuException) thrown by the emulator, if any. */
  hostError?: unknown;
  steps: number;
}

export class IntMachine {
  readonly m: Machine;
  private readonly insn: Insn = newInsn();
  private readonly segAttr: number[] = [];
  private readonly segLimit: number[] = [];

  constructor(readonly host: HostSegments) {
    this.m = new Machine({ memSize: 1 << 20 });
    const phys = this.m.phys;
    const w64 = (addr: number, lo: number, hi = 0) => {
      phys.ram.set(u32le(lo), addr);
      phys.ram.set(u32le(hi), addr + 4);
    };
    const P = 1, RW = 2, US = 4, NX_HI = 0x80000000;
    w64(PHYS_PDPT, PHYS_PD0 | P);
    w64(PHYS_PDPT + 8, PHYS_PD1 | P);
    w64(PHYS_PD0 + (DATA_BASE >>> 21) * 8, PHYS_PT_DATA | P | RW | US);
    w64(PHYS_PD0 + ((CODE_BASE >>> 21) & 0x1ff) * 8, PHYS_PT_CODE | P | RW | US);
    w64(PHYS_PD1 + ((GDT_LIN >>> 21) & 0x1ff) * 8, PHYS_PT_GDT | P | RW);
    for (let i = 0; i < DATA_SIZE >>> 12; i++) w64(PHYS_PT_DATA + (((DATA_BASE >>> 12) + i) & 0x1ff) * 8, (PHYS_DATA + i * 0x1000) | P | RW | US, NX_HI);
    w64(PHYS_PT_CODE + ((CODE_BASE >>> 12) & 0x1ff) * 8, PHYS_CODE | P | RW | US);
    w64(PHYS_PT_GDT + ((GDT_LIN >>> 12) & 0x1ff) * 8, PHYS_GDT | P | RW);
    // The GDT, from the host's LAR/LSL answers.
    for (let slot = 1; slot < host.gdt.length; slot++) {
      const e = host.gdt[slot];
      let lo: number, hi: number;
      if (e) {
        const g = (e.rights & 0x800000) !== 0;
        const raw = g ? e.limit >>> 12 : e.limit;
        lo = raw & 0xffff;
        hi = (e.rights & 0x00f0ff00) | (raw & 0xf0000);
      } else {
        lo = 0xffff;
        hi = 0x00cf9300; // present DPL-0 writable data: a CPL-3 load gets #GP(selector)
      }
      w64(PHYS_GDT + slot * 8, lo >>> 0, hi >>> 0);
      this.segAttr[slot] = hi & 0x00f0ff00;
      this.segLimit[slot] = e ? e.limit : 0xffffffff;
    }
    const cpu = this.m.cpu;
    cpu.gdtrBase = GDT_LIN;
    cpu.gdtrLimit = host.gdt.length * 8 - 1;
    cpu.idtrBase = 0;
    cpu.idtrLimit = 0;
    cpu.ldtrSel = 0;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    cpu.cr3 = PHYS_PDPT;
    cpu.cr4 = 0x20; // PAE
    cpu.efer = 0x800; // NXE
    cpu.cr0 = 0x80050033 | 0;
    cpu.modeChanged(false);
  }

  /** Load segment register `s` with `sel` as the host has it (descriptor from our GDT copy). */
  private setSeg(s: number, sel: number): void {
    const cpu = this.m.cpu;
    const slot = sel >> 3;
    cpu.segSel[s] = sel;
    cpu.segBase[s] = 0;
    if ((sel & 0xfffc) === 0) {
      cpu.segAttr[s] = 0; // null: not present
      cpu.segLimit[s] = 0;
      return;
    }
    cpu.segAttr[s] = this.segAttr[slot]! | 0x100; // accessed
    cpu.segLimit[s] = this.segLimit[slot]!;
  }

  /**
   * Run one case: `code` at CODE_BASE, the window as `window`, registers and
   * EFLAGS as given, until EIP reaches the end of the code or an exception.
   */
  run(code: Uint8Array, window: Uint8Array, regs: ArrayLike<number>, eflags: number, maxSteps = 20000): Bt86Outcome {
    const { m } = this;
    const cpu = m.cpu;
    const ram = m.phys.ram;
    m.phys.load(PHYS_DATA, window);
    const page = new Uint8Array(0x1000).fill(0xcc);
    page.set(code);
    m.phys.load(PHYS_CODE, page);
    const sel = this.host.selectors;
    for (let s = 0; s < 6; s++) this.setSeg(s, sel[s]!);
    cpu.setCpl(3);
    for (let r = 0; r < 8; r++) cpu.r32[r] = regs[r]!;
    cpu.eflags = (eflags & 0xcd5) | 0x202;
    cpu.cr2 = 0;
    cpu.eip = CODE_BASE;
    cpu.halted = false;
    cpu.interruptShadow = false;
    const end = (CODE_BASE + code.length) >>> 0;
    let vector = -1;
    let errorCode = -1;
    let hostError: unknown;
    let steps = 0;
    for (; steps < maxSteps && cpu.eip !== end; steps++) {
      const esp = cpu.r32[REG.ESP]!;
      try {
        cpu.execute(cpu.fetchDecode(this.insn));
      } catch (e) {
        cpu.r32[REG.ESP] = esp;
        if (e instanceof CpuException) {
          vector = e.vector;
          errorCode = e.errorCode;
        } else {
          hostError = e;
        }
        break;
      }
    }
    const out: Bt86Outcome = {
      done: cpu.eip === end && vector < 0 && hostError === undefined,
      vector,
      errorCode,
      cr2: cpu.cr2 >>> 0,
      eip: cpu.eip >>> 0,
      regs: Uint32Array.from(cpu.r32),
      eflags: cpu.eflags >>> 0,
      memory: ram.slice(PHYS_DATA, PHYS_DATA + DATA_SIZE),
      steps,
    };
    if (hostError !== undefined) out.hostError = hostError;
    return out;
  }
}

function u32le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

