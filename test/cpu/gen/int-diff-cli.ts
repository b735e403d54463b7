/**
 * Run the integer differential test from the command line (after `npm run build`):
 *   node dist/test/cpu/gen/int-diff-cli.js [seed] [perRow] [filter] [faultRate]
 * `filter` keeps rows whose syntax or sem contains it. Prints the per-row table
 * and every mismatch report.
 */
import { nativeAvailable, nativeUnavailableReason } from '../../native/native.js';
import { NATIVE_UNTESTABLE, untestableKey } from '../native-untestable.js';
import { formatTable, runIntDiff } from './int-diff.js';
import { intRows } from './int-gen.js';

const [seedArg, perRowArg, filter, faultRateArg] = process.argv.slice(2);
if (!nativeAvailable()) {
  console.error(`native runner unavailable: ${nativeUnavailableReason()}`);
  process.exit(2);
}
const rows = intRows().filter((r) => !(untestableKey(r) in NATIVE_UNTESTABLE))
  .filter((r) => !filter || filter === '-' || r.spec.syntax.includes(filter) || r.sem === filter);
const t0 = performance.now();
const report = await runIntDiff({ seed: Number(seedArg ?? 1), perRow: Number(perRowArg ?? 20), rows, maxReports: 200, faultRate: faultRateArg ? Number(faultRateArg) : undefined });
console.log(formatTable(report));
for (const m of report.mismatches) console.log(`\n${m.text}`);
for (const f of report.nativeFailures.slice(0, 20)) console.log(f);
for (const f of report.unexpectedFaults) console.log(`unexpected fault: ${f}`);
let bad = 0;
for (const s of report.stats.values()) bad += s.mismatched;
console.log(`\n${report.cases} cases, ${report.items} items, ${bad} mismatched items, ${report.nativeFailures.length} native failures; ` +
  `native ${(report.nativeMs / 1000).toFixed(1)} s, bt86 ${(report.bt86Ms / 1000).toFixed(1)} s, total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
