import { describe, expect, it } from 'vitest';
import { LocalApic, APIC_DEFAULT_BASE, type ExtIntSource } from '../../runtime/devices/lapic.js';
import { MmioRegistry } from '../../runtime/mmio.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { createBareMachine } from '../../src/machine/bare.js';
import { enterFlat32 } from '../../src/machine/kernels.js';
import { REG } from '../../src/x86/state.js';
import { Bench } from './bench.js';

const B = APIC_DEFAULT_BASE;

class FakePic implements ExtIntSource {
  pending: number[] = [];
  hasInterrupt(): boolean { return this.pending.length > 0; }
  acknowledge(): number { return this.pending.shift() ?? 0xf7; }
}

function setup() {
  const b = new Bench();
  const mmio = new MmioRegistry();
  b.host.mmio = mmio;
  const phys = new PhysicalMemory(1 << 20);
  phys.mmio = mmio;
  const apic = b.attach(new LocalApic());
  const pic = new FakePic();
  apic.connectPic(pic);
  let pendingCalls = 0;
  apic.onInterruptPending = () => { pendingCalls++; };
  const eois: number[] = [];
  apic.onEoi = (v) => eois.push(v);
  let nmis = 0;
  apic.onNmi = () => { nmis++; };
  const rd = (off: number) => phys.read32(B + off);
  const wr = (off: number, v: number) => phys.write32(B + off, v);
  return { b, mmio, phys, apic, pic, rd, wr, eois, nmi: () => nmis, pending: () => pendingCalls };
}

/** What Linux's setup_local_APIC does, in short: software-enable with vector 0xFF, TPR 0, flat logical ID 1. */
function linuxEnable(rd: (o: number) => number, wr: (o: number, v: number) => void) {
  wr(0x0e0, 0xffffffff);
  wr(0x0d0, 0x01000000);
  wr(0x080, 0);
  wr(0x0f0, (rd(0x0f0) & ~0xff) | 0x100 | 0xff);
}

describe('local APIC registers', () => {
  it('has the power-up state of the SDM', () => {
    const { rd, apic } = setup();
    expect(rd(0x020)).toBe(0);
    expect(rd(0x030)).toBe(0x00040014);
    expect(rd(0x0f0)).toBe(0xff);
    expect(rd(0x0e0)).toBe(0xffffffff);
    for (let o = 0x320; o <= 0x370; o += 0x10) expect(rd(o)).toBe(0x10000);
    expect(rd(0x390)).toBe(0);
    expect(apic.readBaseMsr()).toBe(0xfee00900n);
  });

  it('reads narrow accesses as bytes of the register and keeps reserved slots at 0', () => {
    const { rd, wr, phys } = setup();
    wr(0x080, 0x5a);
    expect(phys.read8(B + 0x80)).toBe(0x5a);
    expect(phys.read16(B + 0x30)).toBe(0x14);
    expect(phys.read16(B + 0x32)).toBe(0x4);
    expect(rd(0x084)).toBe(0);
    wr(0x040, 0x1234);
    expect(rd(0x040)).toBe(0);
  });

  it('keeps LVT masks on while software-disabled; the spurious vector has bits 3:0 set', () => {
    const { rd, wr } = setup();
    wr(0x350, 0x700);
    expect(rd(0x350)).toBe(0x10700);
    wr(0x0f0, 0x120);
    expect(rd(0x0f0)).toBe(0x12f);
    wr(0x350, 0x700);
    expect(rd(0x350)).toBe(0x700);
    wr(0x0f0, 0x0ff);
    expect(rd(0x350)).toBe(0x10700);
  });
});

describe('IA32_APIC_BASE', () => {
  it('moves the window, and a global disable removes it and passes the PIC through', () => {
    const { apic, phys, pic, mmio } = setup();
    expect(apic.writeBaseMsr(0xfef00800n)).toBe(true);
    expect(phys.read32(0xfef00030)).toBe(0x00040014);
    expect(phys.read32(B + 0x30)).toBe(0xffffffff);
    pic.pending.push(0x20);
    expect(apic.hasInterrupt()).toBe(false); // enabled, not in virtual wire: LINT0 masked
    expect(apic.writeBaseMsr(0xfef00000n)).toBe(true);
    expect(mmio.list().length).toBe(0);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x20);
  });

  it('refuses reserved bits (#GP)', () => {
    const { apic } = setup();
    expect(apic.writeBaseMsr(0xfee00c00n)).toBe(false); // bit 10: x2APIC, not implemented
    expect(apic.writeBaseMsr(1n << 36n)).toBe(false);
  });

  it('is reached by RDMSR/WRMSR through cpu.deviceMsrs', () => {
    const m = createBareMachine(1 << 20);
    enterFlat32(m);
    const apic = new LocalApic();
    m.cpu.deviceMsrs = apic.msrs;
    // rdmsr; mov ecx,1bh; mov eax,0fee00000h; xor edx,edx; wrmsr (EN clear); hlt
    m.phys.load(0x1000, new Uint8Array([0x0f, 0x32, 0xb9, 0x1b, 0, 0, 0, 0xb8, 0, 0, 0xe0, 0xfe, 0x31, 0xd2, 0x0f, 0x30, 0xf4]));
    m.cpu.eip = 0x1000;
    m.cpu.r32[REG.ECX] = 0x1b;
    expect(m.cpu.run(10)).toBe('halt');
    expect(apic.readBaseMsr()).toBe(0xfee00100n);
    m.cpu.eip = 0x1000;
    m.cpu.halted = false;
    m.cpu.r32[REG.ECX] = 0x1b;
    m.cpu.run(1);
    expect(m.cpu.r32[REG.EAX]! >>> 0).toBe(0xfee00100);
  });
});

