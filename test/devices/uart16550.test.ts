import { describe, expect, it } from 'vitest';
import { Clock, NS_PER_INSTRUCTION } from '../../runtime/clock.js';
import { PortRegistry } from '../../runtime/ports.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Uart16550 } from '../../runtime/devices/uart16550.js';

/** A UART on its own bus, with a virtual clock driven by a hand-advanced instruction counter. */
function setup(com: 1 | 2 | 3 | 4 = 1) {
  let instructions = 0;
  const clock = new Clock('virtual', () => instructions);
  const ports = new PortRegistry();
  const irq = new Map<number, boolean>();
  const edges: number[] = [];
  const sent: { byte: number; t: number }[] = [];
  const uart = new Uart16550({ com, onTransmit: (byte) => sent.push({ byte, t: clock.now() }) });
  uart.attach({
    ports,
    clock,
    irq: { setIrq: (line, high) => { if (high && !irq.get(line)) edges.push(line); irq.set(line, high); } },
    memory: new PhysicalMemory(1 << 20),
  });
  uart.reset();
  const base = uart.base;
  const t = {
    uart, clock, ports, irq, edges, sent, base,
    in: (off: number) => ports.portIn(base + off, 1),
    out: (off: number, v: number) => ports.portOut(base + off, 1, v),
    /** Let `ns` of virtual time pass (in instruction steps) and run due timers. */
    advance(ns: number) {
      instructions += Math.ceil(ns / NS_PER_INSTRUCTION);
      clock.runDue();
    },
    irqLine: () => irq.get(uart.irqLine) ?? false,
    /** Program divisor and 8N1 as drivers do. */
    setBaud(divisor: number, lcr = 0x03) {
      t.out(3, 0x80 | lcr);
      t.out(0, divisor & 0xff);
      t.out(1, divisor >> 8);
      t.out(3, lcr);
    },
  };
  return t;
}

type T = ReturnType<typeof setup>;

/** 8N1 character time at a divisor, in ns. */
const charNs = (divisor: number, bits = 10) => (bits * divisor * 1e9) / 115200;

/**
 * The probe of Linux's 8250 driver (autoconfig() and autoconfig_16550a() in
 * drivers/tty/serial/8250/8250_port.c), restated from its documented
 * behaviour: returns the type it would report.
 */
function linuxAutoconfig(t: T): string {
  // IER test: bits 0-3 must clear and set.
  const scratch = t.in(1);
  t.out(1, 0);
  const s2 = t.in(1) & 0x0f;
  t.out(1, 0x0f);
  const s3 = t.in(1) & 0x0f;
  t.out(1, scratch);
  if (s2 !== 0 || s3 !== 0x0f) return 'none (IER test)';
  const saveMcr = t.in(4);
  const saveLcr = t.in(3);
  // Loopback test (skipped for the legacy ports, which have UPF_SKIP_TEST, but it must pass).
  t.out(4, 0x10 | 0x0a);
  const status1 = t.in(6) & 0xf0;
  t.out(4, saveMcr);
  if (status1 !== 0x90) return 'none (LOOP test)';
  // EFR at 0xBF, then FIFO detection through IIR bits 6-7.
  t.out(3, 0xbf);
  t.out(2, 0);
  t.out(3, 0);
  t.out(2, 0x01);
  const fifo = t.in(2) >> 6;
  t.out(3, saveLcr);
  if (fifo === 0) return '8250/16450';
  if (fifo === 1) return 'unknown';
  if (fifo === 2) return '16550';
  // autoconfig_16550a: EFR probes (the IIR reads back, nonzero).
  t.out(3, 0x80);
  if (t.in(2) === 0) return '16650 or Motorola';
  t.out(3, 0xbf);
  if (t.in(2) === 0) return '16650V2/16850/16654';
  // National SuperIO: EXCR1 at LCR=0xE0 must not follow MCR's LOOP bit.
  t.out(3, 0);
  const m1 = t.in(4);
  t.out(3, 0xe0);
  let m2 = t.in(2);
  if (!((m2 ^ m1) & 0x10)) {
    t.out(3, 0);
    t.out(4, m1 ^ 0x10);
    t.out(3, 0xe0);
    m2 = t.in(2);
    t.out(3, 0);
    t.out(4, m1);
    if ((m2 ^ m1) & 0x10) return 'NS16550A';
  }
  // TI16750: IIR bit 5 follows the 64-byte FIFO enable only with DLAB set.
  t.out(3, 0);
  t.out(2, 0x21);
  const st1 = t.in(2) >> 5;
  t.out(2, 0x01);
  t.out(3, 0x80);
  t.out(2, 0x21);
  const st2 = t.in(2) >> 5;
  t.out(2, 0x01);
  t.out(3, 0);
  if (st1 === 6 && st2 === 7) return '16750';
  // XScale: IER bit 6 (UUE) must not stick.
  const iersave = t.in(1);
  t.out(1, iersave & ~0x40);
  if (!(t.in(1) & 0x40)) {
    t.out(1, iersave | 0x40);
    if (t.in(1) & 0x40) return 'XScale';
  }
  t.out(1, iersave);
  // U6_16550A has a 64-byte FIFO: count what comes back through loopback.
  if (sizeFifo(t) === 64) return 'U6_16550A';
  return '16550A';
}

