/**
 * The Intel 82093AA I/O APIC at 0xFEC00000: 24 interrupt input pins, each with
 * a 64-bit redirection entry that turns the pin into a message for a local APIC.
 *
 * Registers are reached indirectly: IOREGSEL (offset 0x00, 8 bits) selects one
 * and IOWIN (0x10, 32 bits) reads or writes it:
 *   0x00 IOAPICID   bits 27:24 the ID
 *   0x01 IOAPICVER  version 0x11, bits 23:16 the highest entry (23)
 *   0x02 IOAPICARB  bits 27:24 the arbitration ID (= the ID here; read-only)
 *   0x10 + 2n, 0x11 + 2n   redirection entry n, low and high dwords:
 *     7:0 vector, 10:8 delivery mode (0 fixed, 1 lowest priority, 2 SMI, 4 NMI,
 *     5 INIT, 7 ExtINT), 11 destination mode (1 logical), 12 delivery status (RO),
 *     13 polarity (1 low), 14 remote IRR (RO), 15 trigger (1 level), 16 mask,
 *     63:56 destination.
 * Every entry is masked after reset. Other offsets of the 4 KiB window read 0.
 *
 * Pins take the logical state of their line (asserted or not): the board's
 * wiring and its polarity are what the MADT and _PRT tell the OS, so the
 * polarity bit is kept but not applied. An edge-triggered pin sends one message
 * per rising edge while unmasked (an edge on a masked pin is lost, per the
 * datasheet). A level-triggered pin sends while asserted, unmasked and without
 * remote IRR; remote IRR is set when a local APIC accepts the message and
 * cleared by the local APIC's EOI broadcast of that vector (eoi()), after which a
 * still-asserted pin sends again. Switching an entry to edge-triggered clears its
 * remote IRR (what OSes rely on to recover a pin on parts without an EOI
 * register). Messages are delivered at once, so delivery status reads idle.
 *
 * Lowest-priority delivery goes to the one local APIC of this machine when the
 * destination names it; SMI, INIT and ExtINT messages go nowhere (there is no
 * SMM, no second processor, and no PIC output on a pin).
 */
import type { Device, DeviceHost, InterruptLines } from './device.js';
import type { MmioRegion } from '../mmio.js';

const STATE_VERSION = 1;

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
const PINS = 24;
const VERSION = 0x11 | ((PINS - 1) << 16);

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const LOGICAL = 1 << 11;
/** Writable bits of an entry's low dword: all but delivery status and remote IRR. */
const LO_WRITABLE = 0x1afff;

/** The local APIC side of the bus, as the I/O APIC sees it. */
export interface ApicBusTarget {
  acceptsDestination(dest: number, logical: boolean): boolean;
  deliver(mode: number, vector: number, level: boolean): void;
}

export interface IoApicState {
  version: number;
  id: number;
  select: number;
  lo: number[];
  hi: number[];
  lines: number;
}

export class IoApic implements Device, InterruptLines {
  readonly name = 'ioapic';
  private target: ApicBusTarget | null = null;
  private window: MmioRegion | null = null;
  private id: number;
  private select = 0;
  private readonly lo = new Uint32Array(PINS);
  private readonly hi = new Uint32Array(PINS);
  /** Asserted pins, one bit each. */
  private lines = 0;

  constructor(readonly ioapicId = 1, readonly base = IOAPIC_DEFAULT_BASE) {
    this.id = ioapicId;
    this.reset();
  }

  attach(host: DeviceHost): void {
    if (!host.mmio) throw new Error('the I/O APIC needs an MMIO registry');
    this.window = host.mmio.add('ioapic', this.base, 0x1000, {
      read: (off, size) => this.mmioRead(off, size),
      write: (off, size, v) => this.mmioWrite(off, size, v),
    });
  }

  /** Where messages go: the local APIC. */
  connect(target: ApicBusTarget): void {
    this.target = target;
  }

  reset(): void {
    this.id = this.ioapicId;
    this.select = 0;
    this.lo.fill(MASKED);
    this.hi.fill(0);
  }

  /**
   * The machine's interrupt line `line`, as this board wires it to the I/O APIC
   * (a sink of runtime/irq.ts): ISA IRQ n is pin n, except IRQ 0 (the PIT, or
   * the HPET in legacy-replacement mode), which is pin 2 (the MADT's interrupt
   * source override), and IRQ 2, which the AT bus wires to IRQ 9. Lines 16-23
   * exist only here (PCI PIRQ A-D are 16-19, HPET comparators may use 20-23).
   */
  setIrq(line: number, high: boolean): void {
    this.setPin(line < 16 ? isaIrqToGsi(line) : line, high);
  }

