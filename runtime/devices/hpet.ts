/**
 * The High Precision Event Timer at 0xFED00000 (IA-PC HPET Specification 1.0a):
 * a 64-bit main counter at 100 MHz (one tick per 10 ns of virtual time, period
 * 10,000,000 fs) and three comparators. Timer 0 can be periodic; all are 64-bit
 * capable and have a 32-bit mode. The ACPI HPET table (runtime/acpi/tables.ts)
 * tells the OS where it is; Linux then uses it as a clocksource and, in legacy
 * replacement mode, as its global clock event device.
 *
 * Registers (64 bits each; 32-bit halves are accessed independently):
 *   0x000 GCAP_ID   rev 1, 3 timers, 64-bit counter, legacy-replacement capable,
 *                   vendor 8086, period in femtoseconds (bits 63:32)
 *   0x010 GEN_CONF  bit 0 ENABLE_CNF (the counter runs), bit 1 LEG_RT_CNF
 *   0x020 GINTR_STA bit n: timer n's level-triggered interrupt is active (RW1C)
 *   0x0F0 MAIN_CNT  the counter (writable while halted)
 *   0x100 + 0x20n   Tn_CONF_CAP: 1 INT_TYPE (level), 2 INT_ENB, 3 TYPE (periodic),
 *                   4 PER_INT_CAP (RO), 5 SIZE_CAP (RO), 6 VAL_SET, 8 32MODE,
 *                   13:9 INT_ROUTE, 63:32 INT_ROUTE_CAP (RO: I/O APIC pins 20-23)
 *   0x108 + 0x20n   Tn_COMPARATOR
 * A timer fires when the counter reaches its comparator (in 32-bit mode, when the
 * counter's low 32 bits do, and again at every 2^32 ticks). In periodic mode
 * the comparator then advances by the period: a comparator write sets the period,
 * and with VAL_SET (which clears itself) also the comparator, the sequence of the
 * specification that Linux follows.
 *
 * Interrupts: in legacy replacement mode timer 0 drives ISA IRQ 0 (I/O APIC pin
 * 2) and timer 1 IRQ 8, and the machine must disconnect the PIT and RTC from those
 * lines (onLegacyReplacement); otherwise timer n drives I/O APIC pin INT_ROUTE
 * (line 20-23 of the machine's InterruptLines). Edge mode pulses the line; level
 * mode sets GINTR_STA and holds the line until software clears the bit. FSB
 * (MSI) delivery is not implemented and not claimed.
 *
 * Nothing ticks: the counter follows virtual time, and one clock timer per
 * comparator is armed at its next match.
 */
import type { Device, DeviceHost } from './device.js';
import type { Timer } from '../clock.js';

const STATE_VERSION = 1;

export const HPET_BASE = 0xfed00000;
const TICK_NS = 10;
export const HPET_PERIOD_FS = TICK_NS * 1_000_000;
const TIMERS = 3;
const TWO32 = 2 ** 32;
/** I/O APIC pins the comparators may be routed to outside legacy mode. */
const ROUTE_CAP = 0x00f00000;

const CONF = { LEVEL: 1 << 1, ENABLE: 1 << 2, PERIODIC: 1 << 3, PER_CAP: 1 << 4, SIZE_CAP: 1 << 5, VAL_SET: 1 << 6, MODE32: 1 << 8 } as const;
const CONF_WRITABLE = CONF.LEVEL | CONF.ENABLE | CONF.PERIODIC | CONF.VAL_SET | CONF.MODE32 | (0x1f << 9);
const GEN = { ENABLE: 1, LEGACY: 2 } as const;

/** GCAP_ID's low dword: the ACPI HPET table's event timer block ID. */
export const HPET_BLOCK_ID = (0x01 | ((TIMERS - 1) << 8) | (1 << 13) | (1 << 15) | (0x8086 << 16)) >>> 0;

interface TimerState {
  conf: number;
  /** The comparator's two halves (it resets to all ones, beyond exact doubles). */
  cmpLo: number;
  cmpHi: number;
  period: number;
}

/** A 64-bit comparator as a number of ticks, or Infinity when beyond 2^53 (years away). */
function cmp64(t: TimerState): number {
  return t.cmpHi >= 0x200000 ? Infinity : t.cmpHi * TWO32 + t.cmpLo;
}

function setCmp(t: TimerState, v: number): void {
  t.cmpLo = v % TWO32;
  t.cmpHi = ((v - t.cmpLo) / TWO32) % TWO32;
}

export interface HpetState {
  version: number;
  gen: number;
  status: number;
  /** Counter value at `baseNs` (while running), or the frozen value (while halted). */
  counterBase: number;
  baseNs: number;
  timers: TimerState[];
  lines: number;
}

export class Hpet implements Device {
  readonly name = 'hpet';
  /** Legacy replacement mode changed: the machine routes IRQ 0 and IRQ 8 from the HPET (true) or the PIT and RTC (false). */
  onLegacyReplacement: ((enabled: boolean) => void) | null = null;
  private host: DeviceHost | null = null;
  private clockTimers: Timer[] = [];
  private gen = 0;
  private status = 0;
  private counterBase = 0;
  private baseNs = 0;
  private timers: TimerState[] = [];
  /** Lines this device holds high (level mode), by machine line number. */
  private lines = 0;

