/**
 * The CPU and its cold tier: fetch, decode, execute one instruction at a time,
 * using the semantics functions of src/x86/sem (the same functions the
 * translator calls from generated code).
 *
 * Precise exceptions: a fault is a thrown CpuException. Semantics read and check
 * everything before they write architectural state, so at a fault the registers
 * are as they were before the instruction; the executor additionally restores
 * ESP (stack sequences such as PUSHA and ENTER write it last anyway) and EIP, then
 * delivers the exception. Memory writes that preceded the fault stay, as on the
 * hardware.
 *
 * The CPU reaches the rest of the machine only through interfaces: LinearMemory
 * (paging lives behind it, in runtime/), PortBus, and SystemHooks, which the
 * protected-mode machinery fills in (segment loads with descriptor checks, IDT
 * delivery, task switches). Real mode needs none of the hooks.
 */
import { decode, newInsn, type Insn } from './decoder.js';
import { FLAG, ROWS, type Row } from './rows.js';
import { ATTR, CpuException, CpuState, EXC, REAL_MODE_ATTR, REG, SREG, type LinearMemory, type PortBus, type SystemCpu, type SystemHooks, type DeliveryKind } from './state.js';
import { getFlags, loadFlags } from './flags.js';

export type SemFn = (cpu: Cpu, insn: Insn) => void;

/** What ended a run() call. */
export type StopReason = 'count' | 'halt' | 'shutdown' | 'stop';

export class Cpu extends CpuState implements SystemCpu {
  /** EIP of the instruction after the current one; control transfers overwrite it. */
  nextEip = 0;
  /** The instruction being executed (valid during a semantics call). */
  insn: Insn | null = null;
  instructionCount = 0;
  /**
   * Most elements a REP string instruction handles per execution before it
   * yields (restarting itself with the registers advanced, as an interrupt
   * between iterations would): see sem/string.ts. Infinity: never yields.
   */
  repLimit = Infinity;
  /** Set by semantics that must end run() (HLT, shutdown, a hook's request). */
  stopReason: StopReason | '' = '';
  nmiPending = false;
  /** NMIs are blocked from the delivery of one until the next IRET. */
  nmiBlocked = false;
  /** Wired by the machine to the MMU: INVLPG of a linear address. */
  onInvlpg: ((lin: number) => void) | null = null;
  /** Wired by the machine to the MMU: paging mode or CR3 changed. */
  onModeChange: ((cr3Only: boolean) => void) | null = null;
  /** Host callback on shutdown (triple fault); default: stop the run. */
  onShutdown: (() => void) | null = null;
  /** Why the processor last shut down, for the launcher's report. */
  shutdownCause = '';
  /**
   * FERR#: called when an x87 waiting instruction finds an unmasked exception
   * pending while CR0.NE = 0 (the PC wires FERR# to IRQ 13 through the PIC). It
   * is called once per exception; the instruction then proceeds as if IGNNE#
   * were asserted. Null: nothing is signalled. See sem/x87.ts.
   */
  onFerr: (() => void) | null = null;
  /**
   * MSRs that belong to the machine's devices (the local APIC's IA32_APIC_BASE,
   * 1BH): RDMSR and WRMSR ask here first. read() gives undefined and write()
   * 'unknown' for an MSR that is not theirs; write() gives 'gp' to refuse a value.
   */
  deviceMsrs: { read(index: number): bigint | undefined; write(index: number, value: bigint): 'ok' | 'gp' | 'unknown' } | null = null;
  /**
   * The time-stamp counter's time base, in ticks (RDTSC = tscOffset + ticks):
   * the machine wires its clock, so the TSC follows virtual (or host) time; a
   * bare CPU counts retired instructions.
   */
  tscSource: (() => number) | null = null;
  tscTicks(): number {
    return this.tscSource ? this.tscSource() : this.instructionCount;
  }
  /** Pending external interrupt source (the PIC/APIC); null when none is wired. */
  interruptController: { hasInterrupt(): boolean; acknowledge(): number } | null = null;

