/**
 * The processor's local APIC (Intel SDM vol. 3A, chapter "Advanced Programmable
 * Interrupt Controller"), in xAPIC MMIO form at IA32_APIC_BASE (0xFEE00000 after
 * reset), for the one processor of this machine.
 *
 * It is what the CPU asks for interrupts (cpu.interruptController). It merges:
 * - fixed interrupts in the IRR: its own LVT timer and error interrupts, IPIs
 *   the processor sends itself through the ICR, and messages from the I/O APIC
 *   (deliver()), each accepted only when its vector's priority class is above
 *   the processor priority (PPR, from TPR and the highest in-service vector);
 * - ExtINT through LINT0 (virtual-wire mode): the 8259 PIC's INTR, acknowledged
 *   at the PIC, when LVT LINT0 is unmasked with delivery mode ExtINT. IRR
 *   interrupts go first;
 * - NMIs (LVT LINT1, the ICR, the I/O APIC) through onNmi.
 * With IA32_APIC_BASE.EN clear the APIC is globally disabled: its window is
 * gone and the PIC's INTR reaches the processor directly, as on a processor
 * without an APIC (the register state returns to its power-up values).
 *
 * Registers (offsets in the 4 KiB window; each 32 bits wide at a 16-byte slot):
 *   020 ID (31:24)  030 version  080 TPR  090 APR  0A0 PPR  0B0 EOI  0D0 LDR
 *   0E0 DFR  0F0 SVR  100-170 ISR  180-1F0 TMR  200-270 IRR  280 ESR
 *   300/310 ICR  320 LVT timer  330 LVT thermal  340 LVT perf  350 LINT0
 *   360 LINT1  370 LVT error  380 initial count  390 current count  3E0 divide
 * Accesses narrower than 32 bits see the matching bytes of the register; the
 * other twelve bytes of each slot and unimplemented registers read 0 and
 * ignore writes. The version register reports an integrated APIC (0x14) with
 * five LVT entries (timer, perf, LINT0, LINT1, error: max LVT 4, as a P6);
 * the thermal entry is kept but not counted. Bits 3:0 of the spurious vector
 * are hardwired to 1 (P6), bit 9 (focus checking) is kept and ignored.
 *
 * Priorities: PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0, where ISRV
 * is the highest in-service vector. The highest IRR vector is delivered when its
 * class is above PPR[7:4]. Acknowledge moves it to the ISR; an EOI clears the
 * highest ISR bit and, when that vector was accepted level-triggered (TMR),
 * broadcasts the EOI to the I/O APIC (onEoi). While software-disabled (SVR bit
 * 8 clear) every LVT mask is forced on; pending IRR/ISR bits are kept.
 *
 * The timer counts down at the bus clock (APIC_BUS_HZ, 100 MHz) divided by the
 * divide configuration (1-128): one-shot stops at 0, periodic reloads the
 * initial count; an interrupt is raised each time the count reaches 0. Nothing
 * ticks: the count is computed from virtual time (clock.now()) and one clock
 * timer is armed at the next zero. Writing the initial count restarts it,
 * writing 0 stops it; a new divide value takes effect from the current count.
 * TSC-deadline mode is not implemented (and not claimed by CPUID).
 *
 * IPIs: the ICR sends to this processor when the destination matches (self,
 * all-including-self, physical ID or broadcast 0xFF, logical flat/cluster via
 * LDR/DFR); fixed and lowest-priority go to the IRR, NMI to onNmi. INIT, SIPI
 * and SMI have nowhere to go on one processor and are dropped. Vectors 0-15 are
 * illegal: sending or receiving one sets ESR bits 5/6 (and raises the LVT error
 * interrupt when unmasked). The ESR reads the errors latched by the last write.
 *
 * Departures, for a simple emulator: the ICR's delivery-status bit always reads
 * idle; remote IRR of LINT0/LINT1 is never set (LINT0 carries only ExtINT, LINT1
 * only NMI: fixed delivery on LINT pins is not modelled); CPUID.1:EDX.APIC does
 * not follow IA32_APIC_BASE.EN. Firmware (or the machine, where there is no
 * BIOS) must put the APIC into virtual-wire mode (virtualWire()) for the PIC to
 * reach the processor while the APIC is enabled, as BIOSes do per the MP spec.
 */
