/**
 * The multiboot loader's placement rule: a kernel may sit anywhere in RAM
 * except over the information structure and command line it is given
 * (0x9000 onwards); the machine state is the specification's.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { MULTIBOOT_BOOTLOADER_MAGIC } from '../../src/machine/multiboot.js';
import { REG, SREG } from '../../src/x86/state.js';

/** An a.out-kludge kernel loaded at `base`: the header, then `hlt`. */
function kernel(base: number): Uint8Array {
  const image = new Uint8Array(0x1000);
  const v = new DataView(image.buffer);
  const magic = 0x1badb002;
  const flags = 0x10000;
  [magic, flags, (-(magic + flags)) >>> 0, base, base, 0, 0, base + 32].forEach((x, i) => v.setUint32(4 * i, x, true));
  image[32] = 0xf4;
  return image;
}

describe('multiboot', () => {
  it('loads a kernel below 1 MiB that does not overlap the information area', () => {
    const m = new Machine({ memSize: 4 << 20, multiboot: kernel(0x10000), cmdline: 'x' });
    expect(m.cpu.eip).toBe(0x10020);
    expect(m.cpu.r32[REG.EAX]! >>> 0).toBe(MULTIBOOT_BOOTLOADER_MAGIC);
    expect(m.cpu.r32[REG.EBX]).toBe(0x9000);
    expect(m.cpu.segLimit[SREG.CS]).toBe(0xffffffff);
    expect(m.cpu.cr0 & 0x80000001).toBe(1);
    expect(m.run(10).kind).toBe('halted');
  });

  it('refuses a kernel over the information area', () => {
    expect(() => new Machine({ memSize: 4 << 20, multiboot: kernel(0x8800) })).toThrow(/overlaps the multiboot information/);
  });
});
