/**
 * A VGA in text mode: what Linux's vgacon and our BIOS-less boots need.
 *
 * The text itself lives in guest RAM (0xB8000 for the colour mapping) and the
 * device reads it from there through host.memory when asked; no MMIO is needed,
 * since the CPU's writes to that RAM are the display memory. Each cell is a
 * character byte (code page 437) and an attribute byte.
 *
 * Registers, stored and read back as on the card, with the power-on values of
 * BIOS mode 3 (80x25 colour text, 720x400 at 70 Hz):
 *   0x3C0/0x3C1  attribute controller (index/data flip-flop, reset by reading
 *                input status 1; index bit 5 is the palette address source)
 *   0x3C2        misc output (write) / input status 0 (read); 0x3CC reads misc
 *   0x3C3        video subsystem enable
 *   0x3C4/0x3C5  sequencer          0x3CE/0x3CF  graphics controller
 *   0x3C6-0x3C9  DAC: pel mask, read index / state, write index, data (three
 *                6-bit components per entry, auto-incrementing)
 *   0x3CA        feature control (read; written at 0x3DA/0x3BA)
 *   0x3D4/0x3D5  CRTC index/data (0x3B4/0x3B5 when misc output bit 0 selects
 *                the monochrome addresses), with the write protection of
 *                registers 0-7 by CRTC 0x11 bit 7
 *   0x3DA        input status 1 (0x3BA in mono): bit 0 display disabled
 *                (horizontal or vertical blanking), bit 3 vertical retrace
 *
 * The screen: columns = CRTC 0x01 + 1; rows = displayed scan lines (CRTC 0x12
 * with the overflow bits) / character height (CRTC 0x09); the row pitch in
 * memory is CRTC 0x13 x 2 characters; the screen starts at the CRTC start
 * address (0x0C/0x0D) and the cursor sits at 0x0E/0x0F (both in characters),
 * hidden by CRTC 0x0A bit 5. Addresses wrap within the memory window that
 * graphics controller register 6 selects (32 KiB at 0xB8000 by default), which
 * is how vgacon's hardware scrolling uses it.
 *
 * Retrace timing follows virtual time with the fixed timings of mode 3: 449
 * lines of 31.78 us (70.1 Hz), 400 displayed, vertical retrace on lines 412-413,
 * horizontal blanking for the last fifth of each line. It does not follow
 * reprogrammed CRTC timing registers; graphics modes, fonts and the planar
 * memory organisation are not emulated (text only).
 */
import type { Device, DeviceHost } from './device.js';

const LINE_NS = 1e9 / 31468.75; // 28.322 MHz dot clock / (100 characters x 9 dots)
const LINES = 449;
const DISPLAY_LINES = 400;
const VRETRACE_FIRST = 412;
const VRETRACE_LAST = 413;
const HACTIVE = 0.8; // 80 of 100 character clocks

/** BIOS mode 3 register values. */
const MODE3_SEQ = [0x03, 0x00, 0x03, 0x00, 0x02];
const MODE3_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const MODE3_GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
const MODE3_ATTR = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08, 0x00,
];
const MODE3_MISC = 0x67;

/** Code page 437 glyphs as Unicode, for the screen text. */
const CP437: readonly string[] = (() => {
  const t: string[] = [];
  const low = ' \u263a\u263b\u2665\u2666\u2663\u2660\u2022\u25d8\u25cb\u25d9\u2642\u2640\u266a\u266b\u263c' +
    '\u25ba\u25c4\u2195\u203c\u00b6\u00a7\u25ac\u21a8\u2191\u2193\u2192\u2190\u221f\u2194\u25b2\u25bc';
  const high =
    '\u00c7\u00fc\u00e9\u00e2\u00e4\u00e0\u00e5\u00e7\u00ea\u00eb\u00e8\u00ef\u00ee\u00ec\u00c4\u00c5' +
    '\u00c9\u00e6\u00c6\u00f4\u00f6\u00f2\u00fb\u00f9\u00ff\u00d6\u00dc\u00a2\u00a3\u00a5\u20a7\u0192' +
    '\u00e1\u00ed\u00f3\u00fa\u00f1\u00d1\u00aa\u00ba\u00bf\u2310\u00ac\u00bd\u00bc\u00a1\u00ab\u00bb' +
    '\u2591\u2592\u2593\u2502\u2524\u2561\u2562\u2556\u2555\u2563\u2551\u2557\u255d\u255c\u255b\u2510' +
    '\u2514\u2534\u252c\u251c\u2500\u253c\u255e\u255f\u255a\u2554\u2569\u2566\u2560\u2550\u256c\u2567' +
    '\u2568\u2564\u2565\u2559\u2558\u2552\u2553\u256b\u256a\u2518\u250c\u2588\u2584\u258c\u2590\u2580' +
    '\u03b1\u00df\u0393\u03c0\u03a3\u03c3\u00b5\u03c4\u03a6\u0398\u03a9\u03b4\u221e\u03c6\u03b5\u2229' +
    '\u2261\u00b1\u2265\u2264\u2320\u2321\u00f7\u2248\u00b0\u2219\u00b7\u221a\u207f\u00b2\u25a0\u00a0';
  for (let i = 0; i < 32; i++) t.push(low[i]!);
  for (let i = 32; i < 127; i++) t.push(String.fromCharCode(i));
  t.push('\u2302');
  for (let i = 0; i < 128; i++) t.push(high[i]!);
  return t;
})();

