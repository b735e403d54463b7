/**
 * RDTSC follows the machine's clock (issue 4, item 5): in virtual time the TSC
 * advances TSC_HZ per second of virtual time, whatever the CPU does, and a
 * reset starts it from zero.
 */
import { describe, expect, it } from 'vitest';
import { Machine, TSC_HZ } from '../../src/machine/machine.js';
import { NS_PER_INSTRUCTION } from '../../runtime/clock.js';
import { REG } from '../../src/x86/state.js';

/** A 64 KiB ROM whose reset vector runs `code` (at most 16 bytes) in real mode. */
function rom(code: number[]): Uint8Array {
  const image = new Uint8Array(0x10000).fill(0xf4);
  image.set(code, 0xfff0);
  return image;
}

describe('the time-stamp counter', () => {
  it('counts machine time: instructions at the nominal rate', () => {
    // rdtsc; mov ecx, eax; nop x5; rdtsc; hlt
    const m = new Machine({ memSize: 1 << 20, bios: rom([0x0f, 0x31, 0x66, 0x89, 0xc1, 0x90, 0x90, 0x90, 0x90, 0x90, 0x0f, 0x31, 0xf4]) });
    expect(m.run(100).kind).toBe('halted');
    const first = m.cpu.r32[REG.ECX]! >>> 0;
    const second = m.cpu.r32[REG.EAX]! >>> 0;
    expect(first).toBe(0);
    expect(second - first).toBe(7 * NS_PER_INSTRUCTION * (TSC_HZ / 1e9));
  });

  it('follows the clock when time skips (a halted CPU), and restarts at reset', () => {
    const m = new Machine({ memSize: 1 << 20, bios: rom([0x0f, 0x31, 0xf4]) });
    m.clock.skipTo(2e9);
    m.run(10);
    expect(m.cpu.r32[REG.EDX]! * 2 ** 32 + (m.cpu.r32[REG.EAX]! >>> 0)).toBe(2 * TSC_HZ);
    m.cpu.reset();
    expect(m.cpu.tscOffset + BigInt(m.cpu.tscTicks())).toBe(0n);
  });
});
