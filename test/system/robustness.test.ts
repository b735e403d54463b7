/**
 * A guest can do anything, and the emulator must neither hang nor crash: random
 * code in protected mode, over random descriptor tables, TSS, page tables and
 * flags, ends in a shutdown, a halt, an exit or the instruction budget, never a
 * JavaScript exception. (Deterministic seeds; a few hundred thousand guest
 * instructions in all.)
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** An a.out-kludge multiboot kernel at 1 MiB whose code, from byte 32 on, is random. */
function randomKernel(rnd: () => number): Uint8Array {
  const image = new Uint8Array(8192);
  for (let i = 0; i < image.length; i++) image[i] = rnd() & 0xff;
  const v = new DataView(image.buffer);
  const base = 0x100000;
  const magic = 0x1badb002;
  const flags = 0x10000;
  [magic, flags, (-(magic + flags)) >>> 0, base, base, 0, 0, base + 32].forEach((x, i) => v.setUint32(4 * i, x, true));
  return image;
}

describe('a guest that only faults', () => {
  it('uses up its budget: a #UD handler that is itself UD2 comes back to the caller', () => {
    const base = 0x100000;
    const image = new Uint8Array(0x80);
    const v = new DataView(image.buffer);
    const magic = 0x1badb002;
    const flags = 0x10000;
    [magic, flags, (-(magic + flags)) >>> 0, base, base, 0, 0, base + 0x20].forEach((x, i) => v.setUint32(4 * i, x, true));
    // lgdt [gdtr]; lidt [idtr]; ud2
    image.set([0x0f, 0x01, 0x15, 0, 0, 0, 0, 0x0f, 0x01, 0x1d, 0, 0, 0, 0, 0x0f, 0x0b], 0x20);
    v.setUint32(0x23, base + 0x30, true);
    v.setUint32(0x2a, base + 0x38, true);
    v.setUint16(0x30, 23, true); // gdtr: 3 descriptors at base + 0x50
    v.setUint32(0x32, base + 0x50, true);
    v.setUint16(0x38, 7 * 8 - 1, true); // idtr: vectors 0-6 at base + 0x40 - 6 * 8
    v.setUint32(0x3a, base + 0x40 - 6 * 8, true);
    // IDT entry 6: a 32-bit interrupt gate to the UD2 itself.
    v.setUint16(0x40, (base + 0x2e) & 0xffff, true);
    v.setUint16(0x42, 0x08, true);
    v.setUint16(0x44, 0x8e00, true);
    v.setUint16(0x46, (base + 0x2e) >>> 16, true);
    v.setUint32(0x58, 0x0000ffff, true); // 0x08: flat code
    v.setUint32(0x5c, 0x00cf9a00, true);
    v.setUint32(0x60, 0x0000ffff, true); // 0x10: flat data
    v.setUint32(0x64, 0x00cf9200, true);
    const m = new Machine({ memSize: 2 << 20, multiboot: image, noReboot: true });
    const r = m.run(50_000);
    expect(r.kind).toBe('limit');
    expect(m.cpu.eip).toBe(base + 0x2e);
  });
});

describe('random guests', () => {
  it('end in a shutdown, halt, exit or the budget, never a host exception', () => {
    const kinds: Record<string, number> = {};
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = xorshift(seed * 7919);
      const m = new Machine({ memSize: 2 << 20, multiboot: randomKernel(rnd), noReboot: true });
      // Random IDT, GDT, TSS and LDT in the first 8 KiB.
      for (let i = 0x10; i < 0x2000; i++) m.phys.ram[i] = rnd() & 0xff;
      const cpu = m.cpu;
      cpu.idtrBase = 0; cpu.idtrLimit = 0x7ff;
      cpu.gdtrBase = 0x800; cpu.gdtrLimit = 0x7ff;
      cpu.trBase = 0x1000; cpu.trLimit = 0x2067; cpu.trSel = 0x28; cpu.trAttr = 0x8b00;
      cpu.ldtrBase = 0x1800; cpu.ldtrLimit = 0x7ff; cpu.ldtrSel = 0x30;
      if (seed % 3 === 0) {
        // Random page tables: CR3 into the random area, 32-bit or PAE.
        cpu.cr3 = 0x1000 + (rnd() & 0x3000);
        cpu.cr4 = rnd() & 0xb0;
        cpu.cr0 |= 0x80000000;
        try {
          m.mmu.controlChanged();
        } catch {
          cpu.cr4 &= ~0x20; // PDPTEs with reserved bits: 32-bit paging instead
          m.mmu.controlChanged();
        }
      }
      if (seed % 5 === 0) cpu.eflags = (rnd() & 0x3f7fd5) | 2;
      const r = m.run(20_000);
      expect(['shutdown', 'halted', 'exit', 'limit']).toContain(r.kind);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
    }
    expect(kinds.shutdown ?? 0).toBeGreaterThan(0);
  });
});