export interface VgaCursor {
  row: number;
  col: number;
  /** Enabled by CRTC 0x0A and inside the displayed screen. */
  visible: boolean;
}

interface VgaStateV1 {
  version: 1;
  misc: number; vse: number; feature: number;
  seqIndex: number; seq: number[];
  gcIndex: number; gc: number[];
  crtcIndex: number; crtc: number[];
  attrIndex: number; attrFlip: boolean; attr: number[];
  pelMask: number; dacRead: number; dacWrite: number; dacComponent: number; dacReading: boolean; dac: number[];
}

export class VgaText implements Device {
  readonly name = 'vga';
  private host: DeviceHost | null = null;
  private misc = MODE3_MISC;
  private vse = 1;
  private feature = 0;
  private seqIndex = 0;
  private seq = [...MODE3_SEQ];
  private gcIndex = 0;
  private gc = [...MODE3_GC];
  private crtcIndex = 0;
  private crtc = [...MODE3_CRTC];
  private attrIndex = 0x20;
  /** Attribute controller flip-flop: false = next write to 0x3C0 is an index. */
  private attrFlip = false;
  private attr = [...MODE3_ATTR];
  private pelMask = 0xff;
  private dacRead = 0;
  private dacWrite = 0;
  private dacComponent = 0;
  private dacReading = false;
  private dac = defaultDac();

  attach(host: DeviceHost): void {
    this.host = host;
    host.ports.register(0x3c0, 16, {
      read: (port, size) => (size === 1 ? this.read(port) : undefined),
      write: (port, size, v) => this.write(port, size, v),
    });
    for (const base of [0x3b0, 0x3d0]) {
      for (const off of [4, 5, 0xa]) {
        host.ports.register(base + off, 1, {
          read: (port, size) => (size === 1 ? this.read(port) : undefined),
          write: (port, size, v) => this.write(port, size, v),
        });
      }
    }
  }

  reset(): void {
    this.misc = MODE3_MISC;
    this.vse = 1;
    this.feature = 0;
    this.seqIndex = this.gcIndex = this.crtcIndex = 0;
    this.seq = [...MODE3_SEQ];
    this.gc = [...MODE3_GC];
    this.crtc = [...MODE3_CRTC];
    this.attr = [...MODE3_ATTR];
    this.attrIndex = 0x20;
    this.attrFlip = false;
    this.pelMask = 0xff;
    this.dacRead = this.dacWrite = this.dacComponent = 0;
    this.dacReading = false;
    this.dac = defaultDac();
  }

  // ---- what the screen shows ------------------------------------------------

  /** Text columns of the current mode. */
  get columns(): number {
    return this.crtc[0x01]! + 1;
  }

  /** Text rows of the current mode. */
  get rows(): number {
    const c = this.crtc;
    const ov = c[0x07]!;
    let lines = c[0x12]! | ((ov & 0x02) << 7) | ((ov & 0x40) << 3);
    lines += 1;
    let height = (c[0x09]! & 0x1f) + 1;
    if (c[0x09]! & 0x80) height *= 2;
    return Math.max(1, Math.floor(lines / height));
  }

