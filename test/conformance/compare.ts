/**
 * Comparing the state a run ends in with a test's expectation, and printing the
 * differences. Pure functions: the harness supplies the actual state.
 */
import { REG_NAMES, type Expectation, type Regs } from './ia32.js';

export interface Diff {
  /** `ax`, `flags`, `mem[0x1f2a3]`, `eax[31:16]`, `cs.base`... */
  what: string;
  expected: number;
  actual: number;
  /** Bits compared (the rest are undefined and were masked out of both). */
  mask: number;
  /** Digits to print. */
  digits: number;
}

/** What the harness observed after a run. */
export interface ActualState {
  /** 16-bit registers and selectors; `ip` is the whole EIP and `flags` the whole EFLAGS. */
  regs: Regs;
  /** Invariants the harness checked itself (upper register halves, segment bases): failures only. */
  checks: Diff[];
  byte(addr: number): number;
  /** Addresses of nonzero bytes in the pages written during the setup or the run. */
  stray: Iterable<number>;
}

/** Stray bytes reported per test at most (a runaway can scribble over a lot). */
const MAX_STRAY = 16;

export function compareState(e: Expectation, a: ActualState): Diff[] {
  const diffs: Diff[] = [];
  for (const k of REG_NAMES) {
    const exp = e.regs[k];
    const act = a.regs[k];
    if (k === 'flags') {
      // Bits 16-31 of EFLAGS must stay 0 in these tests; the low word under the mask.
      const mask = ((e.flagsMask & 0xffff) | 0xffff0000) >>> 0;
      if (((exp & mask) >>> 0) !== ((act & mask) >>> 0)) diffs.push({ what: k, expected: exp, actual: act >>> 0, mask, digits: act >>> 16 ? 8 : 4 });
    } else if (exp !== act) {
      diffs.push({ what: k, expected: exp, actual: act >>> 0, mask: 0xffff, digits: act >>> 16 ? 8 : 4 });
    }
  }
  diffs.push(...a.checks);
  const addrs = [...e.ram.keys()].sort((x, y) => x - y);
  for (const addr of addrs) {
    const m = e.ramMask.get(addr) ?? 0xff;
    const exp = e.ram.get(addr)!;
    const act = a.byte(addr);
    if ((exp & m) !== (act & m)) diffs.push({ what: memName(addr), expected: exp, actual: act, mask: m, digits: 2 });
  }
  let stray = 0;
  for (const addr of a.stray) {
    if (e.ram.has(addr)) continue;
    if (++stray > MAX_STRAY) break;
    diffs.push({ what: memName(addr), expected: 0, actual: a.byte(addr), mask: 0xff, digits: 2 });
  }
  return diffs;
}

export function memName(addr: number): string {
  return `mem[${addr.toString(16).padStart(6, '0')}]`;
}

const FLAG_LETTERS: [number, string][] = [
  [0x800, 'O'], [0x400, 'D'], [0x200, 'I'], [0x100, 'T'], [0x80, 'S'], [0x40, 'Z'], [0x10, 'A'], [0x4, 'P'], [0x1, 'C'],
  [0x3000, 'IOPL'], [0x4000, 'NT'], [0x10000, 'RF'], [0x20000, 'VM'], [0x40000, 'AC'],
];

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}

/** One line per difference: `flags: expected 0893, got 0897 (Z A differ; mask f7ff)`. */
export function formatDiff(d: Diff): string {
  let s = `${d.what}: expected ${hex(d.expected, d.digits)}, got ${hex(d.actual, d.digits)}`;
  if (d.what === 'flags') {
    const x = ((d.expected ^ d.actual) & d.mask) >>> 0;
    const names = FLAG_LETTERS.filter(([bit]) => x & bit).map(([, n]) => n);
    const other = x & ~FLAG_LETTERS.reduce((m, [bit]) => m | bit, 0);
    if (other) names.push(`bits ${hex(other, 4)}`);
    s += ` (${names.join(' ')} differ${d.mask !== 0xffffffff ? `; mask ${hex(d.mask & 0xffff, 4)}` : ''})`;
  } else if (d.mask !== 0xff && d.mask !== 0xffff && d.digits === 2) {
    s += ` (mask ${hex(d.mask, 2)})`;
  }
  return s;
}
