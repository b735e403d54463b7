/**
 * The Motorola MC146818 real-time clock and its CMOS RAM, at ports 0x70 (index,
 * with the PC's NMI-disable bit 7) and 0x71 (data). Registers 0x00-0x0D are the
 * clock (seconds, minutes, hours with their alarms, day of week, date, month,
 * year, registers A-D); 0x0E-0x7F are 114 bytes of battery-backed RAM whose PC
 * layout the firmware reads (memory sizes, the century at 0x32, boot settings).
 *
 * Time follows the machine's virtual clock from a start time given at
 * construction (ms since the Unix epoch; its UTC fields are what the clock
 * shows, so a machine that wants local time passes local time). Nothing ticks:
 * the clock keeps its time fields as of one update boundary and derives the
 * present from how many boundaries have passed since.
 *
 * - The 32.768 kHz divider (register A DV bits) runs at 010; 11x holds it in reset
 *   (the clock stops) and releasing it puts the first update 500 ms later. Other
 *   DV values are treated as running (the real part would count a wrong time base).
 * - Updates happen once a second at the divider's boundaries. UIP (register A bit
 *   7) reads 1 during the 244 µs before an update and the 1984 µs of the update
 *   cycle; the registers show the new second from the end of that window, which is
 *   when UF and the alarm check happen. SET (register B bit 7) stops updates (and
 *   clears UIE and UIP) so the time can be written; clearing it resumes counting
 *   at the next boundary.
 * - Register B bit 2 (DM) selects binary (1) or BCD (0) for the time, alarm and
 *   century bytes, bit 1 selects 24-hour (1) or 12-hour (0, bit 7 of the hour = PM)
 *   format. The fields are kept decoded, so switching formats converts them (the
 *   real part would reinterpret the raw bytes; the datasheet asks software to
 *   rewrite the time after a format change anyway). Daylight saving (DSE) and the
 *   square-wave output (SQWE) have no effect. Nonsense values written with SET
 *   are kept as written until the clock advances, which normalises the date.
 * - Register C: IRQF (7), PF (6), AF (5), UF (4). The flags are set whether or not
 *   their interrupts are enabled; IRQF = PF·PIE + AF·AIE + UF·UIE drives IRQ 8 and
 *   stays asserted until register C is read, which clears them all (the PIC sees
 *   IRQ 8 as an edge, so a guest that never reads C gets one interrupt).
 *   Periodic rates (RS in register A): 1 and 2 give 256 and 128 Hz, 3-15 give
 *   32768 >> (RS - 1) Hz, aligned to the divider. Alarm bytes with both top bits set
 *   (0xC0-0xFF) are "don't care".
 * - Register D reads 0x80 (valid RAM and time); it and register C ignore writes.
 * - The day of week (1-7, Sunday = 1) is a free-running counter: it starts at the
 *   true weekday of the start date and advances at midnight, whatever a guest
 *   writes into it.
 * - The century byte (0x32) is part of the clock: it reads and writes in the same
 *   format as the year and carries over when the year wraps.
 *
 * Only the RESET pin behaviour is in reset(): it clears PIE, AIE, UIE, SQWE and the
 * flags of register C; time, format and RAM survive (they are battery-backed).
 */
import type { Device, DeviceHost } from './device.js';
import type { Timer } from '../clock.js';
import type { PortHandler } from '../ports.js';
import { cyclesAt, nsOfCycle } from './timebase.js';

const STATE_VERSION = 1;

const DIVIDER_HZ = 32768;
/** UIP is high for this long before each update boundary (244 µs setup + 1984 µs update). */
const UIP_NS = 244_000 + 1_984_000;
/** After the divider leaves reset, the first update comes this much later. */
const FIRST_UPDATE_NS = 500_000_000;

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const CENTURY = 0x32;

const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_SQWE = 0x08, B_DM_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;

/** Decoded clock fields (binary; hour 0-23; year with its century). */
export interface RtcFields {
  sec: number;
  min: number;
  hour: number;
  dow: number;
  day: number;
  month: number;
  year: number;
}

