/**
 * A National/TI PC16550D UART ("16550A": working FIFOs), as found at COM1-COM4
 * of a PC.
 *
 * Registers (offset from the base; DLAB is LCR bit 7):
 *   0  RBR (read) / THR (write)        DLL when DLAB=1
 *   1  IER                              DLM when DLAB=1
 *   2  IIR (read) / FCR (write)         (not affected by DLAB)
 *   3  LCR     4  MCR     5  LSR     6  MSR     7  SCR
 *
 * Time. Everything happens in virtual time from the machine's Clock: a
 * character occupies the line for (start + data + parity + stop bits) bit times
 * at 1.8432 MHz / 16 / divisor baud. The transmitter moves a byte from the
 * holding register/FIFO into the shift register at once when the shift register
 * is idle, and delivers it to the host (`onTransmit`) when its last stop bit has
 * gone; so THRE and TEMT clear and set as on the chip and a guest writing at full
 * speed finds the FIFO full. Host input (`receive`) waits in an unbounded host
 * buffer and enters the receiver one character time apart, only while the
 * receive FIFO has room (the host side behaves as if it had flow control), so a
 * paste is never lost; the guest's reads make room. Loopback traffic, by
 * contrast, comes from the transmitter and can overrun, as on the chip.
 *
 * The state is brought up to date lazily: every register access first runs the
 * transmit/receive/timeout events whose time has come, and one Clock timer is
 * armed at the next event so interrupts are raised on time even when the guest
 * is not polling.
 *
 * Interrupts (IIR identification, highest priority first):
 *   0x06 receiver line status (OE/PE/FE/BI)      cleared by reading LSR
 *   0x04 received data at the FIFO trigger level  cleared when below it
 *   0x0C character timeout (FIFO mode: data waiting, no FIFO activity for 4
 *        character times)                       cleared by reading RBR
 *   0x02 THR empty                               cleared by reading IIR (when it
 *        is the one reported) or writing THR; set when the transmit FIFO
 *        empties and when ETBEI is switched on while it is empty
 *   0x00 modem status (MSR delta bits)           cleared by reading MSR
 * On a PC the chip's INTR pin reaches the interrupt controller through a buffer
 * enabled by the OUT2 modem-control output; in loopback mode the chip forces
 * its OUT pins inactive, so the IRQ line is driven only while MCR has OUT2 set
 * and LOOP clear (PC16550D datasheet, MCR bit 4).
 *
 * Deliberate simplifications: no parity/framing errors or breaks arrive from
 * the host (so LSR bits 2-4 and 7 stay clear), the DMA mode bit is stored
 * without effect, and the divisor latch powers up as 1 (115200 baud; it is
 * undefined on the chip) so that a guest that never programs it is not slowed
 * down. A divisor of 0 counts as 65536.
 */
import type { Timer } from '../clock.js';
import type { Device, DeviceHost } from './device.js';

/** Standard PC serial ports: base address and ISA IRQ of COM1-COM4. */
export const COM_PORTS: readonly { base: number; irq: number }[] = [
  { base: 0x3f8, irq: 4 },
  { base: 0x2f8, irq: 3 },
  { base: 0x3e8, irq: 4 },
  { base: 0x2e8, irq: 3 },
];

/** Input clock of the baud generator divided by 16: the baud rate at divisor 1. */
const BAUD_BASE = 115200;
const FIFO_SIZE = 16;

const IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04, IER_MSI = 0x08;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const LSR_ERRORS = 0x1e;
const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;
const IIR_NONE = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_TIMEOUT = 0x0c;
const IIR_FIFO = 0xc0;
const FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_CLEAR_TX = 0x04;
const RX_TRIGGER = [1, 4, 8, 14];

export interface Uart16550Options {
  /** COM1-COM4: the standard base port and IRQ. */
  com?: 1 | 2 | 3 | 4;
  /** Explicit base port and IRQ (override `com`). */
  base?: number;
  irq?: number;
  /** Where transmitted bytes go (the host side of the serial line). */
  onTransmit?: (byte: number) => void;
}