  /** The cell at (row, col): character byte and attribute byte. */
  cell(row: number, col: number): { ch: number; attr: number } {
    const a = this.cellAddress(this.startAddress() + row * this.pitch() + col);
    const mem = this.host!.memory;
    return { ch: mem.read8(a), attr: mem.read8(a + 1) };
  }

  /** The screen as text, one string per row, every row `columns` characters wide (code page 437 mapped to Unicode). */
  screenText(): string[] {
    const mem = this.host!.memory;
    const rows = this.rows, cols = this.columns, pitch = this.pitch(), start = this.startAddress();
    const out: string[] = [];
    for (let r = 0; r < rows; r++) {
      let line = '';
      for (let c = 0; c < cols; c++) line += CP437[mem.read8(this.cellAddress(start + r * pitch + c))]!;
      out.push(line);
    }
    return out;
  }

  /** Where the hardware cursor is, relative to the top-left of the screen. */
  cursor(): VgaCursor {
    const pitch = this.pitch();
    const off = ((this.crtc[0x0e]! << 8) | this.crtc[0x0f]!) - this.startAddress();
    const row = Math.floor(off / pitch);
    const col = off - row * pitch;
    const visible = !(this.crtc[0x0a]! & 0x20) && row >= 0 && row < this.rows && col < this.columns;
    return { row, col, visible };
  }

  /** A DAC entry as 6-bit red, green, blue. */
  dacEntry(i: number): [number, number, number] {
    return [this.dac[i * 3]!, this.dac[i * 3 + 1]!, this.dac[i * 3 + 2]!];
  }

  private startAddress(): number {
    return (this.crtc[0x0c]! << 8) | this.crtc[0x0d]!;
  }

  private pitch(): number {
    return Math.max(1, this.crtc[0x13]! * 2);
  }

  /** Physical address of character cell `index` (in character units from the window's start). */
  private cellAddress(index: number): number {
    switch ((this.gc[6]! >> 2) & 3) {
      case 0: return 0xa0000 + ((index * 2) & 0x1ffff);
      case 1: return 0xa0000 + ((index * 2) & 0xffff);
      case 2: return 0xb0000 + ((index * 2) & 0x7fff);
      default: return 0xb8000 + ((index * 2) & 0x7fff);
    }
  }

  // ---- registers ------------------------------------------------------------

  /** 0x3Dx when misc output bit 0 is set (colour), 0x3Bx otherwise; the other block is not decoded. */
  private decoded(port: number): boolean {
    if (port >= 0x3c0 && port <= 0x3cf) return true;
    return (port & 0xfff0) === (this.misc & 1 ? 0x3d0 : 0x3b0);
  }

