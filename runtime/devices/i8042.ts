/**
 * The 8042 keyboard controller of a PC/AT (PS/2 variant) with a PS/2 keyboard
 * on its first port and an empty mouse port.
 *
 * Ports: 0x60 data (read: output buffer; write: parameter of a pending
 * controller command, else a byte for the keyboard) and 0x64 (read: status;
 * write: controller command). Port 0x61 (system control port B) is not part of
 * the controller and is left to the timer/speaker device.
 *
 * Status register: 0 OBF, 1 IBF (always clear: writes are taken at once),
 * 2 system flag (command byte bit 2), 3 last write was a command, 4 keyboard
 * not inhibited (no keylock), 5 the output byte came from the aux port,
 * 6 timeout, 7 parity error (never).
 *
 * Command byte (controller RAM byte 0): 0 keyboard IRQ 1 enable, 1 aux IRQ 12
 * enable, 2 system flag, 4 keyboard interface disabled, 5 aux interface
 * disabled, 6 translate set 2 to set 1. Its power-on value here is 0x65, what
 * a PC BIOS leaves behind (translation on, keyboard IRQ on, system flag set,
 * mouse port off), since we boot without a BIOS.
 *
 * Output port (0xD0/0xD1): bit 0 is the CPU reset line (active low), bit 1 the
 * A20 gate; 4 and 5 read back the two output-buffer-full lines. Both the reset
 * and A20 go to host callbacks, as do the pulses of 0xF0-0xFF (0xFE pulses
 * reset). The output port powers up as 0xCF here: A20 enabled, like the
 * machine's memory at power-on (a BIOS-less boot needs it).
 *
 * Aux port: present, with no mouse plugged in. The controller-internal
 * commands work (0xA7/0xA8 disable/enable, 0xA9 test -> 0x00, 0xD3 echo as aux
 * data with IRQ 12), and a byte sent to the mouse with 0xD4 fails as on real
 * hardware with an empty port: 0xFE comes back with the timeout and aux bits
 * set. Linux's i8042 driver then registers its AUX port and psmouse finds
 * nothing behind it.
 *
 * Timing: the controller answers its own commands at once; bytes from the
 * keyboard take KBD_BYTE_NS of virtual time each to cross the PS/2 wire and
 * only move while the keyboard interface is enabled and the output buffer is
 * empty, so a guest reading in its IRQ 1 handler gets one interrupt per byte.
 * With translation on, the controller turns set 2 into set 1 (an F0 prefix
 * becomes bit 7 of the following byte).
 *
 * The keyboard (Ps2Keyboard below): reset 0xFF -> FA AA, 0xF2 identify ->
 * FA AB 83, 0xF0 get/set scan code set, 0xED LEDs, 0xF3 typematic, 0xF4/0xF5/
 * 0xF6 enable/disable/defaults, 0xEE echo, 0xFE resend, 0xF7-0xFD (set 3 key
 * attributes) acknowledged and ignored; anything else gets FE (resend). The
 * host types through `pressKey` (set 1 bytes, converted to the keyboard's
 * current set; set 3 is approximated by set 2) and `typeText`. Host
 * keystrokes wait in an unbounded host queue until the keyboard is scanning,
 * so input typed before the guest enables the keyboard is delivered later, not
 * lost. Typematic repeat is not generated: the host sends makes and breaks.
 */
import type { Timer } from '../clock.js';
import type { Device, DeviceHost } from './device.js';
import { SET2_TO_SET1, asciiToSet1, set1ToSet2 } from './scancodes.js';

/** Time for one byte to cross the keyboard's serial link (11 bits at ~11 kHz). */
export const KBD_BYTE_NS = 1_000_000;

const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUX = 0x20, ST_TIMEOUT = 0x40;
const CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_SYS = 0x04, CB_KBD_OFF = 0x10, CB_AUX_OFF = 0x20, CB_XLATE = 0x40;
const OP_RESET = 0x01, OP_A20 = 0x02;

export interface I8042Options {
  /** The system reset line was pulsed (0xFE) or driven low through the output port. */
  onReset?: () => void;
  /** The A20 gate (output port bit 1) changed. */
  onA20?: (enabled: boolean) => void;
}

interface OutByte {
  value: number;
  aux: boolean;
  timeout: boolean;
}

interface KeyboardStateV1 {
  set: number; scanning: boolean; leds: number; typematic: number;
  expect: number; lastSent: number;
  responses: number[]; current: number[]; hostKeys: number[][];
}

