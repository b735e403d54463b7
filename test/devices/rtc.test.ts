import { describe, expect, it } from 'vitest';
import { Rtc } from '../../runtime/devices/rtc.js';
import { Bench, Lines } from './bench.js';

/** Thursday 2024-02-29 23:59:58.250 UTC: the first update comes 750 ms in. */
const START = Date.UTC(2024, 1, 29, 23, 59, 58) + 250;
const MS = 1e6;

function setup(start = START, startNs = 0) {
  const lines = new Lines();
  const b = new Bench(lines, startNs);
  const rtc = b.attach(new Rtc(start));
  const t0 = b.now();
  const at = (ns: number) => b.runUntil(t0 + ns);
  const rd = (i: number) => (b.out(0x70, i), b.in(0x71));
  const wr = (i: number, v: number) => (b.out(0x70, i), b.out(0x71, v));
  const time = () => [9, 8, 7, 4, 2, 0].map(rd);
  return { rtc, b, lines, at, rd, wr, time };
}

describe('MC146818 time', () => {
  it('reads the start time in BCD, with century, weekday and register defaults', () => {
    const { rd, time } = setup();
    expect(time()).toEqual([0x24, 0x02, 0x29, 0x23, 0x59, 0x58]);
    expect(rd(0x32)).toBe(0x20);
    expect(rd(6)).toBe(5);
    expect(rd(0x0a)).toBe(0x26);
    expect(rd(0x0b)).toBe(0x02);
    expect(rd(0x0d)).toBe(0x80);
  });

  it('advances with virtual time across a leap day and midnight', () => {
    const { at, rd, time } = setup();
    at(749 * MS);
    expect(rd(0)).toBe(0x58);
    at(750 * MS);
    expect(rd(0)).toBe(0x59);
    at(1750 * MS);
    expect(time()).toEqual([0x24, 0x03, 0x01, 0x00, 0x00, 0x00]);
    expect(rd(6)).toBe(6); // Friday
    at(3600e9 * 24 * 305 + 1750 * MS); // 305 days after March 1st: 2024-12-31, then 2025-01-01
    expect(time()).toEqual([0x24, 0x12, 0x31, 0x00, 0x00, 0x00]);
    expect(rd(6)).toBe(3); // Tuesday
    at(3600e9 * 24 * 306 + 1750 * MS);
    expect(time()).toEqual([0x25, 0x01, 0x01, 0x00, 0x00, 0x00]);
  });

  it('century rollover carries into register 0x32', () => {
    const { at, rd } = setup(Date.UTC(2099, 11, 31, 23, 59, 59));
    at(1000 * MS);
    expect([rd(0x32), rd(9), rd(8), rd(7)]).toEqual([0x21, 0x00, 0x01, 0x01]);
  });

  it('binary and 12-hour formats', () => {
    const { wr, rd, time, at } = setup();
    wr(0x0b, 0x06);
    expect(time()).toEqual([24, 2, 29, 23, 59, 58]);
    expect(rd(0x32)).toBe(20);
    wr(0x0b, 0x04); // binary, 12-hour
    expect(rd(4)).toBe(0x80 | 11);
    wr(0x0b, 0x00); // BCD, 12-hour
    expect(rd(4)).toBe(0x91);
    at(1750 * MS);
    expect(rd(4)).toBe(0x12); // midnight is 12 AM
    // writing an hour in 12-hour format
    wr(0x0b, 0x80);
    wr(4, 0x81);
    wr(0x0b, 0x02);
    expect(rd(4)).toBe(0x13);
  });

  it('UIP is set during the 2228 µs before each update', () => {
    const { at, rd } = setup();
    at(700 * MS);
    expect(rd(0x0a) & 0x80).toBe(0);
    at(750 * MS - 2228_000);
    expect(rd(0x0a) & 0x80).toBe(0x80);
    at(749 * MS);
    expect(rd(0x0a) & 0x80).toBe(0x80);
    expect(rd(0)).toBe(0x58);
    at(750 * MS);
    expect(rd(0x0a) & 0x80).toBe(0);
    expect(rd(0)).toBe(0x59);
  });

  it('a guest waiting for the end of UIP (mc146818_get_time) reads the new second', () => {
    const { b, at, rd } = setup();
    at(748 * MS);
    while (!(rd(0x0a) & 0x80)) b.step(1000);
    while (rd(0x0a) & 0x80) b.step(1000);
    expect(rd(0)).toBe(0x59);
  });

  it('SET stops updates, keeps written values as they are, and clears UIE', () => {
    const { wr, rd, at, time } = setup();
    wr(0x0b, 0x92);
    expect(rd(0x0b)).toBe(0x82);
    wr(9, 0x00); wr(0x32, 0x20); wr(8, 0x01); wr(7, 0x31); wr(4, 0x12); wr(2, 0x34); wr(0, 0x56);
    wr(8, 0x02); // Feb 31 while SET: kept
    expect(time()).toEqual([0x00, 0x02, 0x31, 0x12, 0x34, 0x56]);
    at(5000 * MS);
    expect(rd(0x0a) & 0x80).toBe(0);
    expect(time()).toEqual([0x00, 0x02, 0x31, 0x12, 0x34, 0x56]);
    wr(8, 0x01);
    wr(0x0b, 0x02);
    at(5749 * MS);
    expect(rd(0)).toBe(0x56);
    at(5750 * MS); // the divider's phase is unchanged
    expect(time()).toEqual([0x00, 0x01, 0x31, 0x12, 0x34, 0x57]);
  });

  it('holding the divider in reset stops the clock; the first update comes 500 ms after release', () => {
    const { wr, rd, at } = setup();
    at(100 * MS);
    wr(0x0a, 0x76);
    at(3000 * MS);
    expect(rd(0)).toBe(0x58);
    expect(rd(0x0a)).toBe(0x76);
    wr(0x0a, 0x26);
    at(3499 * MS);
    expect(rd(0)).toBe(0x58);
    at(3500 * MS);
    expect(rd(0)).toBe(0x59);
  });
});

