/**
 * The x87 FPU against the host's own x87: generated sequences from every x87 row
 * of the instruction table, run natively (test/native, a sandboxed 32-bit child
 * per case) and on bt86, compared bit for bit (see x87-diff.ts for the machine
 * model, what is compared and the stated tolerance for the transcendentals).
 *
 * The generator uses a fixed seed; the per-instruction case counts, exact
 * matches, matches within tolerance and mismatches are printed.
 */
import { describe, expect, it } from 'vitest';
import { nativeAvailable, nativeUnavailableReason, runNativeParallel } from '../native/native.js';
import {
  Bt86Runner, Rng, TRANSCENDENTAL, TRIG_ULPS, X87_ROWS, compare, describeCase, encode, makeCase, newCaseState,
  randomExt, randomFnsave, type EncodedInsn, type Ext, type X87Case,
} from './x87-diff.js';
import type { Row } from '../../src/x86/rows.js';

/** The fixed seed; X87_SEED overrides it and X87_SCALE multiplies the case counts (for longer runs by hand). */
const SEED = process.env.X87_SEED ? Number(process.env.X87_SEED) : 0x5eed87;
const SCALE = Number(process.env.X87_SCALE ?? 1);
const available = nativeAvailable();
if (!available) console.warn(`x87 native tests skipped: ${nativeUnavailableReason()}`);

const FWAIT_ROW = X87_ROWS.find((r) => r.sem === 'fwait')!;
const ENV_ROWS = new Set(['fldenv', 'fnstenv', 'frstor', 'fnsave']);
const PUSHES = new Set(['fld', 'fild', 'fbld', 'fld1', 'fldz', 'fldpi', 'fldl2t', 'fldl2e', 'fldlg2', 'fldln2', 'fxtract', 'fptan', 'fsincos', 'fdecstp']);

/** Cases per row: more for the arithmetic, fewer for the simple control forms. */
function casesFor(row: Row): number {
  if (TRANSCENDENTAL.has(row.sem)) return 160;
  if (['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr', 'fsqrt', 'fst', 'fstp', 'fist', 'fistp', 'fprem', 'fprem1', 'fscale', 'frndint'].includes(row.sem)) return 90;
  if (['fnop', 'ffree', 'ffreep', 'fincstp', 'fdecstp', 'fwait', 'fninit', 'fnclex', 'fnstcw', 'fnstsw'].includes(row.sem)) return 20;
  return 45;
}

function normalIn(rng: Rng, lo: number, hi: number, sign?: number): Ext {
  const e = lo + rng.int(hi - lo + 1);
  const s = sign ?? rng.int(2);
  return { se: (s << 15) | (16383 + e), sig: (1n << 63n) | rng.big(63) };
}

/** Operands in the domain of each transcendental (and useful ranges for FSCALE/FPREM). */
/** A value of one of the special classes (never an out-of-domain finite value). */
function specialExt(rng: Rng): Ext {
  for (;;) {
    const v = randomExt(rng);
    const exp = v.se & 0x7fff;
    if (exp === 0 || exp === 0x7fff || !(v.sig & (1n << 63n))) return v;
  }
}

