import { describe, expect, it } from 'vitest';
import { IoApic, IOAPIC_DEFAULT_BASE, isaIrqToGsi } from '../../runtime/devices/ioapic.js';
import { IrqRouter } from '../../runtime/irq.js';
import { Pic } from '../../runtime/devices/pic.js';
import { LocalApic } from '../../runtime/devices/lapic.js';
import { MmioRegistry } from '../../runtime/mmio.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Bench } from './bench.js';

const IO = IOAPIC_DEFAULT_BASE;
const LA = 0xfee00000;

function setup() {
  const b = new Bench();
  const mmio = new MmioRegistry();
  b.host.mmio = mmio;
  const phys = new PhysicalMemory(1 << 20);
  phys.mmio = mmio;
  const lapic = b.attach(new LocalApic());
  const ioapic = b.attach(new IoApic());
  ioapic.connect(lapic);
  lapic.onEoi = (v) => ioapic.eoi(v);
  // Linux's local APIC setup: flat logical ID 1, software-enabled.
  phys.write32(LA + 0xd0, 0x01000000);
  phys.write32(LA + 0xf0, 0x1ff);
  const sel = (r: number) => phys.write8(IO, r);
  const rd = (r: number) => { sel(r); return phys.read32(IO + 0x10); };
  const wr = (r: number, v: number) => { sel(r); phys.write32(IO + 0x10, v); };
  /** Program entry `pin` the way Linux's ioapic_write_entry does: high dword first, then low. */
  const route = (pin: number, lo: number, dest = 0) => { wr(0x11 + 2 * pin, dest << 24); wr(0x10 + 2 * pin, lo); };
  const eoi = () => phys.write32(LA + 0xb0, 0);
  /** Acknowledge what is pending (and EOI each, unless told not to), as a handler would. */
  const take = (withEoi = true) => {
    const got: number[] = [];
    while (lapic.hasInterrupt() && got.length < 8) {
      got.push(lapic.acknowledge());
      if (withEoi) eoi();
    }
    return got;
  };
  return { b, phys, lapic, ioapic, sel, rd, wr, route, eoi, take };
}

describe('I/O APIC registers', () => {
  it('reports ID, version 0x11 with 24 entries, and masked entries after reset', () => {
    const { rd, wr, phys } = setup();
    expect(rd(0)).toBe(0x01000000);
    expect(rd(1)).toBe(0x00170011);
    expect(rd(2)).toBe(0x01000000);
    for (let pin = 0; pin < 24; pin++) expect(rd(0x10 + 2 * pin)).toBe(0x10000);
    wr(0, 0x0f000000);
    expect(rd(2)).toBe(0x0f000000);
    expect(phys.read8(IO)).toBe(2);
    expect(rd(0x40)).toBe(0);
  });

  it('keeps delivery status and remote IRR read-only; destination is bits 63:56', () => {
    const { rd, wr } = setup();
    wr(0x10, 0xffffffff);
    expect(rd(0x10)).toBe(0x1afff);
    wr(0x11, 0xffffffff);
    expect(rd(0x11)).toBe(0xff000000);
  });
});

describe('I/O APIC delivery', () => {
  it('sends an edge-triggered pin once per rising edge, and loses edges while masked', () => {
    const { ioapic, route, take } = setup();
    route(2, 0x30);
    ioapic.setPin(2, true);
    ioapic.setPin(2, true);
    expect(take()).toEqual([0x30]);
    ioapic.setPin(2, false);
    ioapic.setPin(2, true);
    expect(take()).toEqual([0x30]);
    route(2, 0x10030);
    ioapic.setPin(2, false);
    ioapic.setPin(2, true);
    route(2, 0x30);
    expect(take()).toEqual([]);
  });

  it('holds a level-triggered pin with remote IRR until the EOI, then sends again while asserted', () => {
    const { ioapic, route, rd, take, eoi, lapic } = setup();
    route(9, 0x8039); // level, active high (the SCI), fixed, physical 0
    ioapic.setPin(9, true);
    expect(rd(0x10 + 18) & 0x4000).toBe(0x4000);
    expect(lapic.registers().tmr[1]).toBe(1 << 25);
    expect(take(false)).toEqual([0x39]);
    ioapic.setPin(9, true);
    expect(take(false)).toEqual([]);
    eoi(); // line still asserted: sent again
    expect(take(false)).toEqual([0x39]);
    ioapic.setPin(9, false);
    eoi();
    expect(rd(0x10 + 18) & 0x4000).toBe(0);
    expect(take(false)).toEqual([]);
  });

  it('sends a level pin that is asserted when it gets unmasked', () => {
    const { ioapic, route, take } = setup();
    ioapic.setPin(11, true);
    route(11, 0x18041);
    expect(take()).toEqual([]);
    route(11, 0x8041);
    expect(take(false)).toEqual([0x41]);
  });

  it('clears remote IRR when an entry is switched to edge (the EOI workaround of old parts)', () => {
    const { ioapic, route, rd } = setup();
    route(10, 0x8042);
    ioapic.setPin(10, true);
    expect(rd(0x10 + 20) & 0x4000).toBe(0x4000);
    route(10, 0x10042);
    expect(rd(0x10 + 20) & 0x4000).toBe(0);
  });

  it('delivers only to a matching destination (logical flat ID 1, physical 0)', () => {
    const { ioapic, route, take } = setup();
    route(4, 0x800 | 0x50, 0x01);
    ioapic.setPin(4, true);
    expect(take()).toEqual([0x50]);
    route(5, 0x800 | 0x51, 0x02);
    ioapic.setPin(5, true);
    route(6, 0x52, 0x03);
    ioapic.setPin(6, true);
    expect(take()).toEqual([]);
  });

  it('passes NMI messages to the processor', () => {
    const { ioapic, route, lapic } = setup();
    let nmis = 0;
    lapic.onNmi = () => { nmis++; };
    route(3, 0x400);
    ioapic.setPin(3, true);
    expect(nmis).toBe(1);
  });

  it('keeps entries and levels through save and restore', () => {
    const { ioapic, route } = setup();
    route(9, 0x8039, 0);
    ioapic.setPin(9, true);
    const state = JSON.parse(JSON.stringify(ioapic.save()));
    const other = setup();
    other.ioapic.restore(state);
    expect(other.ioapic.entry(9)).toBe(ioapic.entry(9));
    other.ioapic.setPin(9, false);
    other.route(9, 0x39); // edge: remote IRR cleared
    other.route(9, 0x8039);
    other.ioapic.setPin(9, true);
    expect(other.take(false)).toEqual([0x39]);
  });
});

describe('ISA interrupt wiring', () => {
  it('takes the machine\'s lines as a sink beside the PIC (IRQ 0 on pin 2, IRQ 2 as IRQ 9, 16-23 only here)', () => {
    const { ioapic, route, take } = setup();
    const pic = new Pic();
    let changes = 0;
    const router = new IrqRouter(() => { changes++; });
    router.addSink(pic);
    router.addSink(ioapic);
    const pit = router.linesFor({});
    route(2, 0x30);
    pit.setIrq(0, true);
    expect(take()).toEqual([0x30]);
    expect(pic.registers().irr & 1).toBe(1);
    route(20, 0x8060);
    router.linesFor({}).setIrq(20, true);
    expect(take(false)).toEqual([0x60]);
    expect(changes).toBe(2);
    expect([0, 1, 2, 8, 9].map(isaIrqToGsi)).toEqual([2, 1, 9, 8, 9]);
  });
});