export interface ModemInputs {
  cts?: boolean;
  dsr?: boolean;
  ri?: boolean;
  dcd?: boolean;
}

interface UartStateV1 {
  version: 1;
  ier: number; lcr: number; mcr: number; fcr: number; scr: number; dll: number; dlm: number;
  lsrErrors: number; msrInputs: number; msrDelta: number; lastRbr: number;
  rx: number[]; tx: number[]; tsr: number;
  /** Deadlines relative to the clock at save time (ns), null when idle. */
  txIn: number | null; rxIn: number | null;
  /** How long the receive FIFO has been quiet (ns). */
  rxQuiet: number;
  timeoutPending: boolean; thriPending: boolean;
  hostInput: number[];
  irqLevel: boolean;
}

export class Uart16550 implements Device {
  readonly name: string;
  readonly base: number;
  readonly irqLine: number;
  /** The host end of the line: called with each byte as its stop bit leaves the transmitter. */
  onTransmit: (byte: number) => void;

  private host: DeviceHost | null = null;
  private timer: Timer | null = null;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private fcr = 0;
  private scr = 0;
  private dll = 1;
  private dlm = 0;
  /** LSR OE/PE/FE/BI, cleared by reading LSR. */
  private lsrErrors = 0;
  /** CTS/DSR/RI/DCD (MSR bits 4-7) as driven by the host side of the line. */
  private msrInputs = MSR_CTS | MSR_DSR | MSR_DCD;
  private msrDelta = 0;
  private lastRbr = 0;
  private rx: number[] = [];
  private tx: number[] = [];
  /** Byte in the transmit shift register, or -1 when it is idle. */
  private tsr = -1;
  private txDeadline = Infinity;
  /** When the next host byte completes in the receiver (Infinity: none on its way). */
  private rxDeadline = Infinity;
  /** Last time a character entered or left the receive FIFO (character-timeout reference). */
  private rxActivity = 0;
  private timeoutPending = false;
  private thriPending = false;
  private hostInput: number[] = [];
  private hostHead = 0;
  private irqLevel = false;

  constructor(opts: Uart16550Options = {}) {
    const std = COM_PORTS[(opts.com ?? 1) - 1];
    if (!std) throw new RangeError(`no standard COM${opts.com}`);
    this.base = opts.base ?? std.base;
    this.irqLine = opts.irq ?? std.irq;
    this.name = `uart16550@${this.base.toString(16)}`;
    this.onTransmit = opts.onTransmit ?? (() => {});
  }

  attach(host: DeviceHost): void {
    this.host = host;
    this.timer = host.clock.createTimer(() => this.sync());
    host.ports.register(this.base, 8, {
      read: (port, size) => (size === 1 ? this.readReg(port - this.base) : undefined),
      write: (port, size, value) => {
        if (size !== 1) return false;
        this.writeReg(port - this.base, value & 0xff);
      },
    });
  }

  reset(): void {
    this.ier = this.lcr = this.mcr = this.fcr = this.scr = 0;
    this.dll = 1;
    this.dlm = 0;
    this.lsrErrors = 0;
    this.msrDelta = 0;
    this.lastRbr = 0;
    this.rx = [];
    this.tx = [];
    this.tsr = -1;
    this.txDeadline = Infinity;
    this.rxDeadline = Infinity;
    this.rxActivity = this.now();
    this.timeoutPending = false;
    this.thriPending = false;
    this.resumeHostInput();
    this.rearm();
    this.updateIrq();
  }

  // ---- host side ----------------------------------------------------------

  /** Bytes from the host side of the line; they reach the guest at the line's baud rate, never overrunning. */
  receive(data: Uint8Array | readonly number[] | string): void {
    if (typeof data === 'string') data = new TextEncoder().encode(data);
    for (let i = 0; i < data.length; i++) this.hostInput.push(data[i]! & 0xff);
    this.sync();
    this.resumeHostInput();
    this.rearm();
  }

  /** Host bytes not yet taken by the receiver. */
  get pendingInput(): number {
    return this.hostInput.length - this.hostHead;
  }