/** size_fifo(): 256 bytes through loopback at 115200 baud, 20 ms, then count the received ones. */
function sizeFifo(t: T): number {
  const oldLcr = t.in(3);
  t.out(3, 0);
  const oldFcr = t.in(2);
  const oldMcr = t.in(4);
  t.out(2, 0x07);
  t.out(4, 0x10);
  t.out(3, 0x80);
  const oldDl = t.in(0) | (t.in(1) << 8);
  t.out(0, 1);
  t.out(1, 0);
  t.out(3, 0x03);
  for (let i = 0; i < 256; i++) t.out(0, i);
  t.advance(20e6);
  let count = 0;
  while (t.in(5) & 0x01 && count < 256) {
    t.in(0);
    count++;
  }
  t.out(2, oldFcr);
  t.out(4, oldMcr);
  t.out(3, 0x80);
  t.out(0, oldDl & 0xff);
  t.out(1, oldDl >> 8);
  t.out(3, oldLcr);
  return count;
}

describe('16550A UART: probing', () => {
  it('is found as a 16550A by the Linux 8250 autoconfig sequence', () => {
    for (const com of [1, 2, 3, 4] as const) {
      const t = setup(com);
      // Scratch register and port presence.
      t.out(7, 0x55);
      expect(t.in(7)).toBe(0x55);
      t.out(7, 0xaa);
      expect(t.in(7)).toBe(0xaa);
      expect(linuxAutoconfig(t)).toBe('16550A');
    }
  });

  it('sits at the standard COM addresses and IRQs', () => {
    expect([1, 2, 3, 4].map((n) => setup(n as 1).uart.base)).toEqual([0x3f8, 0x2f8, 0x3e8, 0x2e8]);
    expect([1, 2, 3, 4].map((n) => setup(n as 1).uart.irqLine)).toEqual([4, 3, 4, 3]);
  });

  it('has a 16-byte FIFO that overruns in loopback', () => {
    const t = setup();
    expect(sizeFifo(t)).toBe(16);
  });

  it('reports power-on register values and reads 16450 mode before FIFOs are enabled', () => {
    const t = setup();
    expect(t.in(1)).toBe(0); // IER
    expect(t.in(2)).toBe(0x01); // IIR: no interrupt, no FIFO bits
    expect(t.in(3)).toBe(0);
    expect(t.in(4)).toBe(0);
    expect(t.in(5)).toBe(0x60); // THRE | TEMT
    t.out(2, 0x01);
    expect(t.in(2)).toBe(0xc1);
    t.out(2, 0x00);
    expect(t.in(2)).toBe(0x01);
    // FCR bits other than 0 are not programmed unless bit 0 is written too.
    t.out(2, 0xc0);
    expect(t.in(2)).toBe(0x01);
  });

  it('keeps the divisor latch behind DLAB and IER/RBR in front of it', () => {
    const t = setup();
    t.out(1, 0x05);
    t.setBaud(0x0180);
    expect(t.uart.baud).toBeCloseTo(300);
    t.out(3, 0x83);
    expect(t.in(0)).toBe(0x80);
    expect(t.in(1)).toBe(0x01);
    t.out(3, 0x03);
    expect(t.in(1)).toBe(0x05);
  });
});

