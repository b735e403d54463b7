/**
 * Issue 2, part 3: our decoder and disassembler against GNU objdump on a corpus
 * generated from every row of the table (test/x86/corpus.ts), in 16- and 32-bit code.
 *
 * For every corpus item:
 * - the decoder decodes it as the row it was built from, with the length the
 *   generator built (no exceptions);
 * - objdump sees an instruction at the same address with the same length (the only
 *   exception: objdump's `(bad)` on rows that an `objdumpBad` accepted difference
 *   covers);
 * - the texts agree after whitespace normalisation, or an accepted difference in
 *   objdump-differences.ts covers the case.
 * objdump runs once per mode on the whole corpus.
 */
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/x86/decoder.js';
import { formatInsn } from '../../src/x86/disasm.js';
import { ROWS } from '../../src/x86/rows.js';
import { buildCorpus, type Corpus } from './corpus.js';
import { ACCEPTED_DIFFERENCES, acceptedDifference, padAfterRow, type AcceptedDifference } from './objdump-differences.js';
import { normalise, objdump, objdumpAvailable, type ObjdumpLine } from './objdump.js';

const hexBytes = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

interface Report {
  corpus: Corpus;
  decodeErrors: string[];
  lengthErrors: string[];
  textErrors: string[];
  used: Map<AcceptedDifference, number>;
  rowsSeen: Set<number>;
  textsCompared: number;
}

function compare(bits: 16 | 32): Report {
  const corpus = buildCorpus(bits, { padAfter: padAfterRow });
  const listing: Map<number, ObjdumpLine> = objdump(corpus.bytes, bits);
  const report: Report = {
    corpus, decodeErrors: [], lengthErrors: [], textErrors: [], used: new Map(), rowsSeen: new Set(),
    textsCompared: 0,
  };
  for (const item of corpus.items) {
    const bytes = corpus.bytes.subarray(item.offset, item.offset + item.length);
    const where = `${bits}-bit @${item.offset.toString(16)} [${hexBytes(bytes)}] (${item.row.spec.enc} ${item.row.spec.syntax})`;
    const insn = decode(corpus.bytes, item.offset, bits === 32);
    if (insn.fault || insn.length !== item.length || insn.row !== item.row) {
      report.decodeErrors.push(`${where}: decoder gives ${insn.fault || 'ok'} length ${insn.length} row ${insn.row.spec.syntax}`);
      continue;
    }
    report.rowsSeen.add(item.row.id);
    const ours = normalise(formatInsn(insn, item.offset, corpus.bytes, item.offset));
    const theirs = listing.get(item.offset);
    if (!theirs) {
      report.lengthErrors.push(`${where}: objdump has no instruction at this address (out of step)`);
      continue;
    }
    const c = { row: item.row, bits, bytes, ours, objdump: theirs.text };
    const accepted = acceptedDifference(c);
    if (theirs.length !== item.length) {
      if (accepted?.objdumpBad && theirs.text.includes('(bad)')) {
        report.used.set(accepted, (report.used.get(accepted) ?? 0) + 1);
      } else {
        report.lengthErrors.push(`${where}: length ${item.length}, objdump ${theirs.length} (${theirs.text})`);
      }
      continue;
    }
    report.textsCompared++;
    if (ours === theirs.text) continue;
    if (accepted) {
      report.used.set(accepted, (report.used.get(accepted) ?? 0) + 1);
      continue;
    }
    report.textErrors.push(`${where}: ours '${ours}' objdump '${theirs.text}'`);
  }
  return report;
}

const reports = new Map<16 | 32, Report>();
function reportFor(bits: 16 | 32): Report {
  let r = reports.get(bits);
  if (!r) { r = compare(bits); reports.set(bits, r); }
  return r;
}

describe.skipIf(!objdumpAvailable())('disassembly agrees with objdump', () => {
  for (const bits of [32, 16] as const) {
    describe(`${bits}-bit code`, () => {
      it('the corpus covers every row', () => {
        const r = reportFor(bits);
        const missing = ROWS.filter((row) => !r.rowsSeen.has(row.id)).map((row) => `${row.spec.enc} ${row.spec.syntax}`);
        expect(missing).toEqual([]);
        expect(r.corpus.items.length).toBeGreaterThan(20_000);
      });
      it('the decoder decodes every item as the row and length it was built with', () => {
        expect(reportFor(bits).decodeErrors.slice(0, 20)).toEqual([]);
      });
      it('lengths agree with objdump', () => {
        expect(reportFor(bits).lengthErrors.slice(0, 20)).toEqual([]);
      });
      it('texts agree with objdump, except for the accepted differences', () => {
        const r = reportFor(bits);
        expect(r.textErrors.slice(0, 30)).toEqual([]);
        // Apart from the SIMD rows (by length only), nearly all of the corpus must
        // agree exactly, not by way of the list.
        const nonSimd = [...r.used].filter(([d]) => d.name !== 'simd-by-length').reduce((n, [, k]) => n + k, 0);
        expect(nonSimd).toBeLessThan(r.textsCompared / 100);
      });
    });
  }
  it('every accepted difference is still needed', () => {
    const used = new Set<AcceptedDifference>([...reportFor(32).used.keys(), ...reportFor(16).used.keys()]);
    expect(ACCEPTED_DIFFERENCES.filter((d) => !used.has(d)).map((d) => d.name)).toEqual([]);
  });
});
