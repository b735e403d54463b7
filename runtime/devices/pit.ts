/**
 * The Intel 8254 programmable interval timer at ports 0x40-0x43, clocked at
 * 1.193182 MHz, and the PC's system control port B (0x61), whose bit 0 gates
 * channel 2 and whose bits 4 and 5 show the refresh toggle and channel 2's output.
 * Channel 0's output drives IRQ 0; channel 1 (DRAM refresh) drives nothing;
 * channel 2 feeds the speaker (bit 1 of port 0x61 is the speaker data enable).
 *
 * Counters are not ticked. Each channel remembers the PIT tick at which its
 * counting element (CE) was last loaded and with what, and its value and OUT level
 * at any later tick follow from the mode (Intel 8254 datasheet, 231164):
 *
 *   mode 0  interrupt on terminal count: OUT low from the control word; the count N
 *           is loaded on the next CLK and OUT goes high N clocks later, after which
 *           the CE wraps and keeps counting. Writing the first byte of a two-byte
 *           count stops counting and drives OUT low. GATE low suspends counting.
 *   mode 1  retriggerable one-shot: a GATE rising edge loads N on the next CLK and
 *           drives OUT low for N clocks.
 *   mode 2  rate generator: period N; OUT is low for the one clock where the CE
 *           holds 1. GATE low forces OUT high and stops; a rising edge reloads.
 *   mode 3  square wave: OUT high for ceil(N/2) clocks and low for floor(N/2); the
 *           CE counts down by two (from N-1 for odd N). GATE as in mode 2.
 *   mode 4  software-triggered strobe: N loaded on the next CLK; OUT low for one
 *           clock when the CE reaches 0. GATE low suspends counting.
 *   mode 5  hardware-triggered strobe: as mode 4, started by a GATE rising edge.
 *
 * In modes 2 and 3 a new count written while counting takes effect at the end of
 * the current period (mode 2) or half-cycle (mode 3) unless a GATE trigger comes
 * first; in modes 0 and 4 it restarts counting on the next CLK; in modes 1 and 5
 * it waits for the next trigger. A count of 0 means 65536 (10000 in BCD). Mode 2
 * and 3 counts of 1 are illegal on the real part; here mode 2 with N=1 keeps OUT
 * low and mode 3 with N=1 keeps it high.
 *
 * Reads return the live CE (lo, hi, or lo then hi per the access mode) unless a
 * counter-latch or read-back command latched it; read-back can also latch the
 * status byte (OUT, null count, and the programmed RW/mode/BCD bits), which is read
 * before a latched count. Reads and writes keep separate byte flip-flops.
 *
 * IRQ 0: the only clock timer is armed at the next rising edge of channel 0's
 * OUT; there the line is pulsed (an edge for the PIC even when OUT has since fallen
 * again in mode 3), and then left at OUT's level. Port accesses to channel 0 first
 * catch up with edges that are due but whose timer has not run yet.
 *
 * The refresh toggle (port 0x61 bit 4) flips every 18 PIT clocks (15.08 µs, the
 * period of the refresh request channel 1 makes when a BIOS programs it the
 * standard way), from virtual time, whatever channel 1 is programmed to.
 */
import type { Device, DeviceHost } from './device.js';
import type { Timer } from '../clock.js';
import type { PortHandler } from '../ports.js';
import { cyclesAt, nsOfCycle } from './timebase.js';

const STATE_VERSION = 1;

/** PIT input clock in Hz (the PC's 14.31818 MHz crystal divided by 12). */
export const PIT_HZ = 1193182;
/** PIT clocks per refresh-toggle flip (port 0x61 bit 4). */
const REFRESH_TICKS = 18;