  constructor(readonly base = HPET_BASE) {
    this.reset();
  }

  attach(host: DeviceHost): void {
    if (!host.mmio) throw new Error('the HPET needs an MMIO registry');
    this.host = host;
    this.clockTimers = Array.from({ length: TIMERS }, (_, n) => host.clock.createTimer(() => this.fire(n)));
    host.mmio.add('hpet', this.base, 0x400, {
      read: (off, size) => this.read(off, size),
      write: (off, size, v) => this.write(off, size, v),
    });
  }

  reset(): void {
    const wasLegacy = (this.gen & GEN.LEGACY) !== 0;
    this.gen = 0;
    this.status = 0;
    this.counterBase = 0;
    this.baseNs = 0;
    this.timers = Array.from({ length: TIMERS }, (_, n) => ({
      conf: (n === 0 ? CONF.PER_CAP : 0) | CONF.SIZE_CAP,
      cmpLo: 0xffffffff,
      cmpHi: 0xffffffff,
      period: 0,
    }));
    for (const t of this.clockTimers) this.host?.clock.cancel(t);
    for (let line = 0; line < 32; line++) if (this.lines & (1 << line)) this.host?.irq.setIrq(line, false);
    this.lines = 0;
    if (wasLegacy) this.onLegacyReplacement?.(false);
  }

  private now(): number {
    return this.host ? this.host.clock.now() : 0;
  }

  /** The main counter (exact below 2^53 ticks: 2.8 years). */
  counter(): number {
    if (!(this.gen & GEN.ENABLE)) return this.counterBase;
    return this.counterBase + Math.floor((this.now() - this.baseNs) / TICK_NS);
  }

  // ---- registers --------------------------------------------------------------------------