import type { Device, DeviceHost } from './device.js';
import type { Timer } from '../clock.js';
import type { MmioRegion, MmioRegistry } from '../mmio.js';

const STATE_VERSION = 1;

/** The APIC timer's input clock (the "bus clock"): 100 MHz, one tick per 10 ns of virtual time. */
export const APIC_BUS_HZ = 100_000_000;
const TICK_NS = 1e9 / APIC_BUS_HZ;

export const APIC_DEFAULT_BASE = 0xfee00000;
const BASE_EN = 1 << 11;
const BASE_BSP = 1 << 8;
/** IA32_APIC_BASE MSR index. */
export const MSR_APIC_BASE = 0x1b;

const VERSION = 0x14 | (4 << 16);

const LVT_MASKED = 1 << 16;
const LVT_TIMER_PERIODIC = 1 << 17;
const SVR_ENABLE = 1 << 8;

/** LVT entries, by index. */
const LVT = { TIMER: 0, THERMAL: 1, PERF: 2, LINT0: 3, LINT1: 4, ERROR: 5 } as const;
/** Writable bits of each LVT entry (vector, delivery mode, polarity, trigger, mask, timer mode). */
const LVT_WRITABLE = [0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff];

const DM = { FIXED: 0, LOWEST: 1, SMI: 2, NMI: 4, INIT: 5, STARTUP: 6, EXTINT: 7 } as const;

const ESR_SEND_ILLEGAL = 1 << 5;
const ESR_RECEIVE_ILLEGAL = 1 << 6;

/** Divide configuration bits (3, 1:0) -> divisor. */
function divisor(dcr: number): number {
  const code = ((dcr >> 1) & 4) | (dcr & 3);
  return code === 7 ? 1 : 2 << code;
}

/** An interrupt source the APIC can acknowledge (the 8259 pair behind LINT0). */
export interface ExtIntSource {
  hasInterrupt(): boolean;
  acknowledge(): number;
}

export interface LocalApicState {
  version: number;
  base: number;
  baseHi: number;
  enabled: boolean;
  id: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  isr: number[];
  tmr: number[];
  irr: number[];
  esr: number;
  esrPending: number;
  icrLo: number;
  icrHi: number;
  lvt: number[];
  initialCount: number;
  dcr: number;
  /** Virtual time (ns) at which the count was `initialCount` with no ticks elapsed (it may be negative), or null when stopped. */
  timerStart: number | null;
}

export class LocalApic implements Device {
  readonly name = 'lapic';
  /** Called when an interrupt may have become deliverable: the machine sets cpu.interruptCheck. */
  onInterruptPending: (() => void) | null = null;
  /** Deliver an NMI to the processor (cpu.nmi()). */
  onNmi: (() => void) | null = null;
  /** EOI of a level-triggered vector: broadcast to the I/O APIC(s). */
  onEoi: ((vector: number) => void) | null = null;

  private pic: ExtIntSource | null = null;
  private clock: DeviceHost['clock'] | null = null;
  private mmio: MmioRegistry | null = null;
  private window: MmioRegion | null = null;
  private timer: Timer | null = null;

  private base = APIC_DEFAULT_BASE;
  private baseHi = 0;
  private enabled = true;
  private id = 0;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(6);
  private initialCount = 0;
  private dcr = 0;
  private timerStart: number | null = null;

  private readonly handler = {
    read: (off: number, size: 1 | 2 | 4) => this.mmioRead(off, size),
    write: (off: number, size: 1 | 2 | 4, v: number) => this.mmioWrite(off, size, v),
  };

  /** The IA32_APIC_BASE MSR, for cpu.deviceMsrs. */
  readonly msrs = {
    read: (index: number): bigint | undefined => (index === MSR_APIC_BASE ? this.readBaseMsr() : undefined),
    write: (index: number, value: bigint): 'ok' | 'gp' | 'unknown' => {
      if (index !== MSR_APIC_BASE) return 'unknown';
      return this.writeBaseMsr(value) ? 'ok' : 'gp';
    },
  };

  constructor(readonly apicId = 0) {
    this.id = apicId;
    this.powerOn();
  }

