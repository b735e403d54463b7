/**
 * Conformance against real hardware: bt86 run on the SingleStepTests 80286
 * real-mode vectors (see the data directory's README.md).
 *
 *   npm run conformance [-- --json] [--form 80.1] [--file 00] [--verbose] [--jit off|on|always]
 *
 * Each test is classified into its form (opcode, plus ".reg" for the opcodes
 * whose ModRM.reg selects the instruction, per metadata.json), set up on one
 * reused bare machine, run until the CPU executes a HLT, and compared with the
 * expectation ia32.ts builds: the 286's captured final state, or, for the cases
 * where an IA-32 processor must differ from the 286 ("differs"), the IA-32 result.
 *
 * Counting: the top-level passed/failed/skipped cover the tests of normal and
 * alias forms that are not differs; `differs` counts the differs of those forms;
 * forms of other status (undocumented, undefined, fpu) appear only in `forms`.
 * A form's own counts include all of its tests, differs too.
 *
 * With --json the last stdout line is the summary as JSON. Exit status: 1 when
 * any normal/alias test failed, 2 on a usage error or when the vectors cannot be read.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compareState, formatDiff, type Diff } from './compare.js';
import { Harness, type JitMode } from './harness.js';
import { DIFFER_KINDS, prepare, type DifferKind } from './ia32.js';
import { Metadata, dataDir, isNormalStatus, listFiles, loadFile } from './vectors.js';

export interface ConformanceOptions {
  /** The vectors' directory (default: $BT86_TESTDATA, else ../shared/testdata beside the repository). */
  dataDir?: string;
  /** Only these forms (`80.1`; an opcode alone such as `80` means all of its forms). */
  forms?: string[];
  /** Only these files (names without `.jsonl.gz`: `00`, `80.1`). */
  files?: string[];
  jit?: JitMode;
  /** Instruction cap per test. */
  cap?: number;
  /** Failures kept per form for the report (default 3). */
  keep?: number;
}

export interface Counts { passed: number; failed: number }
export interface FormCounts extends Counts { status: string }

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  differs: Counts;
  forms: Record<string, FormCounts>;
}

export interface Failure {
  file: string;
  idx: number;
  name: string;
  bytes: number[];
  form: string;
  status: string;
  differ: DifferKind | null;
  rule: string;
  /** Why the run ended when it was not a HLT, else ''. */
  stop: string;
  diffs: Diff[];
}

export interface Report {
  summary: Summary;
  /** Differs by rule (normal/alias forms). */
  byDiffer: Record<DifferKind, Counts>;
  /** All tests of forms of other status, by status. */
  otherStatus: Record<string, Counts>;
  /** Failures, at most `keep` per form, in test order. */
  failures: Failure[];
  skips: { file: string; idx: number; form: string; reason: string }[];
  tests: number;
  dataDir: string;
  elapsedMs: number;
}

function formMatcher(filters: string[] | undefined): ((form: string) => boolean) | null {
  if (!filters?.length) return null;
  const fs = filters.map((f) => f.toUpperCase());
  return (form) => fs.some((f) => form === f || form.startsWith(`${f}.`));
}

/** Run the vectors in-process and count. */
export function runConformance(opts: ConformanceOptions = {}): Report {
  const started = performance.now();
  const dir = dataDir(opts.dataDir);
  const meta = Metadata.load(dir);
  const cap = opts.cap ?? 1000;
  const keep = opts.keep ?? 3;
  const formOk = formMatcher(opts.forms);
  const fileSet = opts.files?.length ? new Set(opts.files.map((f) => f.toUpperCase())) : null;
  const opcodes = opts.forms?.length ? new Set(opts.forms.map((f) => f.toUpperCase().split('.')[0])) : null;
  const files = listFiles(dir).filter((f) => (!fileSet || fileSet.has(f.toUpperCase())) && (!opcodes || opcodes.has(f.split('.')[0]!)));

  const summary: Summary = { passed: 0, failed: 0, skipped: 0, differs: { passed: 0, failed: 0 }, forms: {} };
  const byDiffer = Object.fromEntries(DIFFER_KINDS.map((k) => [k, { passed: 0, failed: 0 }])) as Record<DifferKind, Counts>;
  const otherStatus: Record<string, Counts> = {};
  const failures: Failure[] = [];
  const kept: Record<string, number> = {};
  const skips: Report['skips'] = [];
  const harness = new Harness(opts.jit ?? 'off');
  let tests = 0;

  for (const file of files) {
    for (const t of loadFile(dir, file)) {
      const p = prepare(t, meta);
      if (formOk && !formOk(p.form)) continue;
      tests++;
      const status = p.info?.status ?? 'unknown';
      const normal = !p.info || isNormalStatus(status);
      if ('skip' in p) {
        if (normal) summary.skipped++;
        skips.push({ file, idx: t.idx, form: p.form, reason: p.skip });
        continue;
      }
      harness.load(p.setup);
      const outcome = harness.run(cap);
      const diffs = compareState(p.expect, harness.actual());
      harness.cleanup();
      const ok = outcome.stop === 'halt' && diffs.length === 0;

      const form = (summary.forms[p.form] ??= { status, passed: 0, failed: 0 });
      const bump = (c: Counts): void => { if (ok) c.passed++; else c.failed++; };
      bump(form);
      if (!normal) bump(otherStatus[status] ??= { passed: 0, failed: 0 });
      else if (p.differ) { bump(summary.differs); bump(byDiffer[p.differ]); }
      else if (ok) summary.passed++;
      else summary.failed++;
      if (!ok && (kept[p.form] = (kept[p.form] ?? 0) + 1) <= keep) {
        failures.push({
          file, idx: t.idx, name: t.name, bytes: t.bytes, form: p.form, status, differ: p.differ, rule: p.rule,
          stop: outcome.stop === 'halt' ? '' : outcome.message, diffs,
        });
      }
    }
  }
  return { summary, byDiffer, otherStatus, failures, skips, tests, dataDir: dir, elapsedMs: performance.now() - started };
}

