/**
 * The 32-bit operand and addressing forms of every user-mode integer
 * instruction, checked against the host's own processor (issue 3, item 4).
 *
 * Cases are generated from the instruction table (test/cpu/gen/int-gen.ts: every
 * class 'int' row, with 16- and 32-bit operand sizes, every ModRM/SIB form,
 * segment overrides, LOCK, interesting values, and fault variants), run
 * natively in a sandboxed 32-bit child (test/native) and in bt86 with the same
 * linear layout (gen/int-machine.ts), and compared: registers, defined flags,
 * EIP, every byte of the data window, and the exception with its error code
 * and CR2 (gen/int-diff.ts). Rows that cannot run this way are listed with the
 * reason in native-untestable.ts.
 *
 * CI runs one fixed seed with at least 200 cases per row and prints the
 * per-row counts. More: BT86_NATIVE_DIFF_SEED (default 1), BT86_NATIVE_DIFF_PER_ROW
 * (default 205), BT86_NATIVE_DIFF_SEEDS (run that many seeds from SEED on),
 * BT86_NATIVE_DIFF_FAULT_RATE (share of cases that end in a fault variant).
 */
import { describe, expect, it } from 'vitest';
import { nativeAvailable, nativeUnavailableReason } from '../native/native.js';
import { formatTable, runIntDiff } from './gen/int-diff.js';
import { intRows } from './gen/int-gen.js';
import { NATIVE_UNTESTABLE, untestableKey } from './native-untestable.js';

const available = nativeAvailable();
if (!available) console.warn(`native integer differential test skipped: ${nativeUnavailableReason()}`);

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};
const SEED = env('BT86_NATIVE_DIFF_SEED', 1);
const PER_ROW = env('BT86_NATIVE_DIFF_PER_ROW', 205);
const SEEDS = env('BT86_NATIVE_DIFF_SEEDS', 1);
const FAULT_RATE = env('BT86_NATIVE_DIFF_FAULT_RATE', 0.6);
/** The floor: cases per row in the CI run. */
const MIN_PER_ROW = 200;

const ALL_INT = intRows();
const TESTED = ALL_INT.filter((r) => !(untestableKey(r) in NATIVE_UNTESTABLE));

describe('native differential test: the untestable list', () => {
  it('names integer rows only, each with a reason', () => {
    const keys = new Set(ALL_INT.map(untestableKey));
    for (const [k, why] of Object.entries(NATIVE_UNTESTABLE)) {
      expect(keys.has(k), `${k} is not an integer row of the table`).toBe(true);
      expect(why.length).toBeGreaterThan(20);
    }
    expect(TESTED.length + Object.keys(NATIVE_UNTESTABLE).length).toBe(ALL_INT.length);
  });
});

describe.skipIf(!available)('integer instructions against the host CPU', () => {
  for (let s = 0; s < SEEDS; s++) {
    const seed = SEED + s;
    it(`seed ${seed}: every user-mode integer row, ${PER_ROW} cases each`, async () => {
      const report = await runIntDiff({ seed, perRow: PER_ROW, rows: TESTED, faultRate: FAULT_RATE });
      const untestable = Object.entries(NATIVE_UNTESTABLE).map(([k, why]) => `  ${k}: ${why}`).join('\n');
      console.log(
        `${formatTable(report)}\n` +
        `host ${(report.nativeMs / 1000).toFixed(1)} s, bt86 ${(report.bt86Ms / 1000).toFixed(1)} s\n` +
        `not run on the host (${Object.keys(NATIVE_UNTESTABLE).length} rows):\n${untestable}`,
      );
      expect(report.nativeFailures, 'the native runner failed').toEqual([]);
      const text = report.mismatches.map((m) => m.text).join('\n\n');
      let bad = 0;
      for (const st of report.stats.values()) bad += st.mismatched;
      expect(bad, `${bad} items differ from the host:\n\n${text}`).toBe(0);
      expect(report.unexpectedFaults, 'items not meant to fault faulted on the host (a generator problem)').toEqual([]);
      const short = [...report.stats.values()].filter((st) => st.ran < Math.min(MIN_PER_ROW, PER_ROW))
        .map((st) => `${st.row.spec.enc} ${st.row.spec.syntax}: ${st.ran}`);
      expect(short, 'rows with too few cases').toEqual([]);
    }, 600_000);
  }
});
