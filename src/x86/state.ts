/**
 * The CPU state layout: everything architecturally visible about the processor,
 * in typed arrays where the hot paths (and generated code) index it, plus the
 * exception type that every part of the system throws to raise a guest fault.
 *
 * This is the one module of src/x86 that the runtime imports (DESIGN.md's
 * dependency rule), so it holds no behaviour beyond accessors.
 *
 * General registers share one ArrayBuffer through three views so that AL, AX and
 * EAX alias exactly as on the hardware (the host is little-endian, as every host
 * Node.js runs on is). Segment registers keep their hidden descriptor caches
 * (base, limit, attributes), which real mode also uses (unreal mode, the
 * conformance vectors' limits).
 */

import { FpuState } from './fpu-state.js';

/*
 * The CPU's connections to the rest of the machine. They are declared here, with
 * the state layout, because the runtime implements them and may import only this
 * module of src/x86.
 */
/** Linear-address memory: paging, if enabled, is applied behind this interface. */
export interface LinearMemory {
  read8(lin: number): number;
  read16(lin: number): number;
  read32(lin: number): number;
  write8(lin: number, v: number): void;
  write16(lin: number, v: number): void;
  write32(lin: number, v: number): void;
  /**
   * Copy up to `max` code bytes starting at `lin` into `buf` without crossing a
   * page boundary; returns the number copied (at least 1, or throws the fault).
   */
  fetch(lin: number, buf: Uint8Array, at: number, max: number): number;
  /** Physical address of a code byte (raises the fetch's page fault, if any). */
  translateCode(lin: number): number;
  /** Ask to be told (through onCodeWrite) before anything writes this physical page. */
  watchCodePage(page: number): void;
  /** The listener gets the physical page, and the physical address and length written within it. */
  onCodeWrite(listener: (page: number, addr: number, len: number) => void): void;
  /**
   * Check that a write of `size` bytes at `lin` would be allowed, raising the
   * page fault the write would raise (W = 1), without writing. The read of a
   * read-modify-write is such a check on the hardware (its #PF error code says
   * "write" even when the page is not present), and ENTER probes its final
   * stack pointer this way (SDM vol. 2 ENTER, #PF).
   */
  probeWrite(lin: number, size: number): void;
  /**
   * Supervisor accesses whatever the CPL (descriptor tables, the TSS, the IDT:
   * SDM vol. 3 §4.6 "implicit supervisor-mode accesses").
   */
  readSystem(lin: number, size: 1 | 2 | 4): number;
  writeSystem(lin: number, size: 1 | 2 | 4, v: number): void;
}

export interface PortBus {
  portIn(port: number, size: 1 | 2 | 4): number;
  portOut(port: number, size: 1 | 2 | 4, value: number): void;
}

export const REG = { EAX: 0, ECX: 1, EDX: 2, EBX: 3, ESP: 4, EBP: 5, ESI: 6, EDI: 7 } as const;
export const SREG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

/** Exception vectors. */
export const EXC = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13, PF: 14,
  MF: 16, AC: 17, MC: 18,
} as const;

/**
 * Descriptor-cache attribute word: the descriptor's high dword bits 8-23 kept in
 * place (type at 8-11, S at 12, DPL at 13-14, P at 15, AVL at 20, D/B at 22, G at 23).
 */
export const ATTR = {
  ACCESSED: 1 << 8, WRITABLE: 1 << 9, EXPAND_DOWN: 1 << 10, CODE: 1 << 11, S: 1 << 12,
  DPL_SHIFT: 13, P: 1 << 15, DB: 1 << 22, G: 1 << 23,
} as const;

/** The attributes a real-mode segment load gives: present, writable data, accessed, 16-bit. */
export const REAL_MODE_ATTR = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED;

/**
 * A guest-visible exception. Thrown by memory accesses, segment loads and
 * semantics; caught by the executor, which restores the instruction's starting
 * state and delivers it. `errorCode` is -1 for vectors without one.
 */
export class CpuException extends Error {
  /**
   * Raised by a task switch's checks after the new task's state was loaded
   * (SDM vol. 3 §7.3, step 12): the exception belongs to the new task, so it is
   * delivered with the new task's EIP and ESP (kept here: an executor that
   * restores its own state at a fault must not lose them), not the instruction's.
   */
  inNewTask = false;
  newTaskEip = 0;
  newTaskEsp = 0;

  /**
   * Guest exceptions are frequent (every page fault of a guest OS) and are
   * always caught, so they carry no host stack trace: capturing one costs
   * tens of microseconds, ten times the rest of a fault's delivery.
   */
  constructor(public vector: number, public errorCode = -1) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`#${vector}${errorCode >= 0 ? `(${errorCode})` : ''}`);
    Error.stackTraceLimit = limit;
  }
}

/**
 * What the runtime's system machinery (segment loads, IDT delivery, far
 * transfers, task switches) needs of the CPU beyond its state: the CPU class
 * implements it.
 */
export interface SystemCpu extends CpuState {
  mem: LinearMemory;
  eflags: number;
  nextEip: number;
  sp: number;
  raise(vector: number, errorCode?: number): never;
  push(size: number, v: number): void;
  pop(size: number): number;
  readSized(seg: number, off: number, size: number): number;
  writeSized(seg: number, off: number, size: number, v: number): void;
  loadSegment(seg: number, selector: number): void;
  /** Called after CR0/CR3/CR4/EFER changed (paging mode, TLB flush). */
  modeChanged(cr3Only: boolean): void;
  /** Change the CPL (the TLB keeps per-privilege entries, so nothing is flushed). */
  setCpl(cpl: number): void;
}