interface ChannelState {
  /** Control word bits 5-0 as programmed (RW1 RW0 M2 M1 M0 BCD), for status reads. */
  ctrl: number;
  mode: number;
  /** 1 = LSB only, 2 = MSB only, 3 = LSB then MSB. */
  access: number;
  bcd: boolean;
  /** Count register (raw 16 bits as written). */
  cr: number;
  crLow: number;
  writeHi: boolean;
  readHi: boolean;
  latched: boolean;
  latch: number;
  statusLatched: boolean;
  status: number;
  nullCount: boolean;
  gate: boolean;
  /** A count has been written since the control word. */
  armed: boolean;
  /** Modes 0/4: the CE holds a count (resumable after GATE low). */
  loaded: boolean;
  /** The CE counts from loadTick; otherwise it holds frozenValue with OUT at frozenOut. */
  counting: boolean;
  loadTick: number;
  /** Modes 0/1/4/5: CE count at loadTick (clocks to terminal count); modes 2/3: the period N. */
  loadValue: number;
  /** Mode 3: the period started at loadTick begins with its low half. */
  startLow: boolean;
  /** Modes 0/1/4/5: the terminal count has already passed (OUT stays high, no more strobes). */
  done: boolean;
  /** Modes 0/4: remaining clocks to terminal count while suspended. */
  remaining: number;
  /** CE value (0..modulus-1) and OUT level while not counting, and before loadTick. */
  frozenValue: number;
  frozenOut: boolean;
  /** Modes 2/3: a count written while counting, loaded at pendingTick (0 = none). */
  pendingN: number;
  pendingTick: number;
}

export interface PitState {
  version: number;
  /** Nanoseconds since the PIT's time origin when saved. */
  elapsedNs: number;
  /** PIT ticks up to which channel 0's edges have been delivered. */
  lastTick: number;
  irqLevel: boolean;
  /** Port 0x61 bits 0-3 as written. */
  portB: number;
  channels: ChannelState[];
}

function bcdToBin(v: number): number {
  return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}
function binToBcd(v: number): number {
  return (Math.floor(v / 1000) % 10) << 12 | (Math.floor(v / 100) % 10) << 8 | (Math.floor(v / 10) % 10) << 4 | v % 10;
}

function newChannel(): ChannelState {
  return {
    ctrl: 0x30, mode: 0, access: 3, bcd: false, cr: 0, crLow: 0, writeHi: false, readHi: false,
    latched: false, latch: 0, statusLatched: false, status: 0, nullCount: true, gate: true,
    armed: false, loaded: false, counting: false, loadTick: 0, loadValue: 0, startLow: false, done: false,
    remaining: 0, frozenValue: 0, frozenOut: false, pendingN: 0, pendingTick: 0,
  };
}

const modulus = (ch: ChannelState): number => (ch.bcd ? 10000 : 65536);

/** The count N the count register stands for (0 means the full modulus). */
function countOf(ch: ChannelState): number {
  return ch.bcd ? bcdToBin(ch.cr) % 10000 || 10000 : ch.cr || 65536;
}

/** Mode 3: clocks in the high half of a period of N. */
const highHalf = (n: number): number => (n + 1) >> 1;

/** CE value (0..modulus-1) at tick t; pending counts must have been applied (sync). */
function valueAt(ch: ChannelState, t: number): number {
  if (!ch.counting || t < ch.loadTick) return ch.frozenValue;
  const e = t - ch.loadTick, n = ch.loadValue, m = modulus(ch);
  switch (ch.mode) {
    case 2:
      return (n - (e % n)) % m;
    case 3: {
      const hi = highHalf(n);
      const p = (e + (ch.startLow ? hi : 0)) % n;
      const q = p < hi ? p : p - hi;
      return ((n & ~1) - 2 * q) % m;
    }
    default:
      return (((n - e) % m) + m) % m;
  }
}

/** OUT at tick t; pending counts must have been applied (sync). */
function outAt(ch: ChannelState, t: number): boolean {
  if (!ch.counting || t < ch.loadTick) return ch.frozenOut;
  const e = t - ch.loadTick, n = ch.loadValue;
  switch (ch.mode) {
    case 0:
    case 1:
      return ch.done || e >= n;
    case 2:
      return e % n !== n - 1;
    case 3:
      return (e + (ch.startLow ? highHalf(n) : 0)) % n < highHalf(n);
    default: // 4, 5
      return ch.done || e !== n;
  }
}

/** The state after a pending mode 2/3 count takes over at its boundary. */
function switched(ch: ChannelState): ChannelState {
  const b = ch.pendingTick;
  return {
    ...ch, startLow: ch.mode === 3 && !outAt(ch, b), loadTick: b, loadValue: ch.pendingN, pendingN: 0, nullCount: false,
    // What the old count showed just before the boundary, so that nextRise() sees the edge at it.
    frozenValue: valueAt(ch, b - 1), frozenOut: outAt(ch, b - 1),
  };
}

/** Apply a pending mode 2/3 count whose boundary has come. */
function sync(ch: ChannelState, t: number): void {
  if (ch.pendingN && t >= ch.pendingTick) Object.assign(ch, switched(ch));
}