describe('interrupt delivery', () => {
  it('virtual-wire mode passes the PIC through LINT0 (ExtINT); IRR interrupts go first', () => {
    const { apic, pic } = setup();
    apic.virtualWire();
    pic.pending.push(0x30);
    expect(apic.hasInterrupt()).toBe(true);
    apic.deliver(0, 0x41, false);
    expect(apic.acknowledge()).toBe(0x41);
    expect(apic.acknowledge()).toBe(0x30);
    expect(apic.hasInterrupt()).toBe(false);
  });

  it('orders by priority class against TPR and the in-service vector', () => {
    const { apic, rd, wr } = setup();
    linuxEnable(rd, wr);
    wr(0x080, 0x40);
    apic.deliver(0, 0x45, false);
    expect(apic.hasInterrupt()).toBe(false); // class 4 is not above TPR class 4
    apic.deliver(0, 0x61, false);
    expect(apic.acknowledge()).toBe(0x61);
    expect(rd(0x0a0)).toBe(0x60);
    apic.deliver(0, 0x65, false);
    expect(apic.hasInterrupt()).toBe(false); // same class as in service
    apic.deliver(0, 0x70, false);
    expect(apic.acknowledge()).toBe(0x70); // nests
    wr(0x0b0, 0);
    expect(apic.hasInterrupt()).toBe(false); // 0x61 still in service
    wr(0x0b0, 0);
    expect(apic.acknowledge()).toBe(0x65);
    wr(0x0b0, 0);
    expect(rd(0x0a0)).toBe(0x40);
    wr(0x080, 0);
    expect(apic.acknowledge()).toBe(0x45);
    expect(rd(0x100 + 0x20)).toBe(1 << 5); // ISR bit 0x45
  });

  it('broadcasts the EOI of a level-triggered vector only', () => {
    const { apic, rd, wr, eois } = setup();
    linuxEnable(rd, wr);
    apic.deliver(0, 0x39, true);
    apic.deliver(0, 0x51, false);
    expect(rd(0x180 + 0x10)).toBe(1 << 25); // TMR bit 0x39
    expect(apic.acknowledge()).toBe(0x51);
    wr(0x0b0, 0);
    expect(apic.acknowledge()).toBe(0x39);
    wr(0x0b0, 0);
    expect(eois).toEqual([0x39]);
  });

  it('tells the machine when an EOI or a TPR write makes an interrupt deliverable', () => {
    const { apic, rd, wr, pending } = setup();
    linuxEnable(rd, wr);
    apic.deliver(0, 0x50, false);
    const n = pending();
    expect(n).toBeGreaterThan(0);
    wr(0x080, 0xf0);
    apic.deliver(0, 0x60, false);
    expect(pending()).toBe(n);
    wr(0x080, 0);
    expect(pending()).toBe(n + 1);
  });

  it('answers with the spurious vector when nothing is left at INTA', () => {
    const { apic, rd, wr } = setup();
    linuxEnable(rd, wr);
    expect(apic.acknowledge()).toBe(0xff);
  });

  it('matches physical, broadcast and logical (flat and cluster) destinations', () => {
    const { apic, rd, wr } = setup();
    linuxEnable(rd, wr);
    expect(apic.acceptsDestination(0, false)).toBe(true);
    expect(apic.acceptsDestination(1, false)).toBe(false);
    expect(apic.acceptsDestination(0xff, false)).toBe(true);
    expect(apic.acceptsDestination(1, true)).toBe(true);
    expect(apic.acceptsDestination(2, true)).toBe(false);
    wr(0x0e0, 0x0fffffff);
    wr(0x0d0, 0x21000000);
    expect(apic.acceptsDestination(0x21, true)).toBe(true);
    expect(apic.acceptsDestination(0x11, true)).toBe(false);
    expect(apic.acceptsDestination(0xf1, true)).toBe(true);
  });

  it('sends IPIs to itself; illegal vectors set the ESR after a write', () => {
    const { apic, rd, wr, nmi } = setup();
    linuxEnable(rd, wr);
    wr(0x300, 0x40000 | 0x90); // self, fixed, vector 0x90
    expect(apic.acknowledge()).toBe(0x90);
    wr(0x310, 0);
    wr(0x300, 0x400); // NMI to physical 0
    expect(nmi()).toBe(1);
    wr(0x300, 0xc0000 | 0x91); // all excluding self
    expect(apic.hasInterrupt()).toBe(false);
    wr(0x300, 0x40000 | 0x05);
    expect(rd(0x280)).toBe(0);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0x20);
    apic.deliver(0, 0x07, false);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0x40);
  });

  it('LINT1 delivers NMI as programmed', () => {
    const { apic, nmi } = setup();
    apic.lint1();
    expect(nmi()).toBe(0); // masked after reset
    apic.virtualWire();
    apic.lint1();
    expect(nmi()).toBe(1);
  });
});

