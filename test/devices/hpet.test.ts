import { describe, expect, it } from 'vitest';
import { Hpet, HPET_BASE, HPET_BLOCK_ID } from '../../runtime/devices/hpet.js';
import { MmioRegistry } from '../../runtime/mmio.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Bench, Lines } from './bench.js';

function setup() {
  const lines = new Lines();
  (lines as { level: boolean[] }).level = new Array<boolean>(24).fill(false);
  (lines as { rises: number[] }).rises = new Array<number>(24).fill(0);
  const b = new Bench(lines);
  const mmio = new MmioRegistry();
  b.host.mmio = mmio;
  const phys = new PhysicalMemory(1 << 20);
  phys.mmio = mmio;
  const hpet = b.attach(new Hpet());
  const legacy: boolean[] = [];
  hpet.onLegacyReplacement = (on) => legacy.push(on);
  const rd = (off: number) => phys.read32(HPET_BASE + off);
  const wr = (off: number, v: number) => phys.write32(HPET_BASE + off, v);
  return { b, lines, hpet, rd, wr, legacy };
}

describe('HPET', () => {
  it('reports its capabilities: 3 timers, 64-bit, legacy capable, 10 ns period', () => {
    const { rd } = setup();
    expect(rd(0x0)).toBe(HPET_BLOCK_ID);
    expect(rd(0x0) & 0x1f00).toBe(0x200);
    expect(rd(0x4)).toBe(10_000_000);
    expect(rd(0x100) & 0x30).toBe(0x30); // timer 0: periodic and 64-bit capable
    expect(rd(0x120) & 0x30).toBe(0x20);
    expect(rd(0x104)).toBe(0x00f00000);
    expect([rd(0x108), rd(0x10c)]).toEqual([0xffffffff, 0xffffffff]);
  });

  it('counts at 100 MHz from virtual time only while enabled; the counter is writable while halted', () => {
    const { b, rd, wr } = setup();
    b.advance(1000);
    expect(rd(0xf0)).toBe(0);
    wr(0x10, 1);
    b.advance(1_000_000);
    expect(rd(0xf0)).toBe(100_000);
    wr(0x10, 0);
    b.advance(1000);
    expect(rd(0xf0)).toBe(100_000);
    wr(0xf0, 0xfffffff0);
    wr(0xf4, 1);
    wr(0x10, 1);
    b.advance(200);
    expect([rd(0xf0), rd(0xf4)]).toEqual([0x4, 2]);
  });

  it('Linux one-shot clock events: 32-bit mode, comparator = counter + delta, edge on IRQ 0 in legacy mode', () => {
    const { b, lines, rd, wr, legacy } = setup();
    wr(0x10, 3); // enable, legacy replacement
    expect(legacy).toEqual([true]);
    wr(0x100, (1 << 2) | (1 << 8)); // INT_ENB, 32MODE, edge
    const cnt = rd(0xf0);
    wr(0x108, cnt + 1000);
    b.advance(9_990);
    expect(lines.rises[0]).toBe(0);
    b.advance(10);
    expect(lines.rises[0]).toBe(1);
    expect(lines.level[0]).toBe(false);
    b.advance(1_000_000);
    expect(lines.rises[0]).toBe(1);
  });

  it('Linux periodic clock events: VAL_SET write, then the period; fires every period', () => {
    const { b, lines, rd, wr } = setup();
    wr(0x10, 3);
    const cnt = rd(0xf0);
    wr(0x100, (1 << 2) | (1 << 3) | (1 << 6) | (1 << 8));
    wr(0x108, cnt + 100_000); // first tick in 1 ms
    wr(0x108, 100_000); // then every 1 ms
    expect(rd(0x100) & (1 << 6)).toBe(0);
    b.advance(10_000_000);
    expect(lines.rises[0]).toBe(10);
    expect(rd(0x108)).toBe(cnt + 1_100_000);
  });

  it('routes to I/O APIC pins outside legacy mode; level mode holds the line until GINTR_STA is cleared', () => {
    const { b, lines, rd, wr } = setup();
    wr(0x10, 1);
    wr(0x120, (1 << 1) | (1 << 2) | (21 << 9)); // timer 1: level, enabled, pin 21
    wr(0x128, 500);
    wr(0x12c, 0);
    b.advance(5_000);
    expect(lines.level[21]).toBe(true);
    expect(rd(0x20)).toBe(2);
    wr(0x20, 2);
    expect(lines.level[21]).toBe(false);
    expect(rd(0x20)).toBe(0);
    wr(0x140, (1 << 2) | (3 << 9)); // pin 3 is not in the route capability: the route stays
    expect((rd(0x140) >> 9) & 0x1f).toBe(0);
  });

  it('leaves legacy mode with the lines released, and keeps state through save and restore', () => {
    const { b, hpet, rd, wr, legacy } = setup();
    wr(0x10, 3);
    wr(0x100, (1 << 2) | (1 << 8));
    wr(0x108, rd(0xf0) + 5000);
    b.advance(20_000);
    const state = JSON.parse(JSON.stringify(hpet.save()));
    const other = setup();
    other.b.advance(20_000);
    other.hpet.restore(state);
    expect(other.rd(0xf0)).toBe(rd(0xf0));
    expect(other.legacy).toEqual([true]);
    wr(0x10, 1);
    expect(legacy).toEqual([true, false]);
  });
});
