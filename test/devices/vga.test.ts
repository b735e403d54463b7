import { describe, expect, it } from 'vitest';
import { Clock, NS_PER_INSTRUCTION } from '../../runtime/clock.js';
import { PortRegistry } from '../../runtime/ports.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { VgaText } from '../../runtime/devices/vga.js';

function setup() {
  let instructions = 0;
  const clock = new Clock('virtual', () => instructions);
  const ports = new PortRegistry();
  const memory = new PhysicalMemory(1 << 20);
  const vga = new VgaText();
  vga.attach({ ports, clock, irq: { setIrq: () => {} }, memory });
  vga.reset();
  const t = {
    vga, clock, ports, memory,
    inb: (p: number) => ports.portIn(p, 1),
    outb: (p: number, v: number) => ports.portOut(p, 1, v),
    outw: (p: number, v: number) => ports.portOut(p, 2, v),
    advance(ns: number) {
      instructions += Math.ceil(ns / NS_PER_INSTRUCTION);
      clock.runDue();
    },
    /** Write text with an attribute at a character offset of the 0xB8000 buffer. */
    put(offset: number, text: string, attr = 0x07) {
      for (let i = 0; i < text.length; i++) {
        memory.write8(0xb8000 + (offset + i) * 2, text.charCodeAt(i));
        memory.write8(0xb8000 + (offset + i) * 2 + 1, attr);
      }
    },
    crtc(index: number, v?: number) {
      t.outb(0x3d4, index);
      if (v !== undefined) t.outb(0x3d5, v);
      return t.inb(0x3d5);
    },
  };
  return t;
}

type T = ReturnType<typeof setup>;

/** vgacon's way of setting a 16-bit CRTC register pair: two word writes of index + data. */
function writeVga(t: T, reg: number, val: number) {
  t.outw(0x3d4, reg | (val & 0xff00));
  t.outw(0x3d4, (reg + 1) | ((val << 8) & 0xff00));
}

describe('VGA text: the screen', () => {
  it('shows 80x25 text from 0xB8000', () => {
    const t = setup();
    expect(t.vga.columns).toBe(80);
    expect(t.vga.rows).toBe(25);
    t.put(0, 'Linux version 6.1');
    t.put(80 * 24 + 70, 'bottom end');
    const screen = t.vga.screenText();
    expect(screen.length).toBe(25);
    expect(screen.every((l) => l.length === 80)).toBe(true);
    expect(screen[0]!.trimEnd()).toBe('Linux version 6.1');
    expect(screen[24]!.slice(70)).toBe('bottom end');
    expect(screen[1]).toBe(' '.repeat(80));
    expect(t.vga.cell(0, 0)).toEqual({ ch: 0x4c, attr: 0x07 });
  });

  it('maps code page 437 to Unicode', () => {
    const t = setup();
    for (const [i, b] of [0xc9, 0xcd, 0xbb, 0xb0, 0x01, 0xe1, 0xfe].entries()) t.memory.write8(0xb8000 + i * 2, b);
    expect(t.vga.screenText()[0]!.slice(0, 7)).toBe('╔═╗░☺ß■');
  });

  it('follows the CRTC start address (hardware scrolling) and wraps within the 32 KiB window', () => {
    const t = setup();
    t.put(80, 'second line');
    writeVga(t, 0x0c, 80);
    expect(t.vga.screenText()[0]!.trimEnd()).toBe('second line');
    // Start near the end of the window: the last rows come from its beginning.
    const start = 0x4000 - 80 * 2; // 16K characters = 32 KiB
    writeVga(t, 0x0c, start);
    t.put(0, 'wrapped');
    expect(t.vga.screenText()[2]!.trimEnd()).toBe('wrapped');
  });

  it('puts the cursor where CRTC 0x0E/0x0F say, relative to the start address', () => {
    const t = setup();
    expect(t.vga.cursor()).toEqual({ row: 0, col: 0, visible: true });
    writeVga(t, 0x0e, 5 * 80 + 17);
    expect(t.vga.cursor()).toEqual({ row: 5, col: 17, visible: true });
    // Byte writes, as BIOS-less guests and the OSDev wiki do them.
    t.outb(0x3d4, 0x0f);
    t.outb(0x3d5, (24 * 80 + 79) & 0xff);
    t.outb(0x3d4, 0x0e);
    t.outb(0x3d5, (24 * 80 + 79) >> 8);
    expect(t.vga.cursor()).toEqual({ row: 24, col: 79, visible: true });
    writeVga(t, 0x0c, 80);
    expect(t.vga.cursor()).toEqual({ row: 23, col: 79, visible: true });
    // Cursor start register bit 5 hides it.
    t.crtc(0x0a, 0x20);
    expect(t.vga.cursor().visible).toBe(false);
    t.crtc(0x0a, 0x0d);
    expect(t.vga.cursor().visible).toBe(true);
  });

  it('derives the geometry from the CRTC (80x50 with an 8-line font)', () => {
    const t = setup();
    t.crtc(0x09, (t.crtc(0x09) & ~0x1f) | 7);
    expect(t.vga.rows).toBe(50);
    expect(t.vga.screenText().length).toBe(50);
  });

  it('reads the monochrome buffer and ports when misc output selects them', () => {
    const t = setup();
    expect(t.inb(0x3cc)).toBe(0x67);
    t.outb(0x3c2, 0x66);
    expect(t.inb(0x3d4)).toBe(0xff); // colour ports no longer decoded
    t.outb(0x3b4, 0x0e);
    expect(t.inb(0x3b4)).toBe(0x0e);
    t.outb(0x3ce, 0x06);
    t.outb(0x3cf, 0x0a); // memory map 2: 0xB0000
    t.memory.write8(0xb0000, 0x4d);
    expect(t.vga.screenText()[0]![0]).toBe('M');
  });
});

