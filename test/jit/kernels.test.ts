/**
 * The benchmark kernels (guests/kernels) through the translator: the same
 * result and instruction count as the cold tier, with `--jit always` and `on`,
 * with single-block and multi-block regions; and the statistics that explain
 * what ran (regions, chaining, instructions per tier).
 */
import { describe, expect, it } from 'vitest';
import { createBareMachine, loadKernel, runKernel, type KernelName } from '../../src/machine/kernels.js';
import { JitEngine, type JitOptions } from '../../jit/engine.js';
import { REG } from '../../src/x86/state.js';

function jitKernel(name: KernelName, ecx: number, opts: JitOptions) {
  const m = createBareMachine();
  const engine = new JitEngine(m.cpu, m.phys, null, opts);
  loadKernel(m, name, ecx);
  const start = m.cpu.instructionCount;
  let reason;
  do reason = engine.run(1_000_000); while (reason === 'count');
  expect(reason).toBe('halt');
  return { eax: m.cpu.r32[REG.EAX]! >>> 0, instructions: m.cpu.instructionCount - start, engine };
}

const CASES: [KernelName, number][] = [['intloop', 5000], ['string', 3], ['calls', 12]];

describe('kernels under the translator', () => {
  for (const [name, n] of CASES) {
    const cold = runKernel(createBareMachine(), name, n);
    for (const opts of [{ mode: 'always' }, { mode: 'on', threshold: 2 }, { mode: 'always', maxBlocks: 1 }, { mode: 'always', quantum: 97 }] as JitOptions[]) {
      it(`${name} ${JSON.stringify(opts)}`, () => {
        const r = jitKernel(name, n, opts);
        expect(r.eax).toBe(cold.eax);
        expect(r.instructions).toBe(cold.instructions);
        const t = r.engine.stats().totals;
        if (opts.mode === 'always') expect(t.regionsCompiled).toBeGreaterThan(0);
        expect(t.coldInsns + t.jitInsns).toBe(cold.instructions);
        if (opts.mode === 'always') expect(t.coldInsns).toBe(0);
      });
    }
  }

  it('keeps hot loops and recursion inside regions (few dispatches)', () => {
    const r = jitKernel('calls', 16, { mode: 'always' });
    const t = r.engine.stats().totals;
    // Each run() quantum ends at most one region call chain; RET to a call site of the region stays in it.
    expect(t.dispatched + t.chained).toBeLessThan(r.instructions / 1000);
    const loop = jitKernel('intloop', 20000, { mode: 'always' });
    // The loop body (at 1007) ran 19999 times as a block of some region (a new region
    // starts there when a run() quantum ends in the middle of the loop).
    let body = 0;
    for (const reg of loop.engine.stats().regions) for (const b of reg.blocks) if (b.eip === 0x1007) body += b.executions;
    expect(body).toBe(19999);
  });

  it('reports per-region statistics', () => {
    const r = jitKernel('intloop', 100, { mode: 'always' });
    const s = r.engine.stats();
    expect(s.regions.length).toBeGreaterThan(0);
    const reg = s.regions[0]!;
    expect(reg.insns).toBeGreaterThan(0);
    expect(reg.bytes).toBeGreaterThan(0);
    expect(reg.compileMs).toBeGreaterThan(0);
    expect(reg.sourceBytes).toBeGreaterThan(0);
    expect(reg.valid).toBe(true);
    expect(s.totals.time.compile).toBeGreaterThan(0);
  });
});
