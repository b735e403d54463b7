/**
 * Decoder throughput: decoded instructions per second on a mixed corpus.
 *
 * The mix is drawn from the table-derived corpus (test/x86/corpus.ts, every row
 * under many ModRM/SIB/immediate forms) with weights that follow the usual dynamic
 * instruction mix of compiled IA-32 code: MOV about a third, then conditional
 * branches, PUSH/POP, CMP/TEST, ADD/SUB, LEA, CALL/RET, logic, shifts, MOVZX/MOVSX,
 * a little x87 and string work. Most instructions carry no prefix, as in real code.
 * Seeded, so every run decodes the same bytes.
 *
 * Run with `npm run build && npm run bench:decode`.
 */
import b from 'benny';
import { decode, newInsn } from '../src/x86/decoder.js';
import { formatInsn } from '../src/x86/disasm.js';
import type { Row } from '../src/x86/rows.js';
import { buildCorpus } from '../test/x86/corpus.js';

/** Relative frequency by mnemonic (the table's 32-bit mnemonic; `j*` etc. by prefix). */
const WEIGHTS: [RegExp, number][] = [
  [/^mov$/, 300], [/^j(?!mp|cxz|ecxz)/, 100], [/^push$/, 60], [/^pop$/, 45], [/^cmp$/, 55], [/^test$/, 35],
  [/^add$/, 45], [/^sub$/, 25], [/^lea$/, 40], [/^call$/, 30], [/^ret$/, 25], [/^jmp$/, 25], [/^and$/, 15],
  [/^or$/, 12], [/^xor$/, 18], [/^inc$/, 12], [/^dec$/, 10], [/^(shl|shr|sar)$/, 15], [/^mov[zs]x$/, 20],
  [/^imul$/, 6], [/^(adc|sbb|neg|not)$/, 6], [/^set/, 5], [/^cmov/, 5], [/^(movs|stos|lods|cmps|scas)$/, 4],
  [/^(leave|enter)$/, 4], [/^(cwde|cdq|cbw|cwd)$/, 3], [/^(fld|fst|fstp|fadd|fmul|fsub|fdiv|fxch|fild|fistp)$/, 12],
  [/^(xchg|bt|bts|btr|sahf|lahf|div|idiv|mul)$/, 3],
];

function weightOf(row: Row): number {
  if (row.cls === 'simd' || row.cls === 'ud' || row.status !== 'normal') return 0;
  for (const [re, w] of WEIGHTS) if (re.test(row.mnemonic32)) return w;
  return 0.2; // everything else, rarely
}

function xorshift(seed: number): () => number {
  let s = seed;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 4294967296; };
}

/** `count` instructions of the weighted mix, back to back. */
function mix(bits: 16 | 32, count: number, seed: number): Uint8Array {
  const corpus = buildCorpus(bits);
  const byRow = new Map<Row, { offset: number; length: number; prefixed: boolean }[]>();
  for (const item of corpus.items) {
    const list = byRow.get(item.row) ?? [];
    list.push({ offset: item.offset, length: item.length, prefixed: item.prefixes.length > 0 });
    byRow.set(item.row, list);
  }
  const rows = [...byRow.keys()].filter((r) => weightOf(r) > 0);
  const cumulative: number[] = [];
  let total = 0;
  for (const r of rows) cumulative.push((total += weightOf(r)));
  const rnd = xorshift(seed);
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    const x = rnd() * total;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid]! < x) lo = mid + 1; else hi = mid; }
    const items = byRow.get(rows[lo]!)!;
    let item = items[Math.floor(rnd() * items.length)]!;
    // About one instruction in twenty carries a prefix.
    for (let tries = 0; item.prefixed && rnd() > 0.05 && tries < 8; tries++) item = items[Math.floor(rnd() * items.length)]!;
    for (let i = 0; i < item.length; i++) out.push(corpus.bytes[item.offset + i]!);
  }
  return Uint8Array.from(out);
}

const COUNT = 50_000;
const code32 = mix(32, COUNT, 0x2468ace1);
const code16 = mix(16, COUNT, 0x13579bd1);

/** Check that the mix decodes to COUNT valid instructions (this also warms the decoder up in both modes). */
function check(bytes: Uint8Array, is32: boolean): void {
  let n = 0;
  for (let p = 0; p < bytes.length; n++) {
    const insn = decode(bytes, p, is32);
    if (insn.fault) throw new Error(`bench corpus: fault ${insn.fault} at ${p}`);
    p += insn.length;
  }
  if (n !== COUNT) throw new Error(`bench corpus: ${n} instructions, expected ${COUNT}`);
}
check(code32, true);
check(code16, false);

// One function per case, so that each benchmark loop has its own type feedback.
function decodeFresh32(bytes: Uint8Array): number {
  let n = 0;
  for (let p = 0; p < bytes.length; n++) p += decode(bytes, p, true).length;
  return n;
}

function decodeReused32(bytes: Uint8Array): number {
  const insn = newInsn();
  let n = 0;
  for (let p = 0; p < bytes.length; n++) p += decode(bytes, p, true, bytes.length, insn).length;
  return n;
}

function decodeReused16(bytes: Uint8Array): number {
  const insn = newInsn();
  let n = 0;
  for (let p = 0; p < bytes.length; n++) p += decode(bytes, p, false, bytes.length, insn).length;
  return n;
}

function disassembleAll(bytes: Uint8Array): number {
  const insn = newInsn();
  let chars = 0;
  for (let p = 0; p < bytes.length;) {
    decode(bytes, p, true, bytes.length, insn);
    chars += formatInsn(insn, p, bytes, p).length;
    p += insn.length;
  }
  return chars;
}

let sink = 0;
await b.suite(
  `decoder: ${COUNT} instructions per op (mixed corpus, ${code32.length} bytes in 32-bit code)`,
  b.configure({ cases: { minSamples: 20, maxTime: 3 } }),
  b.add('decode 32-bit, fresh Insn per instruction', () => { sink += decodeFresh32(code32); }),
  b.add('decode 32-bit, reused Insn', () => { sink += decodeReused32(code32); }),
  b.add('decode 16-bit, reused Insn', () => { sink += decodeReused16(code16); }),
  b.add('decode + disassemble 32-bit', () => { sink += disassembleAll(code32); }),
  b.cycle(),
  b.complete((summary) => {
    process.stdout.write('\n');
    for (const r of summary.results) {
      const perSecond = r.ops * COUNT;
      process.stdout.write(`${r.name}: ${(perSecond / 1e6).toFixed(2)} M instructions/s (±${r.margin.toFixed(1)}%)\n`);
    }
  }),
);
if (sink === 0) process.stdout.write('');