  attach(host: DeviceHost): void {
    if (!host.mmio) throw new Error('the local APIC needs an MMIO registry');
    this.clock = host.clock;
    this.mmio = host.mmio;
    this.timer = host.clock.createTimer(() => this.timerFired());
    this.mapWindow();
  }

  /** Connect the 8259 PIC's INTR (LINT0 in ExtINT mode, or directly while the APIC is globally disabled). */
  connectPic(pic: ExtIntSource): void {
    this.pic = pic;
  }

  reset(): void {
    this.base = APIC_DEFAULT_BASE;
    this.baseHi = 0;
    this.enabled = true;
    this.id = this.apicId;
    this.powerOn();
    this.mapWindow();
  }

  /** SDM "local APIC state after power-up or reset" (the ID and base are not touched). */
  private powerOn(): void {
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.isr.fill(0);
    this.tmr.fill(0);
    this.irr.fill(0);
    this.esr = this.esrPending = 0;
    this.icrLo = this.icrHi = 0;
    this.lvt.fill(LVT_MASKED);
    this.initialCount = 0;
    this.dcr = 0;
    this.timerStart = null;
    if (this.timer) this.clock!.cancel(this.timer);
  }

  /**
   * Firmware hand-off in virtual-wire mode (MP spec): software-enabled with
   * spurious vector 0xFF, LINT0 ExtINT (the PIC), LINT1 NMI. The machine calls
   * it on boot paths without a BIOS, where it plays the firmware's part.
   */
  virtualWire(): void {
    this.svr = 0x1ff;
    this.lvt[LVT.LINT0] = DM.EXTINT << 8;
    this.lvt[LVT.LINT1] = DM.NMI << 8;
    this.notify();
  }

  // ---- the IA32_APIC_BASE MSR ---------------------------------------------------------

  readBaseMsr(): bigint {
    return (BigInt(this.baseHi) << 32n) | BigInt((this.base | (this.enabled ? BASE_EN : 0) | BASE_BSP) >>> 0);
  }

  /** Returns false for a value with reserved bits set (MAXPHYADDR 36): #GP. */
  writeBaseMsr(v: bigint): boolean {
    if (v & ~0xffffff900n) return false;
    const lo = Number(v & 0xffffffffn);
    const enable = (lo & BASE_EN) !== 0;
    this.base = (lo & 0xfffff000) >>> 0;
    this.baseHi = Number(v >> 32n);
    if (this.enabled && !enable) {
      // Globally disabled: the APIC returns to its power-up state (SDM) and the PIC's INTR bypasses it.
      this.powerOn();
    }
    this.enabled = enable;
    this.mapWindow();
    this.notify();
    return true;
  }

  private mapWindow(): void {
    if (!this.mmio) return;
    const want = this.enabled && this.baseHi === 0;
    if (!want) {
      if (this.window) this.mmio.remove(this.window);
      this.window = null;
    } else if (this.window) {
      this.mmio.move(this.window, this.base);
    } else {
      this.window = this.mmio.add('lapic', this.base, 0x1000, this.handler);
    }
  }

  // ---- the processor's side ----------------------------------------------------------

  hasInterrupt(): boolean {
    if (!this.enabled) return this.pic !== null && this.pic.hasInterrupt();
    const v = highest(this.irr);
    if (v >= 0 && (v & 0xf0) > this.ppr()) return true;
    return this.extIntEnabled() && this.pic !== null && this.pic.hasInterrupt();
  }

  acknowledge(): number {
    if (!this.enabled) return this.pic ? this.pic.acknowledge() : 0xff;
    const v = highest(this.irr);
    if (v >= 0 && (v & 0xf0) > this.ppr()) {
      clearBit(this.irr, v);
      setBit(this.isr, v);
      return v;
    }
    if (this.extIntEnabled() && this.pic && this.pic.hasInterrupt()) return this.pic.acknowledge();
    return this.svr & 0xff; // spurious: nothing left by the time of the INTA cycle
  }

  private extIntEnabled(): boolean {
    const l = this.lvt[LVT.LINT0]!;
    return (l & LVT_MASKED) === 0 && ((l >> 8) & 7) === DM.EXTINT;
  }

