/**
 * Issue 2, bad input: any byte sequence decodes to an instruction or to a fault
 * (#UD, #GP, or `truncated` when the bytes run out), never to a host exception, and
 * the lengths of the instructions that random bytes make agree with objdump's.
 *
 * The byte strings come from a seeded PRNG, so every run sees the same ones. Two
 * kinds: uniform random bytes, and bytes biased towards what makes decoding hard
 * (prefixes of every group, repeated; 0F; the x87 escapes; ModRM/SIB bytes that
 * need displacements). Each string is decoded in both modes, with a random limit
 * on the bytes available part of the time.
 *
 * objdump comparison, on a sample of the strings our decoder accepts. Skip rule: we
 * compare only where our decoder decodes a valid instruction (no fault). Where it
 * says #UD we do not ask objdump, because objdump knows extensions that a P6 does
 * not (VEX/EVEX in C4/C5/62, 3DNow!, SSSE3 and later maps, MPX, ...), and decodes
 * those with their lengths; #GP (over 15 bytes) and `truncated` are not
 * instructions either. Where objdump prints `(bad)` for a row that an `objdumpBad`
 * accepted difference covers (SIMD combinations no SSE level defines, MPX forms),
 * its line is not an instruction and its length is not compared. objdump also
 * stops collecting prefixes after 13 and prints a 14th as an instruction of its
 * own, although 14 prefixes and a one-byte opcode make a valid 15-byte instruction
 * (SDM vol. 2 §2.3.11 limits only the total length); samples with 14 prefix bytes
 * are skipped. Every other sampled length must agree. The samples are laid out each followed by 15 NOPs so
 * that objdump is back in step by the next one whatever it makes of a sample.
 */
import { describe, expect, it } from 'vitest';
import { decode, MAX_INSN_LENGTH, newInsn, type Insn } from '../../src/x86/decoder.js';
import { formatInsn } from '../../src/x86/disasm.js';
import { UD_ROW } from '../../src/x86/rows.js';
import { acceptedDifference } from './objdump-differences.js';
import { normalise, objdump, objdumpAvailable } from './objdump.js';

/** xorshift32: small, fast and deterministic. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s >>> 0;
  };
}

const PREFIXES = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3];

/** Random bytes: uniform, or biased towards prefixes, 0F, x87 escapes and long ModRM forms. */
function randomBuffer(size: number, seed: number, biased: boolean): Uint8Array {
  const next = prng(seed);
  const buf = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const r = next();
    if (!biased) { buf[i] = r & 0xff; continue; }
    if ((r & 0xff) < 6 && i + 24 < size) {
      // Now and then a run of 5-20 prefixes: instructions that reach or pass 15 bytes.
      const run = 5 + ((r >>> 8) & 15);
      for (let k = 0; k < run; k++) buf[i++] = PREFIXES[next() % PREFIXES.length]!;
      buf[i] = next() & 0xff;
      continue;
    }
    const pick = (r >>> 8) % 16;
    if (pick < 4) buf[i] = PREFIXES[(r >>> 16) % PREFIXES.length]!;
    else if (pick < 6) buf[i] = 0x0f;
    else if (pick < 7) buf[i] = 0xd8 + ((r >>> 16) & 7);
    else if (pick < 9) buf[i] = [0x04, 0x05, 0x44, 0x84, 0x80, 0x06, 0x46, 0x86, 0x24, 0x25][(r >>> 16) % 10]!;
    else buf[i] = r & 0xff;
  }
  return buf;
}

interface FuzzStats { decodes: number; valid: number; ud: number; gp: number; truncated: number; problems: string[] }

