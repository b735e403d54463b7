/**
 * The PC's pair of Intel 8259A programmable interrupt controllers: the master
 * at ports 0x20/0x21 serves ISA IRQs 0-7 and the slave at 0xA0/0xA1 serves IRQs
 * 8-15, its INT output wired to the master's IR2. The edge/level control
 * registers (ELCR) at 0x4D0/0x4D1 are the PIIX/ICH extension that makes single
 * lines level-triggered for PCI interrupt sharing.
 *
 * Behaviour follows the 8259A datasheet (Intel 231468):
 *
 * - Initialisation: a write to the command port with bit 4 set is ICW1; it resets
 *   the edge detectors, clears the mask and the in-service register, makes IR7
 *   the lowest priority, leaves special mask mode, selects IRR for reads and (when
 *   IC4=0) zeroes the ICW4 functions. ICW2 (vector base, bits 7-3), ICW3 (only
 *   when SNGL=0) and ICW4 (only when IC4=1) follow on the data port. Only 8086
 *   mode is implemented (uPM is ignored; 8080 call sequences make no sense on an
 *   x86), and the buffered-mode bits are stored and ignored.
 * - OCW1 is the mask (IMR); OCW2 carries the EOI and rotation commands (non-
 *   specific, specific, rotate on either, set priority, rotate in auto-EOI); OCW3
 *   selects IRR/ISR for reads, enters/leaves special mask mode and issues polls.
 * - Priority: fully nested from the highest priority level (one after the lowest,
 *   IR7 after reset). A request is delivered when it is unmasked and no in-service
 *   level of equal or higher priority blocks it. In special mask mode, in-service
 *   levels that are masked do not block; in special fully nested mode (ICW4 bit 4,
 *   on the master), an in-service cascade line does not block further requests on
 *   that same line, so higher-priority slave interrupts can nest.
 * - Triggering: an edge-triggered input latches IRR on a low-to-high transition and
 *   the latch survives the line falling again; a level-triggered input (ELCR bit or
 *   ICW1 LTIM) requests for as long as it is high. IRQs 0, 1, 2, 8 and 13 have no
 *   ELCR bit (they are always edge-triggered on the PIIX), so those bits read as 0.
 * - INTA: the master resolves priority, sets its ISR bit (unless in auto-EOI) and
 *   clears the IRR latch. If the line is a cascade input (ICW3 bit set) the slave
 *   runs the same cycle and supplies the vector. When nothing is left to deliver
 *   at INTA time the chip answers with its IR7 vector without setting ISR: the
 *   spurious IRQ 7 (master) or 15 (slave, with the master's IR2 still in service).
 *   The slave answers only when its ICW3 ID is 2 (where it is wired); a cascade
 *   cycle on any other line reads a floating bus (vector 0xFF). The slave's INT
 *   output is dropped during its INTA cycle, so that after an auto-EOI acknowledge
 *   a still-pending slave request produces a fresh edge on the master's IR2.
 * - Poll: after an OCW3 with P=1, the next read of that chip returns 0x80 | level
 *   of the highest pending request (acknowledging it like an INTA) or 0.
 *
 * The ISA bus's IRQ 2 pin is wired to IRQ 9 on AT-class machines, so setIrq(2, …)
 * drives IRQ 9; the master's IR2 is only ever driven by the slave.
 *
 * The CPU polls hasInterrupt() between instructions while IF=1, so it is a cached
 * boolean recomputed on every state change.
 */
import type { Device, DeviceHost, InterruptLines } from './device.js';
import type { PortHandler } from '../ports.js';

const STATE_VERSION = 1;

/** The cascade input of the master. */
const CASCADE_IR = 2;
/** ELCR bits that do not exist: IRQ 0, 1, 2 on the master, 8 and 13 on the slave. */
const ELCR_WRITABLE = [0xf8, 0xde] as const;

interface ChipState {
  irr: number;
  isr: number;
  imr: number;
  /** Input line levels (1 = asserted). */
  lines: number;
  /** ELCR bits: 1 = level-triggered. */
  elcr: number;
  /** ICW1 LTIM: every input level-triggered. */
  ltim: boolean;
  /** 0 = operational; 2, 3, 4 = the ICW expected next. */
  initStep: number;
  icw4Expected: boolean;
  single: boolean;
  vectorBase: number;
  icw3: number;
  icw4: number;
  autoEoi: boolean;
  rotateInAutoEoi: boolean;
  specialFullyNested: boolean;
  specialMask: boolean;
  /** The lowest-priority level; the highest is (lowest + 1) & 7. */
  lowest: number;
  readIsr: boolean;
  poll: boolean;
}

class Chip {
  s: ChipState;

  constructor(readonly isMaster: boolean) {
    this.s = Chip.powerOn();
  }

  static powerOn(): ChipState {
    return {
      irr: 0, isr: 0, imr: 0, lines: 0, elcr: 0, ltim: false,
      initStep: 0, icw4Expected: false, single: false, vectorBase: 0, icw3: 0, icw4: 0,
      autoEoi: false, rotateInAutoEoi: false, specialFullyNested: false, specialMask: false,
      lowest: 7, readIsr: false, poll: false,
    };
  }