function domainRegs(rng: Rng, row: Row): (Ext | null)[] | undefined {
  const special = rng.chance(0.08);
  const any = () => specialExt(rng);
  switch (row.sem) {
    case 'fsin': case 'fcos': case 'fsincos': case 'fptan':
      if (special) return [any()];
      if (rng.chance(0.06)) return [normalIn(rng, 63, 70)]; // out of range: C2
      return [rng.chance(0.7) ? normalIn(rng, -8, 6) : normalIn(rng, -70, 62)];
    case 'fpatan':
      if (special) return rng.chance(0.5) ? [any(), randomExt(rng)] : [randomExt(rng), any()];
      return [normalIn(rng, -40, 40), normalIn(rng, -40, 40)];
    case 'f2xm1':
      if (special) return [any()];
      if (rng.chance(0.05)) return [{ se: (rng.int(2) << 15) | 16383, sig: 1n << 63n }];
      return [normalIn(rng, -70, -1)];
    case 'fyl2x':
      if (special) return rng.chance(0.5) ? [any(), randomExt(rng)] : [randomExt(rng), any()];
      return [rng.chance(0.2) ? normalIn(rng, -1, 0, 0) : normalIn(rng, -200, 200, 0), normalIn(rng, -30, 30)];
    case 'fyl2xp1':
      if (special) return rng.chance(0.5) ? [any(), normalIn(rng, -30, 30)] : [normalIn(rng, -70, -3), any()];
      return [normalIn(rng, -70, -3), normalIn(rng, -30, 30)];
    case 'fscale':
      if (special) return undefined;
      return [randomExt(rng, 'finite'), rng.chance(0.8) ? normalIn(rng, -4, 14) : normalIn(rng, -4, 30)];
    case 'fprem': case 'fprem1': {
      if (special) return undefined;
      const b = normalIn(rng, -20, 20);
      const d = rng.pick([0, 1, 2, 10, 31, 32, 33, 63, 64, 65, 95, 96, 100, 127, 128, 200, 1000]) + rng.int(3) - 1;
      const a = { se: (rng.int(2) << 15) | Math.min(0x7ffe, Math.max(1, (b.se & 0x7fff) + d)), sig: (1n << 63n) | rng.big(63) };
      return [a, b];
    }
    default:
      return undefined;
  }
}

function fwait(s: ReturnType<typeof newCaseState>): EncodedInsn {
  return encode(s, FWAIT_ROW);
}

function singleCase(rng: Rng, row: Row): X87Case {
  const s = newCaseState(rng);
  const prefix66 = ENV_ROWS.has(row.sem) ? rng.chance(0.5) : rng.chance(0.03);
  const insns = [encode(s, row, { prefix66 })];
  const tolerant = TRANSCENDENTAL.has(row.sem);
  if (row.sem !== 'fwait' && rng.chance(0.4)) insns.push(fwait(s));
  const st = domainRegs(rng, row);
  const depth = tolerant ? 2 + rng.int(6) : PUSHES.has(row.sem) ? (rng.chance(0.15) ? 8 : rng.int(8)) : rng.chance(0.5) ? 8 : rng.int(9);
  const fpu = randomFnsave(rng, { st, depth: st && !tolerant ? Math.max(depth, st.length) : depth });
  return makeCase(s, insns, fpu, tolerant, row.spec.syntax);
}

const SEQUENCE_ROWS = X87_ROWS.filter((r) => !TRANSCENDENTAL.has(r.sem));

function sequenceCase(rng: Rng): X87Case {
  const s = newCaseState(rng);
  const n = 2 + rng.int(6);
  const insns: EncodedInsn[] = [];
  for (let k = 0; k < n; k++) {
    const row = rng.pick(SEQUENCE_ROWS);
    insns.push(encode(s, row, { prefix66: ENV_ROWS.has(row.sem) && rng.chance(0.3) }));
  }
  const fpu = randomFnsave(rng, { depth: rng.int(9) });
  return makeCase(s, insns, fpu, false, 'sequence');
}

interface Stats {
  cases: number;
  exact: number;
  approx: number;
  maxUlps: number;
  mismatches: number;
  faults: number;
}