  private readonly fetchBuf = new Uint8Array(16);
  /** Semantics function per row id (resolved once, not looked up by name per instruction). */
  private readonly semById: (SemFn | undefined)[];
  /**
   * The cold tier's decoded-instruction cache: per physical page, a sparse array
   * indexed by (page offset << 1 | CS.D). A write to the page drops its entry.
   * Instructions that cross a page boundary are decoded every time.
   */
  private readonly decodeCache: (Insn[] | undefined)[] = [];
  decodeCacheMisses = 0;

  constructor(
    public mem: LinearMemory,
    public ports: PortBus,
    public semantics: Readonly<Record<string, SemFn>>,
    public sys: SystemHooks | null = null,
  ) {
    super();
    this.semById = ROWS.map((row) => semantics[row.sem]);
    if (mem) mem.onCodeWrite((page) => this.dropDecoded(page));
    this.reset();
  }

  /** Power-on state (SDM vol. 3 §9.1.1): real mode, CS:IP = F000:FFF0 with base FFFF0000. */
  reset(): void {
    this.r32.fill(0);
    // EDX holds the processor signature, as CPUID.1:EAX reports it (family 6, model 1, stepping 9).
    this.r32[REG.EDX] = 0x0619;
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = 0;
      this.segBase[s] = 0;
      this.segLimit[s] = 0xffff;
      this.segAttr[s] = REAL_MODE_ATTR;
    }
    this.segSel[SREG.CS] = 0xf000;
    this.segBase[SREG.CS] = 0xffff0000 | 0;
    this.eip = 0xfff0;
    loadFlags(this, 2);
    this.cr0 = 0x60000010;
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.efer = 0;
    this.gdtrBase = 0; this.gdtrLimit = 0xffff;
    this.idtrBase = 0; this.idtrLimit = 0x3ff;
    this.ldtrSel = 0; this.ldtrBase = 0; this.ldtrLimit = 0xffff;
    this.trSel = 0; this.trBase = 0; this.trLimit = 0xffff; this.trAttr = 0x8b00;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0;
    this.dr[7] = 0x400;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.cpl = 0;
    this.halted = false;
    this.interruptShadow = false;
    this.nmiPending = false;
    this.nmiBlocked = false;
    this.tscOffset = -BigInt(this.tscTicks()); // the TSC restarts from 0
    this.fpu.reset();
  }

  // ---- faults -------------------------------------------------------------

  raise(vector: number, errorCode = -1): never {
    throw new CpuException(vector, errorCode);
  }

  // ---- segmented memory -----------------------------------------------------

  /**
   * Check an access of `size` bytes at `offset` in segment `seg` against its limit
   * (and, in protected mode, its type), and return the linear address.
   */
  linear(seg: number, offset: number, size: number, write: boolean): number {
    const limit = this.segLimit[seg]!;
    const attr = this.segAttr[seg]!;
    const last = offset + size - 1;
    if (attr & 0x400 && !(attr & 0x800)) {
      // Expand-down data segment: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF.
      const top = attr & FLAG_DB ? 0xffffffff : 0xffff;
      if (offset <= limit || last > top) this.segmentFault(seg);
    } else if (last > limit) {
      this.segmentFault(seg);
    }
    if (this.protectedMode && !(this.flagsBits & FLAG.VM)) this.checkSegmentType(seg, write);
    const lin = (this.segBase[seg]! + offset) | 0;
    // Alignment check (SDM vol. 3 §6.15, #AC): CR0.AM, EFLAGS.AC and CPL 3 (v8086 mode included).
    if (lin & (size - 1) && this.flagsBits & FLAG.AC && this.cpl === 3 && this.cr0 & CR0_AM &&
        (size === 2 || size === 4 || size === 8)) this.raise(EXC.AC, 0);
    return lin;
  }

  private segmentFault(seg: number): never {
    if (seg === SREG.SS) this.raise(EXC.SS, 0);
    this.raise(EXC.GP, 0);
  }

  private checkSegmentType(seg: number, write: boolean): void {
    const attr = this.segAttr[seg]!;
    if (!(attr & 0x8000)) this.segmentFault(seg); // null or not present (a null selector loads P=0)
    if (attr & 0x800) {
      // Code: never writable; readable only with R.
      if (write || !(attr & 0x200)) this.raise(EXC.GP, 0);
    } else if (write && !(attr & 0x200)) {
      this.segmentFault(seg);
    }
  }

  read8(seg: number, off: number): number {
    return this.mem.read8(this.linear(seg, off, 1, false));
  }
  read16(seg: number, off: number): number {
    return this.mem.read16(this.linear(seg, off, 2, false));
  }
  read32(seg: number, off: number): number {
    return this.mem.read32(this.linear(seg, off, 4, false));
  }
  write8(seg: number, off: number, v: number): void {
    this.mem.write8(this.linear(seg, off, 1, true), v);
  }
  write16(seg: number, off: number, v: number): void {
    this.mem.write16(this.linear(seg, off, 2, true), v);
  }
  write32(seg: number, off: number, v: number): void {
    this.mem.write32(this.linear(seg, off, 4, true), v);
  }
  readSized(seg: number, off: number, size: number): number {
    return size === 1 ? this.read8(seg, off) : size === 2 ? this.read16(seg, off) : this.read32(seg, off);
  }
  writeSized(seg: number, off: number, size: number, v: number): void {
    if (size === 1) this.write8(seg, off, v);
    else if (size === 2) this.write16(seg, off, v);
    else this.write32(seg, off, v);
  }

  // ---- EFLAGS -----------------------------------------------------------------

  get eflags(): number {
    return getFlags(this);
  }
  set eflags(v: number) {
    loadFlags(this, v);
  }

  // ---- operands -----------------------------------------------------------------

  /** The memory operand's segment (override or default). */
  seg(i: Insn): number {
    return i.segOverride >= 0 ? i.segOverride : i.defaultSeg;
  }

  /** The memory operand's effective address (offset within its segment). */
  ea(i: Insn): number {
    if (i.adsize === 16) {
      let a = i.disp;
      if (i.base >= 0) a += this.r16[i.base << 1]!;
      if (i.index >= 0) a += this.r16[i.index << 1]!;
      return a & 0xffff;
    }
    let a = i.disp;
    if (i.base >= 0) a += this.r32[i.base]!;
    if (i.index >= 0) a += this.r32[i.index]! << i.scale;
    return a >>> 0;
  }

  /** Width in bytes of operand k of the instruction. */
  width(i: Insn, k: number): number {
    const op = i.row.operands[k]!;
    switch (op.size) {
      case 'b': case 'bs': return 1;
      case 'w': return 2;
      case 'd': return 4;
      default: return i.opsize >> 3;
    }
  }

  /** Register operand of a given width. */
  getReg(n: number, size: number): number {
    return size === 1 ? this.reg8(n) : size === 2 ? this.r16[n << 1]! : this.r32[n]! >>> 0;
  }
  setReg(n: number, size: number, v: number): void {
    if (size === 1) this.setReg8(n, v);
    else if (size === 2) this.r16[n << 1] = v;
    else this.r32[n] = v;
  }

  /** ModRM r/m operand (register or memory) of a given width. */
  readE(i: Insn, size: number): number {
    if (i.mod === 3) return this.getReg(i.rm, size);
    return this.readSized(this.seg(i), this.ea(i), size);
  }
  writeE(i: Insn, size: number, v: number): void {
    if (i.mod === 3) this.setReg(i.rm, size, v);
    else this.writeSized(this.seg(i), this.ea(i), size, v);
  }

  /** Read operand k, whatever its kind, zero-extended (immediates keep their decoded value). */
  readOp(i: Insn, k: number): number {
    const op = i.row.operands[k]!;
    const size = this.width(i, k);
    switch (op.kind) {
      case 'E': case 'M': return this.readE(i, size);
      case 'G': return this.getReg(i.reg, size);
      case 'Z': return this.getReg(i.rm, size);
      case 'reg': return this.getReg(op.reg, size);
      case 'I': return op.size === 'bs' ? i.imm & (size === 2 ? 0xffff : 0xffffffff) : i.imm;
      case 'one': return 1;
      case 'O': return this.readSized(this.seg(i), i.disp, size);
      case 'sreg': return this.segSel[op.reg]!;
      case 'S': return this.segSel[i.reg]!;
      default: throw new Error(`readOp: operand ${op.text} of ${i.row.spec.syntax}`);
    }
  }

  writeOp(i: Insn, k: number, v: number): void {
    const op = i.row.operands[k]!;
    const size = this.width(i, k);
    switch (op.kind) {
      case 'E': case 'M': this.writeE(i, size, v); return;
      case 'G': this.setReg(i.reg, size, v); return;
      case 'Z': this.setReg(i.rm, size, v); return;
      case 'reg': this.setReg(op.reg, size, v); return;
      case 'O': this.writeSized(this.seg(i), i.disp, size, v); return;
      default: throw new Error(`writeOp: operand ${op.text} of ${i.row.spec.syntax}`);
    }
  }

  // ---- stack --------------------------------------------------------------------

  /** Stack pointer (ESP or SP by SS.B). */
  get sp(): number {
    return this.stack32 ? this.r32[REG.ESP]! >>> 0 : this.r16[REG.ESP << 1]!;
  }
  set sp(v: number) {
    if (this.stack32) this.r32[REG.ESP] = v;
    else this.r16[REG.ESP << 1] = v;
  }
  private stackOffset(delta: number): number {
    return this.stack32 ? (this.r32[REG.ESP]! + delta) >>> 0 : (this.r16[REG.ESP << 1]! + delta) & 0xffff;
  }

  /** Push a value of `size` bytes (2 or 4). The write happens before ESP moves. */
  push(size: number, v: number): void {
    const off = this.stackOffset(-size);
    this.writeSized(SREG.SS, off, size, v);
    this.sp = off;
  }
  pop(size: number): number {
    const off = this.stackOffset(0);
    const v = this.readSized(SREG.SS, off, size);
    this.sp = this.stackOffset(size);
    return v;
  }
  /** Read the stack at SP + delta without moving it (for multi-pop sequences that must fault first). */
  peek(size: number, delta: number): number {
    return this.readSized(SREG.SS, this.stackOffset(delta), size);
  }
  /** Write the stack at SP + delta without moving it. */
  poke(size: number, delta: number, v: number): void {
    this.writeSized(SREG.SS, this.stackOffset(delta), size, v);
  }

  // ---- segment registers ------------------------------------------------------

  /** Load a segment register (MOV Sreg, POP Sreg, LDS...) in the current mode. */
  loadSegment(seg: number, selector: number): void {
    selector &= 0xffff;
    if (!this.protectedMode || this.flagsBits & FLAG.VM) {
      this.loadSegReal(seg, selector);
      if (seg === SREG.CS) this.segAttr[SREG.CS] = (this.segAttr[SREG.CS]! & ~0xf00) | 0xb00;
      return;
    }
    if (!this.sys) this.raise(EXC.GP, selector & 0xfffc);
    this.sys.loadSegment(this, seg, selector);
  }

  // ---- interrupts -------------------------------------------------------------

  /**
   * Deliver interrupt `vector`. For faults EIP is the faulting instruction; for
   * software interrupts and external ones, `nextEip` is the return address.
   */
  interrupt(vector: number, errorCode: number, kind: DeliveryKind, returnEip: number): void {
    if (this.protectedMode && this.sys) {
      this.sys.deliver(this, vector, errorCode, kind, returnEip);
      return;
    }
    // Real mode: the IVT at IDTR.base, 4 bytes per vector (SDM vol. 3 §20.1.4).
    const entry = vector * 4;
    if (entry + 3 > this.idtrLimit) this.raise(EXC.GP, vector * 8 + 2);
    const flags = this.eflags;
    const off = this.mem.read16((this.idtrBase + entry) | 0);
    const sel = this.mem.read16((this.idtrBase + entry + 2) | 0);
    const osz = 2;
    this.push(osz, flags);
    this.push(osz, this.segSel[SREG.CS]!);
    this.push(osz, returnEip);
    this.eflags = flags & ~(FLAG.IF | FLAG.TF | FLAG.AC | FLAG.RF);
    this.loadSegment(SREG.CS, sel);
    this.eip = this.nextEip = off;
  }

  /**
   * Deliver an exception raised while executing. A fault during delivery becomes
   * a double fault where SDM vol. 3 table 6-5 says so (contributory after
   * contributory, anything but a benign exception after #PF), is otherwise
   * delivered in turn, and a fault while delivering #DF shuts the processor down.
   * Public for the translator, whose code restores the state before the
   * faulting instruction and hands the exception to the run loop.
   */
  deliverException(e: CpuException, startEip: number): void {
    if (e.inNewTask) {
      this.r32[REG.ESP] = e.newTaskEsp;
      this.deliverEvent(e.vector, e.errorCode, 'fault', e.newTaskEip, e.newTaskEip);
      return;
    }
    const trap = e.vector === EXC.BP || e.vector === EXC.OF;
    this.deliverEvent(e.vector, e.errorCode, trap ? 'software' : 'fault', trap ? this.nextEip : startEip, startEip);
  }

  /** Deliver an event with the #DF/shutdown escalation of a fault during delivery. */
  private deliverEvent(vector: number, code: number, kind: DeliveryKind, returnEip: number, startEip: number): void {
    const contributory = (v: number) => v === EXC.DE || (v >= EXC.TS && v <= EXC.GP);
    // INT n is not an exception: a fault while delivering it is delivered in turn (SDM vol. 3 table 6-5
    // classes exceptions, and INT 0 or INT 13 are neither contributory nor #PF).
    let first = kind === 'software' ? -1 : vector;
    for (;;) {
      const esp = this.r32[REG.ESP]!;
      this.eip = startEip;
      try {
        this.interrupt(vector, code, kind, returnEip);
        return;
      } catch (err) {
        if (!(err instanceof CpuException)) throw err;
        if (err.inNewTask) {
          // A task gate switched tasks and the new task's state failed its checks:
          // the event was delivered; the new exception is the new task's own.
          this.r32[REG.ESP] = err.newTaskEsp;
          vector = first = err.vector;
          code = err.errorCode;
          kind = 'fault';
          returnEip = startEip = err.newTaskEip;
          continue;
        }
        this.r32[REG.ESP] = esp;
        if (first === EXC.DF) {
          this.shutdown(`triple fault: ${excName(err.vector)} while delivering #DF at ${this.where(startEip)}`);
          return;
        }
        const second = err.vector;
        const double = (contributory(first) && contributory(second)) ||
          (first === EXC.PF && (contributory(second) || second === EXC.PF));
        vector = double ? EXC.DF : second;
        first = vector;
        code = double ? 0 : err.errorCode;
        kind = 'fault';
        returnEip = startEip;
      }
    }
  }

  /** Raise NMI: delivered at the next instruction boundary, then blocked until the next IRET. */
  nmi(): void {
    this.nmiPending = true;
  }

  /**
   * Serve a pending NMI or external interrupt at an instruction boundary (not in
   * the shadow of STI or MOV SS). Returns true when one was delivered.
   */
  serveInterrupts(): boolean {
    if (this.interruptShadow) return false;
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.deliverEvent(EXC.NMI, -1, 'external', this.eip, this.eip);
      return true;
    }
    const pic = this.interruptController;
    if (pic && this.flagsBits & FLAG.IF && pic.hasInterrupt()) {
      const vector = pic.acknowledge();
      this.halted = false;
      this.deliverEvent(vector, -1, 'external', this.eip, this.eip);
      return true;
    }
    return false;
  }

  modeChanged(cr3Only: boolean): void {
    this.fetchLinPage = -1;
    if (this.onModeChange) this.onModeChange(cr3Only);
  }

  /** CS:EIP as text, for reports. */
  private where(eip: number): string {
    return `${this.segSel[SREG.CS]!.toString(16).padStart(4, '0')}:${(eip >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** Triple fault: the processor shuts down. */
  shutdown(cause = 'shutdown'): void {
    this.shutdownCause = cause;
    this.stopReason = 'shutdown';
    if (this.onShutdown) this.onShutdown();
  }

  // ---- execution ------------------------------------------------------------------

  /** Fetch and decode the instruction at CS:EIP into `out`. */
  fetchDecode(out: Insn): Insn {
    const code32 = this.code32;
    const eip = this.eip;
    const limit = this.segLimit[SREG.CS]!;
    // Bytes available before the CS limit (an instruction may not cross it).
    const avail = Math.min(15, limit - eip + 1);
    if (avail <= 0) this.raise(EXC.GP, 0);
    const lin = (this.segBase[SREG.CS]! + eip) | 0;
    let n = this.mem.fetch(lin, this.fetchBuf, 0, avail);
    decode(this.fetchBuf, 0, code32, n, out);
    while (out.fault === 'truncated' && n < avail) {
      n += this.mem.fetch((lin + n) | 0, this.fetchBuf, n, avail - n);
      decode(this.fetchBuf, 0, code32, n, out);
    }
    if (out.fault === 'truncated') {
      // Out of CS limit: #GP; 15 bytes without an end is the length limit: #GP too.
      this.raise(EXC.GP, 0);
    }
    return out;
  }

  /** Forget the decoded instructions of a physical page (it is being written). */
  dropDecoded(page: number): void {
    this.decodeCache[page] = undefined;
    this.fetchLinPage = -1;
  }

  /**
   * The fetch fast path remembers the decode-cache entries of the linear page
   * EIP is on; anything that can change what that page maps to, or whether the
   * CPU may fetch from it, forgets it.
   */
  private fetchLinPage = -1;
  private fetchEntries: Insn[] | null = null;

  invalidateFetch(): void {
    this.fetchLinPage = -1;
  }

  setCpl(cpl: number): void {
    if (this.cpl !== cpl) {
      this.cpl = cpl;
      this.fetchLinPage = -1;
    }
  }

  /** INVLPG: the TLB entry and the fetch fast path. */
  invlpg(lin: number): void {
    this.fetchLinPage = -1;
    if (this.onInvlpg) this.onInvlpg(lin);
  }

  /** The decoded instruction at CS:EIP, from the decode cache when possible. */
  private current(): Insn {
    const code32 = (this.segAttr[SREG.CS]! >>> 22) & 1;
    const eip = this.eip;
    const phys = this.mem.translateCode((this.segBase[SREG.CS]! + eip) | 0);
    const page = phys >>> 12;
    const slot = ((phys & 0xfff) << 1) | code32;
    const entries = this.decodeCache[page];
    const cached = entries?.[slot];
    if (cached) {
      if (eip + cached.length - 1 > this.segLimit[SREG.CS]!) this.raise(EXC.GP, 0);
      this.fetchLinPage = ((this.segBase[SREG.CS]! + eip) | 0) >>> 12;
      this.fetchEntries = entries!;
      return cached;
    }
    this.decodeCacheMisses++;
    const insn = this.fetchDecode(newInsn());
    if (!insn.fault && (phys & 0xfff) + insn.length <= 0x1000) {
      let entries = this.decodeCache[page];
      if (!entries) {
        // Pre-sized so that V8 keeps fast (holey) elements: a sparse [] would become a dictionary.
        entries = this.decodeCache[page] = new Array<Insn>(8192);
        this.mem.watchCodePage(page);
      }
      entries[slot] = insn;
      this.fetchLinPage = ((this.segBase[SREG.CS]! + eip) | 0) >>> 12;
      this.fetchEntries = entries;
    }
    return insn;
  }

  /**
   * Execute one instruction (or deliver the exception it raises). With TF set
   * at its start, a single-step #DB trap follows an instruction that completes
   * (SDM vol. 3 §17.3.1.4): after the control transfer of INT n or a task
   * switch too, but not after MOV SS or POP SS, whose trap is suppressed
   * (§6.8.3), and not after a fault, which is delivered instead.
   */
  step(): void {
    const start = this.eip;
    const esp = this.r32[REG.ESP]!;
    const tf = (this.flagsBits & FLAG.TF) !== 0;
    let insn: Insn | null = null;
    try {
      insn = this.current();
      this.execute(insn);
    } catch (e) {
      if (!(e instanceof CpuException)) throw e;
      this.r32[REG.ESP] = esp;
      this.deliverException(e, start);
      return;
    }
    if (tf && !(this.interruptShadow && insn.row.sem !== 'sti')) this.singleStepTrap();
  }

  /** Deliver the single-step #DB trap: DR6.BS set, the saved EIP is the next instruction. */
  private singleStepTrap(): void {
    this.dr[6] = this.dr[6]! | 0x4000;
    this.deliverEvent(EXC.DB, -1, 'external', this.eip, this.eip);
  }

  /** Run the semantics of a decoded instruction at the current EIP. */
  execute(insn: Insn): void {
    const row = insn.row;
    if (insn.fault) this.raise(insn.fault === 'gp' ? EXC.GP : EXC.UD, insn.fault === 'gp' ? 0 : -1);
    if (insn.lock && !(row.lock && insn.mod !== 3)) this.raise(EXC.UD);
    const len = insn.length;
    this.nextEip = this.segAttr[SREG.CS]! & ATTR.DB ? (this.eip + len) >>> 0 : (this.eip + len) & 0xffff;
    this.insn = insn;
    const fn = this.semById[row.id];
    if (!fn) this.raise(EXC.UD);
    this.interruptShadow = false;
    fn(this, insn);
    this.eip = this.nextEip;
    this.instructionCount++;
  }

  /**
   * Set by the machine when an interrupt line changes or the guest writes an
   * I/O port: the interrupt controller is asked at the next boundary, and the
   * flag is cleared when it has nothing deliverable.
   */
  interruptCheck = false;

  /** Run up to `count` instructions; returns why it stopped. */
  run(count: number): StopReason {
    this.stopReason = '';
    let n = 0;
    while (n < count) {
      if (this.nmiPending || (this.interruptCheck && this.flagsBits & FLAG.IF)) {
        // Keep asking while the STI/MOV SS shadow holds an interrupt off (it is deliverable after the next instruction).
        if (!this.serveInterrupts() && !this.nmiPending && !this.interruptShadow) this.interruptCheck = false;
      }
      if (this.halted) return 'halt';
      if (this.flagsBits & FLAG.TF) {
        this.step();
        n++;
      } else {
        n += this.runFast(count - n);
      }
      if (this.stopReason) return this.stopReason;
    }
    return 'count';
  }

  /**
   * The cold tier's inner loop: instructions from the decode cache with no
   * per-instruction exception frame, until `limit` instructions, a stop, a halt,
   * a pending event or the trap flag. Returns how many it ran (a faulting
   * instruction counts: its exception was delivered).
   */
  private runFast(limit: number): number {
    let done = 0;
    let start = 0;
    let esp = 0;
    for (;;) {
      try {
        while (done < limit) {
          start = this.eip;
          esp = this.r32[REG.ESP]!;
          const lin = (this.segBase[SREG.CS]! + start) | 0;
          let insn: Insn | undefined;
          if (lin >>> 12 === this.fetchLinPage) {
            insn = this.fetchEntries![((lin & 0xfff) << 1) | ((this.segAttr[SREG.CS]! >>> 22) & 1)];
            if (insn && start + insn.length - 1 > this.segLimit[SREG.CS]!) insn = undefined;
          }
          this.execute(insn ?? this.current());
          done++;
          if (this.stopReason || this.halted || this.nmiPending || this.flagsBits & FLAG.TF ||
              (this.interruptCheck && this.flagsBits & FLAG.IF && !this.interruptShadow)) return done;
        }
        return done;
      } catch (e) {
        if (!(e instanceof CpuException)) throw e;
        this.r32[REG.ESP] = esp;
        this.deliverException(e, start);
        done++;
        if (this.stopReason || this.halted) return done;
      }
    }
  }

  /** The row of the instruction being executed (for semantics shared between forms). */
  get row(): Row {
    return this.insn!.row;
  }
}

const FLAG_DB = 1 << 22;
const CR0_AM = 1 << 18;

const EXC_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', '#09', '#TS', '#NP', '#SS', '#GP', '#PF', '#15', '#MF', '#AC', '#MC'];
function excName(v: number): string {
  return EXC_NAMES[v] ?? `#${v}`;
}
export { SREG, REG, EXC, CpuException };
export type { LinearMemory, PortBus, SystemHooks, DeliveryKind };
