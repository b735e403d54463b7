import { describe, expect, it } from 'vitest';
import { FwCfg, FW_CFG, e820File, optionRomProblem } from '../../runtime/devices/fw-cfg.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Bench } from './bench.js';

function setup() {
  const b = new Bench();
  const phys = new PhysicalMemory(1 << 20);
  b.host.memory = phys;
  const fw = b.attach(new FwCfg());
  const readItem = (key: number, n: number) => {
    b.out(0x510, key, 2);
    return Array.from({ length: n }, () => b.in(0x511));
  };
  /** A DMA request at `at` (big-endian fields), started as SeaBIOS does: high half, then low half. */
  const dma = (at: number, control: number, length: number, addr: number) => {
    const v = new DataView(phys.ram.buffer, at, 16);
    v.setUint32(0, control, false);
    v.setUint32(4, length, false);
    v.setBigUint64(8, BigInt(addr), false);
    const swap = (x: number) => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
    b.out(0x514, swap(0), 4);
    b.out(0x518, swap(at), 4);
    return v.getUint32(0, false);
  };
  return { b, phys, fw, readItem, dma };
}

function directory(bytes: number[]): { name: string; size: number; select: number }[] {
  const u = new Uint8Array(bytes);
  const v = new DataView(u.buffer);
  const n = v.getUint32(0, false);
  return Array.from({ length: n }, (_, i) => {
    const at = 4 + 64 * i;
    const raw = u.subarray(at + 8, at + 64);
    return { size: v.getUint32(at, false), select: v.getUint16(at + 4, false), name: new TextDecoder().decode(raw.subarray(0, raw.indexOf(0))) };
  });
}

describe('fw_cfg', () => {
  it('reads the signature and the ID through the selector and data ports', () => {
    const { readItem } = setup();
    expect(String.fromCharCode(...readItem(FW_CFG.SIGNATURE, 4))).toBe('QEMU');
    expect(readItem(FW_CFG.ID, 4)).toEqual([3, 0, 0, 0]);
    expect(readItem(0x1234, 2)).toEqual([0, 0]);
  });

  it('lists files in a sorted directory, each readable by its selector; past the end reads 0', () => {
    const { fw, readItem } = setup();
    fw.addFile('etc/e820', e820File([{ addr: 0, size: 0x9fc00, type: 1 }, { addr: 0x100000, size: 0x7f00000, type: 1 }]));
    fw.addFile('bootorder', new TextEncoder().encode('/pci@i0cf8/ide@1,1/drive@0/disk@0\n'));
    const sizeBytes = readItem(FW_CFG.FILE_DIR, 4);
    const count = (sizeBytes[0]! << 24) | (sizeBytes[1]! << 16) | (sizeBytes[2]! << 8) | sizeBytes[3]!;
    expect(count).toBe(2);
    const dir = directory(readItem(FW_CFG.FILE_DIR, 4 + 64 * count));
    expect(dir.map((d) => d.name)).toEqual(['bootorder', 'etc/e820']);
    const e820 = dir[1]!;
    expect(e820.size).toBe(40);
    const bytes = readItem(e820.select, 42);
    const v = new DataView(new Uint8Array(bytes).buffer);
    expect(Number(v.getBigUint64(20 + 8, true))).toBe(0x7f00000);
    expect(v.getUint32(20 + 16, true)).toBe(1);
    expect(bytes.slice(40)).toEqual([0, 0]);
    expect(fw.fileSelector('etc/e820')).toBe(e820.select);
  });

  it('shows the DMA signature and transfers with select, skip and read', () => {
    const { b, fw, phys, dma } = setup();
    expect(b.in(0x514, 4)).toBe(0x554d4551); // "QEMU" in port order
    expect(b.in(0x518, 4)).toBe(0x47464320); // " CFG"
    const sel = fw.addFile('genroms/test.bin', new Uint8Array(64).map((_, i) => i + 1));
    expect(dma(0x1000, (sel << 16) | 8 | 4, 10, 0)).toBe(0); // select + skip 10
    expect(dma(0x1000, 2, 8, 0x2000)).toBe(0); // read 8
    expect(Array.from(phys.ram.subarray(0x2000, 0x2008))).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
    expect(dma(0x1000, (FW_CFG.SIGNATURE << 16) | 8 | 2, 6, 0x3000)).toBe(0);
    expect(Array.from(phys.ram.subarray(0x3000, 0x3006))).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0]);
    expect(fw.dmaTransfers).toBe(3);
  });

  it('accepts DMA writes only into writable files', () => {
    const { fw, phys, dma } = setup();
    const ro = fw.addFile('etc/ro', new Uint8Array(4));
    const rw = fw.addFile('etc/rw', new Uint8Array(4), { writable: true });
    phys.ram.set([9, 8, 7, 6], 0x2000);
    expect(dma(0x1000, (ro << 16) | 8 | 16, 4, 0x2000)).toBe(1);
    const rwSel = fw.fileSelector('etc/rw')!;
    expect(rwSel).toBe(rw);
    expect(dma(0x1000, (rwSel << 16) | 8 | 16, 4, 0x2000)).toBe(0);
    expect(Array.from(fw.file('etc/rw')!)).toEqual([9, 8, 7, 6]);
    const state = JSON.parse(JSON.stringify(fw.save()));
    const other = setup();
    other.fw.addFile('etc/rw', new Uint8Array(4), { writable: true });
    other.fw.restore(state);
    expect(Array.from(other.fw.file('etc/rw')!)).toEqual([9, 8, 7, 6]);
  });

  it('checks option ROM headers before offering them as genroms/', () => {
    const { fw } = setup();
    const rom = new Uint8Array(1024);
    rom.set([0x55, 0xaa, 2, 0xcb]);
    expect(optionRomProblem(rom)).toBe('checksum is not 0');
    rom[1023] = (0x100 - rom.reduce((a, x) => (a + x) & 0xff, 0)) & 0xff;
    expect(optionRomProblem(rom)).toBeNull();
    expect(fw.addOptionRom('vgabios.bin', rom)).toBe(fw.fileSelector('genroms/vgabios.bin'));
    expect(() => fw.addOptionRom('bad.bin', new Uint8Array(512))).toThrow(/55 AA/);
  });
});