  private ppr(): number {
    const isrv = Math.max(0, highest(this.isr));
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr : isrv & 0xf0;
  }

  private notify(): void {
    if (this.onInterruptPending && this.hasInterrupt()) this.onInterruptPending();
  }

  // ---- the bus side: messages from the I/O APIC, LINT pins --------------------------

  /** Whether a message with this destination field (and mode: logical or physical) reaches this APIC. */
  acceptsDestination(dest: number, logical: boolean): boolean {
    if (!this.enabled) return false;
    dest &= 0xff;
    if (!logical) return dest === 0xff || dest === (this.id >>> 24);
    const ldr = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (dest & ldr) !== 0; // flat model
    // Cluster model: the high nibbles name the cluster (15 = all), the low ones select within it.
    return ((dest >> 4) === (ldr >> 4) || (dest >> 4) === 0xf) && (dest & ldr & 0x0f) !== 0;
  }

  /**
   * A message for this processor (from the I/O APIC, or an IPI): delivery mode
   * (0 fixed, 1 lowest priority, 4 NMI; others dropped), vector, and
   * whether it was level-triggered (sets the TMR so that its EOI is broadcast).
   */
  deliver(mode: number, vector: number, level: boolean): void {
    if (!this.enabled) return;
    switch (mode) {
      case DM.FIXED:
      case DM.LOWEST:
        this.acceptFixed(vector & 0xff, level);
        return;
      case DM.NMI:
        this.onNmi?.();
        return;
      default:
        // SMI, INIT, SIPI: nothing on a single processor without SMM. ExtINT through the I/O APIC
        // needs the PIC's INTR on an I/O APIC pin, which this board does not wire (LINT0 carries it).
        return;
    }
  }

  /** The LINT1 pin (wired to the NMI sources): delivered as programmed in LVT LINT1, or as NMI while globally disabled. */
  lint1(): void {
    if (!this.enabled) {
      this.onNmi?.();
      return;
    }
    const l = this.lvt[LVT.LINT1]!;
    if (l & LVT_MASKED) return;
    if (((l >> 8) & 7) === DM.NMI) this.onNmi?.();
    else if (((l >> 8) & 7) === DM.FIXED) this.acceptFixed(l & 0xff, false);
  }

  private acceptFixed(vector: number, level: boolean): void {
    if (vector < 16) {
      this.error(ESR_RECEIVE_ILLEGAL);
      return;
    }
    setBit(this.irr, vector);
    if (level) setBit(this.tmr, vector);
    else clearBit(this.tmr, vector);
    this.notify();
  }

  private error(bits: number): void {
    const had = this.esrPending;
    this.esrPending |= bits;
    if (had === this.esrPending) return;
    const l = this.lvt[LVT.ERROR]!;
    if (!(l & LVT_MASKED) && (l & 0xff) >= 16) {
      setBit(this.irr, l & 0xff);
      clearBit(this.tmr, l & 0xff);
      this.notify();
    }
  }

  // ---- registers -----------------------------------------------------------------------

  private mmioRead(off: number, size: 1 | 2 | 4): number {
    const slot = off & 0xff0;
    const inSlot = off & 0xf;
    if (inSlot + size > 4) return 0;
    const v = this.readRegister(slot);
    return size === 4 ? v : (v >>> (8 * inSlot)) & (size === 1 ? 0xff : 0xffff);
  }

  private mmioWrite(off: number, size: 1 | 2 | 4, v: number): void {
    const slot = off & 0xff0;
    const inSlot = off & 0xf;
    if (inSlot + size > 4) return;
    if (size !== 4) {
      // A narrow write replaces only its bytes of the register (the rest as last read).
      const mask = (size === 1 ? 0xff : 0xffff) << (8 * inSlot);
      v = ((this.readRegister(slot) & ~mask) | ((v << (8 * inSlot)) & mask)) >>> 0;
    }
    this.writeRegister(slot, v >>> 0);
  }

