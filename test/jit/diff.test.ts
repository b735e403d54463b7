/**
 * Differential fuzzing, cold tier vs `--jit always` (issue 6: "keep inline
 * forms and the semantics provably the same"): random instruction streams
 * (test/jit/gen.ts), mostly of the forms compiled inline, run on both tiers
 * with the same instruction counts split into run() calls of various sizes
 * (so regions are entered, left on the budget and re-entered at odd places),
 * then registers, EFLAGS, segments, instruction count and all of RAM compared.
 *
 * BT86_FUZZ=<n> multiplies the number of programs (a longer soak).
 */
import { describe, expect, it } from 'vitest';
import { differential } from './harness.js';
import { pointerRegs, program } from './gen.js';

const SCALE = Number(process.env.BT86_FUZZ ?? 1);

function chunks(seed: number): number[] {
  switch (seed % 4) {
    case 0: return [300];
    case 1: return [7, 13, 50, 230];
    case 2: return [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 68];
    default: return [40, 40, 40, 40, 40, 40, 40, 20];
  }
}

function run(seed: number, bits: 16 | 32, inlineOnly: boolean, maxBlocks?: number): string[] {
  const code = program(seed, 30, bits === 32, inlineOnly);
  const s = { bits, code, regs: pointerRegs(seed), eflags: 2 | (seed * 0x9e3779b1 & 0x8d5), seed };
  const { diffs } = differential(s, { chunks: chunks(seed), maxBlocks });
  return diffs.length ? [`seed ${seed} bits ${bits}: ${diffs.join('; ')}`] : [];
}

describe('differential: cold tier vs translated code', () => {
  it('32-bit, inline forms', () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= 25 * SCALE; seed++) bad.push(...run(seed, 32, true, 4));
    expect(bad).toEqual([]);
  });

  it('32-bit, with generic instructions', () => {
    const bad: string[] = [];
    for (let seed = 1000; seed < 1000 + 20 * SCALE; seed++) bad.push(...run(seed, 32, false, 4));
    expect(bad).toEqual([]);
  });

  it('32-bit, larger regions', () => {
    const bad: string[] = [];
    for (let seed = 2000; seed < 2000 + 8 * SCALE; seed++) bad.push(...run(seed, 32, seed % 2 === 0));
    expect(bad).toEqual([]);
  });

  it('16-bit real mode', () => {
    const bad: string[] = [];
    for (let seed = 3000; seed < 3000 + 20 * SCALE; seed++) bad.push(...run(seed, 16, seed % 2 === 0, 4));
    expect(bad).toEqual([]);
  });
});
