import { describe, expect, it } from 'vitest';
import { Pit, PIT_HZ } from '../../runtime/devices/pit.js';
import { Pic } from '../../runtime/devices/pic.js';
import { cyclesAt, nsOfCycle } from '../../runtime/devices/timebase.js';
import { Bench, Lines } from './bench.js';

function setup(startNs = 0) {
  const lines = new Lines();
  const b = new Bench(lines, startNs);
  const pit = b.attach(new Pit());
  const t0 = b.now();
  /** PIT ticks since attach. */
  const tick = () => cyclesAt(b.now() - t0, PIT_HZ);
  /** Move to the start of PIT tick n (since attach). */
  const toTick = (n: number) => b.runUntil(t0 + nsOfCycle(n, PIT_HZ));
  return { pit, b, lines, tick, toTick, t0 };
}

/** Control word then the count bytes its access mode asks for. */
function program(b: Bench, ch: number, mode: number, count: number, access = 3, bcd = false) {
  b.out(0x43, (ch << 6) | (access << 4) | (mode << 1) | (bcd ? 1 : 0));
  if (access & 1) b.out(0x40 + ch, count & 0xff);
  if (access & 2) b.out(0x40 + ch, (count >> 8) & 0xff);
}

function latched(b: Bench, ch: number): number {
  b.out(0x43, ch << 6);
  const lo = b.in(0x40 + ch);
  return lo | (b.in(0x40 + ch) << 8);
}

describe('timebase', () => {
  it('converts both ways without drift', () => {
    for (const n of [1, 2, 1193181, 1193182, 1193183, 123456789, 2 ** 40 + 7]) {
      const ns = nsOfCycle(n, PIT_HZ);
      expect(cyclesAt(ns, PIT_HZ)).toBe(n);
      expect(cyclesAt(ns - 1, PIT_HZ)).toBe(n - 1);
    }
    expect(cyclesAt(1e9 * 86400 * 365, PIT_HZ)).toBe(PIT_HZ * 86400 * 365);
  });
});