  get levelMask(): number {
    return this.s.ltim ? 0xff : this.s.elcr;
  }

  /** An input line changes level. */
  setLine(ir: number, high: boolean): void {
    const s = this.s;
    const bit = 1 << ir;
    const was = s.lines & bit;
    s.lines = high ? s.lines | bit : s.lines & ~bit;
    if (this.levelMask & bit) s.irr = high ? s.irr | bit : s.irr & ~bit;
    else if (high && !was) s.irr |= bit;
  }

  /** Re-derive the IRR bits of level-triggered lines after a trigger-mode change. */
  syncLevelBits(): void {
    const lm = this.levelMask;
    this.s.irr = (this.s.irr & ~lm) | (this.s.lines & lm);
  }

  /** The level that INTA would deliver now, or -1 (the chip's INT output is low). */
  pending(): number {
    const s = this.s;
    const req = s.irr & ~s.imr;
    if (!req) return -1;
    const blocking = s.specialMask ? s.isr & ~s.imr : s.isr;
    for (let i = 1; i <= 8; i++) {
      const ir = (s.lowest + i) & 7;
      const bit = 1 << ir;
      if (blocking & bit) {
        // Special fully nested mode: a slave's in-service line admits further requests from it.
        if (this.isMaster && s.specialFullyNested && req & bit && this.isCascade(ir)) return ir;
        return -1;
      }
      if (req & bit) return ir;
    }
    return -1;
  }

  isCascade(ir: number): boolean {
    return this.isMaster && !this.s.single && (this.s.icw3 & (1 << ir)) !== 0;
  }

  /** The INTA (or poll) cycle for level `ir`. */
  ack(ir: number): void {
    const s = this.s;
    const bit = 1 << ir;
    s.irr &= ~bit;
    s.irr |= s.lines & this.levelMask & bit; // a level-triggered input still requests
    if (s.autoEoi) {
      if (s.rotateInAutoEoi) s.lowest = ir;
    } else {
      s.isr |= bit;
    }
  }

  /** The highest-priority in-service level (skipping masked ones in special mask mode), or -1. */
  highestInService(): number {
    const s = this.s;
    const isr = s.specialMask ? s.isr & ~s.imr : s.isr;
    for (let i = 1; i <= 8; i++) {
      const ir = (s.lowest + i) & 7;
      if (isr & (1 << ir)) return ir;
    }
    return -1;
  }

  writeCommand(v: number): void {
    const s = this.s;
    if (v & 0x10) {
      // ICW1
      s.ltim = (v & 0x08) !== 0;
      s.single = (v & 0x02) !== 0;
      s.icw4Expected = (v & 0x01) !== 0;
      s.initStep = 2;
      s.imr = 0;
      s.isr = 0;
      s.irr = s.lines & this.levelMask; // edge detectors reset: a high edge input must fall and rise again
      s.lowest = 7;
      s.specialMask = false;
      s.readIsr = false;
      s.poll = false;
      s.rotateInAutoEoi = false;
      if (!s.icw4Expected) {
        s.icw4 = 0;
        s.autoEoi = false;
        s.specialFullyNested = false;
      }
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) s.poll = true;
      if (v & 0x02) s.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) s.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2
    const level = v & 7;
    switch (v >> 5) {
      case 0b001: { // non-specific EOI
        const ir = this.highestInService();
        if (ir >= 0) s.isr &= ~(1 << ir);
        break;
      }
      case 0b011: // specific EOI
        s.isr &= ~(1 << level);
        break;
      case 0b101: { // rotate on non-specific EOI
        const ir = this.highestInService();
        if (ir >= 0) {
          s.isr &= ~(1 << ir);
          s.lowest = ir;
        }
        break;
      }
      case 0b111: // rotate on specific EOI
        s.isr &= ~(1 << level);
        s.lowest = level;
        break;
      case 0b110: // set priority
        s.lowest = level;
        break;
      case 0b100:
        s.rotateInAutoEoi = true;
        break;
      case 0b000:
        s.rotateInAutoEoi = false;
        break;
      default: // 0b010: no operation
        break;
    }
  }

  writeData(v: number): void {
    const s = this.s;
    switch (s.initStep) {
      case 2:
        s.vectorBase = v & 0xf8;
        s.initStep = s.single ? (s.icw4Expected ? 4 : 0) : 3;
        return;
      case 3:
        s.icw3 = v;
        s.initStep = s.icw4Expected ? 4 : 0;
        return;
      case 4:
        s.icw4 = v;
        s.autoEoi = (v & 0x02) !== 0;
        s.specialFullyNested = (v & 0x10) !== 0;
        s.initStep = 0;
        return;
      default:
        s.imr = v;
    }
  }

  /** The poll word: 0x80 | level with the request acknowledged, or 0. */
  pollRead(): number {
    this.s.poll = false;
    const ir = this.pending();
    if (ir < 0) return 0;
    this.ack(ir);
    return 0x80 | ir;
  }
}

export interface PicState {
  version: number;
  master: ChipState;
  slave: ChipState;
}