/** The first tick after `a` at which OUT rises (low at t-1, high at t), or Infinity. */
function nextRise(ch: ChannelState, a: number): number {
  if (!ch.counting) return Infinity;
  let t = Infinity;
  if (a < ch.loadTick && !ch.frozenOut && outAt(ch, ch.loadTick)) {
    t = ch.loadTick;
  } else {
    const from = Math.max(a, ch.loadTick);
    const d = from - ch.loadTick, n = ch.loadValue;
    switch (ch.mode) {
      case 0:
      case 1:
        if (!ch.done) t = ch.loadTick + n;
        break;
      case 2:
        if (n >= 2) t = ch.loadTick + (Math.floor(d / n) + 1) * n;
        break;
      case 3: {
        const low = n - highHalf(n);
        if (low > 0) {
          const first = ch.startLow ? low : n;
          t = ch.loadTick + (d < first ? first : first + (Math.floor((d - first) / n) + 1) * n);
        }
        break;
      }
      default:
        if (!ch.done) t = ch.loadTick + n + 1;
    }
    if (t <= from) t = Infinity;
  }
  if (ch.pendingN && t > ch.pendingTick) return nextRise(switched(ch), Math.max(a, ch.pendingTick));
  return t;
}

export class Pit implements Device, PortHandler {
  readonly name = 'pit';
  private host: DeviceHost | null = null;
  private timer: Timer | null = null;
  /** Virtual time (ns) of PIT tick 0. */
  private epoch = 0;
  private channels: ChannelState[] = [];
  private lastTick = 0;
  private irqLevel = false;
  private portB = 0;

  constructor() {
    this.init();
  }

  attach(host: DeviceHost): void {
    this.host = host;
    this.timer = host.clock.createTimer(() => this.onTimer());
    host.ports.register(0x40, 4, this);
    host.ports.register(0x61, 1, this);
    this.epoch = host.clock.now();
    this.init();
  }

  /** Power-on: every channel in mode 0 without a count (OUT low), channel 2's gate closed. */
  reset(): void {
    this.init();
    this.rearm();
  }

  private init(): void {
    this.channels = [newChannel(), newChannel(), newChannel()];
    this.portB = 0;
    this.channels[2]!.gate = false;
    this.lastTick = this.host ? this.tick() : 0;
    if (this.irqLevel && this.host) this.host.irq.setIrq(0, false);
    this.irqLevel = false;
    if (this.timer) this.host!.clock.cancel(this.timer);
  }

  /** The current PIT tick. */
  private tick(): number {
    return cyclesAt(this.host!.clock.now() - this.epoch, PIT_HZ);
  }

  // ---- channel 0 -> IRQ 0 -------------------------------------------------------------

  /** Deliver channel 0's rising edges up to tick t and set the line to OUT's level. */
  private catchUp(t: number): void {
    const ch = this.channels[0]!;
    const irq = this.host!.irq;
    if (nextRise(ch, this.lastTick) <= t) {
      if (this.irqLevel) irq.setIrq(0, false);
      irq.setIrq(0, true);
      this.irqLevel = true;
    }
    sync(ch, t);
    const out = outAt(ch, t);
    if (out !== this.irqLevel) {
      this.irqLevel = out;
      irq.setIrq(0, out);
    }
    this.lastTick = t;
  }

  private rearm(): void {
    if (!this.timer) return;
    const t = nextRise(this.channels[0]!, this.lastTick);
    if (t === Infinity) this.host!.clock.cancel(this.timer);
    else this.host!.clock.arm(this.timer, this.epoch + nsOfCycle(t, PIT_HZ));
  }

  private onTimer(): void {
    this.catchUp(this.tick());
    this.rearm();
  }

  // ---- ports --------------------------------------------------------------------------

  read(port: number, size: 1 | 2 | 4): number | undefined {
    if (size !== 1) return undefined;
    const t = this.tick();
    if (port === 0x61) {
      const ch2 = this.channels[2]!;
      sync(ch2, t);
      return (this.portB & 0x0f) | ((Math.floor(t / REFRESH_TICKS) & 1) << 4) | (outAt(ch2, t) ? 0x20 : 0);
    }
    if (port === 0x43) return 0xff; // the control register is write-only
    const i = port - 0x40;
    if (i === 0) this.catchUp(t);
    const v = this.readCounter(this.channels[i]!, t);
    if (i === 0) this.rearm();
    return v;
  }