describe('8254 channel 0 and IRQ 0', () => {
  it('mode 2 at 100 Hz and 1000 Hz gives that many IRQ 0 edges per second of virtual time', () => {
    for (const [count, expected] of [[11932, 99], [1193, 1000]] as const) {
      const { b, lines } = setup();
      program(b, 0, 2, count);
      const r0 = lines.rises[0]!;
      b.advance(1e9);
      expect(lines.rises[0]! - r0).toBe(expected);
    }
  });

  it('places the edges on the right ticks', () => {
    const { b, lines, tick } = setup();
    const at: number[] = [];
    lines.onRise = () => at.push(tick());
    program(b, 0, 2, 1000);
    at.length = 0;
    b.advance(5e6);
    expect(at.slice(0, 4)).toEqual([1001, 2001, 3001, 4001]);
  });

  it('mode 3 with count 0 runs at 18.2 Hz, and edges survive a coarse run loop', () => {
    const { b, lines } = setup();
    program(b, 0, 3, 0);
    const r0 = lines.rises[0]!;
    b.advance(10e9);
    expect(lines.rises[0]! - r0).toBe(182);
    // the machine's loop: timers looked at every 20000 instructions (200 µs)
    const s = setup();
    program(s.b, 0, 2, 1193);
    const r1 = s.lines.rises[0]!;
    for (let i = 0; i < 5000; i++) s.b.step(20_000);
    expect(s.lines.rises[0]! - r1).toBe(1000);
  });

  it('mode 0 raises IRQ 0 once, N+1 clocks after the count is written, and the CE wraps', () => {
    const { b, lines, toTick } = setup();
    program(b, 0, 0, 1000);
    expect(lines.level[0]).toBe(false);
    toTick(1000);
    expect(lines.rises[0]).toBe(0);
    expect(latched(b, 0)).toBe(1);
    toTick(1001);
    expect(lines.rises[0]).toBe(1);
    expect(lines.level[0]).toBe(true);
    toTick(1001 + 70000);
    expect(latched(b, 0)).toBe((65536 - 70000 % 65536) % 65536);
    b.advance(1e9);
    expect(lines.rises[0]).toBe(1);
    // a new control word drives OUT low again; a new count fires again
    program(b, 0, 0, 10);
    expect(lines.level[0]).toBe(false);
    b.advance(20_000);
    expect(lines.rises[0]).toBe(2);
  });

  it('mode 4 (Linux one-shot) strobes once per count written', () => {
    const { b, lines, toTick } = setup();
    b.out(0x43, 0x38);
    const r0 = lines.rises[0]!;
    b.out(0x40, 500 & 0xff); b.out(0x40, 500 >> 8);
    toTick(501);
    expect(lines.rises[0]! - r0).toBe(0);
    toTick(502);
    expect(lines.rises[0]! - r0).toBe(1); // low during tick 501, high again at 502
    b.advance(1e8);
    expect(lines.rises[0]! - r0).toBe(1);
    b.out(0x40, 100); b.out(0x40, 0);
    b.advance(200_000);
    expect(lines.rises[0]! - r0).toBe(2);
  });

  it('a mode 2 count written while counting waits for the end of the period', () => {
    const { b, lines, tick, toTick } = setup();
    const at: number[] = [];
    program(b, 0, 2, 10000);
    lines.onRise = () => at.push(tick());
    toTick(5000);
    b.out(0x40, 2000 & 0xff); b.out(0x40, 2000 >> 8);
    toTick(16002);
    expect(at).toEqual([10001, 12001, 14001, 16001]);
    // status: null count until the boundary
    program(b, 0, 2, 10000);
    toTick(17000);
    b.out(0x40, 0x10); b.out(0x40, 0x00);
    b.out(0x43, 0xe2);
    expect(b.in(0x40) & 0x40).toBe(0x40);
  });

  it('a mode 3 count written while counting waits for the end of the half-cycle', () => {
    const { b, lines, tick, toTick } = setup();
    program(b, 0, 3, 1000);
    const at: number[] = [];
    lines.onRise = () => at.push(tick());
    toTick(300);
    b.out(0x40, 400 & 0xff); b.out(0x40, 400 >> 8);
    toTick(2000);
    // the high half ends at 501; the new count starts with its low half (200 clocks)
    expect(at).toEqual([701, 1101, 1501, 1901]);
  });

  it('drives the PIC: IRQ 0 at vector 08h, one per period while EOIs come', () => {
    const pic = new Pic();
    const b = new Bench(pic);
    b.attach(pic);
    b.attach(new Pit());
    b.out(0x21, 0xfa);
    program(b, 0, 2, 11932);
    let served = 0;
    for (let ms = 0; ms < 1000; ms++) {
      b.advance(1e6);
      while (pic.hasInterrupt()) {
        expect(pic.acknowledge()).toBe(0x08);
        served++;
        b.out(0x20, 0x20);
      }
    }
    expect(served).toBe(100); // 99 period ends plus the control word's rising OUT
  });
});