  /** The register at `slot` (a multiple of 16). */
  readRegister(slot: number): number {
    switch (slot) {
      case 0x020: return this.id >>> 0;
      case 0x030: return VERSION;
      case 0x080: return this.tpr;
      case 0x090: return this.ppr(); // arbitration priority: this processor only arbitrates with itself
      case 0x0a0: return this.ppr();
      case 0x0d0: return this.ldr >>> 0;
      case 0x0e0: return this.dfr >>> 0;
      case 0x0f0: return this.svr;
      case 0x280: return this.esr;
      case 0x300: return this.icrLo;
      case 0x310: return this.icrHi >>> 0;
      case 0x320: case 0x330: case 0x340: case 0x350: case 0x360: case 0x370:
        return this.lvt[(slot - 0x320) >> 4]!;
      case 0x380: return this.initialCount;
      case 0x390: return this.currentCount();
      case 0x3e0: return this.dcr;
    }
    if (slot >= 0x100 && slot < 0x180) return this.isr[(slot - 0x100) >> 4]!;
    if (slot >= 0x180 && slot < 0x200) return this.tmr[(slot - 0x180) >> 4]!;
    if (slot >= 0x200 && slot < 0x280) return this.irr[(slot - 0x200) >> 4]!;
    return 0;
  }

  writeRegister(slot: number, v: number): void {
    switch (slot) {
      case 0x020: this.id = (v & 0xff000000) >>> 0; return;
      case 0x080: this.tpr = v & 0xff; this.notify(); return;
      case 0x0b0: this.eoi(); return;
      case 0x0d0: this.ldr = (v & 0xff000000) >>> 0; return;
      case 0x0e0: this.dfr = (v | 0x0fffffff) >>> 0; return;
      case 0x0f0:
        this.svr = (v & 0x3f0) | 0xf;
        if (!(this.svr & SVR_ENABLE)) for (let i = 0; i < 6; i++) this.lvt[i]! |= LVT_MASKED;
        this.notify();
        return;
      case 0x280:
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case 0x300: this.icrLo = v & 0xccfff; this.sendIpi(); return;
      case 0x310: this.icrHi = (v & 0xff000000) >>> 0; return;
      case 0x320: case 0x330: case 0x340: case 0x350: case 0x360: case 0x370: {
        const i = (slot - 0x320) >> 4;
        let nv = (this.lvt[i]! & ~LVT_WRITABLE[i]!) | (v & LVT_WRITABLE[i]!);
        if (!(this.svr & SVR_ENABLE)) nv |= LVT_MASKED;
        const old = this.lvt[i]!;
        this.lvt[i] = nv >>> 0;
        if (i === LVT.TIMER && (old ^ nv) & LVT_TIMER_PERIODIC) this.rearm();
        if (i === LVT.LINT0) this.notify();
        return;
      }
      case 0x380:
        this.initialCount = v >>> 0;
        this.timerStart = v ? this.now() : null;
        this.rearm();
        return;
      case 0x3e0: {
        const count = this.currentCount();
        const running = this.timerStart !== null && count > 0;
        const elapsed = this.initialCount - count;
        this.dcr = v & 0xb;
        // The count carries on from where it is, at the new rate.
        if (running) this.timerStart = this.now() - elapsed * this.tickNs();
        this.rearm();
        return;
      }
    }
  }

  private eoi(): void {
    const v = highest(this.isr);
    if (v < 0) return;
    clearBit(this.isr, v);
    if (testBit(this.tmr, v)) this.onEoi?.(v);
    this.notify();
  }

  private sendIpi(): void {
    const lo = this.icrLo;
    const vector = lo & 0xff;
    const mode = (lo >> 8) & 7;
    const shorthand = (lo >> 18) & 3;
    const logical = (lo & (1 << 11)) !== 0;
    let toSelf: boolean;
    switch (shorthand) {
      case 0: toSelf = this.acceptsDestination(this.icrHi >>> 24, logical); break;
      case 1: toSelf = true; break; // self
      case 2: toSelf = true; break; // all including self
      default: toSelf = false; // all excluding self: there is no one else
    }
    if ((mode === DM.FIXED || mode === DM.LOWEST) && vector < 16) {
      this.error(ESR_SEND_ILLEGAL);
      return;
    }
    if (!toSelf) return;
    // IPIs are accepted edge-triggered (level IPIs exist only as INIT de-assert).
    if (mode === DM.FIXED || mode === DM.LOWEST) this.acceptFixed(vector, false);
    else if (mode === DM.NMI) this.onNmi?.();
  }

