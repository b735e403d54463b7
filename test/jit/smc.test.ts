/**
 * Self-modifying code and invalidation (issue 6, item 4), each case checked
 * against the cold tier:
 *  - a block that overwrites its own next instruction stops after the write and
 *    runs the new bytes;
 *  - code that patches another block on the same page (a called function);
 *  - a write through one virtual address to code executed through another
 *    (two page mappings of one frame);
 *  - writes by a loader between runs, and by a "DMA" device (a port write that
 *    makes the host copy into guest RAM) in the middle of a run;
 *  - an instruction rewritten in a tight loop thousands of times: right result
 *    and a bounded cache;
 *  - the same bytes run as 32-bit and as 16-bit code (two translations);
 *  - data written next to code (same page, other chunks) invalidates nothing;
 *  - a page fault in translated code under paging leaves the state the cold
 *    tier leaves.
 */
import { describe, expect, it } from 'vitest';
import { createBareMachine, type BareMachine } from '../../src/machine/bare.js';
import { enterFlat32, kernelImage } from '../../src/machine/kernels.js';
import { Cpu, type PortBus } from '../../src/x86/cpu.js';
import { SEMANTICS } from '../../src/x86/sem/index.js';
import { ATTR, REG, SREG } from '../../src/x86/state.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Mmu } from '../../runtime/mmu.js';
import { JitEngine, type JitOptions } from '../../jit/engine.js';
import { compare, snapshot } from './harness.js';

const CODE = 0x1000;

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

interface Run { m: BareMachine; engine: JitEngine | null }

function flat(code: number[], ports?: PortBus): BareMachine {
  const m = createBareMachine(1 << 20, ports);
  enterFlat32(m);
  m.phys.load(CODE, Uint8Array.from(code));
  m.cpu.r32[REG.ESP] = 0x80000;
  m.cpu.eip = CODE;
  return m;
}

function runToHalt(r: Run, max = 10_000_000): void {
  let left = max;
  while (!r.m.cpu.halted && left > 0) {
    const before = r.m.cpu.instructionCount;
    const why = r.engine ? r.engine.run(Math.min(left, 100_000)) : r.m.cpu.run(Math.min(left, 100_000));
    left -= Math.max(1, r.m.cpu.instructionCount - before);
    if (why === 'halt') break;
  }
  expect(r.m.cpu.halted).toBe(true);
}

/** Run `make()` on the cold tier and on the JIT; both machines must end the same. */
function both(make: () => BareMachine, opts: JitOptions = { mode: 'always' }): { cold: Run; jit: Run } {
  const cold: Run = { m: make(), engine: null };
  const jm = make();
  const jit: Run = { m: jm, engine: new JitEngine(jm.cpu, jm.phys, null, opts) };
  runToHalt(cold);
  runToHalt(jit);
  expect(compare(snapshot(cold.m), snapshot(jit.m))).toEqual([]);
  return { cold, jit };
}