describe('16550A UART: transmitter timing', () => {
  it('sends a byte in one character time: THRE at once, TEMT when the stop bit is out', () => {
    const t = setup();
    t.setBaud(12); // 9600 8N1: 1.0417 ms a character
    const ct = charNs(12);
    t.out(0, 0x41);
    expect(t.in(5) & 0x60).toBe(0x20); // holding register empty, shift register busy
    t.advance(ct * 0.9);
    expect(t.sent).toEqual([]);
    expect(t.in(5) & 0x40).toBe(0);
    t.advance(ct * 0.11);
    expect(t.sent.map((s) => s.byte)).toEqual([0x41]);
    expect(t.in(5) & 0x60).toBe(0x60);
  });

  it('fills the FIFO when written at full speed and drains it at the baud rate', () => {
    const t = setup();
    t.setBaud(1);
    t.out(2, 0x07);
    const ct = charNs(1);
    for (let i = 0; i < 40; i++) t.out(0, i);
    // One byte in the shift register, sixteen in the FIFO; the rest were dropped.
    expect(t.in(5) & 0x60).toBe(0);
    for (let i = 0; i < 160; i++) t.advance(ct / 10);
    t.advance(1);
    expect(t.sent.length).toBe(16);
    expect(t.in(5) & 0x60).toBe(0x20);
    t.advance(ct);
    expect(t.sent.map((s) => s.byte)).toEqual([...Array(17).keys()]);
    expect(t.in(5) & 0x60).toBe(0x60);
    // Back-to-back characters, one character time apart (seen at the timer steps).
    for (let i = 1; i < 16; i++) expect(Math.abs(t.sent[i]!.t - t.sent[i - 1]!.t - ct)).toBeLessThan(ct / 5);
  });

  it('honours word length, parity and stop bits in the character time', () => {
    const t = setup();
    t.setBaud(1, 0x0f); // 8 data, 2 stop, parity: 12 bits
    t.out(0, 1);
    t.advance(charNs(1, 12) - 100);
    expect(t.sent.length).toBe(0);
    t.advance(200);
    expect(t.sent.length).toBe(1);
  });

  it('raises the THRE interrupt when the FIFO empties and when ETBEI is switched on', () => {
    const t = setup();
    t.setBaud(1);
    t.out(2, 0x07);
    t.out(4, 0x08); // OUT2
    t.out(1, 0x02);
    expect(t.in(2)).toBe(0xc2);
    expect(t.in(2)).toBe(0xc1); // reading IIR cleared it
    expect(t.irqLine()).toBe(false);
    t.out(0, 1);
    t.out(0, 2); // one in the shift register, one in the FIFO
    expect(t.in(2)).toBe(0xc1);
    t.advance(charNs(1) + 1); // the FIFO byte moves to the shift register: FIFO empty
    expect(t.irqLine()).toBe(true);
    t.out(0, 3); // writing THR clears it
    expect(t.irqLine()).toBe(false);
  });

  it('passes the Linux startup test that THRE is re-asserted (no UART_BUG_THRE / TXEN)', () => {
    const t = setup();
    t.out(4, 0x0b);
    t.out(1, 0x02);
    const iir1 = t.in(2);
    t.out(1, 0);
    t.out(1, 0x02);
    const iir = t.in(2);
    t.out(1, 0);
    expect(iir1 & 1).toBe(0);
    expect(iir & 1).toBe(0);
    t.out(1, 0x02);
    const lsr = t.in(5);
    const iir2 = t.in(2);
    t.out(1, 0);
    expect(lsr & 0x40 && iir2 & 1).toBeFalsy();
  });
});