/**
 * Protected-mode machinery, supplied by the runtime (system issue). Semantics
 * call these when CR0.PE = 1 (and, where v8086 rules differ, when EFLAGS.VM = 1);
 * in real mode they do the work themselves. Each hook reads its operands from
 * and writes its results to the CPU state, and raises faults by throwing.
 */
export interface SystemHooks {
  /** Load a data or stack segment register in protected mode with every descriptor check. */
  loadSegment(cpu: SystemCpu, seg: number, selector: number): void;
  /** Deliver an interrupt or exception through the IDT (gates, stack switch, v8086 exit). */
  deliver(cpu: SystemCpu, vector: number, errorCode: number, kind: DeliveryKind, returnEip: number): void;
  /** Far JMP or CALL to selector:offset (code segment, call gate, task gate or TSS). Sets EIP. */
  farTransfer(cpu: SystemCpu, kind: 'jmp' | 'call', selector: number, offset: number, opsize: 16 | 32): void;
  /** Far RET (popping `popBytes` of parameters), incl. the return to an outer privilege level. */
  farReturn(cpu: SystemCpu, opsize: 16 | 32, popBytes: number): void;
  /** IRET in protected or v8086 mode (nested task, return to v8086, outer level). */
  iret(cpu: SystemCpu, opsize: 16 | 32): void;
  /** Whether an I/O access is allowed (CPL <= IOPL, else the TSS I/O permission bitmap). */
  ioPermitted(cpu: SystemCpu, port: number, size: number): boolean;
  /**
   * The selector instructions of protected mode: LLDT and LTR load LDTR/TR from
   * `selector` (CPL 0 and descriptor checks are the hook's) and return 0; VERR and
   * VERW return 1 when the segment is readable/writable from CPL (ZF = 1), else 0;
   * LAR and LSL return the access rights (descriptor dword 1 AND 00FxFF00H) or
   * the byte-granular limit, or -1 when the selector fails the checks (ZF = 0).
   * The semantics (sem/system.ts) raise #UD in real and v8086 mode, read the
   * operand, and store the result and ZF; without this hook they raise #UD.
   */
  selectorOp?(cpu: SystemCpu, op: 'lldt' | 'ltr' | 'verr' | 'verw' | 'lar' | 'lsl', selector: number): number;
}

export type DeliveryKind = 'fault' | 'software' | 'external';

export class CpuState {
  readonly buffer = new ArrayBuffer(32);
  readonly r32 = new Int32Array(this.buffer);
  readonly r16 = new Uint16Array(this.buffer);
  readonly r8 = new Uint8Array(this.buffer);

  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  /** Effective limit in bytes (granularity applied), as unsigned 32-bit. */
  readonly segLimit = new Uint32Array(6);
  readonly segAttr = new Uint32Array(6);

  eip = 0;

  /**
   * EFLAGS except the arithmetic bits listed in `lazyMask`, which are derived from
   * the last flag-setting operation (see flags.ts). Bit 1 always reads as 1.
   */
  flagsBits = 2;
  lazyMask = 0;
  lazyOp = 0;
  lazyRes = 0;
  lazyA = 0;
  lazyB = 0;
  lazySize = 0;
  lazyCin = 0;

  /** Control, debug and model-specific state used by the system architecture. */
  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Uint32Array(8);
  efer = 0;
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0x3ff;
  ldtrSel = 0;
  ldtrBase = 0;
  ldtrLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trAttr = 0;
  cpl = 0;
  /** Set by STI and MOV SS/POP SS: interrupts are held off for one instruction. */
  interruptShadow = false;
  halted = false;
  /** SYSENTER_CS/ESP/EIP MSRs (0x174-0x176). */
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /** Other MSRs the CPU accepts and keeps (MTRRs, PAT, ...), by index. */
  readonly msrs = new Map<number, bigint>();
  /** Time-stamp counter offset (RDTSC = virtual cycles + tscOffset). */
  tscOffset = 0n;
  /** The x87 FPU (registers, control/status/tag words, last-instruction pointers). */
  readonly fpu = new FpuState();

  reg8(n: number): number {
    return this.r8[n < 4 ? n << 2 : ((n - 4) << 2) + 1]!;
  }
  setReg8(n: number, v: number): void {
    this.r8[n < 4 ? n << 2 : ((n - 4) << 2) + 1] = v;
  }
  reg16(n: number): number {
    return this.r16[n << 1]!;
  }
  setReg16(n: number, v: number): void {
    this.r16[n << 1] = v;
  }
  reg32(n: number): number {
    return this.r32[n]! >>> 0;
  }
  setReg32(n: number, v: number): void {
    this.r32[n] = v;
  }

  /** Real-mode (and v8086) segment load: base = selector * 16, limits kept. */
  loadSegReal(seg: number, selector: number): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = (selector & 0xffff) << 4;
  }

  get protectedMode(): boolean {
    return (this.cr0 & 1) !== 0;
  }
  get code32(): boolean {
    return (this.segAttr[SREG.CS]! & ATTR.DB) !== 0;
  }
  get stack32(): boolean {
    return (this.segAttr[SREG.SS]! & ATTR.DB) !== 0;
  }
}