interface I8042StateV1 {
  version: 1;
  ram: number[]; outPort: number; lastWasCommand: boolean; pendingCmd: number;
  out: OutByte | null; lastOut: number; ctrlQueue: OutByte[];
  xlatBreak: boolean;
  /** Time left until the keyboard byte on the wire arrives (ns), or null. */
  kbdIn: number | null;
  irq1: boolean; irq12: boolean;
  keyboard: KeyboardStateV1;
}

export class I8042 implements Device {
  readonly name = 'i8042';
  readonly keyboard = new Ps2Keyboard();
  onReset: () => void;
  onA20: (enabled: boolean) => void;

  private host: DeviceHost | null = null;
  private timer: Timer | null = null;
  /** Controller RAM; byte 0 is the command byte. */
  private ram = new Array<number>(32).fill(0);
  private outPort = 0xcf;
  private lastWasCommand = false;
  /** Controller command waiting for its parameter on port 0x60, or -1. */
  private pendingCmd = -1;
  private out: OutByte | null = null;
  private lastOut = 0;
  private ctrlQueue: OutByte[] = [];
  private xlatBreak = false;
  private kbdDeadline = Infinity;
  private irq1 = false;
  private irq12 = false;

  constructor(opts: I8042Options = {}) {
    this.onReset = opts.onReset ?? (() => {});
    this.onA20 = opts.onA20 ?? (() => {});
    this.keyboard.onOutput = () => this.sync();
    this.powerOn();
  }

  attach(host: DeviceHost): void {
    this.host = host;
    this.timer = host.clock.createTimer(() => this.sync());
    host.ports.register(0x60, 1, {
      read: (_p, size) => (size === 1 ? this.readData() : undefined),
      write: (_p, size, v) => {
        if (size !== 1) return false;
        this.writeData(v & 0xff);
      },
    });
    host.ports.register(0x64, 1, {
      read: (_p, size) => (size === 1 ? this.readStatus() : undefined),
      write: (_p, size, v) => {
        if (size !== 1) return false;
        this.writeCommand(v & 0xff);
      },
    });
  }

  private powerOn(): void {
    this.ram.fill(0);
    this.ram[0] = CB_XLATE | CB_AUX_OFF | CB_SYS | CB_KBD_INT;
    this.outPort = 0xcf;
    this.lastWasCommand = false;
    this.pendingCmd = -1;
    this.out = null;
    this.lastOut = 0;
    this.ctrlQueue = [];
    this.xlatBreak = false;
    this.kbdDeadline = Infinity;
  }

  /** Power-on state of the controller and the keyboard. Does not call the A20/reset callbacks. */
  reset(): void {
    this.powerOn();
    this.keyboard.reset();
    this.sync();
  }

  /** The A20 gate as the output port drives it. */
  get a20(): boolean {
    return (this.outPort & OP_A20) !== 0;
  }

  /** The command byte (controller RAM byte 0). */
  get commandByte(): number {
    return this.ram[0]!;
  }

  /** Press and/or release keys: set 1 scan code bytes (makes, breaks with bit 7, E0/E1 prefixes). */
  pressKey(set1: readonly number[] | Uint8Array): void {
    this.keyboard.hostSend([...set1]);
  }

  /** Type ASCII text on a US keyboard (press and release per character, Shift/Ctrl as needed). */
  typeText(text: string): void {
    for (const seq of asciiToSet1(text)) this.keyboard.hostSend(seq);
  }

  // ---- ports ----------------------------------------------------------------

  private readStatus(): number {
    this.sync();
    let v = ST_UNLOCKED;
    if (this.ram[0]! & CB_SYS) v |= ST_SYS;
    if (this.lastWasCommand) v |= ST_CMD;
    if (this.out) {
      v |= ST_OBF;
      if (this.out.aux) v |= ST_AUX;
      if (this.out.timeout) v |= ST_TIMEOUT;
    }
    return v;
  }

  private readData(): number {
    this.sync();
    if (this.out) {
      this.lastOut = this.out.value;
      this.out = null;
      // The IRQ follows OBF: drop it before the next byte can raise it again,
      // so an edge-triggered PIC sees one edge per byte.
      this.updateIrqs();
      this.sync();
    }
    return this.lastOut;
  }

