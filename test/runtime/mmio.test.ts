import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../runtime/memory.js';
import { MmioRegistry } from '../../runtime/mmio.js';
import { PortRegistry } from '../../runtime/ports.js';

function setup() {
  const phys = new PhysicalMemory(1 << 20);
  const mmio = new MmioRegistry();
  phys.mmio = mmio;
  const log: string[] = [];
  const regs = new Uint32Array(4);
  mmio.add('dev', 0xfee00000, 0x1000, {
    read(off, size) { log.push(`r${size}@${off.toString(16)}`); return off < 16 ? regs[off >> 2]! >>> (8 * (off & 3)) : 0; },
    write(off, size, v) { log.push(`w${size}@${off.toString(16)}=${v.toString(16)}`); if (size === 4) regs[off >> 2] = v; },
  });
  return { phys, mmio, log, regs };
}

describe('MMIO windows beyond RAM', () => {
  it('passes dword and word accesses whole, with offsets from the base', () => {
    const { phys, log, regs } = setup();
    phys.write32(0xfee00004, 0x12345678);
    expect(regs[1]).toBe(0x12345678);
    expect(phys.read32(0xfee00004)).toBe(0x12345678);
    expect(phys.read16(0xfee00006)).toBe(0x1234);
    expect(phys.read8(0xfee00005)).toBe(0x56);
    expect(log).toEqual(['w4@4=12345678', 'r4@4', 'r2@6', 'r1@5']);
  });

  it('leaves RAM, the open bus and the ROM alone', () => {
    const { phys, log } = setup();
    phys.write32(0x1000, 0xdeadbeef);
    expect(phys.read32(0x1000)).toBe(0xdeadbeef);
    expect(phys.read32(0xfed00000)).toBe(0xffffffff);
    phys.write32(0xfed00000, 1);
    expect(log).toEqual([]);
  });

  it('splits an access across the window edge into bytes', () => {
    const { phys, log } = setup();
    phys.read32(0xfedffffe);
    expect(log).toEqual(['r1@0', 'r1@1']);
  });

  it('moves and removes windows; refuses overlapping claims', () => {
    const { phys, mmio, log } = setup();
    const r = mmio.list()[0]!;
    expect(() => mmio.add('other', 0xfee00800, 0x1000, { read: () => 0, write: () => {} })).toThrow(/overlaps/);
    mmio.move(r, 0xfec00000);
    expect(phys.read8(0xfee00000)).toBe(0xff);
    phys.read8(0xfec00003);
    mmio.remove(r);
    expect(phys.read8(0xfec00003)).toBe(0xff);
    expect(log).toEqual(['r1@3']);
  });
});

describe('relocatable port blocks', () => {
  it('tryRegister claims only free ranges; unregister releases the owner’s ports', () => {
    const ports = new PortRegistry();
    const a = { read: () => 1 };
    const b = { read: () => 2 };
    expect(ports.tryRegister(0x100, 4, a)).toBe(true);
    expect(ports.tryRegister(0x102, 4, b)).toBe(false);
    expect(ports.portIn(0x104, 1)).toBe(0xff);
    ports.unregister(0x100, 4, a);
    expect(ports.portIn(0x100, 1)).toBe(0xff);
    expect(ports.tryRegister(0x102, 4, b)).toBe(true);
    expect(ports.portIn(0x103, 1)).toBe(2);
  });
});