  private read(off: number, size: 1 | 2 | 4): number {
    const reg = off & ~7;
    const v = this.readReg(reg);
    const dword = off & 4 ? v.hi : v.lo;
    const shift = 8 * (off & 3);
    return size === 4 ? dword >>> 0 : (dword >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  private readReg(reg: number): { lo: number; hi: number } {
    switch (reg) {
      case 0x000: return { lo: HPET_BLOCK_ID, hi: HPET_PERIOD_FS };
      case 0x010: return { lo: this.gen, hi: 0 };
      case 0x020: return { lo: this.status, hi: 0 };
      case 0x0f0: return split(this.counter());
    }
    const n = (reg - 0x100) >> 5;
    if (reg >= 0x100 && n < TIMERS) {
      const t = this.timers[n]!;
      switch (reg & 0x1f) {
        case 0x00: return { lo: t.conf, hi: ROUTE_CAP };
        case 0x08: return { lo: t.cmpLo, hi: t.conf & CONF.MODE32 ? 0 : t.cmpHi };
      }
    }
    return { lo: 0, hi: 0 };
  }

  private write(off: number, size: 1 | 2 | 4, value: number): void {
    const reg = off & ~7;
    const cur = this.readReg(reg);
    let lo = cur.lo;
    let hi = cur.hi;
    const shift = 8 * (off & 3);
    const mask = size === 4 ? 0xffffffff : ((size === 1 ? 0xff : 0xffff) << shift) >>> 0;
    const v = ((value << shift) & mask) >>> 0;
    if (off & 4) hi = ((hi & ~mask) | v) >>> 0;
    else lo = ((lo & ~mask) | v) >>> 0;
    this.writeReg(reg, lo >>> 0, hi >>> 0, off & 4 ? 'hi' : 'lo');
  }

  private writeReg(reg: number, lo: number, hi: number, half: 'lo' | 'hi'): void {
    switch (reg) {
      case 0x010: {
        const old = this.gen;
        const count = this.counter();
        this.gen = lo & (GEN.ENABLE | GEN.LEGACY);
        this.counterBase = count;
        this.baseNs = this.now();
        if ((old ^ this.gen) & GEN.LEGACY) {
          this.releaseLines();
          this.onLegacyReplacement?.((this.gen & GEN.LEGACY) !== 0);
        }
        this.rearmAll();
        return;
      }
      case 0x020:
        if (half === 'lo') this.clearStatus(lo);
        return;
      case 0x0f0:
        if (!(this.gen & GEN.ENABLE)) {
          this.counterBase = hi * TWO32 + lo;
          this.rearmAll();
        }
        return;
    }
    const n = (reg - 0x100) >> 5;
    if (reg < 0x100 || n >= TIMERS) return;
    const t = this.timers[n]!;
    switch (reg & 0x1f) {
      case 0x00: {
        if (half === 'hi') return;
        const fixed = t.conf & (CONF.PER_CAP | CONF.SIZE_CAP);
        let conf = (lo & CONF_WRITABLE) | fixed;
        if (!(fixed & CONF.PER_CAP)) conf &= ~CONF.PERIODIC;
        const route = (conf >> 9) & 0x1f;
        if (!(ROUTE_CAP & (1 << route))) conf = (conf & ~(0x1f << 9)) | ((t.conf >> 9) & 0x1f) << 9;
        const wasLevel = t.conf & CONF.LEVEL;
        t.conf = conf;
        if (wasLevel && !(conf & CONF.LEVEL)) this.clearStatus(1 << n);
        this.rearm(n);
        return;
      }
      case 0x08: {
        if (t.conf & CONF.MODE32) hi = 0;
        if (t.conf & CONF.PERIODIC) {
          t.period = hi * TWO32 + lo;
          if (t.conf & CONF.VAL_SET) { t.cmpLo = lo; t.cmpHi = hi; }
          t.conf &= ~CONF.VAL_SET;
        } else {
          t.cmpLo = lo;
          t.cmpHi = hi;
        }
        this.rearm(n);
        return;
      }
    }
  }

  private clearStatus(bits: number): void {
    for (let n = 0; n < TIMERS; n++) {
      if (!(bits & this.status & (1 << n))) continue;
      this.status &= ~(1 << n);
      const line = this.lineOf(n);
      if (line >= 0) this.drive(line, false);
    }
  }

  // ---- comparators ---------------------------------------------------------------------------

  private rearmAll(): void {
    for (let n = 0; n < TIMERS; n++) this.rearm(n);
  }

  /** Ticks from `count` until timer n next matches, or Infinity. */
  private ticksToMatch(n: number, count: number): number {
    const t = this.timers[n]!;
    if (t.conf & CONF.MODE32) {
      const d = t.cmpLo - (count % TWO32);
      return d > 0 ? d : d + TWO32;
    }
    const c = cmp64(t);
    return c > count ? c - count : Infinity;
  }

  private rearm(n: number): void {
    const clock = this.host?.clock;
    const ct = this.clockTimers[n];
    if (!clock || !ct) return;
    if (!(this.gen & GEN.ENABLE)) {
      clock.cancel(ct);
      return;
    }
    const count = this.counter();
    const d = this.ticksToMatch(n, count);
    if (d === Infinity) {
      clock.cancel(ct);
      return;
    }
    // The tick at which the counter equals count + d.
    clock.arm(ct, this.baseNs + (count + d - this.counterBase) * TICK_NS);
  }

  private fire(n: number): void {
    const t = this.timers[n]!;
    if (t.conf & CONF.PERIODIC && t.period > 0) {
      // Advance past the present (a late timer does not replay every missed period).
      const count = this.counter();
      const mode32 = (t.conf & CONF.MODE32) !== 0;
      do {
        if (mode32) t.cmpLo = (t.cmpLo + t.period) % TWO32;
        else setCmp(t, cmp64(t) + t.period);
      } while (this.ticksToMatch(n, count) > t.period && (mode32 ? t.period < TWO32 : cmp64(t) !== Infinity));
    }
    this.interrupt(n);
    this.rearm(n);
  }

  private lineOf(n: number): number {
    if (this.gen & GEN.LEGACY && n < 2) return n === 0 ? 0 : 8;
    return (this.timers[n]!.conf >> 9) & 0x1f;
  }

  private interrupt(n: number): void {
    const t = this.timers[n]!;
    if (t.conf & CONF.LEVEL) this.status |= 1 << n;
    if (!(t.conf & CONF.ENABLE)) return;
    const line = this.lineOf(n);
    if (t.conf & CONF.LEVEL) {
      this.drive(line, true);
    } else {
      this.drive(line, true);
      this.drive(line, false);
    }
  }

  private drive(line: number, high: boolean): void {
    if (high) this.lines |= 1 << line;
    else this.lines &= ~(1 << line);
    this.host?.irq.setIrq(line, high);
  }

  private releaseLines(): void {
    for (let line = 0; line < 32; line++) if (this.lines & (1 << line)) this.drive(line, false);
  }

  // ---- snapshots -------------------------------------------------------------------------------

  save(): HpetState {
    return {
      version: STATE_VERSION, gen: this.gen, status: this.status, counterBase: this.counterBase, baseNs: this.baseNs,
      timers: this.timers.map((t) => ({ ...t })), lines: this.lines,
    };
  }

  restore(state: unknown): void {
    const s = state as HpetState;
    if (!s || s.version !== STATE_VERSION) throw new Error(`HPET state version ${s?.version} is not ${STATE_VERSION}`);
    this.gen = s.gen;
    this.status = s.status;
    this.counterBase = s.counterBase;
    this.baseNs = s.baseNs;
    this.timers = s.timers.map((t) => ({ ...t }));
    this.lines = s.lines;
    for (let line = 0; line < 32; line++) if (this.lines & (1 << line)) this.host?.irq.setIrq(line, true);
    this.onLegacyReplacement?.((this.gen & GEN.LEGACY) !== 0);
    this.rearmAll();
  }
}

function split(v: number): { lo: number; hi: number } {
  const lo = v % TWO32;
  return { lo, hi: (v - lo) / TWO32 };
}