  private writeCommand(cmd: number): void {
    this.sync();
    this.lastWasCommand = true;
    this.pendingCmd = -1;
    const cb = this.ram[0]!;
    if (cmd >= 0x20 && cmd <= 0x3f) {
      this.reply(this.ram[cmd & 0x1f]!);
    } else if ((cmd >= 0x60 && cmd <= 0x7f) || cmd === 0xd1 || cmd === 0xd2 || cmd === 0xd3 || cmd === 0xd4) {
      this.pendingCmd = cmd;
    } else {
      switch (cmd) {
        case 0xa4: this.reply(0xf1); break; // no password installed
        case 0xa7: this.ram[0] = cb | CB_AUX_OFF; break;
        case 0xa8: this.ram[0] = cb & ~CB_AUX_OFF; break;
        case 0xa9: this.reply(0x00); break; // aux interface test: no error
        case 0xaa: this.ram[0] = cb | CB_SYS; this.reply(0x55); break; // self-test passed
        case 0xab: this.reply(0x00); break; // keyboard interface test: no error
        case 0xad: this.ram[0] = cb | CB_KBD_OFF; break;
        case 0xae: this.ram[0] = cb & ~CB_KBD_OFF; break;
        case 0xc0: this.reply(0xa0); break; // input port: keyboard not inhibited, no jumper
        case 0xd0: this.reply(this.readOutputPort()); break;
        case 0xdd: this.writeOutputPort(this.outPort & ~OP_A20); break;
        case 0xdf: this.writeOutputPort(this.outPort | OP_A20); break;
        case 0xe0: this.reply(0x00); break; // test inputs
        default:
          // 0xF0-0xFF pulse the output port bits whose command bit is 0 for ~6 us.
          if (cmd >= 0xf0 && !(cmd & OP_RESET)) this.onReset();
          // Other commands (0xA1, 0xC1, 0xC2, ...) do nothing here.
          break;
      }
    }
    this.sync();
  }

  private writeData(v: number): void {
    this.sync();
    this.lastWasCommand = false;
    const cmd = this.pendingCmd;
    this.pendingCmd = -1;
    if (cmd < 0) {
      this.keyboard.write(v);
    } else if (cmd >= 0x60 && cmd <= 0x7f) {
      this.ram[cmd & 0x1f] = v;
    } else if (cmd === 0xd1) {
      this.writeOutputPort(v);
    } else if (cmd === 0xd2) {
      this.ctrlQueue.push({ value: v, aux: false, timeout: false });
    } else if (cmd === 0xd3) {
      this.ctrlQueue.push({ value: v, aux: true, timeout: false });
    } else if (cmd === 0xd4) {
      // No mouse: the transmission times out.
      this.ctrlQueue.push({ value: 0xfe, aux: true, timeout: true });
    }
    this.sync();
  }

  private reply(v: number): void {
    this.ctrlQueue.push({ value: v, aux: false, timeout: false });
  }

  private readOutputPort(): number {
    let v = this.outPort & 0xcf;
    if (this.out && !this.out.aux) v |= 0x10;
    if (this.out && this.out.aux) v |= 0x20;
    return v;
  }

  private writeOutputPort(v: number): void {
    const old = this.outPort;
    this.outPort = v;
    if ((old ^ v) & OP_A20) this.onA20((v & OP_A20) !== 0);
    if (!(v & OP_RESET)) this.onReset();
  }

  // ---- the output buffer ----------------------------------------------------

  private now(): number {
    return this.host ? this.host.clock.now() : 0;
  }

  /** Fill the output buffer if it is empty, raise or drop the IRQ lines, re-arm the timer. */
  private sync(): void {
    const now = this.now();
    if (!this.out) {
      const next = this.ctrlQueue.shift();
      if (next) {
        this.out = next;
      } else if (this.ram[0]! & CB_KBD_OFF || !this.keyboard.hasByte()) {
        this.kbdDeadline = Infinity;
      } else if (this.kbdDeadline === Infinity) {
        this.kbdDeadline = now + KBD_BYTE_NS;
      } else if (now >= this.kbdDeadline) {
        this.kbdDeadline = Infinity;
        this.loadKeyboardByte();
        if (!this.out && this.keyboard.hasByte()) this.kbdDeadline = now + KBD_BYTE_NS;
      }
    }
    if (this.host && this.timer) {
      // Only while the buffer is free: a full buffer waits for the guest's read.
      if (this.kbdDeadline === Infinity || this.out) this.host.clock.cancel(this.timer);
      else if (this.timer.index < 0 || this.timer.deadline !== this.kbdDeadline) this.host.clock.arm(this.timer, this.kbdDeadline);
    }
    this.updateIrqs();
  }