describe('8254 counter reads', () => {
  it('latches: the value holds until read, a second latch is ignored', () => {
    const { b, toTick } = setup();
    program(b, 1, 2, 50000);
    toTick(10000);
    expect(latched(b, 1)).toBe(40001);
    b.out(0x43, 0x40);
    toTick(20000);
    b.out(0x43, 0x40); // ignored
    expect(b.in(0x41) | (b.in(0x41) << 8)).toBe(40001);
    expect(b.in(0x41) | (b.in(0x41) << 8)).toBe(30001); // live
  });

  it('read-back latches status (OUT, null count, mode bits) and count', () => {
    const { b, toTick } = setup();
    b.out(0x43, 0x74); // channel 1, lohi, mode 2
    b.out(0x43, 0xe4); // status only, channel 1
    expect(b.in(0x41)).toBe(0x80 | 0x40 | 0x34);
    b.out(0x41, 0x00); b.out(0x41, 0x10);
    toTick(0x100);
    b.out(0x43, 0xc4); // count and status
    expect(b.in(0x41)).toBe(0x80 | 0x34);
    expect(b.in(0x41) | (b.in(0x41) << 8)).toBe(0x1000 - 0xff);
    // mode 0 before terminal count: OUT low
    b.out(0x43, 0xb0);
    b.out(0x42, 5); b.out(0x42, 0);
    b.out(0x43, 0xe8);
    expect(b.in(0x42)).toBe(0x30);
  });

  it('LSB-only and MSB-only access', () => {
    const { b, toTick } = setup();
    program(b, 1, 2, 0x80, 1);
    toTick(0x11);
    expect(b.in(0x41)).toBe(0x80 - 0x10);
    program(b, 1, 2, 0x1200, 2);
    toTick(0x11 + 0x201);
    expect(b.in(0x41)).toBe(0x10);
  });

  it('BCD counts', () => {
    const { b, toTick } = setup();
    program(b, 1, 2, 0x1000, 3, true); // 1000 decimal
    toTick(1);
    expect(latched(b, 1)).toBe(0x1000);
    toTick(251);
    expect(latched(b, 1)).toBe(0x0750);
    toTick(1001);
    expect(latched(b, 1)).toBe(0x1000);
    program(b, 1, 0, 0, 3, true); // 0 = 10000
    toTick(1001 + 1 + 10001);
    expect(latched(b, 1)).toBe(0x9999);
  });

  it('mode 3 counts down by two and keeps OUT high for ceil(N/2)', () => {
    const { b, toTick } = setup();
    b.out(0x61, 0x01);
    program(b, 2, 3, 5);
    const outs: number[] = [], values: number[] = [];
    for (let t = 1; t <= 11; t++) {
      toTick(t);
      outs.push((b.in(0x61) >> 5) & 1);
      values.push(latched(b, 2));
    }
    expect(outs).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1]);
    expect(values).toEqual([4, 2, 0, 4, 2, 4, 2, 0, 4, 2, 4]);
  });
});

