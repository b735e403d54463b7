import { describe, expect, it } from 'vitest';
import { Port92 } from '../../runtime/devices/port92.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Bench } from './bench.js';

function setup() {
  const mem = new PhysicalMemory(4 << 20);
  const events: string[] = [];
  const b = new Bench();
  const dev = b.attach(new Port92((on) => { events.push(`a20:${on}`); mem.setA20(on); }, () => events.push('reset')));
  return { mem, events, b, dev };
}

describe('system control port A (0x92)', () => {
  it('fast A20 gates address line 20 of physical memory', () => {
    const { mem, events, b } = setup();
    mem.setA20(false);
    mem.write8(0x000000, 0x11);
    expect(mem.read8(0x100000)).toBe(0x11); // wraps with A20 off
    b.out(0x92, b.in(0x92) | 0x02);
    expect(events).toEqual(['a20:true']);
    mem.write8(0x100000, 0x22);
    expect(mem.read8(0x000000)).toBe(0x11);
    expect(b.in(0x92)).toBe(0x02);
    b.out(0x92, 0x02); // unchanged: no call
    b.out(0x92, 0x00);
    expect(events).toEqual(['a20:true', 'a20:false']);
    expect(mem.read8(0x100000)).toBe(0x11);
  });

  it('fast reset fires on a rising bit 0 only, and the bit reads back', () => {
    const { events, b } = setup();
    b.out(0x92, 0x01);
    expect(events).toEqual(['reset']);
    expect(b.in(0x92) & 1).toBe(1);
    b.out(0x92, 0x01);
    b.out(0x92, 0x03);
    expect(events).toEqual(['reset', 'a20:true']);
    b.out(0x92, 0x02);
    b.out(0x92, 0x03);
    expect(events).toEqual(['reset', 'a20:true', 'reset']);
  });

  it('the reset callback may reset the device (the machine resets everything)', () => {
    const mem = new PhysicalMemory(1 << 20);
    const b = new Bench();
    let dev: Port92 | null = null;
    const resets: number[] = [];
    dev = b.attach(new Port92((on) => mem.setA20(on), () => { resets.push(1); dev!.reset(); }));
    b.out(0x92, 0x03);
    expect(resets.length).toBe(1);
    expect(b.in(0x92)).toBe(0);
    expect(mem.a20Mask).toBe(0xffefffff);
  });

  it('keeps the other bits; save/restore brings back the register and the gate', () => {
    const { events, b, dev } = setup();
    b.out(0x92, 0xc2);
    const state = JSON.parse(JSON.stringify(dev.save()));
    const r = setup();
    r.dev.restore(state);
    expect(r.b.in(0x92)).toBe(0xc2);
    expect(r.events).toEqual(['a20:true']);
    expect(r.mem.a20Mask).toBe(0xffffffff);
    r.b.out(0x92, 0xc3);
    expect(r.events).toEqual(['a20:true', 'reset']); // bit 0 was clear in the snapshot
    dev.reset();
    expect(events).toEqual(['a20:true', 'a20:false']);
    expect(() => r.dev.restore({ version: 3 })).toThrow();
  });
});