  private loadKeyboardByte(): void {
    let b = this.keyboard.take();
    if (this.ram[0]! & CB_XLATE) {
      if (b === 0xf0) {
        this.xlatBreak = true;
        if (!this.keyboard.hasByte()) return;
        b = this.keyboard.take();
      }
      b = SET2_TO_SET1[b]! | (this.xlatBreak ? 0x80 : 0);
      this.xlatBreak = false;
    }
    this.out = { value: b, aux: false, timeout: false };
  }

  private updateIrqs(): void {
    const cb = this.ram[0]!;
    const i1 = !!this.out && !this.out.aux && (cb & CB_KBD_INT) !== 0;
    const i12 = !!this.out && this.out.aux && (cb & CB_AUX_INT) !== 0;
    if (i1 !== this.irq1) {
      this.irq1 = i1;
      this.host?.irq.setIrq(1, i1);
    }
    if (i12 !== this.irq12) {
      this.irq12 = i12;
      this.host?.irq.setIrq(12, i12);
    }
  }

  // ---- snapshots ------------------------------------------------------------

  save(): I8042StateV1 {
    this.sync();
    return {
      version: 1,
      ram: [...this.ram], outPort: this.outPort, lastWasCommand: this.lastWasCommand, pendingCmd: this.pendingCmd,
      out: this.out && { ...this.out }, lastOut: this.lastOut, ctrlQueue: this.ctrlQueue.map((o) => ({ ...o })),
      xlatBreak: this.xlatBreak,
      kbdIn: this.kbdDeadline === Infinity ? null : this.kbdDeadline - this.now(),
      irq1: this.irq1, irq12: this.irq12,
      keyboard: this.keyboard.save(),
    };
  }

  restore(state: unknown): void {
    const s = state as I8042StateV1;
    if (!s || s.version !== 1) throw new Error(`i8042: unsupported snapshot version ${(s as { version?: unknown })?.version}`);
    this.ram = [...s.ram];
    this.outPort = s.outPort;
    this.lastWasCommand = s.lastWasCommand;
    this.pendingCmd = s.pendingCmd;
    this.out = s.out && { ...s.out };
    this.lastOut = s.lastOut;
    this.ctrlQueue = s.ctrlQueue.map((o) => ({ ...o }));
    this.xlatBreak = s.xlatBreak;
    this.kbdDeadline = s.kbdIn === null ? Infinity : this.now() + s.kbdIn;
    this.keyboard.restore(s.keyboard);
    // Drive the lines to the saved levels whatever the interrupt controller believes.
    this.irq1 = s.irq1;
    this.irq12 = s.irq12;
    this.host?.irq.setIrq(1, s.irq1);
    this.host?.irq.setIrq(12, s.irq12);
    this.sync();
  }
}

/** Keyboard command waiting for its parameter byte. */
const EXPECT_NONE = 0, EXPECT_LEDS = 0xed, EXPECT_SET = 0xf0, EXPECT_TYPEMATIC = 0xf3, EXPECT_KEYLIST = 0xfb;
const ACK = 0xfa, RESEND = 0xfe, BAT_OK = 0xaa, ECHO = 0xee;

/**
 * A PS/2 (MF2) keyboard: it answers the host's commands and sends scan codes
 * in its current set. Its answers go out before queued keystrokes, but never in
 * the middle of one key's byte sequence.
 */
export class Ps2Keyboard {
  /** Called when the keyboard has something to send. */
  onOutput: () => void = () => {};
  private set = 2;
  private scanning = true;
  private leds = 0;
  private typematic = 0x2b;
  private expect = EXPECT_NONE;
  private lastSent = 0;
  private responses: number[] = [];
  /** Rest of the key sequence being sent. */
  private current: number[] = [];
  /** Keystrokes from the host, as set 1 sequences, waiting to be sent. */
  private hostKeys: number[][] = [];

  reset(): void {
    this.set = 2;
    this.scanning = true;
    this.leds = 0;
    this.typematic = 0x2b;
    this.expect = EXPECT_NONE;
    this.lastSent = 0;
    this.responses = [];
    this.current = [];
    this.hostKeys = [];
  }