// Civil-calendar conversions (proleptic Gregorian), days counted from 1970-01-01.
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Seconds since 1970-01-01 00:00:00 of the fields (out-of-range values normalise). */
function epochOf(f: RtcFields): number {
  return daysFromCivil(f.year, f.month, f.day) * 86400 + f.hour * 3600 + f.min * 60 + f.sec;
}
/** The fields of a time in seconds, with a day of week carried from `dowFrom` at `from`. */
function fieldsOf(s: number, dowFrom: number, from: number): RtcFields {
  const days = Math.floor(s / 86400);
  const r = s - days * 86400;
  const [year, month, day] = civilFromDays(days);
  const crossed = days - Math.floor(from / 86400);
  const dow = ((((dowFrom - 1 + crossed) % 7) + 7) % 7) + 1;
  return { sec: r % 60, min: Math.floor(r / 60) % 60, hour: Math.floor(r / 3600), dow, day, month, year };
}

export interface RtcState {
  version: number;
  elapsedNs: number;
  index: number;
  nmiMasked: boolean;
  regA: number;
  regB: number;
  regC: number;
  /** The 128 bytes of CMOS (clock bytes 0x00-0x09, 0x0A-0x0D and 0x32 live elsewhere). */
  cmos: number[];
  /** Clock fields as of update boundary baseK (or frozen, while the clock is stopped). */
  fields: RtcFields;
  baseK: number;
  /** Times in ns relative to the device's time origin. */
  divEpoch: number;
  checked: number;
  irqLevel: boolean;
}

export class Rtc implements Device, PortHandler {
  readonly name = 'rtc';
  private host: DeviceHost | null = null;
  private timer: Timer | null = null;
  /** Virtual time (ns) of the device's time origin; all stored times are relative to it. */
  private epoch = 0;
  private index = 0;
  private nmiMasked = false;
  /** Register A bits 6-0 (UIP is computed). */
  private regA = 0x26;
  private regB = B_24H;
  /** Register C flags accumulated up to `checked`. */
  private regC = 0;
  private readonly cmos = new Array<number>(128).fill(0);
  private fields: RtcFields;
  /** epochOf(fields), cached. */
  private baseSec: number;
  private baseK = 0;
  /** When the divider last left reset; update boundary k is at divEpoch + 500 ms + k s. */
  private divEpoch: number;
  private checked = 0;
  private irqLevel = false;

  /** @param startTime wall-clock time at power-on, ms since the Unix epoch (e.g. Date.now() at machine creation). */
  constructor(startTime: number) {
    const ms = Math.floor(startTime);
    const s = Math.floor(ms / 1000);
    const days = Math.floor(s / 86400);
    this.fields = fieldsOf(s, ((days + 4) % 7 + 7) % 7 + 1, days * 86400); // 1970-01-01 was a Thursday (5)
    this.baseSec = s;
    // Boundaries on whole seconds of the start time: the next update comes 1000 - ms%1000 ms in.
    this.divEpoch = -FIRST_UPDATE_NS - (ms - s * 1000) * 1e6;
    this.baseK = this.boundaryIndex(0);
  }

  attach(host: DeviceHost): void {
    this.host = host;
    this.epoch = host.clock.now();
    this.timer = host.clock.createTimer(() => this.onTimer());
    host.ports.register(0x70, 2, this);
  }

  /** The RESET pin: interrupt enables and flags cleared; time, format and RAM kept. */
  reset(): void {
    const rel = this.rel();
    this.regB &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
    this.regC = 0;
    this.checked = rel;
    this.index = 0;
    this.nmiMasked = false;
    this.updateIrq();
    this.rearm();
  }

  /** Port 0x70 bit 7: NMIs are disabled while set. */
  get nmiDisabled(): boolean {
    return this.nmiMasked;
  }

  // ---- CMOS layout for the firmware -----------------------------------------------------