export class Pic implements Device, InterruptLines, PortHandler {
  readonly name = 'pic';
  private readonly master = new Chip(true);
  private readonly slave = new Chip(false);
  /** Cached master INT output, read by the CPU between instructions. */
  private intr = false;

  constructor() {
    this.reset();
  }

  attach(host: DeviceHost): void {
    host.ports.register(0x20, 2, this);
    host.ports.register(0xa0, 2, this);
    host.ports.register(0x4d0, 2, this);
  }

  /**
   * The state a PC BIOS leaves behind (SeaBIOS's pic_setup): vectors 08h and 70h,
   * cascade on IR2, 8086 mode with normal EOI, every line masked but the cascade,
   * all lines edge-triggered. Guests that program the PIC replace all of it.
   */
  reset(): void {
    for (const [chip, base, icw3, imr] of [[this.master, 0x08, 0x04, 0xfb], [this.slave, 0x70, 0x02, 0xff]] as const) {
      const lines = chip.s.lines; // wires keep their levels across a reset
      chip.s = Chip.powerOn();
      chip.s.lines = lines;
      chip.s.vectorBase = base;
      chip.s.icw3 = icw3;
      chip.s.icw4 = 0x01;
      chip.s.imr = imr;
      chip.syncLevelBits();
    }
    this.update();
  }

  // ---- interrupt lines --------------------------------------------------------------

  setIrq(line: number, high: boolean): void {
    if (line === CASCADE_IR) line = 9;
    if (line < 8) this.master.setLine(line, high);
    else if (line < 16) this.slave.setLine(line - 8, high);
    else return;
    this.update();
  }

  // ---- the CPU's side ---------------------------------------------------------------

  hasInterrupt(): boolean {
    return this.intr;
  }

  /** The INTA cycle: the vector to deliver (the master's or slave's IR7 vector when spurious). */
  acknowledge(): number {
    const m = this.master;
    const ir = m.pending();
    if (ir < 0) return m.s.vectorBase | 7;
    m.ack(ir);
    if (!m.isCascade(ir)) {
      this.update();
      return m.s.vectorBase | ir;
    }
    // Only the slave with the matching ID (ICW3) answers; with none, the bus floats.
    if (ir !== CASCADE_IR || (this.slave.s.icw3 & 7) !== CASCADE_IR) {
      this.update();
      return 0xff;
    }
    const sir = this.slave.pending();
    let vector = this.slave.s.vectorBase | 7;
    if (sir >= 0) {
      this.slave.ack(sir);
      vector = this.slave.s.vectorBase | sir;
    }
    // The slave's INT output falls during its INTA cycle; update() raises it again if
    // a request is still deliverable, which the master latches as a new edge.
    m.setLine(CASCADE_IR, false);
    this.update();
    return vector;
  }

  /** The master's and slave's registers, for monitoring and tests. */
  registers(): { irr: number; isr: number; imr: number; elcr: number } {
    const m = this.master.s, sl = this.slave.s;
    return { irr: m.irr | (sl.irr << 8), isr: m.isr | (sl.isr << 8), imr: m.imr | (sl.imr << 8), elcr: m.elcr | (sl.elcr << 8) };
  }

  // ---- ports ------------------------------------------------------------------------

  read(port: number, size: 1 | 2 | 4): number | undefined {
    if (size !== 1) return undefined;
    if (port >= 0x4d0) return (port === 0x4d0 ? this.master : this.slave).s.elcr;
    const chip = port & 0x80 ? this.slave : this.master;
    if (chip.s.poll) {
      const v = chip.pollRead();
      this.update();
      return v;
    }
    if (port & 1) return chip.s.imr;
    return chip.s.readIsr ? chip.s.isr : chip.s.irr;
  }

  write(port: number, size: 1 | 2 | 4, value: number): boolean | void {
    if (size !== 1) return false;
    value &= 0xff;
    if (port >= 0x4d0) {
      const i = port - 0x4d0;
      const chip = i ? this.slave : this.master;
      chip.s.elcr = value & ELCR_WRITABLE[i]!;
      chip.syncLevelBits();
    } else {
      const chip = port & 0x80 ? this.slave : this.master;
      if (port & 1) chip.writeData(value);
      else chip.writeCommand(value);
    }
    this.update();
  }

  /** Propagate the slave's INT output to the master's IR2 and recompute the CPU's INTR. */
  private update(): void {
    const slaveInt = this.slave.pending() >= 0;
    if (((this.master.s.lines >> CASCADE_IR) & 1) !== +slaveInt) this.master.setLine(CASCADE_IR, slaveInt);
    this.intr = this.master.pending() >= 0;
  }

  // ---- snapshots --------------------------------------------------------------------

  save(): PicState {
    return { version: STATE_VERSION, master: { ...this.master.s }, slave: { ...this.slave.s } };
  }

  restore(state: unknown): void {
    const st = state as PicState;
    if (!st || st.version !== STATE_VERSION) throw new Error(`pic: unsupported state version ${(st as { version?: unknown })?.version}`);
    this.master.s = { ...Chip.powerOn(), ...st.master };
    this.slave.s = { ...Chip.powerOn(), ...st.slave };
    this.update();
  }
}
