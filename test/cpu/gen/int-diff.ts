/**
 * The integer differential test's engine: generate cases (int-gen.ts), run
 * them on the host CPU (test/native) and on bt86 (int-machine.ts), compare, and
 * count per row.
 *
 * What is compared for each case:
 * - how it ended: at the end of the code, or at an exception with the same
 *   vector (the host's trap number), the same error code (vectors with one),
 *   the same CR2 (the host's si_addr) for #PF, and the same EIP;
 * - the eight registers and EFLAGS at the end (the last item's undefined flags
 *   masked) or at the exception (RF masked: the host's signal frame may have it);
 * - every byte of the 64 KiB window, which holds each item's dump of registers,
 *   EFLAGS and (after segment items) selectors, and each item's memory
 *   operands and stack; an item's undefined flags and results are masked in
 *   its dump, and the scratch stack below SCRATCH_STACK (copies of EFLAGS) is
 *   not compared.
 *
 * A difference is attributed to an item: the owner of the window bytes (a dump
 * slot or an allocation), or the item that ended the case.
 */
import { disassemble } from '../../../src/x86/disasm.js';
import type { Row } from '../../../src/x86/rows.js';
import {
  CODE_BASE, DATA_BASE, DATA_SIZE, finalMemory, runNativeParallel, type NativeCase, type NativeResult,
} from '../../native/native.js';
import { buildCases, DUMP_SLOT, SCRATCH_STACK, type IntCase, type Item } from './int-gen.js';
import { IntMachine, probeHostSegments, type Bt86Outcome } from './int-machine.js';
import { Rng } from './rng.js';

const RF = 1 << 16;
/** Vectors that push an error code. */
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);
const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

export interface Mismatch {
  row: Row;
  item: Item;
  caseIndex: number;
  itemIndex: number;
  diffs: string[];
  text: string;
}

export interface RowStats {
  row: Row;
  /** Items of the row that ran on both sides and were compared. */
  ran: number;
  /** Of those, items that ended in an exception (on the host). */
  faulted: number;
  mismatched: number;
}

export interface DiffReport {
  cases: number;
  items: number;
  stats: Map<Row, RowStats>;
  mismatches: Mismatch[];
  /** Cases the native runner could not run (timeouts, errors): an infrastructure failure. */
  nativeFailures: string[];
  /**
   * Host exceptions in items not generated to fault (a generator problem: the
   * items after it in the case do not run); both sides still had to agree.
   */
  unexpectedFaults: string[];
  /** How many cases ended in each exception vector on the host (-1: none). */
  vectors: Map<number, number>;
  nativeMs: number;
  bt86Ms: number;
}

export interface DiffOptions {
  seed: number;
  /** Instances of each row to generate. */
  perRow: number;
  rows: readonly Row[];
  jobs?: number;
  faultRate?: number;
  /** Cases per native batch (bt86 runs one batch while the host runs the next). */
  batch?: number;
  /** Keep at most this many mismatch reports (all are counted). */
  maxReports?: number;
}

function hex(v: number, w = 8): string {
  return (v >>> 0).toString(16).padStart(w, '0');
}

/** The rows, each `perRow` times, shuffled. */
function schedule(rng: Rng, rows: readonly Row[], perRow: number): Row[] {
  const out: Row[] = [];
  for (const r of rows) for (let i = 0; i < perRow; i++) out.push(r);
  return rng.shuffle(out);
}

export function toNative(c: IntCase): NativeCase {
  return { code: c.code, regs: c.regs, eflags: c.eflags, mem: c.mem, timeoutMs: 1000 };
}

function initialWindow(c: IntCase): Uint8Array {
  const m = new Uint8Array(DATA_SIZE);
  for (const ch of c.mem) m.set(ch.bytes, ch.addr - DATA_BASE);
  return m;
}

/** Index of the item whose code holds `eip` (or -1). */
function itemAt(c: IntCase, eip: number): number {
  const off = eip - CODE_BASE;
  return c.items.findIndex((it) => off >= it.start && off < it.end);
}