  /** Drive the modem status inputs (default: CTS, DSR and DCD asserted, RI not). */
  setModemInputs(lines: ModemInputs): void {
    this.sync();
    const old = this.msrLines();
    let v = this.msrInputs;
    const set = (bit: number, on: boolean | undefined): void => {
      if (on !== undefined) v = on ? v | bit : v & ~bit;
    };
    set(MSR_CTS, lines.cts);
    set(MSR_DSR, lines.dsr);
    set(MSR_RI, lines.ri);
    set(MSR_DCD, lines.dcd);
    this.msrInputs = v;
    this.noteModemChange(old);
    this.updateIrq();
  }

  /** Baud rate currently programmed. */
  get baud(): number {
    return BAUD_BASE / this.divisor();
  }

  // ---- registers ------------------------------------------------------------

  private readReg(off: number): number {
    this.sync();
    let v: number;
    switch (off) {
      case 0:
        if (this.lcr & 0x80) return this.dll;
        v = this.readRbr();
        break;
      case 1:
        return this.lcr & 0x80 ? this.dlm : this.ier;
      case 2: {
        const id = this.pendingId();
        if (id === IIR_THRI) this.thriPending = false;
        v = id | (this.fcr & FCR_ENABLE ? IIR_FIFO : 0);
        break;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        v = this.lsr();
        this.lsrErrors = 0;
        break;
      case 6:
        v = this.msrLines() | this.msrDelta;
        this.msrDelta = 0;
        break;
      default:
        return this.scr;
    }
    this.updateIrq();
    return v;
  }

  private writeReg(off: number, v: number): void {
    this.sync();
    switch (off) {
      case 0:
        if (this.lcr & 0x80) this.dll = v;
        else this.writeThr(v);
        break;
      case 1:
        if (this.lcr & 0x80) {
          this.dlm = v;
        } else {
          const old = this.ier;
          this.ier = v & 0x0f;
          // The THRE interrupt is an event: switching ETBEI on while the
          // holding register is empty produces one (Linux's THRE test relies on it).
          if (this.ier & IER_THRI) {
            if (!(old & IER_THRI)) this.thriPending = this.tx.length === 0;
          } else {
            this.thriPending = false;
          }
        }
        break;
      case 2:
        this.writeFcr(v);
        break;
      case 3:
        this.lcr = v;
        break;
      case 4: {
        const old = this.msrLines();
        const wasLoop = this.mcr & MCR_LOOP;
        this.mcr = v & 0x1f;
        this.noteModemChange(old);
        if (wasLoop && !(this.mcr & MCR_LOOP)) this.resumeHostInput();
        break;
      }
      case 5:
      case 6:
        break; // LSR and MSR are read-only (factory test on the chip)
      default:
        this.scr = v;
    }
    this.rearm();
    this.updateIrq();
  }

  private readRbr(): number {
    if (this.rx.length) {
      this.lastRbr = this.rx.shift()!;
      this.rxActivity = this.now();
      this.timeoutPending = false;
      this.resumeHostInput();
      this.rearm();
    }
    return this.lastRbr;
  }

  private writeThr(v: number): void {
    this.thriPending = false;
    if (this.tx.length < this.fifoSize()) this.tx.push(v);
    else if (!(this.fcr & FCR_ENABLE)) this.tx[0] = v; // the 16450-mode holding register is a latch
    // (a full transmit FIFO drops the byte)
    if (this.tsr < 0) this.loadShiftRegister(this.now());
  }

  private writeFcr(v: number): void {
    if ((v ^ this.fcr) & FCR_ENABLE) {
      // Switching between 16450 and FIFO mode empties both FIFOs.
      this.clearRx();
      this.clearTx();
    }
    if (!(v & FCR_ENABLE)) {
      // The other bits are only programmed together with FCR0.
      this.fcr = 0;
      return;
    }
    this.fcr = v & 0xc9;
    if (v & FCR_CLEAR_RX) this.clearRx();
    if (v & FCR_CLEAR_TX) this.clearTx();
  }

  private clearRx(): void {
    this.rx = [];
    this.timeoutPending = false;
    this.rxActivity = this.now();
    this.resumeHostInput();
  }

  private clearTx(): void {
    if (this.tx.length) {
      this.tx = [];
      this.thriPending = true;
    }
  }

  private lsr(): number {
    let v = this.lsrErrors;
    if (this.rx.length) v |= LSR_DR;
    if (this.tx.length === 0) {
      v |= LSR_THRE;
      if (this.tsr < 0) v |= LSR_TEMT;
    }
    return v;
  }

  /** MSR bits 4-7: the host's lines, or in loopback the MCR outputs wired back. */
  private msrLines(): number {
    if (!(this.mcr & MCR_LOOP)) return this.msrInputs;
    const m = this.mcr;
    return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
  }

  private noteModemChange(old: number): void {
    const now = this.msrLines();
    const changed = old ^ now;
    if (changed & MSR_CTS) this.msrDelta |= 0x01;
    if (changed & MSR_DSR) this.msrDelta |= 0x02;
    if (old & MSR_RI && !(now & MSR_RI)) this.msrDelta |= 0x04; // trailing edge of RI
    if (changed & MSR_DCD) this.msrDelta |= 0x08;
  }

  private fifoSize(): number {
    return this.fcr & FCR_ENABLE ? FIFO_SIZE : 1;
  }

  private divisor(): number {
    return (this.dlm << 8 | this.dll) || 0x10000;
  }

  /** Time one character occupies the line, in ns. */
  private charTime(): number {
    const lcr = this.lcr;
    const data = 5 + (lcr & 3);
    const parity = lcr & 0x08 ? 1 : 0;
    const stop = lcr & 0x04 ? (data === 5 ? 1.5 : 2) : 1;
    return ((1 + data + parity + stop) * this.divisor() * 1e9) / BAUD_BASE;
  }

  /** Highest-priority pending interrupt, as the IIR identification bits. */
  private pendingId(): number {
    const ier = this.ier;
    if (ier & IER_RLSI && this.lsrErrors & LSR_ERRORS) return IIR_RLSI;
    if (ier & IER_RDI) {
      const trigger = this.fcr & FCR_ENABLE ? RX_TRIGGER[this.fcr >> 6]! : 1;
      if (this.rx.length >= trigger) return IIR_RDI;
      if (this.timeoutPending) return IIR_TIMEOUT;
    }
    if (ier & IER_THRI && this.thriPending) return IIR_THRI;
    if (ier & IER_MSI && this.msrDelta) return IIR_MSI;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.pendingId() !== IIR_NONE && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.host?.irq.setIrq(this.irqLine, level);
    }
  }