describe('self-modifying code', () => {
  it('a block that overwrites its next instruction runs the new bytes', () => {
    const code = [
      0xc6, 0x05, ...le32(CODE + 9), 0x07, // 1000 mov byte [1009], 7
      0x90, //                                 1007 nop
      0xb0, 0x01, //                           1008 mov al, 1   (imm8 at 1009)
      0xf4, //                                 100a hlt
    ];
    for (const opts of [{ mode: 'always' }, { mode: 'always', maxBlocks: 1 }] as JitOptions[]) {
      const { jit } = both(() => flat(code), opts);
      expect(jit.m.cpu.r32[REG.EAX]! & 0xff).toBe(7);
      expect(jit.engine!.stats().totals.smcExits).toBeGreaterThan(0);
    }
  });

  it('REP STOSB over the rest of its own block', () => {
    const code = [
      0xbf, ...le32(CODE + 14), //  1000 mov edi, 100e
      0xb9, ...le32(2), //          1005 mov ecx, 2
      0xb0, 0x90, //                100a mov al, 0x90
      0xf3, 0xaa, //                100c rep stosb      (writes two NOPs at 100e)
      0xb0, 0x01, //                100e mov al, 1      (becomes nop; nop)
      0xf4, //                      1010 hlt
    ];
    const { jit } = both(() => flat(code));
    expect(jit.m.cpu.r32[REG.EAX]! & 0xff).toBe(0x90);
  });

  it('patches another block on the same page, thousands of times, with a bounded cache', () => {
    const F = CODE + 0x100;
    const main = [
      0xb9, ...le32(3000), //       1000 mov ecx, 3000
      0xe8, ...le32(F - (CODE + 10)), // 1005 call F
      0x88, 0x0d, ...le32(F + 1), //     100a mov [F+1], cl
      0xe2, 0xf3, //                1010 loop 1005
      0xf4, //                      1012 hlt
    ];
    const f = [0xb8, ...le32(0x100), 0x01, 0xc3, 0xc3]; // F: mov eax, 0x100; add ebx, eax; ret
    const make = () => {
      const m = flat(main);
      m.phys.load(F, Uint8Array.from(f));
      return m;
    };
    for (const opts of [{ mode: 'always' }, { mode: 'on', threshold: 3 }] as JitOptions[]) {
      const { jit } = both(make, opts);
      const s = jit.engine!.stats().totals;
      expect(s.invalidations.write).toBeGreaterThan(0);
      expect(s.liveRegions).toBeLessThan(20);
    }
  });

  it('an instruction rewritten in a tight loop (5000 times) in its own region', () => {
    const P = CODE + 5; // the "mov eax, imm32" inside the loop
    const code = [
      0xb9, ...le32(5000), //           1000 mov ecx, 5000
      0xb8, ...le32(7), //              1005 mov eax, 7          <- imm at 1006 rewritten
      0x01, 0xc3, //                    100a add ebx, eax
      0xff, 0x05, ...le32(P + 1), //    100c inc dword [1006]
      0xe2, 0xf1, //                    1012 loop 1005
      0xf4, //                          1014 hlt
    ];
    for (const opts of [{ mode: 'always', maxCodeBytes: 1 << 20 }, { mode: 'on', threshold: 2 }] as JitOptions[]) {
      const { jit } = both(() => flat(code), opts);
      // sum of 7 .. 7+4999
      expect(jit.m.cpu.r32[REG.EBX]! >>> 0).toBe((5000 * (7 + 7 + 4999)) / 2);
      const s = jit.engine!.stats().totals;
      expect(s.liveRegions).toBeLessThan(8);
      expect(s.codeBytes).toBeLessThan(1 << 20);
    }
  });

  it('writes of data next to code (another chunk of the page) invalidate nothing', () => {
    const D = CODE + 0x800;
    const code = [
      0xb9, ...le32(2000), //        1000 mov ecx, 2000
      0x01, 0x0d, ...le32(D), //     1005 add [D], ecx
      0xe2, 0xf8, //                 100b loop 1005
      0xf4,
    ];
    const { jit } = both(() => flat(code));
    expect(jit.engine!.stats().totals.invalidations.write).toBe(0);
    expect(jit.m.phys.read32(D) >>> 0).toBe((2000 * 2001) / 2);
  });

  it('a loader overwriting cached code between runs', () => {
    const m = flat([0xb8, ...le32(1), 0xf4]);
    const engine = new JitEngine(m.cpu, m.phys, null, { mode: 'always' });
    runToHalt({ m, engine });
    expect(m.cpu.r32[REG.EAX]).toBe(1);
    m.phys.load(CODE, Uint8Array.from([0xb8, ...le32(2), 0xf4]));
    m.cpu.eip = CODE;
    m.cpu.halted = false;
    runToHalt({ m, engine });
    expect(m.cpu.r32[REG.EAX]).toBe(2);
    expect(engine.stats().totals.invalidations.write).toBeGreaterThan(0);
  });

  it('a device writing guest RAM (DMA) during a run', () => {
    // OUT 0x80 makes the "device" copy new code over the instructions after it.
    const code = [
      0xe6, 0x80, //             1000 out 0x80, al
      0xb8, ...le32(1), //       1002 mov eax, 1     <- replaced by mov eax, 2
      0xf4,
    ];
    const make = () => {
      let m: BareMachine | null = null;
      const ports: PortBus = {
        portIn: () => 0xff,
        portOut: (port) => { if (port === 0x80) m!.phys.load(CODE + 2, Uint8Array.from([0xb8, ...le32(2)])); },
      };
      m = flat(code, ports);
      return m;
    };
    const { jit } = both(make);
    expect(jit.m.cpu.r32[REG.EAX]).toBe(2);
  });

  it('the same bytes as 32-bit and as 16-bit code', () => {
    const code = [0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4]; // 32: mov eax,1; hlt  16: mov ax,1; add [bx+si],al; hlt
    const cold = flat(code);
    const jm = flat(code);
    const engine = new JitEngine(jm.cpu, jm.phys, null, { mode: 'always' });
    for (const m of [cold, jm]) {
      m.cpu.r32[REG.EAX] = -1;
      m.cpu.r32[REG.EBX] = 0x2000;
    }
    runToHalt({ m: cold, engine: null });
    runToHalt({ m: jm, engine });
    expect(jm.cpu.r32[REG.EAX]).toBe(1);
    for (const m of [cold, jm]) {
      m.cpu.segAttr[SREG.CS] = m.cpu.segAttr[SREG.CS]! & ~ATTR.DB;
      m.cpu.r32[REG.EAX] = -1;
      m.cpu.eip = CODE;
      m.cpu.halted = false;
    }
    runToHalt({ m: cold, engine: null });
    runToHalt({ m: jm, engine });
    expect(jm.cpu.r32[REG.EAX]! >>> 0).toBe(0xffff0001);
    expect(compare(snapshot(cold), snapshot(jm))).toEqual([]);
    expect(engine.stats().totals.regionsCompiled).toBe(2);
  });
});

