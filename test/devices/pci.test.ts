import { describe, expect, it } from 'vitest';
import { PciBus, PciFunction } from '../../runtime/devices/pci.js';
import { I440fx, type PamSegment } from '../../runtime/devices/i440fx.js';
import { Piix3 } from '../../runtime/devices/piix3.js';
import { Piix4Pm, PM_TIMER_HZ, DEFAULT_PM_BASE } from '../../runtime/devices/piix4-pm.js';
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
  const bus = b.attach(new PciBus());
  const host = b.attach(new I440fx());
  const isa = b.attach(new Piix3());
  const pm = b.attach(new Piix4Pm());
  bus.register(0, 0, host);
  bus.register(1, 0, isa);
  bus.register(1, 3, pm);
  isa.connect(bus);
  /** Linux's pci_conf1_read/write. */
  const addr = (dev: number, fn: number, reg: number) => 0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc);
  const cfgRead = (dev: number, fn: number, reg: number, size: 1 | 2 | 4) => { b.out(0xcf8, addr(dev, fn, reg), 4); return b.in(0xcfc + (reg & 3), size); };
  const cfgWrite = (dev: number, fn: number, reg: number, size: 1 | 2 | 4, v: number) => { b.out(0xcf8, addr(dev, fn, reg), 4); b.out(0xcfc + (reg & 3), v, size); };
  return { b, lines, mmio, phys, bus, host, isa, pm, cfgRead, cfgWrite };
}

describe('configuration mechanism #1', () => {
  it('passes Linux\'s type 1 probe and reads the chipset IDs', () => {
    const { b, cfgRead } = setup();
    b.out(0xcfb, 0x01);
    const saved = b.in(0xcf8, 4);
    b.out(0xcf8, 0x80000000, 4);
    expect(b.in(0xcf8, 4)).toBe(0x80000000);
    b.out(0xcf8, saved, 4);
    expect(cfgRead(0, 0, 0, 4)).toBe(0x12378086);
    expect(cfgRead(0, 0, 0x0a, 2)).toBe(0x0600);
    expect(cfgRead(1, 0, 0, 4)).toBe(0x70008086);
    expect(cfgRead(1, 0, 0x0e, 1)).toBe(0x80);
    expect(cfgRead(1, 0, 0x0a, 2)).toBe(0x0601);
    expect(cfgRead(1, 3, 0, 4)).toBe(0x71138086);
    expect(cfgRead(1, 3, 0x08, 4)).toBe(0x06800003);
    expect(cfgRead(2, 0, 0, 4)).toBe(0xffffffff);
    expect(cfgRead(1, 1, 0, 2)).toBe(0xffff);
  });

  it('answers byte and word accesses at every data port offset; other buses and a clear enable bit read ones', () => {
    const { b, cfgRead } = setup();
    expect(cfgRead(0, 0, 1, 1)).toBe(0x80);
    expect(cfgRead(0, 0, 2, 2)).toBe(0x1237);
    expect(cfgRead(0, 0, 3, 1)).toBe(0x12);
    b.out(0xcf8, 0x80010000, 4);
    expect(b.in(0xcfc, 4)).toBe(0xffffffff);
    b.out(0xcf8, 0x00000000, 4);
    expect(b.in(0xcfc, 2)).toBe(0xffff);
  });

  it('keeps CONFADD to dword accesses: bits 1:0 and 30:24 read 0', () => {
    const { b } = setup();
    b.out(0xcf8, 0xffffffff, 4);
    expect(b.in(0xcf8, 4)).toBe(0x80fffffc);
    b.out(0xcf8, 0x1234, 2);
    expect(b.in(0xcf8, 4)).toBe(0x80fffffc);
    expect(b.in(0xcf8, 1)).toBe(0xff);
  });

  it('honours read-only fields and write-1-to-clear status bits', () => {
    const { bus, cfgRead, cfgWrite } = setup();
    cfgWrite(0, 0, 0, 4, 0);
    expect(cfgRead(0, 0, 0, 4)).toBe(0x12378086);
    const f = new PciFunction('t', { vendor: 0x1234, device: 0x5678, classCode: 0xff0000 });
    bus.register(5, 0, f);
    f.config[0x07] = 0xf9;
    cfgWrite(5, 0, 0x06, 2, 0x2000);
    expect(cfgRead(5, 0, 0x06, 2)).toBe(0xd900);
    cfgWrite(5, 0, 0x3c, 1, 11);
    expect(cfgRead(5, 0, 0x3c, 1)).toBe(11);
  });
});