  // ---- time -----------------------------------------------------------------

  private now(): number {
    return this.host ? this.host.clock.now() : 0;
  }

  private timeoutDeadline(): number {
    if (!(this.fcr & FCR_ENABLE) || this.timeoutPending || this.rx.length === 0) return Infinity;
    return this.rxActivity + 4 * this.charTime();
  }

  /** Run every transmit, receive and timeout event due by now, then re-arm the timer. */
  private sync(): void {
    if (!this.host) return;
    const now = this.host.clock.now();
    for (let guard = 0; guard < 100000; guard++) {
      const tTo = this.timeoutDeadline();
      const t = Math.min(this.txDeadline, this.rxDeadline, tTo);
      if (t > now) break;
      if (t === this.txDeadline) this.transmitDone(t);
      else if (t === this.rxDeadline) this.hostByteArrives(t);
      else this.timeoutPending = true;
    }
    this.rearm();
    this.updateIrq();
  }

  private rearm(): void {
    if (!this.host || !this.timer) return;
    const next = Math.min(this.txDeadline, this.rxDeadline, this.timeoutDeadline());
    if (next === Infinity) this.host.clock.cancel(this.timer);
    else if (this.timer.index < 0 || this.timer.deadline !== next) this.host.clock.arm(this.timer, next);
  }

  /** Move the next byte of the transmit FIFO into the shift register at time t. */
  private loadShiftRegister(t: number): void {
    if (this.tx.length === 0) {
      this.tsr = -1;
      this.txDeadline = Infinity;
      return;
    }
    this.tsr = this.tx.shift()!;
    this.txDeadline = t + this.charTime();
    if (this.tx.length === 0) this.thriPending = true;
  }