/** Per-byte compare masks for the window (0xff compared, 0 not). */
function windowMask(c: IntCase): Uint8Array {
  const mask = new Uint8Array(DATA_SIZE).fill(0xff);
  const setMask32 = (addr: number, m: number) => {
    for (let k = 0; k < 4; k++) mask[addr - DATA_BASE + k]! &= (m >>> (8 * k)) & 0xff;
  };
  c.items.forEach((it) => {
    for (let r = 0; r < 8; r++) if (it.regMask[r] !== ~0) setMask32(it.slot + 4 * r, it.regMask[r]!);
    setMask32(it.slot + 32, ~(it.undefFlags | RF));
    for (const [a, n] of it.memUndefined) {
      for (let k = 0; k < n; k++) {
        const o = a + k - DATA_BASE;
        if (o >= 0 && o < DATA_SIZE) mask[o] = 0;
      }
    }
  });
  mask.fill(0, SCRATCH_STACK - 16 - DATA_BASE, SCRATCH_STACK - DATA_BASE);
  return mask;
}

/** Which item owns window byte `addr` (dump slot or allocation), or -1. */
function ownerOf(c: IntCase, addr: number): number {
  for (let i = 0; i < c.items.length; i++) {
    const s = c.items[i]!.slot;
    if (addr >= s && addr < s + DUMP_SLOT) return i;
  }
  for (const [a, n, it] of c.owners) if (addr >= a && addr < a + n) return it;
  return -1;
}

function describeItem(c: IntCase, idx: number): string {
  const it = c.items[idx]!;
  const body = c.code.subarray(it.bodyStart, it.bodyEnd);
  const lines = disassemble(body, 32, CODE_BASE + it.bodyStart).map((l) => `    ${hex(l.address)}  ${l.text}`);
  const regs = it.regs.map((v, r) => `${REG_NAMES[r]}=${it.regLabels.has(r) ? `&${it.regLabels.get(r)}` : hex(v)}`).join(' ');
  return [
    `  ${it.row.spec.enc}  ${it.row.spec.syntax}  ${it.note}`,
    `  bytes: ${[...body].map((x) => x.toString(16).padStart(2, '0')).join(' ')}`,
    ...lines,
    `  setup: ${regs} eflags=${hex(it.flags)}`,
  ].join('\n');
}

interface Compared {
  /** Per item index (or -1 for the case), the differences found. */
  byItem: Map<number, string[]>;
  /** Index of the last item that ran on the host. */
  lastRan: number;
  nativeFaulted: boolean;
  failure?: string;
}