  write(port: number, size: 1 | 2 | 4, value: number): boolean | void {
    if (size !== 1) return false;
    value &= 0xff;
    const t = this.tick();
    this.catchUp(t);
    if (port === 0x61) {
      this.portB = value & 0x0f;
      this.setGate(this.channels[2]!, (value & 1) !== 0, t);
    } else if (port === 0x43) {
      this.writeControl(value, t);
    } else {
      this.writeCounter(this.channels[port - 0x40]!, value, t);
    }
    this.catchUp(t);
    this.rearm();
  }

  private writeControl(v: number, t: number): void {
    const sc = v >> 6;
    if (sc === 3) {
      // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 3-1 select channels.
      for (let i = 0; i < 3; i++) {
        if (!(v & (2 << i))) continue;
        const ch = this.channels[i]!;
        sync(ch, t);
        if (!(v & 0x20)) this.latchCount(ch, t);
        if (!(v & 0x10) && !ch.statusLatched) {
          ch.statusLatched = true;
          ch.status = (outAt(ch, t) ? 0x80 : 0) | (ch.nullCount ? 0x40 : 0) | ch.ctrl;
        }
      }
      return;
    }
    const ch = this.channels[sc]!;
    sync(ch, t);
    if ((v & 0x30) === 0) {
      this.latchCount(ch, t);
      return;
    }
    ch.frozenValue = valueAt(ch, t);
    ch.ctrl = v & 0x3f;
    ch.access = (v >> 4) & 3;
    ch.mode = (v >> 1) & 7;
    if (ch.mode > 5) ch.mode -= 4;
    ch.bcd = (v & 1) !== 0;
    ch.frozenValue %= modulus(ch);
    ch.counting = ch.armed = ch.loaded = ch.done = false;
    ch.pendingN = 0;
    ch.nullCount = true;
    ch.writeHi = ch.readHi = ch.latched = ch.statusLatched = false;
    ch.frozenOut = ch.mode !== 0;
  }

  private latchCount(ch: ChannelState, t: number): void {
    if (ch.latched) return; // a second latch before the read is ignored
    ch.latched = true;
    ch.latch = this.raw(ch, valueAt(ch, t));
  }

  private raw(ch: ChannelState, v: number): number {
    return ch.bcd ? binToBcd(v) : v & 0xffff;
  }

  private readCounter(ch: ChannelState, t: number): number {
    if (ch.statusLatched) {
      ch.statusLatched = false;
      return ch.status;
    }
    sync(ch, t);
    const v = ch.latched ? ch.latch : this.raw(ch, valueAt(ch, t));
    switch (ch.access) {
      case 1:
        ch.latched = false;
        return v & 0xff;
      case 2:
        ch.latched = false;
        return v >> 8;
      default:
        if (!ch.readHi) {
          ch.readHi = true;
          return v & 0xff;
        }
        ch.readHi = false;
        ch.latched = false;
        return v >> 8;
    }
  }

  private writeCounter(ch: ChannelState, byte: number, t: number): void {
    sync(ch, t);
    switch (ch.access) {
      case 1:
        ch.cr = byte;
        break;
      case 2:
        ch.cr = byte << 8;
        break;
      default:
        if (!ch.writeHi) {
          ch.crLow = byte;
          ch.writeHi = true;
          if (ch.mode === 0) this.suspend(ch, t, false); // the first byte stops counting, OUT low
          return;
        }
        ch.writeHi = false;
        ch.cr = ch.crLow | (byte << 8);
    }
    this.countWritten(ch, t);
  }

  /** Stop the CE where it is (modes 0/4: remember the clocks left to terminal count). */
  private suspend(ch: ChannelState, t: number, out?: boolean): void {
    if (ch.counting) {
      if (ch.mode === 0 || ch.mode === 4) {
        const e = t - ch.loadTick;
        if (e < 0) {
          ch.remaining = ch.loadValue;
        } else if (!ch.done && e < ch.loadValue) {
          ch.remaining = ch.loadValue - e;
        } else {
          ch.done = true;
          ch.remaining = valueAt(ch, t);
        }
      }
      ch.frozenValue = valueAt(ch, t);
      ch.frozenOut = outAt(ch, t);
      ch.counting = false;
    }
    ch.pendingN = 0;
    if (out !== undefined) ch.frozenOut = out;
  }