describe('MC146818 interrupts', () => {
  /** IRQ 8 served like a guest handler: read register C on each edge. */
  function serving(s: ReturnType<typeof setup>) {
    const flags: number[] = [];
    (s.lines as Lines).onRise = (line) => {
      if (line === 8) flags.push(s.rd(0x0c));
    };
    return flags;
  }

  it('periodic interrupt rates follow RS', () => {
    for (const [a, seconds, expected] of [[0x26, 1, 1024], [0x2f, 5, 10], [0x23, 0.1, 819], [0x21, 1, 256], [0x22, 1, 128]] as const) {
      const s = setup();
      const flags = serving(s);
      s.wr(0x0a, a);
      s.rd(0x0c);
      s.wr(0x0b, 0x42);
      s.b.advance(seconds * 1e9);
      expect(flags.length).toBe(expected);
      expect(flags.every((f) => (f & 0xc0) === 0xc0)).toBe(true);
    }
  });

  it('update-ended interrupts come once a second, at the update', () => {
    const s = setup();
    const flags = serving(s);
    const when: number[] = [];
    s.lines.onRise = (line) => {
      when.push(s.b.now());
      if (line === 8) flags.push(s.rd(0x0c));
    };
    s.rd(0x0c);
    s.wr(0x0b, 0x12);
    s.b.advance(10e9);
    expect(flags.length).toBe(10);
    expect(flags.every((f) => (f & 0x90) === 0x90)).toBe(true);
    expect(when[0]).toBe(750 * MS);
    expect(when[1]).toBe(1750 * MS);
  });

  it('alarms: don\'t-care bytes, and a full time of day', () => {
    const s = setup();
    const flags = serving(s);
    s.wr(1, 0x05); s.wr(3, 0xc0); s.wr(5, 0xff);
    s.rd(0x0c);
    s.wr(0x0b, 0x22);
    s.at(6749 * MS);
    expect(flags.length).toBe(0);
    s.at(6750 * MS); // 00:00:05
    expect(flags.length).toBe(1);
    expect(flags[0]! & 0xa0).toBe(0xa0);
    s.at(66749 * MS);
    expect(flags.length).toBe(1);
    s.at(66750 * MS); // 00:01:05
    expect(flags.length).toBe(2);
    s.wr(1, 0x00); s.wr(3, 0x02); s.wr(5, 0x00); // 00:02:00
    s.at(121749 * MS);
    expect(flags.length).toBe(2);
    s.at(121750 * MS);
    expect(flags.length).toBe(3);
    s.b.advance(3600e9);
    expect(flags.length).toBe(3);
  });

  it('an alarm that passes while nobody listens still sets AF', () => {
    const s = setup();
    s.wr(1, 0x00); s.wr(3, 0x00); s.wr(5, 0x00);
    s.rd(0x0c);
    s.at(10_000 * MS);
    expect(s.rd(0x0c) & 0x20).toBe(0x20);
    s.at(20_000 * MS);
    expect(s.rd(0x0c) & 0x20).toBe(0);
  });

  it('register C: flags without enables, read-to-clear, and IRQ 8 held until read', () => {
    const s = setup();
    s.at(1000 * MS);
    expect(s.rd(0x0c)).toBe(0x50); // PF and UF, no IRQF
    expect(s.rd(0x0c)).toBe(0);
    s.wr(0x0b, 0x42);
    s.b.advance(1e6);
    expect(s.lines.level[8]).toBe(true);
    expect(s.lines.rises[8]).toBe(1);
    s.b.advance(1e9);
    expect(s.lines.rises[8]).toBe(1); // nobody read C
    expect(s.b.clock.nextDeadline()).toBe(Infinity);
    expect(s.rd(0x0c) & 0xc0).toBe(0xc0);
    expect(s.lines.level[8]).toBe(false);
    s.b.advance(1e6);
    expect(s.lines.rises[8]).toBe(2);
    // enabling an interrupt whose flag is already set raises IRQ 8 at once
    s.rd(0x0c);
    s.wr(0x0b, 0x02);
    s.at(3000 * MS);
    s.wr(0x0b, 0x12);
    expect(s.lines.level[8]).toBe(true);
    // registers C and D ignore writes
    s.wr(0x0c, 0xff); s.wr(0x0d, 0x00);
    expect(s.rd(0x0d)).toBe(0x80);
  });
});

