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