describe('16550A UART: receiver', () => {
  it('interrupts at each RX FIFO trigger level', () => {
    for (const [fcr, level] of [[0x07, 1], [0x47, 4], [0x87, 8], [0xc7, 14]] as const) {
      const t = setup();
      t.setBaud(1);
      t.out(2, fcr);
      t.out(4, 0x0b);
      t.out(1, 0x01);
      t.uart.receive(new Uint8Array(level).fill(0x61));
      // One character short of the trigger level: no interrupt.
      t.advance(charNs(1) * (level - 1) + 1);
      expect(t.in(2)).toBe(0xc1);
      expect(t.irqLine()).toBe(false);
      t.advance(charNs(1));
      expect(t.in(2)).toBe(0xc4);
      expect(t.irqLine()).toBe(true);
      // Reading below the trigger level drops it (and no timeout is pending yet).
      t.in(0);
      expect(t.in(2)).toBe(0xc1);
      expect(t.irqLine()).toBe(false);
    }
  });

  it('raises the character timeout after four idle character times, cleared by reading RBR', () => {
    const t = setup();
    t.setBaud(1);
    t.out(2, 0xc7); // trigger 14
    t.out(4, 0x08);
    t.out(1, 0x01);
    t.uart.receive('abc');
    const ct = charNs(1);
    t.advance(3 * ct + 1);
    expect(t.in(5) & 1).toBe(1);
    expect(t.in(2)).toBe(0xc1);
    t.advance(4 * ct - 100);
    expect(t.irqLine()).toBe(false);
    t.advance(200); // the timer fires without the guest polling
    expect(t.irqLine()).toBe(true);
    expect(t.in(2)).toBe(0xcc);
    expect(t.in(0)).toBe(0x61);
    expect(t.in(2)).toBe(0xc1);
    expect(t.irqLine()).toBe(false);
    // The timer restarted with the read: another timeout for the rest.
    t.advance(4 * ct + 1);
    expect(t.in(2)).toBe(0xcc);
    expect(t.in(0)).toBe(0x62);
    expect(t.in(0)).toBe(0x63);
    t.advance(10 * ct);
    expect(t.in(2)).toBe(0xc1); // empty FIFO: no timeout
  });

  it('has no character timeout in 16450 mode', () => {
    const t = setup();
    t.setBaud(1);
    t.out(4, 0x08);
    t.out(1, 0x01);
    t.uart.receive('x');
    t.advance(charNs(1) + 1);
    expect(t.in(2)).toBe(0x04);
    t.advance(charNs(1) * 10);
    expect(t.in(2)).toBe(0x04);
    expect(t.in(0)).toBe(0x78);
    expect(t.in(2)).toBe(0x01);
  });

  it('holds pasted input in the host buffer and feeds it as the guest drains, without overrun', () => {
    const t = setup();
    t.setBaud(1);
    t.out(2, 0x07);
    const text = Array.from({ length: 300 }, (_, i) => 32 + (i % 90));
    t.uart.receive(text);
    const got: number[] = [];
    for (let step = 0; got.length < text.length && step < 10000; step++) {
      t.advance(charNs(1) * 20); // a slow reader: the FIFO fills up between visits
      let level = 0;
      while (t.in(5) & 1) {
        got.push(t.in(0));
        level++;
        if (level > 3) break; // reads a few bytes per visit
      }
      const lsr = t.in(5);
      expect(lsr & 0x02).toBe(0); // never an overrun
    }
    expect(got).toEqual(text);
    expect(t.uart.pendingInput).toBe(0);
  });

  it('reports an overrun as a line status interrupt of the highest priority', () => {
    const t = setup();
    t.setBaud(1);
    t.out(4, 0x18); // loopback; OUT2 (gated off by loopback, see below)
    t.out(1, 0x0f);
    t.out(0, 0x31);
    t.advance(charNs(1) + 1);
    t.out(0, 0x32);
    t.advance(charNs(1) + 1); // 16450 mode: second byte overwrites RBR
    expect(t.in(2)).toBe(0x06);
    const lsr = t.in(5);
    expect(lsr & 0x03).toBe(0x03);
    expect(t.in(5) & 0x02).toBe(0); // reading LSR cleared OE
    expect(t.in(2)).toBe(0x04);
    expect(t.in(0)).toBe(0x32);
  });
});