describe('base address registers', () => {
  function withDevice() {
    const s = setup();
    const io: number[] = [];
    const f = new PciFunction('t', { vendor: 0x1234, device: 0x1111, classCode: 0x010000, interruptPin: 1 });
    f.defineBar(0, { kind: 'io', size: 32, io: { read: (port) => port & 0xff, write: (port, _s, v) => { io.push(port, v); } } });
    f.defineBar(1, { kind: 'memory', size: 0x1000, memory: { read: (off) => off + 1, write: () => {} } });
    f.defineRom(new Uint8Array(3000).fill(0x55));
    s.bus.register(3, 0, f);
    return { ...s, f, io };
  }

  it('sizes by writing all ones', () => {
    const { cfgRead, cfgWrite } = withDevice();
    for (const [reg, want] of [[0x10, 0x0000ffe1], [0x14, 0xfffff000], [0x30, 0xfffff001]] as const) {
      const old = cfgRead(3, 0, reg, 4);
      cfgWrite(3, 0, reg, 4, 0xffffffff);
      expect(cfgRead(3, 0, reg, 4)).toBe(want);
      cfgWrite(3, 0, reg, 4, old);
    }
    expect(cfgRead(3, 0, 0x18, 4)).toBe(0); // unimplemented BAR
  });

  it('maps I/O and memory BARs and the ROM only while decoding is enabled', () => {
    const { b, phys, cfgWrite, io } = withDevice();
    cfgWrite(3, 0, 0x10, 4, 0xc000);
    cfgWrite(3, 0, 0x14, 4, 0xfe000000);
    cfgWrite(3, 0, 0x30, 4, 0xfe010001);
    expect(b.in(0xc004)).toBe(0xff);
    expect(phys.read32(0xfe000010)).toBe(0xffffffff);
    cfgWrite(3, 0, 0x04, 2, 3);
    expect(b.in(0xc004)).toBe(0x04);
    b.out(0xc01f, 7);
    expect(io).toEqual([0xc01f, 7]);
    expect(phys.read32(0xfe000010)).toBe(0x11);
    expect(phys.read8(0xfe010000)).toBe(0x55);
    cfgWrite(3, 0, 0x10, 4, 0xd000);
    expect(b.in(0xc004)).toBe(0xff);
    expect(b.in(0xd004)).toBe(0x04);
    cfgWrite(3, 0, 0x04, 2, 0);
    expect(b.in(0xd004)).toBe(0xff);
    expect(phys.read32(0xfe000010)).toBe(0xffffffff);
  });

  it('routes INTx through the slot swizzle to a PIRQ, the PIIX3 route and I/O APIC pins 16-19', () => {
    const { f, lines, cfgWrite, isa } = withDevice();
    f.setIntx(true); // device 3, INTA -> PIRQD
    expect(lines.level[19]).toBe(true);
    expect(lines.level[11]).toBe(false);
    cfgWrite(1, 0, 0x63, 1, 11);
    expect(isa.route(3)).toBe(11);
    expect(lines.level[11]).toBe(true);
    cfgWrite(1, 0, 0x63, 1, 10);
    expect(lines.level[11]).toBe(false);
    expect(lines.level[10]).toBe(true);
    f.setIntx(false);
    expect(lines.level[10]).toBe(false);
    expect(lines.level[19]).toBe(false);
  });
});

describe('i440FX', () => {
  it('stores PAM registers and reports the segment map', () => {
    const { host, cfgRead, cfgWrite } = setup();
    let map: PamSegment[] = [];
    host.onPamChange = (m) => { map = m; };
    // SeaBIOS-style: make 0xC0000-0xFFFFF read/write DRAM with two dword writes.
    cfgWrite(0, 0, 0x58, 4, 0x33333010);
    cfgWrite(0, 0, 0x5c, 4, 0x33333333);
    expect(cfgRead(0, 0, 0x59, 1)).toBe(0x30);
    expect(cfgRead(0, 0, 0x58, 1)).toBe(0x10);
    expect(map.length).toBe(13);
    expect(map.every((s) => s.readDram && s.writeDram)).toBe(true);
    cfgWrite(0, 0, 0x59, 1, 0x10);
    expect(map[12]).toEqual({ base: 0xf0000, size: 0x10000, readDram: true, writeDram: false });
    expect(map[0]).toEqual({ base: 0xc0000, size: 0x4000, readDram: true, writeDram: true });
  });

  it('locks SMRAM D_OPEN with D_LCK', () => {
    const { cfgRead, cfgWrite } = setup();
    expect(cfgRead(0, 0, 0x72, 1)).toBe(0x02);
    cfgWrite(0, 0, 0x72, 1, 0x48);
    expect(cfgRead(0, 0, 0x72, 1)).toBe(0x4a);
    cfgWrite(0, 0, 0x72, 1, 0x18);
    cfgWrite(0, 0, 0x72, 1, 0x40);
    expect(cfgRead(0, 0, 0x72, 1) & 0x50).toBe(0x10);
  });

  it('resets through port 0xCF9 (the FADT reset register)', () => {
    const { b, host } = setup();
    const resets: boolean[] = [];
    host.onReset = (hard) => resets.push(hard);
    b.out(0xcf9, 0x02);
    expect(resets).toEqual([]);
    expect(b.in(0xcf9)).toBe(0x02);
    b.out(0xcf9, 0x06);
    b.out(0xcf9, 0x04);
    expect(resets).toEqual([true, false]);
  });
});