  /**
   * Record the RAM size the way PC firmware reads it: 640 KiB base memory
   * (0x15/0x16), KiB above 1 MiB capped at 63 MiB (0x17/0x18 and 0x30/0x31), 64 KiB
   * units above 16 MiB below 4 GiB (0x34/0x35), 64 KiB units above 4 GiB
   * (0x5B-0x5D, as SeaBIOS reads them), and the checksum of 0x10-0x2D at 0x2E/0x2F.
   */
  setMemorySize(below4g: number, above4g = 0): void {
    const c = this.cmos;
    c[0x15] = 640 & 0xff;
    c[0x16] = 640 >> 8;
    const ext = Math.max(0, Math.min(0xfc00, Math.floor((below4g - 0x100000) / 1024)));
    c[0x17] = c[0x30] = ext & 0xff;
    c[0x18] = c[0x31] = ext >> 8;
    const ext16 = Math.max(0, Math.min(0xffff, Math.floor((below4g - 0x1000000) / 0x10000)));
    c[0x34] = ext16 & 0xff;
    c[0x35] = ext16 >> 8;
    const high = Math.max(0, Math.min(0xffffff, Math.floor(above4g / 0x10000)));
    c[0x5b] = high & 0xff;
    c[0x5c] = (high >> 8) & 0xff;
    c[0x5d] = high >> 16;
    this.updateChecksum();
  }