describe('16550A UART: modem control and status', () => {
  it('loops the transmitter into the receiver and MCR outputs into MSR inputs', () => {
    const t = setup();
    t.setBaud(1);
    t.out(2, 0x07);
    t.out(4, 0x10);
    expect(t.in(6)).toBe(0x0b); // CTS, DSR, DCD dropped from the host's lines: deltas
    expect(t.in(6)).toBe(0x00);
    t.out(0, 0x5a);
    t.advance(charNs(1) + 1);
    expect(t.sent).toEqual([]);
    expect(t.in(5) & 1).toBe(1);
    expect(t.in(0)).toBe(0x5a);
    t.out(4, 0x1f);
    expect(t.in(6)).toBe(0xfb); // all four lines up; DCTS DDSR DDCD (RI rising is no TERI)
    t.out(4, 0x1b); // OUT1 off: RI falls
    expect(t.in(6)).toBe(0xb4);
    // Host input waits while looped back, and arrives afterwards.
    t.uart.receive('z');
    t.advance(charNs(1) * 3);
    expect(t.in(5) & 1).toBe(0);
    t.out(4, 0x00);
    t.advance(charNs(1) + 1);
    expect(t.in(0)).toBe(0x7a);
  });

  it('drives the IRQ only while OUT2 is set and loopback is off', () => {
    const t = setup(2);
    t.out(1, 0x02); // THRE interrupt pending
    expect(t.in(2) & 0x0f).toBe(0x02);
    t.out(1, 0);
    t.out(1, 0x02);
    expect(t.irqLine()).toBe(false);
    t.out(4, 0x08);
    expect(t.irqLine()).toBe(true);
    expect(t.irq.get(3)).toBe(true);
    t.out(4, 0x18);
    expect(t.irqLine()).toBe(false);
    t.out(4, 0x08);
    expect(t.irqLine()).toBe(true);
    t.out(4, 0x00);
    expect(t.irqLine()).toBe(false);
  });

  it('raises a modem status interrupt on host line changes, cleared by reading MSR', () => {
    const t = setup();
    t.out(4, 0x08);
    t.out(1, 0x08);
    expect(t.irqLine()).toBe(false);
    expect(t.in(6)).toBe(0xb0);
    t.uart.setModemInputs({ dcd: false, ri: true });
    expect(t.irqLine()).toBe(true);
    expect(t.in(2)).toBe(0x00);
    expect(t.in(6)).toBe(0x78);
    expect(t.irqLine()).toBe(false);
    t.uart.setModemInputs({ ri: false });
    expect(t.in(6)).toBe(0x34);
  });

  it('gives priority: line status > received data > THRE > modem status', () => {
    const t = setup();
    t.setBaud(1);
    t.out(4, 0x10);
    t.out(1, 0x0f);
    t.out(4, 0x11); // DTR in loopback: DSR delta
    t.out(0, 1);
    t.advance(charNs(1) + 1);
    t.out(0, 2);
    t.advance(charNs(1) + 1);
    expect(t.in(2)).toBe(0x06);
    t.in(5);
    expect(t.in(2)).toBe(0x04);
    t.in(0);
    expect(t.in(2)).toBe(0x02);
    expect(t.in(2)).toBe(0x00);
    t.in(6);
    expect(t.in(2)).toBe(0x01);
  });
});

describe('16550A UART: snapshots', () => {
  it('restores mid-transfer state into a fresh UART and continues identically', () => {
    const run = (t: T) => {
      t.setBaud(3);
      t.out(2, 0x87);
      t.out(4, 0x0b);
      t.out(1, 0x03);
      t.out(7, 0x99);
      for (let i = 0; i < 10; i++) t.out(0, 0x40 + i);
      t.uart.receive('hello, world');
      t.advance(charNs(3) * 4.5);
    };
    const a = setup();
    run(a);
    const state = JSON.parse(JSON.stringify(a.uart.save()));
    const b = setup();
    b.advance(123456); // the clock of the new machine is elsewhere
    b.uart.restore(state);
    expect(b.irqLine()).toBe(a.irqLine());
    const trace = (t: T) => {
      const out: number[] = [];
      for (let i = 0; i < 40; i++) {
        t.advance(charNs(3) / 2);
        out.push(t.in(2), t.in(5), t.irqLine() ? 1 : 0);
        if (i % 5 === 4) out.push(t.in(0));
      }
      out.push(t.in(7), ...t.sent.map((s) => s.byte));
      return out;
    };
    const sentBefore = a.sent.length;
    a.sent.splice(0, sentBefore);
    expect(trace(b)).toEqual(trace(a));
  });

  it('rejects an unknown snapshot version', () => {
    expect(() => setup().uart.restore({ version: 99 })).toThrow(/version/);
  });
});