  get scanCodeSet(): number {
    return this.set;
  }
  get ledState(): number {
    return this.leds;
  }
  get typematicRate(): number {
    return this.typematic;
  }
  get enabled(): boolean {
    return this.scanning;
  }
  /** Host keystrokes not yet sent. */
  get pendingKeys(): number {
    return this.hostKeys.length + (this.current.length ? 1 : 0);
  }

  hostSend(set1: number[]): void {
    if (set1.length === 0) return;
    this.hostKeys.push(set1.map((b) => b & 0xff));
    this.onOutput();
  }

  hasByte(): boolean {
    return this.current.length > 0 || this.responses.length > 0 || (this.scanning && this.hostKeys.length > 0);
  }

  /** The next byte on the wire (call only when hasByte()). */
  take(): number {
    let b: number;
    if (this.current.length) {
      b = this.current.shift()!;
    } else if (this.responses.length) {
      b = this.responses.shift()!;
    } else {
      const seq = this.hostKeys.shift()!;
      this.current = this.set === 1 ? seq : set1ToSet2(seq);
      b = this.current.shift()!;
    }
    // Resend repeats the last byte other than a resend request itself.
    if (b !== RESEND) this.lastSent = b;
    return b;
  }

  /** A byte from the controller. */
  write(b: number): void {
    const expect = this.expect;
    this.expect = EXPECT_NONE;
    // A command byte where a parameter was expected starts a new command.
    if (expect !== EXPECT_NONE && b < 0xed) {
      this.parameter(expect, b);
    } else {
      this.command(b);
    }
    this.onOutput();
  }

  private send(...bytes: number[]): void {
    this.responses.push(...bytes);
  }

  private parameter(expect: number, b: number): void {
    switch (expect) {
      case EXPECT_LEDS:
        this.leds = b & 7;
        this.send(ACK);
        break;
      case EXPECT_TYPEMATIC:
        this.typematic = b & 0x7f;
        this.send(ACK);
        break;
      case EXPECT_SET:
        if (b === 0) {
          this.send(ACK, this.set);
        } else if (b <= 3) {
          this.set = b;
          this.send(ACK);
        } else {
          this.send(RESEND);
        }
        break;
      case EXPECT_KEYLIST:
        // Set 3 per-key attributes: acknowledged and ignored until the next command.
        this.send(ACK);
        this.expect = EXPECT_KEYLIST;
        break;
    }
  }

  private command(b: number): void {
    switch (b) {
      case 0xed: this.send(ACK); this.expect = EXPECT_LEDS; break;
      case 0xee: this.send(ECHO); break;
      case 0xf0: this.send(ACK); this.expect = EXPECT_SET; break;
      case 0xf2: this.send(ACK, 0xab, 0x83); break;
      case 0xf3: this.send(ACK); this.expect = EXPECT_TYPEMATIC; break;
      case 0xf4:
        this.responses = [];
        this.scanning = true;
        this.send(ACK);
        break;
      case 0xf5:
      case 0xf6:
        this.responses = [];
        this.leds = 0;
        this.typematic = 0x2b;
        this.scanning = b === 0xf6;
        this.send(ACK);
        break;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa:
        this.send(ACK);
        break;
      case 0xfb: case 0xfc: case 0xfd:
        this.send(ACK);
        this.expect = EXPECT_KEYLIST;
        break;
      case 0xfe:
        this.send(this.lastSent);
        break;
      case 0xff:
        // Reset and basic assurance test; the keyboard comes back in set 2, scanning.
        this.responses = [];
        this.set = 2;
        this.leds = 0;
        this.typematic = 0x2b;
        this.scanning = true;
        this.send(ACK, BAT_OK);
        break;
      default:
        this.send(RESEND);
    }
  }

  save(): KeyboardStateV1 {
    return {
      set: this.set, scanning: this.scanning, leds: this.leds, typematic: this.typematic,
      expect: this.expect, lastSent: this.lastSent,
      responses: [...this.responses], current: [...this.current], hostKeys: this.hostKeys.map((k) => [...k]),
    };
  }

  restore(s: KeyboardStateV1): void {
    this.set = s.set; this.scanning = s.scanning; this.leds = s.leds; this.typematic = s.typematic;
    this.expect = s.expect; this.lastSent = s.lastSent;
    this.responses = [...s.responses]; this.current = [...s.current]; this.hostKeys = s.hostKeys.map((k) => [...k]);
  }
}