describe('APIC timer in virtual time', () => {
  it('one-shot: counts down at bus clock / divide and interrupts once at zero', () => {
    const { b, apic, rd, wr } = setup();
    linuxEnable(rd, wr);
    wr(0x3e0, 0x3); // divide by 16: 160 ns per tick
    wr(0x320, 0x00ef);
    wr(0x380, 1000);
    expect(rd(0x390)).toBe(1000);
    b.advance(80_000);
    expect(rd(0x390)).toBe(500);
    b.advance(79_999);
    expect(apic.hasInterrupt()).toBe(false);
    expect(rd(0x390)).toBe(1);
    b.advance(1);
    expect(rd(0x390)).toBe(0);
    expect(apic.acknowledge()).toBe(0xef);
    wr(0x0b0, 0);
    b.advance(1_000_000);
    expect(apic.hasInterrupt()).toBe(false);
    expect(rd(0x390)).toBe(0);
  });

  it('periodic: reloads and interrupts every period; masked still counts', () => {
    const { b, apic, rd, wr } = setup();
    linuxEnable(rd, wr);
    wr(0x3e0, 0xb); // divide by 1: 10 ns per tick
    wr(0x320, 0x200ec);
    wr(0x380, 100); // 1 µs period
    let n = 0;
    for (let i = 0; i < 10; i++) {
      b.advance(1000);
      while (apic.hasInterrupt()) { expect(apic.acknowledge()).toBe(0xec); wr(0x0b0, 0); n++; }
    }
    expect(n).toBe(10);
    b.advance(250);
    expect(rd(0x390)).toBe(75);
    wr(0x320, 0x300ec);
    b.advance(5000);
    expect(apic.hasInterrupt()).toBe(false);
    expect(rd(0x390)).toBe(75);
  });

  it('counts on from the current value after a divide change; 0 stops it', () => {
    const { b, rd, wr } = setup();
    linuxEnable(rd, wr);
    wr(0x3e0, 0xb);
    wr(0x320, 0x100ee);
    wr(0x380, 10_000);
    b.advance(20_000); // 2000 ticks
    expect(rd(0x390)).toBe(8000);
    wr(0x3e0, 0x0); // divide by 2
    b.advance(20_000); // 1000 ticks
    expect(rd(0x390)).toBe(7000);
    wr(0x380, 0);
    expect(rd(0x390)).toBe(0);
  });

  it('agrees with the PIT rate as Linux calibrates it: ticks per 10 ms jiffy', () => {
    const { b, rd, wr } = setup();
    linuxEnable(rd, wr);
    wr(0x3e0, 0x3);
    wr(0x320, 0x300ef);
    wr(0x380, 0xffffffff);
    const t0 = rd(0x390);
    b.advance(10_000_000);
    expect((t0 - rd(0x390)) * 16).toBe(1_000_000); // 100 MHz bus clock
  });

  it('survives save and restore mid-count', () => {
    const { b, apic, rd, wr } = setup();
    linuxEnable(rd, wr);
    wr(0x3e0, 0xb);
    wr(0x320, 0x200ec);
    wr(0x380, 1000);
    apic.deliver(0, 0x61, true);
    b.advance(3_500);
    const state = JSON.parse(JSON.stringify(apic.save()));
    const fresh = setup();
    fresh.b.advance(3_500);
    fresh.apic.restore(state);
    expect(fresh.rd(0x390)).toBe(rd(0x390));
    expect(fresh.rd(0x180 + 0x30)).toBe(2);
    fresh.b.advance(6_500);
    const got: number[] = [];
    while (fresh.apic.hasInterrupt()) { got.push(fresh.apic.acknowledge()); fresh.wr(0x0b0, 0); }
    expect(got).toEqual([0xec, 0x61]);
  });
});
