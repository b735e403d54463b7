/**
 * Bad input (issue 3): a guest can never crash the host. Random byte streams
 * run from random states, millions of instructions, must end only in
 * guest-visible events (exceptions delivered to the guest, HLT, shutdown) and
 * never in a host error: anything thrown out of the CPU's run loop fails the
 * test, and so does a state that is no longer a machine state (an EIP that is
 * not a 32-bit integer, EFLAGS without bit 1, a CPL outside 0-3).
 *
 * Two machines:
 * - the bare CPU on flat RAM (createBareMachine): real mode, big real mode,
 *   and protected mode without the system hooks; exceptions go through an IVT
 *   of random bytes, so every fault lands in random code and the CPU keeps
 *   running through it;
 * - the full machine (CPU + paging MMU + protected-mode runtime): real mode,
 *   16- and 32-bit protected mode at CPL 0 and 3, v8086 mode, paging (32-bit,
 *   PSE, PAE, and page tables of random bytes), with a GDT that mixes good and
 *   random descriptors, an IDT whose gates (interrupt, trap, task) lead into
 *   random code, a TSS and an LDT of random bytes. The guest may overwrite
 *   them; a triple fault ends the run.
 * Each machine runs in two ways (gen/random-exec.ts): through the CPU's own
 * run loop, where faults are delivered into more random code, and one
 * instruction at a time with a jump to fresh random bytes after every fault.
 *
 * BT86_RANDOM_EXEC_INSNS sets the instructions per machine and way (default
 * 500 000, so 2 M in all), BT86_RANDOM_EXEC_SEED the seed.
 */
import { describe, expect, it } from 'vitest';
import { createBareMachine, enterFlat32 } from '../../src/machine/kernels.js';
import { bareWorld, fullWorld, report, runMode, stepMode, type Outcome } from './gen/random-exec.js';

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};
const INSNS = env('BT86_RANDOM_EXEC_INSNS', 500_000);
const SEED = env('BT86_RANDOM_EXEC_SEED', 7);

function check(name: string, run: () => Outcome): void {
  const t0 = performance.now();
  const o = run();
  console.log(report(name, o, performance.now() - t0));
  expect(o.failures, o.failures.join('\n\n')).toEqual([]);
  expect(o.executed).toBeGreaterThanOrEqual(INSNS);
}

describe('bad input: random code from random states never crashes the host', () => {
  it(`the bare CPU, run loop: ${INSNS} instructions`, () => check('bare CPU, run loop', () => runMode(bareWorld(SEED), SEED + 1, INSNS)), 300_000);
  it(`the bare CPU, fresh bytes after every fault: ${INSNS} instructions`, () =>
    check('bare CPU, stepping', () => stepMode(bareWorld(SEED + 2), SEED + 3, INSNS)), 300_000);
  it(`the full machine, run loop: ${INSNS} instructions`, () =>
    check('full machine, run loop', () => runMode(fullWorld(SEED + 4), SEED + 5, INSNS)), 300_000);
  it(`the full machine, fresh bytes after every fault: ${INSNS} instructions`, () =>
    check('full machine, stepping', () => stepMode(fullWorld(SEED + 6), SEED + 7, INSNS)), 300_000);

  it('a REP string instruction yields after cpu.repLimit elements and continues where it stopped', () => {
    const m = createBareMachine(1 << 20);
    enterFlat32(m);
    const cpu = m.cpu;
    m.phys.load(0x1000, Uint8Array.of(0xf3, 0xaa, 0xf4)); // rep stosb; hlt
    cpu.eip = 0x1000;
    cpu.r32[1] = 0x10000; // ECX
    cpu.r32[7] = 0x20000; // EDI
    cpu.r32[0] = 0x5a;
    cpu.repLimit = 0x1000;
    cpu.run(1);
    expect(cpu.eip).toBe(0x1000);
    expect(cpu.r32[1]).toBe(0xf000);
    expect(cpu.r32[7]).toBe(0x21000);
    expect(m.phys.ram[0x20fff]).toBe(0x5a);
    expect(m.phys.ram[0x21000]).toBe(0);
    expect(cpu.run(100)).toBe('halt');
    expect(cpu.r32[1]).toBe(0);
    expect(cpu.r32[7]).toBe(0x30000);
    expect(m.phys.ram[0x2ffff]).toBe(0x5a);
    // REPE CMPSB stops on a difference inside a chunk, and does not restart.
    m.phys.load(0x1000, Uint8Array.of(0xf3, 0xa6, 0xf4));
    m.phys.ram.fill(7, 0x40000, 0x42000);
    m.phys.ram.fill(7, 0x50000, 0x52000);
    m.phys.ram[0x41800] = 8;
    cpu.eip = 0x1000;
    cpu.halted = false;
    Object.assign(cpu.r32, { 1: 0x2000, 6: 0x40000, 7: 0x50000 });
    expect(cpu.run(100)).toBe('halt');
    expect(cpu.r32[6]).toBe(0x41801);
    expect(cpu.r32[1]).toBe(0x2000 - 0x1801);
  });
});
