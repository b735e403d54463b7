/**
 * Cold-tier execution rate: guest instructions per second of the CPU's own
 * executor (no translation) on our small guest kernels (src/machine/kernels.ts,
 * guests/kernels/*.asm), each on a bare CPU in 32-bit flat mode:
 *
 *   intloop  ALU work, an address computation and a counted loop (7 per iteration)
 *   string   REP MOVSD / REP STOSD over 4 KiB and REPNE SCASB (a REP string
 *            instruction counts as one instruction, so the byte rate is shown too)
 *   calls    recursive Fibonacci: CALL/RET, PUSH/POP, stack frames
 *
 * Two numbers per kernel: benny's wall-clock rate, and the rate per second of
 * this process's CPU time (process.cpuUsage) over a timed loop, which is the
 * fairer figure on a shared machine, and a yardstick (a plain JavaScript
 * loop's rate) to compare machines by. The issue's target is 30 M guest
 * instructions per second on the integer loop.
 *
 * Run with `npm run build && npm run bench:cold`.
 */
import b from 'benny';
import { KERNELS, createBareMachine, runKernel, type KernelName } from '../src/machine/kernels.js';

const TARGET_INTLOOP_MIPS = 30;

/** Kernel parameters: about ten milliseconds of work per call on a fast machine. */
const PARAM: Record<KernelName, number> = { intloop: 100_000, string: 40, calls: 18 };
/** Bytes the string kernel moves, fills and scans per outer iteration (for its byte rate). */
const STRING_BYTES_PER_ITERATION = 4096 * 3;

interface Kernel {
  name: KernelName;
  run: () => number;
  /** Guest instructions per call. */
  instructions: number;
}

const kernels: Kernel[] = KERNELS.map((name) => {
  const m = createBareMachine(1 << 20);
  const first = runKernel(m, name, PARAM[name]);
  // Deterministic: every call runs the same instructions to the same result.
  const again = runKernel(m, name, PARAM[name]);
  if (again.eax !== first.eax || again.instructions !== first.instructions) throw new Error(`kernel ${name} is not deterministic`);
  return { name, run: () => runKernel(m, name, PARAM[name]).eax, instructions: first.instructions };
});

/** Guest instructions per second of wall time and of CPU time over about `seconds`. */
function timed(k: Kernel, seconds: number): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let calls = 0;
  do {
    k.run();
    calls++;
  } while (performance.now() - t0 < seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return { wall: (calls * k.instructions) / wall, cpu: (calls * k.instructions) / cpu };
}

/**
 * A yardstick for the machine itself: a plain JavaScript loop (one add, one
 * multiply, one OR per iteration), in M iterations per second of CPU time (the
 * best of five rounds), so that numbers from different (or differently
 * loaded) machines can be compared.
 */
function yardstick(): number {
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const c0 = process.cpuUsage();
    let s = 0;
    const n = 1e8;
    for (let i = 0; i < n; i++) s = (s + i * 3) | 0;
    const c = process.cpuUsage(c0);
    if (s === 0.5) process.stdout.write('');
    best = Math.max(best, n / ((c.user + c.system) / 1e6) / 1e6);
  }
  return best;
}

let sink = 0;
const benny = new Map<string, { mips: number; margin: number }>();
await b.suite(
  'cold tier: guest instructions per second',
  b.configure({ cases: { minSamples: 10, maxTime: 3 } }),
  ...kernels.map((k) => b.add(`${k.name} (${k.instructions} instructions per run)`, () => { sink += k.run(); })),
  b.cycle(),
  b.complete((summary) => {
    summary.results.forEach((r, i) => benny.set(kernels[i]!.name, { mips: (r.ops * kernels[i]!.instructions) / 1e6, margin: r.margin }));
  }),
);

process.stdout.write('\nkernel    M instr/s (benny, wall)   M instr/s (CPU time)   note\n');
let intloopCpu = 0;
for (const k of kernels) {
  const t = timed(k, 2);
  const bn = benny.get(k.name)!;
  let note = '';
  if (k.name === 'string') {
    const perInstr = (PARAM.string * STRING_BYTES_PER_ITERATION) / k.instructions;
    note = `${((t.cpu * perInstr) / 1e6).toFixed(0)} MB/s moved, filled or scanned`;
  }
  if (k.name === 'intloop') {
    intloopCpu = t.cpu / 1e6;
    note = `target ${TARGET_INTLOOP_MIPS}: ${intloopCpu >= TARGET_INTLOOP_MIPS ? 'met' : 'NOT met'}`;
  }
  const digits = k.name === 'string' ? 3 : 1;
  process.stdout.write(`${k.name.padEnd(9)} ${`${bn.mips.toFixed(digits)} ±${bn.margin.toFixed(1)}%`.padStart(24)}   ${(t.cpu / 1e6).toFixed(digits).padStart(20)}   ${note}\n`);
}
process.stdout.write(`\nyardstick: a plain JS loop runs ${yardstick().toFixed(0)} M iterations per CPU second on this machine ` +
  '(to compare results from different machines)\n');
if (sink === 0.5) process.stdout.write('');