  /** The standard checksum: the 16-bit sum of bytes 0x10-0x2D, big-endian at 0x2E/0x2F. */
  updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.cmos[i]!;
    this.cmos[0x2e] = (sum >> 8) & 0xff;
    this.cmos[0x2f] = sum & 0xff;
  }

  /** Raw CMOS RAM (0x0E-0x7F, not the century byte) for the machine to fill in. */
  setCmosByte(index: number, value: number): void {
    if (index < 0x0e || index > 0x7f || index === CENTURY) throw new Error(`rtc: 0x${index.toString(16)} is not a RAM byte`);
    this.cmos[index] = value & 0xff;
  }
  /** Any CMOS byte as the guest would read it, without side effects (register C is not cleared). */
  cmosByte(index: number): number {
    return this.readIndex(index & 0x7f, false);
  }

  /** The clock's current fields (decoded), for monitoring and tests. */
  now(): RtcFields {
    return { ...this.fieldsAt(this.rel()) };
  }

  // ---- time -----------------------------------------------------------------------------

  private rel(): number {
    return this.host ? this.host.clock.now() - this.epoch : 0;
  }

  private dividerRunning(): boolean {
    return (this.regA & 0x60) !== 0x60;
  }
  private clockRunning(): boolean {
    return this.dividerRunning() && !(this.regB & B_SET);
  }
  /** Index of the last update boundary at or before `rel` (-1 before the first). */
  private boundaryIndex(rel: number): number {
    return Math.floor((rel - this.divEpoch - FIRST_UPDATE_NS) / 1e9);
  }
  private boundaryTime(k: number): number {
    return this.divEpoch + FIRST_UPDATE_NS + k * 1e9;
  }
  private secondsAt(rel: number): number {
    return this.clockRunning() ? this.baseSec + (this.boundaryIndex(rel) - this.baseK) : this.baseSec;
  }
  private fieldsAt(rel: number): RtcFields {
    const s = this.secondsAt(rel);
    return s === this.baseSec ? this.fields : fieldsOf(s, this.fields.dow, this.baseSec);
  }
  /** Make `rel` the new base boundary (no visible change). */
  private rebase(rel: number): void {
    this.setFields(this.fieldsAt(rel), rel);
  }
  private setFields(f: RtcFields, rel: number): void {
    this.fields = f;
    this.baseSec = epochOf(f);
    this.baseK = this.boundaryIndex(rel);
  }

  /** Periodic interrupt period in divider cycles (0 = off). */
  private periodCycles(): number {
    const rs = this.regA & 15;
    return rs === 0 ? 0 : rs === 1 ? 128 : rs === 2 ? 256 : 1 << (rs - 1);
  }
  private cycleAt(rel: number): number {
    return cyclesAt(rel - this.divEpoch, DIVIDER_HZ);
  }

  /** The first time (seconds) after `s` whose hour, minute and second match the alarm bytes. */
  private nextAlarm(s: number): number {
    const match = (alarm: number, count: number, fmt: (v: number) => number): number[] => {
      const all = [...Array(count).keys()];
      return (alarm & 0xc0) === 0xc0 ? all : all.filter((v) => fmt(v) === alarm);
    };
    const hours = match(this.cmos[5]!, 24, (h) => this.formatHour(h));
    const mins = match(this.cmos[3]!, 60, (v) => this.format(v));
    const secs = match(this.cmos[1]!, 60, (v) => this.format(v));
    const day0 = Math.floor(s / 86400) * 86400;
    for (let day = day0; day <= day0 + 86400; day += 86400) {
      for (const h of hours) {
        if (day + h * 3600 + 3599 <= s) continue;
        for (const m of mins) {
          if (day + h * 3600 + m * 60 + 59 <= s) continue;
          for (const sec of secs) {
            const t = day + h * 3600 + m * 60 + sec;
            if (t > s) return t;
          }
        }
      }
    }
    return Infinity;
  }

  /** Fold the flag events in (checked, rel] into register C. */
  private accumulate(rel: number): void {
    if (rel <= this.checked) return;
    if (this.dividerRunning()) {
      const p = this.periodCycles();
      if (p && Math.floor(this.cycleAt(rel) / p) > Math.floor(this.cycleAt(this.checked) / p)) this.regC |= C_PF;
      if (this.clockRunning()) {
        const s1 = this.secondsAt(this.checked), s2 = this.secondsAt(rel);
        if (s2 > s1) {
          this.regC |= C_UF;
          if (!(this.regC & C_AF) && this.nextAlarm(s1) <= s2) this.regC |= C_AF;
        }
      }
    }
    this.checked = rel;
  }

  private updateIrq(): void {
    const level = (this.regC & this.regB & 0x70) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.host?.irq.setIrq(8, level);
    }
  }

  /** Arm the timer at the next event that would raise IRQ 8 (none while it is already raised). */
  private rearm(): void {
    if (!this.timer) return;
    const rel = this.rel();
    let next = Infinity;
    if (!this.irqLevel && this.dividerRunning()) {
      const p = this.periodCycles();
      if (this.regB & B_PIE && p) next = this.divEpoch + nsOfCycle((Math.floor(this.cycleAt(rel) / p) + 1) * p, DIVIDER_HZ);
      if (this.clockRunning()) {
        if (this.regB & B_UIE) next = Math.min(next, this.boundaryTime(this.boundaryIndex(rel) + 1));
        if (this.regB & B_AIE) {
          const a = this.nextAlarm(this.secondsAt(rel));
          if (a !== Infinity) next = Math.min(next, this.boundaryTime(this.baseK + (a - this.baseSec)));
        }
      }
    }
    if (next === Infinity) this.host!.clock.cancel(this.timer);
    else this.host!.clock.arm(this.timer, this.epoch + next);
  }

  private onTimer(): void {
    this.accumulate(this.rel());
    this.updateIrq();
    this.rearm();
  }

  // ---- register formats -------------------------------------------------------------------

  private format(v: number): number {
    return this.regB & B_DM_BINARY ? v : (Math.floor(v / 10) % 10) << 4 | v % 10;
  }
  private decode(v: number): number {
    return this.regB & B_DM_BINARY ? v : (v >> 4) * 10 + (v & 15);
  }
  private formatHour(h: number): number {
    if (this.regB & B_24H) return this.format(h);
    return this.format(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
  }
  private decodeHour(v: number): number {
    if (this.regB & B_24H) return this.decode(v);
    return (this.decode(v & 0x7f) % 12) + (v & 0x80 ? 12 : 0);
  }

  // ---- ports ------------------------------------------------------------------------------

  read(port: number, size: 1 | 2 | 4): number | undefined {
    if (size !== 1) return undefined;
    if (port === 0x70) return 0xff; // the index register is write-only
    return this.readIndex(this.index, true);
  }

  private readIndex(index: number, clearC: boolean): number {
    switch (index) {
      case 0: case 2: case 4: case 6: case 7: case 8: case 9: case CENTURY: {
        const f = this.fieldsAt(this.rel());
        switch (index) {
          case 0: return this.format(f.sec);
          case 2: return this.format(f.min);
          case 4: return this.formatHour(f.hour);
          case 6: return this.format(f.dow);
          case 7: return this.format(f.day);
          case 8: return this.format(f.month);
          case 9: return this.format(((f.year % 100) + 100) % 100);
          default: return this.format(Math.floor(f.year / 100) % 100);
        }
      }
      case REG_A: {
        const rel = this.rel();
        const uip = this.clockRunning() && this.boundaryTime(this.boundaryIndex(rel) + 1) - rel <= UIP_NS;
        return (uip ? 0x80 : 0) | this.regA;
      }
      case REG_B:
        return this.regB;
      case REG_C: {
        const rel = this.rel();
        this.accumulate(rel);
        const v = this.regC | (this.regC & this.regB & 0x70 ? C_IRQF : 0);
        if (!clearC) return v;
        this.regC = 0;
        this.updateIrq();
        this.rearm();
        return v;
      }
      case REG_D:
        return 0x80;
      default:
        return this.cmos[index]!;
    }
  }

  write(port: number, size: 1 | 2 | 4, value: number): boolean | void {
    if (size !== 1) return false;
    value &= 0xff;
    if (port === 0x70) {
      this.index = value & 0x7f;
      this.nmiMasked = (value & 0x80) !== 0;
      return;
    }
    const index = this.index;
    if (index === REG_C || index === REG_D) return;
    if (index >= 0x0e && index !== CENTURY) {
      this.cmos[index] = value;
      return;
    }
    const rel = this.rel();
    this.accumulate(rel);
    this.rebase(rel);
    switch (index) {
      case 1: case 3: case 5:
        this.cmos[index] = value; // alarms: raw bytes, compared in the current format
        break;
      case REG_A: {
        const wasReset = !this.dividerRunning();
        this.regA = value & 0x7f;
        if (wasReset && this.dividerRunning()) this.divEpoch = rel;
        break;
      }
      case REG_B:
        this.regB = value & B_SET ? value & ~B_UIE : value;
        break;
      default: {
        const f = { ...this.fields };
        switch (index) {
          case 0: f.sec = this.decode(value); break;
          case 2: f.min = this.decode(value); break;
          case 4: f.hour = this.decodeHour(value); break;
          case 6: f.dow = this.decode(value); break;
          case 7: f.day = this.decode(value); break;
          case 8: f.month = this.decode(value); break;
          case 9: f.year = Math.floor(f.year / 100) * 100 + this.decode(value); break;
          default: f.year = this.decode(value) * 100 + (((f.year % 100) + 100) % 100); break;
        }
        this.fields = f;
      }
    }
    this.setFields(this.fields, rel);
    this.updateIrq();
    this.rearm();
  }

  // ---- snapshots --------------------------------------------------------------------------

  save(): RtcState {
    return {
      version: STATE_VERSION, elapsedNs: this.rel(), index: this.index, nmiMasked: this.nmiMasked,
      regA: this.regA, regB: this.regB, regC: this.regC, cmos: [...this.cmos], fields: { ...this.fields },
      baseK: this.baseK, divEpoch: this.divEpoch, checked: this.checked, irqLevel: this.irqLevel,
    };
  }

  /** Continues as if no time passed between save() and restore(). */
  restore(state: unknown): void {
    const st = state as RtcState;
    if (!st || st.version !== STATE_VERSION) throw new Error(`rtc: unsupported state version ${(st as { version?: unknown })?.version}`);
    this.epoch = (this.host ? this.host.clock.now() : 0) - st.elapsedNs;
    this.index = st.index;
    this.nmiMasked = st.nmiMasked;
    this.regA = st.regA;
    this.regB = st.regB;
    this.regC = st.regC;
    for (let i = 0; i < 128; i++) this.cmos[i] = st.cmos[i]! & 0xff;
    this.fields = { ...st.fields };
    this.baseSec = epochOf(this.fields);
    this.baseK = st.baseK;
    this.divEpoch = st.divEpoch;
    this.checked = st.checked;
    this.irqLevel = st.irqLevel;
    // Drive IRQ 8 to the saved level whatever the interrupt lines believe (a no-op for a restored PIC).
    this.host?.irq.setIrq(8, this.irqLevel);
    this.rearm();
  }
}