describe('VGA text: registers', () => {
  it('stores CRTC registers and honours the write protection of 0-7', () => {
    const t = setup();
    expect(t.crtc(0x01)).toBe(0x4f);
    expect(t.crtc(0x11) & 0x80).toBe(0x80);
    t.crtc(0x01, 0x27);
    expect(t.crtc(0x01)).toBe(0x4f);
    t.crtc(0x07, 0x00);
    expect(t.crtc(0x07)).toBe(0x0f); // only the line compare bit changed
    t.crtc(0x11, t.crtc(0x11) & 0x7f);
    t.crtc(0x01, 0x27);
    expect(t.crtc(0x01)).toBe(0x27);
    expect(t.vga.columns).toBe(40);
    // The index register reads back.
    t.outb(0x3d4, 0x0e);
    expect(t.inb(0x3d4)).toBe(0x0e);
  });

  it('toggles the retrace bits of input status 1 over virtual time', () => {
    const t = setup();
    const samples: number[] = [];
    for (let i = 0; i < 30_000; i++) {
      samples.push(t.inb(0x3da));
      t.advance(1_000); // 1 us steps over 30 ms: two frames
    }
    const vr = samples.map((s) => (s >> 3) & 1);
    const starts = vr.flatMap((v, i) => (i > 0 && v && !vr[i - 1] ? [i] : []));
    expect(starts.length).toBe(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThan(14_200);
    expect(starts[1]! - starts[0]!).toBeLessThan(14_330); // 70 Hz
    expect(vr.filter((v) => v).length).toBeGreaterThan(100); // ~64 us each
    // Display-disabled is set during every retrace and also during horizontal blanking.
    expect(samples.every((s) => !(s & 8) || s & 1)).toBe(true);
    const blank = samples.filter((s) => s & 1).length / samples.length;
    expect(blank).toBeGreaterThan(0.2);
    expect(blank).toBeLessThan(0.4);
  });

  it('runs the attribute controller flip-flop, reset by reading input status 1', () => {
    const t = setup();
    // vgacon's palette normalisation.
    for (let i = 0; i < 16; i++) {
      t.inb(0x3da);
      t.outb(0x3c0, i);
      t.outb(0x3c0, 15 - i);
    }
    t.outb(0x3c0, 0x20);
    expect(t.inb(0x3c0)).toBe(0x20);
    for (let i = 0; i < 16; i++) {
      t.inb(0x3da);
      t.outb(0x3c0, i | 0x20);
      expect(t.inb(0x3c1)).toBe(15 - i);
    }
    // A stray data write leaves the flip-flop in the data state; the status read resets it.
    t.outb(0x3c0, 0x30);
    t.inb(0x3da);
    t.outb(0x3c0, 0x10 | 0x20);
    expect(t.inb(0x3c1)).toBe(0x0c);
  });

  it('stores sequencer, graphics controller and DAC registers', () => {
    const t = setup();
    t.outb(0x3c4, 0x01);
    expect(t.inb(0x3c5)).toBe(0x00);
    t.outb(0x3c5, 0x20);
    expect(t.inb(0x3c5)).toBe(0x20);
    t.outb(0x3ce, 0x05);
    expect(t.inb(0x3cf)).toBe(0x10);
    t.outb(0x3cf, 0x40);
    expect(t.inb(0x3cf)).toBe(0x40);
    // DAC: write entries 5-6, read them back.
    t.outb(0x3c8, 5);
    for (const c of [1, 2, 3, 0x3f, 0x7f, 0x20]) t.outb(0x3c9, c);
    expect(t.inb(0x3c8)).toBe(7);
    expect(t.inb(0x3c7) & 3).toBe(0);
    t.outb(0x3c7, 5);
    expect(t.inb(0x3c7) & 3).toBe(3);
    expect([0, 1, 2, 3, 4, 5].map(() => t.inb(0x3c9))).toEqual([1, 2, 3, 0x3f, 0x3f, 0x20]);
    expect(t.vga.dacEntry(6)).toEqual([0x3f, 0x3f, 0x20]);
    expect(t.vga.dacEntry(0x3f)).toEqual([0x3f, 0x3f, 0x3f]); // default EGA white
    t.outb(0x3c6, 0x0f);
    expect(t.inb(0x3c6)).toBe(0x0f);
  });
});

describe('VGA text: snapshots', () => {
  it('restores registers, the flip-flop and the DAC position', () => {
    const a = setup();
    writeVga(a, 0x0c, 160);
    writeVga(a, 0x0e, 200);
    a.crtc(0x0a, 0x2d);
    a.inb(0x3da);
    a.outb(0x3c0, 0x31); // flip-flop now on data
    a.outb(0x3c8, 9);
    a.outb(0x3c9, 0x11);
    a.outb(0x3c4, 0x03);
    const state = JSON.parse(JSON.stringify(a.vga.save()));
    const b = setup();
    b.vga.restore(state);
    b.memory.ram.set(a.memory.ram.subarray(0xb8000, 0xc0000), 0xb8000);
    const probe = (t: T) => {
      t.outb(0x3c0, 0x05); // data write to attribute 0x11
      t.outb(0x3c9, 0x12);
      t.outb(0x3c9, 0x13);
      t.outb(0x3c7, 9);
      return [
        t.vga.cursor(), t.vga.screenText(), t.inb(0x3c0), t.inb(0x3c1), t.inb(0x3c5),
        t.inb(0x3c9), t.inb(0x3c9), t.inb(0x3c9),
      ];
    };
    a.put(160, 'same');
    b.put(160, 'same');
    const pa = probe(a);
    expect(probe(b)).toEqual(pa);
    expect(pa[0]).toEqual({ row: 0, col: 40, visible: false });
    expect(pa[3]).toBe(0x05);
  });

  it('rejects an unknown snapshot version', () => {
    expect(() => setup().vga.restore({ version: 2 })).toThrow(/version/);
  });
});