  /** Drive input pin `pin` (0-23) to its asserted (true) or idle state. */
  setPin(pin: number, asserted: boolean): void {
    if (pin < 0 || pin >= PINS) return;
    const bit = 1 << pin;
    const was = (this.lines & bit) !== 0;
    if (asserted) this.lines |= bit;
    else this.lines &= ~bit;
    if (!asserted) return;
    if (this.lo[pin]! & LEVEL) this.service(pin);
    else if (!was && !(this.lo[pin]! & MASKED)) this.send(pin);
  }

  /** The local APIC's EOI broadcast of a level-triggered vector. */
  eoi(vector: number): void {
    for (let pin = 0; pin < PINS; pin++) {
      const lo = this.lo[pin]!;
      if ((lo & 0xff) === vector && lo & REMOTE_IRR) {
        this.lo[pin] = lo & ~REMOTE_IRR;
        this.service(pin);
      }
    }
  }

  /** A level-triggered pin: send when asserted, unmasked and not waiting for an EOI. */
  private service(pin: number): void {
    const lo = this.lo[pin]!;
    if (!(lo & LEVEL) || lo & (MASKED | REMOTE_IRR) || !(this.lines & (1 << pin))) return;
    if (this.send(pin)) this.lo[pin]! |= REMOTE_IRR;
  }

  /** Send entry `pin`'s message; true when a local APIC accepted it. */
  private send(pin: number): boolean {
    const lo = this.lo[pin]!;
    const t = this.target;
    if (!t || !t.acceptsDestination(this.hi[pin]! >>> 24, (lo & LOGICAL) !== 0)) return false;
    t.deliver((lo >> 8) & 7, lo & 0xff, (lo & LEVEL) !== 0);
    return true;
  }

  // ---- registers -------------------------------------------------------------------------

  private mmioRead(off: number, size: 1 | 2 | 4): number {
    if (off === 0) return this.select;
    if (off >= 0x10 && off < 0x14) {
      const v = this.readRegister(this.select);
      return size === 4 ? v : (v >>> (8 * (off - 0x10))) & (size === 1 ? 0xff : 0xffff);
    }
    return 0;
  }

  private mmioWrite(off: number, size: 1 | 2 | 4, v: number): void {
    if (off === 0) {
      this.select = v & 0xff;
      return;
    }
    if (off >= 0x10 && off < 0x14) {
      if (size !== 4) {
        const shift = 8 * (off - 0x10);
        const mask = (size === 1 ? 0xff : 0xffff) << shift;
        v = (this.readRegister(this.select) & ~mask) | ((v << shift) & mask);
      }
      this.writeRegister(this.select, v >>> 0);
    }
  }

  readRegister(index: number): number {
    if (index === 0x00 || index === 0x02) return (this.id & 0xf) << 24;
    if (index === 0x01) return VERSION;
    if (index >= 0x10 && index < 0x10 + 2 * PINS) {
      const pin = (index - 0x10) >> 1;
      return index & 1 ? this.hi[pin]! : this.lo[pin]!;
    }
    return 0;
  }

  writeRegister(index: number, v: number): void {
    if (index === 0x00) {
      this.id = (v >>> 24) & 0xf;
      return;
    }
    if (index < 0x10 || index >= 0x10 + 2 * PINS) return;
    const pin = (index - 0x10) >> 1;
    if (index & 1) {
      this.hi[pin] = v & 0xff000000;
      return;
    }
    let lo = (this.lo[pin]! & ~LO_WRITABLE) | (v & LO_WRITABLE);
    if (!(lo & LEVEL)) lo &= ~REMOTE_IRR;
    this.lo[pin] = lo >>> 0;
    this.service(pin);
  }

  /** Entry `pin` as one 64-bit value (for tests and the monitor). */
  entry(pin: number): bigint {
    return (BigInt(this.hi[pin]!) << 32n) | BigInt(this.lo[pin]!);
  }

  save(): IoApicState {
    return { version: STATE_VERSION, id: this.id, select: this.select, lo: [...this.lo], hi: [...this.hi], lines: this.lines };
  }

  restore(state: unknown): void {
    const s = state as IoApicState;
    if (!s || s.version !== STATE_VERSION) throw new Error(`I/O APIC state version ${s?.version} is not ${STATE_VERSION}`);
    this.id = s.id;
    this.select = s.select;
    this.lo.set(s.lo);
    this.hi.set(s.hi);
    this.lines = s.lines;
  }

  /** The MMIO window (for the monitor). */
  get region(): MmioRegion | null {
    return this.window;
  }
}

/** The global system interrupt (I/O APIC pin) of ISA IRQ `irq` on this board. */
export function isaIrqToGsi(irq: number): number {
  return irq === 0 ? 2 : irq === 2 ? 9 : irq;
}