describe('MC146818 CMOS RAM', () => {
  it('114 bytes of RAM, and the NMI bit of the index port', () => {
    const { rtc, b, rd, wr } = setup();
    for (let i = 0x0e; i < 0x80; i++) if (i !== 0x32) wr(i, (i * 7) & 0xff);
    for (let i = 0x0e; i < 0x80; i++) if (i !== 0x32) expect(rd(i)).toBe((i * 7) & 0xff);
    b.out(0x70, 0x80 | 0x40);
    expect(rtc.nmiDisabled).toBe(true);
    expect(b.in(0x71)).toBe((0x40 * 7) & 0xff);
    b.out(0x70, 0x40);
    expect(rtc.nmiDisabled).toBe(false);
  });

  it('memory size fields', () => {
    const { rtc, rd } = setup();
    rtc.setMemorySize(128 << 20);
    expect(rd(0x15) | (rd(0x16) << 8)).toBe(640);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(63 * 1024);
    expect(rd(0x30) | (rd(0x31) << 8)).toBe(63 * 1024);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe((112 << 20) >> 16);
    expect(rd(0x5b) | rd(0x5c) | rd(0x5d)).toBe(0);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(i);
    expect((rd(0x2e) << 8) | rd(0x2f)).toBe(sum);

    rtc.setMemorySize(16 << 20);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(15 * 1024);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe(0);

    rtc.setMemorySize(0xe0000000, 2 ** 32);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe(0xdf00);
    expect(rd(0x5b) | (rd(0x5c) << 8) | (rd(0x5d) << 16)).toBe(0x10000);

    rtc.setCmosByte(0x14, 0x06);
    rtc.updateChecksum();
    expect(rtc.cmosByte(0x14)).toBe(0x06);
    expect(() => rtc.setCmosByte(0x32, 0)).toThrow();
  });
});

describe('MC146818 snapshots and reset', () => {
  it('restore continues the time, the divider phase and the periodic interrupt', () => {
    const a = setup();
    const fa = (() => { const f: number[] = []; a.lines.onRise = () => f.push(a.b.now()); return f; })();
    a.wr(0x0b, 0x06); // binary
    a.wr(0x0a, 0x2a); // 64 Hz
    a.wr(1, 0xff); a.wr(3, 0xff); a.wr(5, 0xff);
    a.wr(0x40, 0x5a);
    a.rd(0x0c);
    a.wr(0x0b, 0x46);
    a.at(123_456_789);
    const state = JSON.parse(JSON.stringify(a.rtc.save()));

    const r = setup(Date.UTC(1999, 0, 1), 9_999_999_999);
    const fr = (() => { const f: number[] = []; r.lines.onRise = () => f.push(r.b.now()); return f; })();
    r.rtc.restore(state);
    expect(r.lines.level[8]).toBe(true); // IRQ 8 was held for an unread register C
    expect(r.time()).toEqual(a.time());
    expect(r.rd(0x40)).toBe(0x5a);
    expect(r.rd(0x0b)).toBe(0x46);
    const ta = a.b.now(), tr = r.b.now();
    for (const s of [a, r]) {
      s.lines.onRise = (() => { const f = s === a ? fa : fr; return () => { f.push(s.b.now()); s.rd(0x0c); }; })();
    }
    expect(r.rd(0x0c)).toBe(a.rd(0x0c));
    fa.length = 0;
    fr.length = 0;
    a.b.advance(2e9);
    r.b.advance(2e9);
    expect(fr.map((t) => t - tr)).toEqual(fa.map((t) => t - ta));
    expect(fa.length).toBe(128);
    expect(r.time()).toEqual(a.time());
    expect(() => r.rtc.restore({ version: 2 })).toThrow();
  });

  it('reset clears the interrupt enables and flags but keeps time and RAM', () => {
    const s = setup();
    s.wr(0x0b, 0x72);
    s.wr(0x50, 0x11);
    s.at(2000 * MS);
    expect(s.lines.level[8]).toBe(true);
    s.rtc.reset();
    expect(s.lines.level[8]).toBe(false);
    expect(s.rd(0x0b)).toBe(0x02);
    expect(s.rd(0x0c)).toBe(0);
    expect(s.rd(0x50)).toBe(0x11);
    expect(s.rd(0)).toBe(0x00);
  });
});