describe('PIIX4 power management', () => {
  function pmSetup() {
    const s = setup();
    let off = 0;
    s.pm.onPowerOff = () => { off++; };
    return { ...s, poweredOff: () => off };
  }

  it('maps the PM block at PMBA once PMIOSE is set', () => {
    const { b, cfgRead, cfgWrite, pm } = pmSetup();
    expect(cfgRead(1, 3, 0x40, 4)).toBe(1);
    cfgWrite(1, 3, 0x40, 4, 0xb000);
    expect(b.in(0xb008, 4)).toBe(0xffffffff);
    cfgWrite(1, 3, 0x80, 1, 1);
    expect(pm.pmBase).toBe(0xb000);
    expect(cfgRead(1, 3, 0x40, 4)).toBe(0xb001);
    cfgWrite(1, 3, 0x40, 4, 0xb100);
    expect(pm.pmBase).toBe(0xb100);
    expect(cfgRead(1, 3, 0xd2, 1) & 1).toBe(0);
    cfgWrite(1, 3, 0xd2, 1, 1);
    expect(cfgRead(1, 3, 0xd2, 1) & 1).toBe(0); // the SMBus stays disabled
  });

  it('counts the PM timer at 3.579545 MHz, 24 bits wide, in virtual time', () => {
    const { b, pm } = pmSetup();
    pm.firmwareInit();
    const t0 = b.in(DEFAULT_PM_BASE + 8, 4);
    b.advance(1_000_000_000);
    const t1 = b.in(DEFAULT_PM_BASE + 8, 4);
    expect((t1 - t0 + 0x1000000) % 0x1000000).toBe(PM_TIMER_HZ % 0x1000000);
    expect(t1).toBeLessThan(0x1000000);
    expect(b.in(DEFAULT_PM_BASE + 8, 1)).toBe(t1 & 0xff);
  });

  it('sets TMROF_STS when bit 23 toggles, and raises the SCI once ACPI mode is on', () => {
    const { b, pm, lines } = pmSetup();
    pm.firmwareInit();
    const P = DEFAULT_PM_BASE;
    b.out(P + 2, 1, 2); // TMROF_EN
    b.advance(2_400_000_000); // 2^23 ticks = 2.34 s
    expect(b.in(P, 2) & 1).toBe(1);
    expect(lines.level[9]).toBe(false); // SCI_EN clear: no SCI
    b.out(0xb2, 0xf1); // ACPI_ENABLE through SMI_CMD
    expect(b.in(P + 4, 2) & 1).toBe(1);
    expect(lines.level[9]).toBe(true);
    b.out(P, 1, 2); // clear
    expect(lines.level[9]).toBe(false);
    b.advance(2_400_000_000);
    expect(lines.level[9]).toBe(true);
    b.out(0xb2, 0xf0);
    expect(lines.level[9]).toBe(false);
  });

  it('reports the power button through PM1 status/enable and the SCI', () => {
    const { b, pm, lines } = pmSetup();
    pm.firmwareInit();
    const P = DEFAULT_PM_BASE;
    b.out(0xb2, 0xf1);
    pm.pressPowerButton();
    expect(b.in(P, 2) & 0x100).toBe(0x100);
    expect(lines.level[9]).toBe(false);
    b.out(P + 2, 0x100, 2);
    expect(lines.level[9]).toBe(true);
    b.out(P, 0x00000100, 4); // a dword write to PM1 status+enable, as some OSes do: clears status, enable 0
    expect(lines.level[9]).toBe(false);
    expect(b.in(P + 2, 2)).toBe(0);
  });

  it('powers off when SLP_TYP = 0 (the DSDT\'s \\_S5) is written with SLP_EN, as ACPICA does', () => {
    const { b, pm, poweredOff } = pmSetup();
    pm.firmwareInit();
    const P = DEFAULT_PM_BASE;
    b.out(0xb2, 0xf1);
    const cnt = b.in(P + 4, 2);
    b.out(P + 4, (cnt & ~0x3c00) | (0 << 10), 2);
    expect(poweredOff()).toBe(0);
    b.out(P + 4, (cnt & ~0x3c00) | (0 << 10) | 0x2000, 2);
    expect(poweredOff()).toBe(1);
    expect(b.in(P + 4, 2) & 0x2000).toBe(0);
  });

  it('keeps its registers through save and restore', () => {
    const { b, pm } = pmSetup();
    pm.firmwareInit();
    b.out(0xb2, 0xf1);
    b.out(DEFAULT_PM_BASE + 2, 0x121, 2);
    const state = JSON.parse(JSON.stringify(pm.save()));
    const other = pmSetup();
    other.pm.restore(state);
    expect(other.b.in(DEFAULT_PM_BASE + 2, 2)).toBe(0x121);
    expect(other.b.in(DEFAULT_PM_BASE + 4, 2) & 1).toBe(1);
  });
});