  // ---- the timer ------------------------------------------------------------------------

  private now(): number {
    return this.clock ? this.clock.now() : 0;
  }

  private tickNs(): number {
    return TICK_NS * divisor(this.dcr);
  }

  private periodic(): boolean {
    return (this.lvt[LVT.TIMER]! & LVT_TIMER_PERIODIC) !== 0;
  }

  /** Ticks since the count was loaded. */
  private elapsedTicks(): number {
    return Math.floor((this.now() - this.timerStart!) / this.tickNs());
  }

  currentCount(): number {
    if (this.timerStart === null || this.initialCount === 0) return 0;
    const e = this.elapsedTicks();
    const n = this.initialCount;
    if (e < n) return n - e;
    return this.periodic() ? n - (e % n) : 0;
  }

  /** Arm the clock timer at the next time the count reaches 0. */
  private rearm(): void {
    if (!this.timer || !this.clock) return;
    const n = this.initialCount;
    if (this.timerStart === null || n === 0) {
      this.clock.cancel(this.timer);
      return;
    }
    const e = this.elapsedTicks();
    let zero: number; // tick index of the next zero
    if (e < n) zero = n;
    else if (this.periodic()) zero = (Math.floor(e / n) + 1) * n;
    else {
      this.clock.cancel(this.timer);
      this.timerStart = null;
      return;
    }
    this.clock.arm(this.timer, this.timerStart + zero * this.tickNs());
  }

  private timerFired(): void {
    const l = this.lvt[LVT.TIMER]!;
    if (!(l & LVT_MASKED)) this.acceptFixed(l & 0xff, false);
    if (this.periodic()) this.rearm();
    else this.timerStart = null; // one-shot: the count stays at 0
  }

  // ---- snapshots ------------------------------------------------------------------------

  /** Register values for tests and the monitor. */
  registers(): { irr: number[]; isr: number[]; tmr: number[]; tpr: number; ppr: number; svr: number; lvt: number[] } {
    return { irr: [...this.irr], isr: [...this.isr], tmr: [...this.tmr], tpr: this.tpr, ppr: this.ppr(), svr: this.svr, lvt: [...this.lvt] };
  }

  save(): LocalApicState {
    return {
      version: STATE_VERSION, base: this.base, baseHi: this.baseHi, enabled: this.enabled, id: this.id, tpr: this.tpr,
      ldr: this.ldr, dfr: this.dfr, svr: this.svr, isr: [...this.isr], tmr: [...this.tmr], irr: [...this.irr],
      esr: this.esr, esrPending: this.esrPending, icrLo: this.icrLo, icrHi: this.icrHi, lvt: [...this.lvt],
      initialCount: this.initialCount, dcr: this.dcr, timerStart: this.timerStart,
    };
  }

  restore(state: unknown): void {
    const s = state as LocalApicState;
    if (!s || s.version !== STATE_VERSION) throw new Error(`local APIC state version ${s?.version} is not ${STATE_VERSION}`);
    this.base = s.base; this.baseHi = s.baseHi; this.enabled = s.enabled; this.id = s.id; this.tpr = s.tpr;
    this.ldr = s.ldr; this.dfr = s.dfr; this.svr = s.svr;
    this.isr.set(s.isr); this.tmr.set(s.tmr); this.irr.set(s.irr);
    this.esr = s.esr; this.esrPending = s.esrPending; this.icrLo = s.icrLo; this.icrHi = s.icrHi;
    this.lvt.set(s.lvt);
    this.initialCount = s.initialCount; this.dcr = s.dcr; this.timerStart = s.timerStart;
    this.mapWindow();
    this.rearm();
    this.notify();
  }
}

// ---- 256-bit vector sets ------------------------------------------------------------------

function highest(set: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = set[i]!;
    if (w) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}
function setBit(set: Uint32Array, v: number): void {
  set[v >> 5]! |= 1 << (v & 31);
}
function clearBit(set: Uint32Array, v: number): void {
  set[v >> 5]! &= ~(1 << (v & 31));
}
function testBit(set: Uint32Array, v: number): boolean {
  return (set[v >> 5]! & (1 << (v & 31))) !== 0;
}