function hexAt(buf: Uint8Array, at: number, n: number): string {
  return [...buf.subarray(at, at + n)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Decode at `count` positions of `buf` in both modes; collect any broken invariant. */
function fuzz(buf: Uint8Array, count: number, seed: number): FuzzStats {
  const next = prng(seed);
  const stats: FuzzStats = { decodes: 0, valid: 0, ud: 0, gp: 0, truncated: 0, problems: [] };
  const reused: Insn = newInsn();
  const span = buf.length - 32;
  for (let n = 0; n < count; n++) {
    const r = next();
    const at = r % span;
    const code32 = (n & 1) === 0;
    // A quarter of the time only a few bytes are available.
    const limit = (r >>> 24) < 64 ? at + ((r >>> 16) & 15) : buf.length;
    let insn: Insn;
    try {
      insn = decode(buf, at, code32, limit, (n & 2) === 0 ? reused : undefined);
      if ((n & 63) === 0) formatInsn(insn, at, buf, at);
    } catch (e) {
      stats.problems.push(`${code32 ? 32 : 16}-bit [${hexAt(buf, at, 16)}] limit ${limit - at}: threw ${(e as Error).message}`);
      continue;
    }
    stats.decodes++;
    const len = insn.length;
    switch (insn.fault) {
      case '':
        stats.valid++;
        if (len < 1 || len > MAX_INSN_LENGTH || at + len > limit || insn.row === UD_ROW) {
          stats.problems.push(`${code32 ? 32 : 16}-bit [${hexAt(buf, at, 16)}]: valid with length ${len}`);
        }
        break;
      case 'ud': case 'gp':
        if (insn.fault === 'ud') stats.ud++; else stats.gp++;
        // #GP may be known before all 15 bytes are there (it then reports 15).
        if (len < 1 || len > MAX_INSN_LENGTH || (insn.fault === 'ud' && at + len > limit) || insn.row !== UD_ROW) {
          stats.problems.push(`${code32 ? 32 : 16}-bit [${hexAt(buf, at, 16)}]: ${insn.fault} with length ${len}`);
        }
        break;
      case 'truncated':
        stats.truncated++;
        if (len < 0 || at + len > limit || limit - at >= MAX_INSN_LENGTH) {
          stats.problems.push(`${code32 ? 32 : 16}-bit [${hexAt(buf, at, 16)}] limit ${limit - at}: truncated at ${len}`);
        }
        break;
    }
    if (stats.problems.length > 20) break;
  }
  return stats;
}

const UNIFORM = randomBuffer(1 << 20, 0x5eed0001, false);
const BIASED = randomBuffer(1 << 20, 0x5eed0002, true);

describe('fuzzing the decoder', () => {
  it('decodes 3 million random byte strings without a host exception, in both modes', () => {
    const t0 = performance.now();
    const a = fuzz(UNIFORM, 1_500_000, 1);
    const b = fuzz(BIASED, 1_500_000, 2);
    const ms = performance.now() - t0;
    expect([...a.problems, ...b.problems]).toEqual([]);
    expect(a.decodes + b.decodes).toBe(3_000_000);
    // Both kinds of input reach every outcome.
    for (const s of [a, b]) {
      expect(s.valid).toBeGreaterThan(100_000);
      expect(s.ud).toBeGreaterThan(1_000);
      expect(s.truncated).toBeGreaterThan(1_000);
    }
    expect(b.gp).toBeGreaterThan(1_000);
    expect(ms).toBeLessThan(60_000); // about 2 s on an idle 2-core machine; generous for loaded CI
  });

  it('gives the same result with a reused Insn as with a fresh one', () => {
    const next = prng(3);
    const reused = newInsn();
    for (let n = 0; n < 20_000; n++) {
      const buf = n & 1 ? UNIFORM : BIASED;
      const at = next() % (buf.length - 32);
      const code32 = (n & 2) === 0;
      const fresh = decode(buf, at, code32);
      // Dirty the reused record with a different instruction first.
      decode(buf, (at + 7) % (buf.length - 32), !code32, buf.length, reused);
      expect(decode(buf, at, code32, buf.length, reused)).toEqual(fresh);
    }
  });
});

describe.skipIf(!objdumpAvailable())('random instructions: lengths agree with objdump', () => {
  for (const bits of [32, 16] as const) {
    it(`on a sample of 4000 in ${bits}-bit code`, () => {
      const next = prng(bits === 32 ? 4 : 5);
      const out: number[] = [];
      const samples: { offset: number; insn: Insn }[] = [];
      while (samples.length < 4000) {
        const buf = next() & 1 ? UNIFORM : BIASED;
        const at = next() % (buf.length - 32);
        const insn = decode(buf, at, bits === 32);
        if (insn.fault) continue; // the skip rule: only what our decoder accepts
        samples.push({ offset: out.length, insn });
        for (let i = 0; i < insn.length; i++) out.push(buf[at + i]!);
        for (let i = 0; i < 15; i++) out.push(0x90);
      }
      const bytes = Uint8Array.from(out);
      const listing = objdump(bytes, bits);
      const wrong: string[] = [];
      let compared = 0;
      let skipped = 0;
      for (const { offset, insn } of samples) {
        const theirs = listing.get(offset);
        const mine = bytes.subarray(offset, offset + insn.length);
        const where = `[${hexAt(bytes, offset, insn.length)}] (${insn.row.spec.enc} ${insn.row.spec.syntax})`;
        if (!theirs) { wrong.push(`${where}: objdump out of step`); continue; }
        if (theirs.length === insn.length) { compared++; continue; }
        if (insn.prefixCount >= 14) { skipped++; continue; }
        const ours = normalise(formatInsn(insn, offset, bytes, offset));
        const accepted = acceptedDifference({ row: insn.row, bits, bytes: mine, ours, objdump: theirs.text });
        if (accepted?.objdumpBad && theirs.text.includes('(bad)')) { skipped++; continue; }
        wrong.push(`${where}: length ${insn.length}, objdump ${theirs.length} '${theirs.text}' (ours '${ours}')`);
      }
      expect(wrong.slice(0, 20)).toEqual([]);
      expect(compared).toBeGreaterThan(3000);
      expect(skipped).toBeLessThan(800);
    });
  }
});