export function compareCase(c: IntCase, nat: NativeResult, bt: Bt86Outcome): Compared {
  const byItem = new Map<number, string[]>();
  const add = (i: number, s: string) => {
    const l = byItem.get(i);
    if (l) l.push(s);
    else byItem.set(i, [s]);
  };
  const lastIdx = c.items.length - 1;
  if (nat.status !== 'ok' && !(nat.status === 'signal' && nat.fault)) {
    return { byItem, lastRan: -1, nativeFaulted: false, failure: `native ${nat.status} ${nat.error ?? ''} signal ${nat.signal}` };
  }
  const natFault = nat.status === 'signal' ? nat.fault! : null;
  let ended = lastIdx;
  if (natFault) {
    const at = itemAt(c, natFault.eip);
    ended = at >= 0 ? at : lastIdx;
  } else if (bt.vector >= 0 || bt.hostError !== undefined) {
    const at = itemAt(c, bt.eip);
    if (at >= 0) ended = at;
  }
  if (bt.hostError !== undefined) {
    const e = bt.hostError;
    add(ended, `bt86 host error: ${e instanceof Error ? `${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e)}`);
  }
  const natVector = natFault ? natFault.trapno : -1;
  if (natVector !== bt.vector || (!natFault && !bt.done && bt.hostError === undefined)) {
    add(ended, `end: host ${natFault ? `vector ${natVector} err ${hex(natFault.err, 4)} at ${hex(natFault.eip)}` : 'completed'}, ` +
      `bt86 ${bt.vector >= 0 ? `vector ${bt.vector} err ${hex(bt.errorCode, 4)} at ${hex(bt.eip)}` : bt.done ? 'completed' : `stopped at ${hex(bt.eip)} after ${bt.steps} steps`}`);
  } else if (natFault) {
    if (HAS_ERROR_CODE.has(natVector) && (natFault.err & 0xffff) !== (bt.errorCode & 0xffff)) {
      add(ended, `error code: host ${hex(natFault.err, 4)} bt86 ${hex(bt.errorCode, 4)}`);
    }
    if (natVector === 14 && (natFault.addr >>> 0) !== bt.cr2) add(ended, `cr2: host ${hex(natFault.addr)} bt86 ${hex(bt.cr2)}`);
  }
  if ((nat.eip >>> 0) !== bt.eip) add(ended, `eip: host ${hex(nat.eip)} bt86 ${hex(bt.eip)}`);
  // Registers and EFLAGS at the end or at the fault.
  const last = c.items[ended]!;
  const regMask = natFault ? last.faultRegMask : last.regMask;
  for (let r = 0; r < 8; r++) {
    if (((nat.regs[r]! ^ bt.regs[r]!) & regMask[r]!) !== 0) add(ended, `${REG_NAMES[r]}: host ${hex(nat.regs[r]!)} bt86 ${hex(bt.regs[r]!)}`);
  }
  const flagMask = ~(RF | (natFault ? 0 : last.undefFlags));
  if (((nat.eflags ^ bt.eflags) & flagMask) !== 0) {
    add(ended, `eflags: host ${hex(nat.eflags & flagMask)} bt86 ${hex(bt.eflags & flagMask)} (diff ${hex((nat.eflags ^ bt.eflags) & flagMask, 5)})`);
  }
  // The window.
  const natMem = finalMemory(toNative(c), nat);
  const btMem = bt.memory;
  const a32 = new Int32Array(natMem.buffer, natMem.byteOffset, DATA_SIZE >> 2);
  const b32 = new Int32Array(btMem.buffer, btMem.byteOffset, DATA_SIZE >> 2);
  let mask: Uint8Array | null = null;
  let reported = 0;
  for (let w = 0; w < DATA_SIZE >> 2; w++) {
    if (a32[w] === b32[w]) continue;
    mask ??= windowMask(c);
    for (let k = w * 4; k < w * 4 + 4; k++) {
      if (((natMem[k]! ^ btMem[k]!) & mask[k]!) === 0) continue;
      const addr = DATA_BASE + k;
      const owner = ownerOf(c, addr);
      const who = owner >= 0 ? owner : ended;
      const slotOff = owner >= 0 ? addr - c.items[owner]!.slot : -1;
      const what = slotOff >= 0 && slotOff < 32 ? `dump ${REG_NAMES[slotOff >> 2]}` : slotOff >= 32 && slotOff < 36 ? 'dump eflags'
        : slotOff >= 36 && slotOff < 48 ? `dump ${['es', 'cs', 'ss', 'ds', 'fs', 'gs'][(slotOff - 36) >> 1]}` : 'mem';
      if (reported++ < 24) add(who, `${what} ${hex(addr)}: host ${hex(natMem[k]!, 2)} bt86 ${hex(btMem[k]!, 2)}`);
    }
  }
  return { byItem, lastRan: ended, nativeFaulted: natFault !== null };
}

/** Dump-slot view of one item's recorded registers (for reports). */
function dumpText(mem: Uint8Array, it: Item): string {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const o = it.slot - DATA_BASE;
  const regs = REG_NAMES.map((n, r) => `${n}=${hex(dv.getUint32(o + 4 * r, true))}`).join(' ');
  return `${regs} eflags=${hex(dv.getUint32(o + 32, true))}`;
}

export async function runIntDiff(o: DiffOptions): Promise<DiffReport> {
  const host = probeHostSegments();
  const machine = new IntMachine(host);
  const rng = new Rng(o.seed);
  const order = schedule(rng, o.rows, o.perRow);
  const cases = buildCases(rng, order, { selectors: host.selectors, faultRate: o.faultRate });
  const stats = new Map<Row, RowStats>();
  for (const r of o.rows) stats.set(r, { row: r, ran: 0, faulted: 0, mismatched: 0 });
  const report: DiffReport = {
    cases: cases.length, items: 0, stats, mismatches: [], nativeFailures: [], unexpectedFaults: [], vectors: new Map(), nativeMs: 0, bt86Ms: 0,
  };
  const batch = o.batch ?? 400;
  const maxReports = o.maxReports ?? 60;
  const perRowReports = new Map<Row, number>();
  let pending: Promise<NativeResult[]> | null = null;
  let pendingStart = 0;
  let nativeStarted = 0;
  const startNative = (from: number): void => {
    const slice = cases.slice(from, from + batch).map(toNative);
    nativeStarted = performance.now();
    pending = runNativeParallel(slice, o.jobs ?? 2);
    pendingStart = from;
  };
  startNative(0);
  for (let from = 0; from < cases.length; from += batch) {
    // bt86 runs this batch while the host runs it too (in child processes).
    const t0 = performance.now();
    const bts: Bt86Outcome[] = [];
    for (let i = from; i < Math.min(from + batch, cases.length); i++) {
      const c = cases[i]!;
      bts.push(machine.run(c.code, initialWindow(c), c.regs, c.eflags));
    }
    report.bt86Ms += performance.now() - t0;
    const nats = await pending!;
    report.nativeMs += performance.now() - nativeStarted;
    if (pendingStart !== from) throw new Error('int-diff: batch order');
    if (from + batch < cases.length) startNative(from + batch);
    for (let k = 0; k < bts.length; k++) {
      const ci = from + k;
      const c = cases[ci]!;
      const nat = nats[k]!;
      const bt = bts[k]!;
      const cmp = compareCase(c, nat, bt);
      if (cmp.failure) {
        report.nativeFailures.push(`case ${ci}: ${cmp.failure}`);
        continue;
      }
      const v = nat.fault ? nat.fault.trapno : -1;
      if (nat.fault && cmp.lastRan >= 0 && !c.items[cmp.lastRan]!.fault && report.unexpectedFaults.length < 50) {
        report.unexpectedFaults.push(`case ${ci} item ${cmp.lastRan}: vector ${v} err ${hex(nat.fault.err, 4)} addr ${hex(nat.fault.addr)}\n${describeItem(c, cmp.lastRan)}`);
      }
      report.vectors.set(v, (report.vectors.get(v) ?? 0) + 1);
      for (let i = 0; i <= cmp.lastRan; i++) {
        const it = c.items[i]!;
        const s = stats.get(it.row)!;
        s.ran++;
        report.items++;
        if (i === cmp.lastRan && cmp.nativeFaulted) s.faulted++;
      }
      for (const [idx, diffs] of cmp.byItem) {
        const it = c.items[idx]!;
        const s = stats.get(it.row)!;
        s.mismatched++;
        const n = perRowReports.get(it.row) ?? 0;
        perRowReports.set(it.row, n + 1);
        if (report.mismatches.length < maxReports && n < 3) {
          const natMem = finalMemory(toNative(c), nat);
          const text = [
            `case ${ci} item ${idx}/${c.items.length}:`,
            describeItem(c, idx),
            ...diffs.map((d) => `  ${d}`),
            `  host dump: ${dumpText(natMem, it)}`,
            `  bt86 dump: ${dumpText(bt.memory, it)}`,
          ].join('\n');
          report.mismatches.push({ row: it.row, item: it, caseIndex: ci, itemIndex: idx, diffs, text });
        }
      }
    }
  }
  return report;
}

/** The per-row table: encoding, syntax, cases run, faults, mismatches. */
export function formatTable(r: DiffReport): string {
  const lines = [`${'encoding'.padEnd(16)} ${'row'.padEnd(24)} ${'cases'.padStart(6)} ${'faults'.padStart(6)} ${'bad'.padStart(5)}`];
  for (const s of r.stats.values()) {
    lines.push(`${s.row.spec.enc.padEnd(16)} ${s.row.spec.syntax.padEnd(24)} ${String(s.ran).padStart(6)} ${String(s.faulted).padStart(6)} ${String(s.mismatched).padStart(5)}`);
  }
  const names: Record<number, string> = { [-1]: 'none', 0: '#DE', 5: '#BR', 6: '#UD', 12: '#SS', 13: '#GP', 14: '#PF', 17: '#AC' };
  const v = [...r.vectors.entries()].sort((a, b) => a[0] - b[0]).map(([k, n]) => `${names[k] ?? `#${k}`} ${n}`).join(', ');
  lines.push(`${r.cases} cases, ${r.items} items; how the cases ended on the host: ${v}`);
  return lines.join('\n');
}