describe('port 0x61 and channel 2', () => {
  it('the gate stops channel 2; Linux-style calibration sees OUT rise after the programmed time', () => {
    const { b, toTick } = setup();
    program(b, 2, 0, 1000);
    toTick(5000);
    expect(latched(b, 2)).toBe(1000); // gate low: not counting
    expect(b.in(0x61) & 0x21).toBe(0);
    // pit_calibrate_tsc: gate on, speaker off, mode 0, 50 ms
    b.out(0x61, (b.in(0x61) & ~0x02) | 0x01);
    b.out(0x43, 0xb0);
    const latch = Math.floor(PIT_HZ / 20);
    b.out(0x42, latch & 0xff); b.out(0x42, latch >> 8);
    const start = b.now();
    let polls = 0;
    while ((b.in(0x61) & 0x20) === 0) {
      b.step(1000);
      polls++;
    }
    const elapsed = b.now() - start;
    expect(Math.abs(elapsed - 50e6)).toBeLessThan(20_000);
    expect(polls).toBeGreaterThan(4000);
    expect(b.in(0x61) & 0x0f).toBe(0x01);
  });

  it('gate low suspends mode 0 and resumes where it stopped', () => {
    const { b, toTick } = setup();
    b.out(0x61, 0x01);
    program(b, 2, 0, 1000);
    toTick(401);
    expect(latched(b, 2)).toBe(600);
    b.out(0x61, 0x00);
    toTick(5000);
    expect(latched(b, 2)).toBe(600);
    b.out(0x61, 0x01);
    toTick(5599);
    expect(b.in(0x61) & 0x20).toBe(0);
    toTick(5600);
    expect(b.in(0x61) & 0x20).toBe(0x20);
  });

  it('the refresh bit toggles every 15 µs', () => {
    const { b } = setup();
    let toggles = 0;
    let last = b.in(0x61) & 0x10;
    for (let i = 0; i < 1000; i++) {
      b.step(100); // 1 µs
      const v = b.in(0x61) & 0x10;
      if (v !== last) toggles++;
      last = v;
    }
    expect(toggles).toBeGreaterThanOrEqual(65);
    expect(toggles).toBeLessThanOrEqual(67);
  });

  it('mode 1: a gate edge starts a one-shot, and retriggers it', () => {
    const { b, toTick } = setup();
    program(b, 2, 1, 100);
    expect(b.in(0x61) & 0x20).toBe(0x20);
    toTick(10);
    b.out(0x61, 0x01);
    toTick(11);
    expect(b.in(0x61) & 0x20).toBe(0);
    toTick(60);
    b.out(0x61, 0x00);
    b.out(0x61, 0x01); // retrigger at 60: low until 161
    toTick(160);
    expect(b.in(0x61) & 0x20).toBe(0);
    toTick(161);
    expect(b.in(0x61) & 0x20).toBe(0x20);
  });

  it('mode 5: a gate edge starts a strobe', () => {
    const { b, toTick } = setup();
    program(b, 2, 5, 50);
    b.out(0x61, 0x01); // trigger at tick 0: load at 1, strobe at 51
    const outs: number[] = [];
    for (const t of [50, 51, 52, 200]) {
      toTick(t);
      outs.push((b.in(0x61) >> 5) & 1);
    }
    expect(outs).toEqual([1, 0, 1, 1]);
  });

  it('reports the speaker tone', () => {
    const { pit, b } = setup();
    program(b, 2, 3, 1193);
    expect(pit.speakerFrequency()).toBe(0);
    b.out(0x61, 0x03);
    expect(pit.speakerFrequency()).toBeCloseTo(1000.15, 1);
  });
});

describe('8254 snapshots and reset', () => {
  it('restores counting, the IRQ 0 phase and port 0x61 as if no time passed', () => {
    const a = setup();
    program(a.b, 0, 2, 11932);
    a.b.out(0x61, 0x01);
    program(a.b, 2, 0, 40000);
    a.toTick(30000); // mid period
    a.b.out(0x43, 0x80); // latch channel 2, not yet read
    const state = JSON.parse(JSON.stringify(a.pit.save()));
    const ch0 = latched(a.b, 0);

    const r = setup(7_777_777_777);
    r.pit.restore(state);
    expect(r.lines.level[0]).toBe(a.lines.level[0]);
    expect(latched(r.b, 0)).toBe(ch0);
    expect(r.b.in(0x42) | (r.b.in(0x42) << 8)).toBe(40000 - 29999);
    expect(r.b.in(0x61) & 0x01).toBe(0x01);

    const nextRise = (s: ReturnType<typeof setup>) => {
      const start = s.b.now(), r0 = s.lines.rises[0]!;
      let when = -1;
      s.lines.onRise = () => { if (when < 0) when = s.b.now() - start; };
      s.b.advance(20e6);
      return { when, count: s.lines.rises[0]! - r0 };
    };
    const x = nextRise(a), y = nextRise(r);
    expect(y).toEqual(x);
    expect(x.count).toBe(2);
    expect(() => r.pit.restore({ version: 0 })).toThrow();
  });

  it('reset stops the timers', () => {
    const { pit, b, lines } = setup();
    program(b, 0, 2, 1193);
    b.advance(5e6);
    pit.reset();
    const r = lines.rises[0]!;
    b.advance(1e8);
    expect(lines.rises[0]).toBe(r);
    expect(lines.level[0]).toBe(false);
    expect(b.clock.nextDeadline()).toBe(Infinity);
  });
});