describe.skipIf(!available)('x87 against the host CPU', () => {
  it('every x87 row, single instructions and sequences, bit for bit (transcendentals within the tolerance)', async () => {
    const rng = new Rng(SEED);
    const cases: X87Case[] = [];
    // X87_ONLY=<substring of a row's syntax> narrows the run while debugging.
    const only = process.env.X87_ONLY;
    for (const row of X87_ROWS) {
      const n = Math.round(casesFor(row) * SCALE);
      for (let k = 0; k < n; k++) {
        const c = singleCase(rng, row);
        if (!only || row.spec.syntax.includes(only)) cases.push(c);
      }
    }
    for (let k = 0; k < 2500 * SCALE; k++) {
      const c = sequenceCase(rng);
      if (!only || only === 'sequence') cases.push(c);
    }

    const t0 = performance.now();
    const natives = await runNativeParallel(cases.map((c) => c.native));
    const t1 = performance.now();
    const bt = new Bt86Runner();
    // Coverage: how often each exception flag was newly raised (masked / unmasked) on the host.
    const flagNames = ['IE', 'DE', 'ZE', 'OE', 'UE', 'PE', 'SF'];
    const raised = flagNames.map(() => [0, 0]);
    const rcSeen = [0, 0, 0, 0];
    const pcSeen = [0, 0, 0, 0];
    const stats = new Map<string, Stats>();
    const failures: string[] = [];
    const perLabel = new Map<string, number>();
    let mismatches = 0;
    for (let k = 0; k < cases.length; k++) {
      const c = cases[k]!;
      const nat = natives[k]!;
      const res = bt.run(c);
      const cmp = compare(c, nat, res);
      const before = c.native.fpu![4]! | (c.native.fpu![5]! << 8);
      const cw = c.native.fpu![0]! | (c.native.fpu![1]! << 8);
      const after = nat.fpu[4]! | (nat.fpu[5]! << 8);
      rcSeen[(cw >> 10) & 3]!++;
      pcSeen[(cw >> 8) & 3]!++;
      for (let f = 0; f < 7; f++) {
        if (after & ~before & (1 << f)) raised[f]![f < 6 && !(cw & (1 << f)) ? 1 : 0]!++;
      }
      const keys = c.label === 'sequence' ? ['(sequences)'] : [c.label];
      for (const key of keys) {
        let st = stats.get(key);
        if (!st) stats.set(key, st = { cases: 0, exact: 0, approx: 0, maxUlps: 0, mismatches: 0, faults: 0 });
        st.cases++;
        if (nat.status === 'signal') st.faults++;
        if (!cmp.ok) st.mismatches++;
        else if (cmp.approx) { st.approx++; st.maxUlps = Math.max(st.maxUlps, cmp.ulps); }
        else st.exact++;
      }
      if (!cmp.ok) {
        mismatches++;
        const shown = perLabel.get(c.label) ?? 0;
        perLabel.set(c.label, shown + 1);
        if (shown < Number(process.env.X87_SHOW ?? 2) && failures.length < 60) failures.push(`case ${k} [${c.label}]\n${describeCase(c)}\n  ${cmp.diffs.join('\n  ')}`);
      }
    }
    const t2 = performance.now();
    console.log(`native ${(t1 - t0).toFixed(0)} ms, bt86 and comparison ${(t2 - t1).toFixed(0)} ms`);
    console.log(`flags newly raised (masked/unmasked): ${flagNames.map((n, f) => `${n} ${raised[f]![0]}/${raised[f]![1]}`).join(', ')}; ` +
      `initial RC ${rcSeen.join('/')}, PC ${pcSeen.join('/')}`);
    const lines = [...stats.entries()].map(([k, s]) =>
      `${k.padEnd(22)} ${String(s.cases).padStart(5)} cases ${String(s.exact).padStart(5)} exact ${String(s.approx).padStart(4)} within ${s.maxUlps} ulp ${String(s.faults).padStart(4)} #MF ${s.mismatches ? `${s.mismatches} MISMATCHES` : ''}`);
    console.log(`x87 differential (seed ${SEED.toString(16)}, ${cases.length} cases, tolerance ${TRIG_ULPS} ulp for transcendentals):\n${lines.join('\n')}`);
    if (failures.length) console.log(failures.join('\n\n'));
    expect(mismatches).toBe(0);
  });
});