// ---- output -------------------------------------------------------------------

function hexBytes(b: number[]): string {
  return b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

function formOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The human-readable report. */
export function formatReport(r: Report, verbose: boolean): string {
  const out: string[] = [];
  const s = r.summary;
  const byForm = new Map<string, Failure[]>();
  for (const f of r.failures) {
    let list = byForm.get(f.form);
    if (!list) byForm.set(f.form, (list = []));
    list.push(f);
  }
  const forms = Object.keys(s.forms).sort(formOrder);
  for (const key of forms) {
    const c = s.forms[key]!;
    if (!c.failed && !verbose) continue;
    const total = c.passed + c.failed;
    out.push(`${c.failed ? 'FAIL' : 'ok  '} ${key} (${c.status}): ${c.failed} of ${total} failed`);
    for (const f of byForm.get(key) ?? []) {
      out.push(`  ${f.file} #${f.idx} ${f.name}  [${hexBytes(f.bytes)}]`);
      if (f.differ) out.push(`    differs/${f.differ}: ${f.rule}`);
      if (f.stop) out.push(`    ${f.stop}`);
      const shown = verbose ? f.diffs : f.diffs.slice(0, 12);
      for (const d of shown) out.push(`    ${formatDiff(d)}`);
      if (shown.length < f.diffs.length) out.push(`    ... ${f.diffs.length - shown.length} more`);
    }
    const more = c.failed - (byForm.get(key)?.length ?? 0);
    if (more > 0) out.push(`  ... ${more} more failures (--form ${key} --verbose for all)`);
  }
  for (const sk of r.skips) out.push(`SKIP ${sk.file} #${sk.idx} (${sk.form}): ${sk.reason}`);
  const failing = forms.filter((k) => s.forms[k]!.failed > 0 && isNormalStatus(s.forms[k]!.status));
  out.push('');
  out.push(`Vectors: ${r.dataDir} (${r.tests} tests, ${(r.elapsedMs / 1000).toFixed(1)} s)`);
  out.push(`Normal/alias forms: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  const kinds = DIFFER_KINDS.map((k) => `${k} ${r.byDiffer[k].passed}/${r.byDiffer[k].passed + r.byDiffer[k].failed}`).join(', ');
  out.push(`Differs (checked against IA-32): ${s.differs.passed} passed, ${s.differs.failed} failed  [${kinds}]`);
  const other = Object.entries(r.otherStatus).map(([k, c]) => `${k} ${c.passed}/${c.passed + c.failed}`).join(', ');
  if (other) out.push(`Other forms (reported apart): ${other}`);
  if (failing.length) {
    out.push(`Failing normal/alias forms (${failing.length}): ` + failing.map((k) => `${k}:${s.forms[k]!.failed}`).join(' '));
  }
  return out.join('\n');
}

const HELP = `Usage: npm run conformance -- [options]

Runs bt86 on the SingleStepTests 80286 real-mode vectors (read from
../shared/testdata/sst-80286-real, or $BT86_TESTDATA) and compares every
register and listed RAM byte, IA-32 rules applied where the 286 differs.

Options:
  --json              print the summary as JSON on the last stdout line:
                      {"passed","failed","skipped","differs":{"passed","failed"},
                       "forms":{"80.0":{"status","passed","failed"},...}}
  --form F            only form F (e.g. 80.1, or 80 for all of 80's forms); repeatable
  --file N            only file N (e.g. 00, 80.1); repeatable
  --verbose, -v       every failure with every difference, and every form
  --show N            failures shown per form (default 3)
  --cap N             instruction cap per test (default 1000)
  --jit off|on|always how code runs. Only 'off' (the cold tier) exists yet: 'on' and
                      'always' are accepted and run the cold tier until the
                      translator lands, so that this command can check it then.
  --data DIR          the vectors' directory (overrides $BT86_TESTDATA)
  --help, -h          this text

Exit status: 1 when a normal/alias test fails, 2 on a usage error or when the
vectors cannot be read, else 0.
`;

function usage(msg: string): never {
  process.stderr.write(`conformance: ${msg}\n\n${HELP}`);
  process.exit(2);
}

function intOption(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} needs a non-negative integer, not '${v}'`);
  return n;
}

export function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        form: { type: 'string', multiple: true },
        file: { type: 'string', multiple: true },
        verbose: { type: 'boolean', short: 'v' },
        show: { type: 'string' },
        cap: { type: 'string' },
        jit: { type: 'string' },
        data: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const jit = args.jit ?? 'off';
  if (jit !== 'off' && jit !== 'on' && jit !== 'always') usage(`--jit takes off, on or always, not '${jit}'`);
  if (jit !== 'off') process.stderr.write(`conformance: --jit ${jit}: no translator yet, running the cold tier\n`);
  const split = (l: string[] | undefined): string[] | undefined => l?.flatMap((x) => x.split(',')).filter(Boolean);
  const verbose = args.verbose ?? false;
  const cap = intOption(args.cap, 'cap', 1000);
  const keep = verbose ? Infinity : intOption(args.show, 'show', 3);
  let report: Report;
  try {
    report = runConformance({ dataDir: args.data, forms: split(args.form), files: split(args.file), jit, cap, keep });
  } catch (e) {
    // Missing or unreadable vectors: a setup problem, not a test result.
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (!args.json || verbose) process.stdout.write(formatReport(report, verbose) + '\n');
  if (args.json) process.stdout.write(JSON.stringify(report.summary) + '\n');
  return report.summary.failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