  private transmitDone(t: number): void {
    const byte = this.tsr;
    this.tsr = -1;
    this.txDeadline = Infinity;
    if (this.mcr & MCR_LOOP) this.receiveChar(byte, t);
    else this.onTransmit(byte);
    this.loadShiftRegister(t);
  }

  /** A character completes in the receive shift register at time t. */
  private receiveChar(byte: number, t: number): void {
    if (this.rx.length < this.fifoSize()) {
      this.rx.push(byte);
    } else {
      // Overrun: FIFO mode loses the new character, 16450 mode overwrites RBR.
      this.lsrErrors |= LSR_OE;
      if (!(this.fcr & FCR_ENABLE)) this.rx[0] = byte;
    }
    if (!this.timeoutPending) this.rxActivity = t;
  }

  private hostByteArrives(t: number): void {
    this.rxDeadline = Infinity;
    if (this.mcr & MCR_LOOP || this.rx.length >= this.fifoSize() || this.hostHead >= this.hostInput.length) return;
    this.receiveChar(this.hostInput[this.hostHead++]!, t);
    if (this.hostHead > 4096 && this.hostHead * 2 > this.hostInput.length) {
      this.hostInput = this.hostInput.slice(this.hostHead);
      this.hostHead = 0;
    }
    this.resumeHostInput(t);
  }

  /** Start the next host character on the line if there is one and room for it. */
  private resumeHostInput(t = this.now()): void {
    if (this.rxDeadline !== Infinity || this.hostHead >= this.hostInput.length) return;
    if (this.mcr & MCR_LOOP || this.rx.length >= this.fifoSize()) return;
    this.rxDeadline = t + this.charTime();
  }

  // ---- snapshots ------------------------------------------------------------

  save(): UartStateV1 {
    this.sync();
    const now = this.now();
    return {
      version: 1,
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, fcr: this.fcr, scr: this.scr, dll: this.dll, dlm: this.dlm,
      lsrErrors: this.lsrErrors, msrInputs: this.msrInputs, msrDelta: this.msrDelta, lastRbr: this.lastRbr,
      rx: [...this.rx], tx: [...this.tx], tsr: this.tsr,
      txIn: this.txDeadline === Infinity ? null : this.txDeadline - now,
      rxIn: this.rxDeadline === Infinity ? null : this.rxDeadline - now,
      rxQuiet: now - this.rxActivity,
      timeoutPending: this.timeoutPending, thriPending: this.thriPending,
      hostInput: this.hostInput.slice(this.hostHead),
      irqLevel: this.irqLevel,
    };
  }

  restore(state: unknown): void {
    const s = state as UartStateV1;
    if (!s || s.version !== 1) throw new Error(`${this.name}: unsupported snapshot version ${(s as { version?: unknown })?.version}`);
    const now = this.now();
    this.ier = s.ier; this.lcr = s.lcr; this.mcr = s.mcr; this.fcr = s.fcr; this.scr = s.scr; this.dll = s.dll; this.dlm = s.dlm;
    this.lsrErrors = s.lsrErrors; this.msrInputs = s.msrInputs; this.msrDelta = s.msrDelta; this.lastRbr = s.lastRbr;
    this.rx = [...s.rx]; this.tx = [...s.tx]; this.tsr = s.tsr;
    this.txDeadline = s.txIn === null ? Infinity : now + s.txIn;
    this.rxDeadline = s.rxIn === null ? Infinity : now + s.rxIn;
    this.rxActivity = now - s.rxQuiet;
    this.timeoutPending = s.timeoutPending; this.thriPending = s.thriPending;
    this.hostInput = [...s.hostInput];
    this.hostHead = 0;
    // Drive the line to the saved level whatever the interrupt controller believes.
    this.irqLevel = s.irqLevel;
    this.host?.irq.setIrq(this.irqLine, this.irqLevel);
    this.rearm();
    this.updateIrq();
  }
}