// ---- paging -----------------------------------------------------------------------

const PD = 0x100000;
const ALIAS = 0x800000;

/** A flat protected-mode CPU with paging: 4 MiB identity-mapped, ALIAS maps the code page again, 0x300000 unmapped. */
function paged(code: number[]): { m: BareMachine; mmu: Mmu } {
  const phys = new PhysicalMemory(4 << 20);
  const cpu = new Cpu(null as never, { portIn: () => 0xff, portOut: () => {} }, SEMANTICS);
  const mmu = new Mmu(phys, cpu);
  cpu.mem = mmu;
  mmu.onCodeWrite((page) => cpu.dropDecoded(page));
  cpu.onModeChange = (cr3Only) => mmu.controlChanged(cr3Only);
  const m: BareMachine = { cpu, phys };
  enterFlat32(m);
  const pt0 = PD + 0x1000;
  const pt2 = PD + 0x2000;
  phys.write32(PD, pt0 | 7);
  phys.write32(PD + 2 * 4, pt2 | 7);
  for (let p = 0; p < 1024; p++) if (p !== 0x300) phys.write32(pt0 + p * 4, (p << 12) | 7);
  phys.write32(pt2, CODE | 7); // ALIAS -> the code frame
  cpu.cr3 = PD;
  cpu.cr0 = (cpu.cr0 | 0x80000001) | 0;
  mmu.controlChanged();
  phys.load(CODE, Uint8Array.from(code));
  cpu.r32[REG.ESP] = 0x80000;
  cpu.eip = CODE;
  return { m, mmu };
}

describe('under paging', () => {
  it('a write through one virtual address to code executed through another', () => {
    const code = [
      0xc6, 0x05, ...le32(ALIAS + 9), 0x07, // 1000 mov byte [ALIAS+9], 7  (= phys 1009)
      0x90, //                                 1007 nop
      0xb0, 0x01, //                           1008 mov al, 1
      0xf4,
    ];
    const cold = paged(code);
    const jit = paged(code);
    const engine = new JitEngine(jit.m.cpu, jit.m.phys, jit.mmu, { mode: 'always' });
    runToHalt({ m: cold.m, engine: null });
    runToHalt({ m: jit.m, engine });
    expect(jit.m.cpu.r32[REG.EAX]! & 0xff).toBe(7);
    expect(compare(snapshot(cold.m), snapshot(jit.m))).toEqual([]);
  });

  it('a page fault in translated code leaves the state of the cold tier', () => {
    // EAX and flags are set, then a load from an unmapped page faults; without an IDT
    // the CPU ends in a shutdown or at the IVT's handler: both tiers must agree on every
    // register, EIP and flag at that point.
    const code = [
      0xb8, ...le32(5), //             mov eax, 5
      0x83, 0xc0, 0x03, //             add eax, 3
      0x8b, 0x1d, ...le32(0x300010), // mov ebx, [0x300010]  -> #PF
      0x40, //                         inc eax
      0xf4,
    ];
    const cold = paged(code);
    const jit = paged(code);
    const engine = new JitEngine(jit.m.cpu, jit.m.phys, jit.mmu, { mode: 'always' });
    cold.m.cpu.run(10);
    engine.run(10);
    expect(jit.m.cpu.cr2 >>> 0).toBe(0x300010);
    expect(compare(snapshot(cold.m), snapshot(jit.m))).toEqual([]);
    expect(engine.stats().totals.faults).toBe(1);
  });

  it('runs the kernels paged with the same results', () => {
    for (const name of ['intloop', 'calls', 'string'] as const) {
      const code = [...kernelImage(name)];
      const cold = paged(code);
      const jit = paged(code);
      for (const x of [cold, jit]) x.m.cpu.r32[REG.ECX] = name === 'calls' ? 12 : name === 'string' ? 2 : 3000;
      const engine = new JitEngine(jit.m.cpu, jit.m.phys, jit.mmu, { mode: 'always' });
      runToHalt({ m: cold.m, engine: null });
      runToHalt({ m: jit.m, engine });
      expect(compare(snapshot(cold.m), snapshot(jit.m))).toEqual([]);
    }
  });
});