  /** Start counting `n` (or the remaining count) from tick `from`. */
  private start(ch: ChannelState, from: number, n: number): void {
    ch.counting = true;
    ch.loadTick = from;
    ch.loadValue = n;
    ch.startLow = false;
    ch.pendingN = 0;
  }

  private countWritten(ch: ChannelState, t: number): void {
    const n = countOf(ch);
    ch.armed = true;
    ch.nullCount = true;
    switch (ch.mode) {
      case 0:
      case 4:
        // Loaded on the next CLK; OUT low (mode 0) or high (mode 4) until terminal count.
        this.suspend(ch, t, ch.mode === 4);
        ch.loaded = true;
        ch.done = false;
        ch.nullCount = false;
        ch.remaining = n;
        if (ch.gate) this.start(ch, t + 1, n);
        else ch.frozenValue = n % modulus(ch);
        break;
      case 2:
      case 3:
        if (!ch.counting) {
          if (ch.gate) {
            ch.frozenOut = true;
            ch.nullCount = false;
            this.start(ch, t + 1, n);
          }
        } else if (t < ch.loadTick) {
          ch.loadValue = n; // not started yet: replace
          ch.nullCount = false;
        } else {
          // Loaded at the end of the current period (mode 2) or half-cycle (mode 3).
          const e = t - ch.loadTick, p = ch.loadValue;
          let next: number;
          if (ch.mode === 2) {
            next = (Math.floor(e / p) + 1) * p;
          } else {
            const hi = highHalf(p);
            const pos = (e + (ch.startLow ? hi : 0)) % p;
            next = e + (pos < hi ? hi - pos : p - pos);
          }
          ch.pendingN = n;
          ch.pendingTick = ch.loadTick + next;
        }
        break;
      default: // 1, 5: wait for a GATE trigger
        break;
    }
  }

  private setGate(ch: ChannelState, level: boolean, t: number): void {
    if (ch.gate === level) return;
    ch.gate = level;
    sync(ch, t);
    switch (ch.mode) {
      case 0:
      case 4:
        if (!level) this.suspend(ch, t);
        else if (ch.loaded) this.start(ch, t, ch.remaining);
        break;
      case 1:
      case 5:
        if (level && ch.armed) {
          // Trigger: reload on the next CLK (OUT keeps its level until then).
          ch.frozenValue = valueAt(ch, t);
          ch.frozenOut = outAt(ch, t);
          ch.done = false;
          ch.nullCount = false;
          this.start(ch, t + 1, countOf(ch));
        }
        break;
      default: // 2, 3
        if (!level) {
          this.suspend(ch, t, true); // OUT high at once
        } else if (ch.armed) {
          ch.nullCount = false;
          this.start(ch, t + 1, countOf(ch));
        }
    }
  }

  /** The speaker's tone in Hz: channel 2 in mode 3 with its gate and the speaker data bit on, else 0. */
  speakerFrequency(): number {
    const ch = this.channels[2]!;
    if ((this.portB & 3) !== 3 || ch.mode !== 3 || !ch.counting) return 0;
    sync(ch, this.tick());
    return PIT_HZ / ch.loadValue;
  }

  // ---- snapshots ----------------------------------------------------------------------

  save(): PitState {
    return {
      version: STATE_VERSION,
      elapsedNs: this.host ? this.host.clock.now() - this.epoch : 0,
      lastTick: this.lastTick,
      irqLevel: this.irqLevel,
      portB: this.portB,
      channels: this.channels.map((c) => ({ ...c })),
    };
  }

  /** Continues as if no time passed between save() and restore(). */
  restore(state: unknown): void {
    const st = state as PitState;
    if (!st || st.version !== STATE_VERSION) throw new Error(`pit: unsupported state version ${(st as { version?: unknown })?.version}`);
    this.epoch = (this.host ? this.host.clock.now() : 0) - st.elapsedNs;
    this.lastTick = st.lastTick;
    this.irqLevel = st.irqLevel;
    this.portB = st.portB;
    this.channels = st.channels.map((c) => ({ ...newChannel(), ...c }));
    // Drive IRQ 0 to the saved level whatever the interrupt lines believe (a no-op for a restored PIC).
    this.host?.irq.setIrq(0, this.irqLevel);
    this.rearm();
  }
}