  private read(port: number): number {
    if (!this.decoded(port)) return 0xff;
    switch (port & 0x3f) {
      case 0x00: return this.attrIndex;
      case 0x01: return this.attr[this.attrIndex & 0x1f] ?? 0;
      case 0x02: return 0x00; // input status 0: no vertical retrace interrupt, switch sense 0
      case 0x03: return this.vse;
      case 0x04: return this.seqIndex;
      case 0x05: return this.seq[this.seqIndex] ?? 0xff;
      case 0x06: return this.pelMask;
      case 0x07: return this.dacReading ? 0x03 : 0x00;
      case 0x08: return this.dacWrite;
      case 0x09: {
        const v = this.dac[this.dacRead * 3 + this.dacComponent]!;
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacRead = (this.dacRead + 1) & 0xff;
        }
        return v;
      }
      case 0x0a: return this.feature;
      case 0x0c: return this.misc;
      case 0x0e: return this.gcIndex;
      case 0x0f: return this.gc[this.gcIndex] ?? 0xff;
      case 0x14: case 0x34: return this.crtcIndex;
      case 0x15: case 0x35: return this.crtc[this.crtcIndex] ?? 0xff;
      case 0x1a: case 0x3a:
        this.attrFlip = false;
        return this.inputStatus1();
      default: return 0xff;
    }
  }

  private write(port: number, size: 1 | 2 | 4, value: number): boolean | void {
    if (size !== 1) return false; // word writes (index + data) split into bytes
    if (!this.decoded(port)) return;
    const v = value & 0xff;
    switch (port & 0x3f) {
      case 0x00:
        if (!this.attrFlip) this.attrIndex = v & 0x3f;
        else if ((this.attrIndex & 0x1f) < this.attr.length) this.attr[this.attrIndex & 0x1f] = v;
        this.attrFlip = !this.attrFlip;
        break;
      case 0x02: this.misc = v; break;
      case 0x03: this.vse = v & 1; break;
      case 0x04: this.seqIndex = v & 0x07; break;
      case 0x05: if (this.seqIndex < this.seq.length) this.seq[this.seqIndex] = v; break;
      case 0x06: this.pelMask = v; break;
      case 0x07:
        this.dacRead = v;
        this.dacComponent = 0;
        this.dacReading = true;
        break;
      case 0x08:
        this.dacWrite = v;
        this.dacComponent = 0;
        this.dacReading = false;
        break;
      case 0x09:
        this.dac[this.dacWrite * 3 + this.dacComponent] = v & 0x3f;
        if (++this.dacComponent === 3) {
          this.dacComponent = 0;
          this.dacWrite = (this.dacWrite + 1) & 0xff;
        }
        break;
      case 0x0e: this.gcIndex = v & 0x0f; break;
      case 0x0f: if (this.gcIndex < this.gc.length) this.gc[this.gcIndex] = v; break;
      case 0x14: case 0x34: this.crtcIndex = v & 0x3f; break;
      case 0x15: case 0x35: this.writeCrtc(v); break;
      case 0x1a: case 0x3a: this.feature = v; break;
    }
  }

  private writeCrtc(v: number): void {
    const i = this.crtcIndex;
    if (i >= this.crtc.length) return;
    if (i <= 7 && this.crtc[0x11]! & 0x80) {
      // Protected: only the line compare bit 8 (overflow bit 4) can change.
      if (i === 7) this.crtc[7] = (this.crtc[7]! & ~0x10) | (v & 0x10);
      return;
    }
    this.crtc[i] = v;
  }

  /** Bit 0: display disabled (blanking), bit 3: vertical retrace, from virtual time. */
  private inputStatus1(): number {
    const t = this.host ? this.host.clock.now() : 0;
    const lineF = t / LINE_NS;
    const line = Math.floor(lineF) % LINES;
    const inLine = lineF - Math.floor(lineF);
    let v = 0;
    if (line >= DISPLAY_LINES || inLine >= HACTIVE) v |= 0x01;
    if (line >= VRETRACE_FIRST && line <= VRETRACE_LAST) v |= 0x08;
    return v;
  }

  // ---- snapshots ------------------------------------------------------------

  save(): VgaStateV1 {
    return {
      version: 1,
      misc: this.misc, vse: this.vse, feature: this.feature,
      seqIndex: this.seqIndex, seq: [...this.seq],
      gcIndex: this.gcIndex, gc: [...this.gc],
      crtcIndex: this.crtcIndex, crtc: [...this.crtc],
      attrIndex: this.attrIndex, attrFlip: this.attrFlip, attr: [...this.attr],
      pelMask: this.pelMask, dacRead: this.dacRead, dacWrite: this.dacWrite, dacComponent: this.dacComponent,
      dacReading: this.dacReading, dac: [...this.dac],
    };
  }

  restore(state: unknown): void {
    const s = state as VgaStateV1;
    if (!s || s.version !== 1) throw new Error(`vga: unsupported snapshot version ${(s as { version?: unknown })?.version}`);
    this.misc = s.misc; this.vse = s.vse; this.feature = s.feature;
    this.seqIndex = s.seqIndex; this.seq = [...s.seq];
    this.gcIndex = s.gcIndex; this.gc = [...s.gc];
    this.crtcIndex = s.crtcIndex; this.crtc = [...s.crtc];
    this.attrIndex = s.attrIndex; this.attrFlip = s.attrFlip; this.attr = [...s.attr];
    this.pelMask = s.pelMask; this.dacRead = s.dacRead; this.dacWrite = s.dacWrite; this.dacComponent = s.dacComponent;
    this.dacReading = s.dacReading; this.dac = [...s.dac];
  }
}

/** The BIOS's DAC after a mode 3 set: the 64 EGA colours (rgbRGB bits) in entries 0-63. */
function defaultDac(): number[] {
  const dac = new Array<number>(256 * 3).fill(0);
  for (let i = 0; i < 64; i++) {
    dac[i * 3] = ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15;
    dac[i * 3 + 1] = ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15;
    dac[i * 3 + 2] = (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15;
  }
  return dac;
}
