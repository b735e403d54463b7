/**
 * Where our disassembly is allowed to differ from `objdump -M intel` (GNU binutils
 * 2.40, Debian 12), and why. The comparison test (objdump.test.ts) fails on any
 * other difference, and on any entry here that no longer matches anything, so the
 * list stays small and true.
 *
 * Lengths always agree where objdump decodes an instruction. The one exception to
 * comparing lengths is where objdump gives up (`(bad)`) on an encoding that an
 * entry marked `objdumpBad` covers: objdump's `(bad)` line covers however many
 * bytes it had looked at, which is not an instruction length. The corpus puts NOPs
 * after every instance of such rows so that objdump is back in step by the next one.
 */
import type { Row } from '../../src/x86/rows.js';

export interface Case {
  row: Row;
  bits: 16 | 32;
  /** The instruction's bytes. */
  bytes: Uint8Array;
  /** Our text and objdump's, whitespace-normalised. */
  ours: string;
  objdump: string;
}

export interface AcceptedDifference {
  name: string;
  reason: string;
  /** The rows concerned. */
  rows: (row: Row) => boolean;
  /** Narrows the entry to some instances of those rows; all of them when absent. */
  when?: (c: Case) => boolean;
  /** objdump may print `(bad)` for some of these encodings (its length is then not compared). */
  objdumpBad?: boolean;
}

const X87_ALIASES = new Set(['fstp1', 'fcom2', 'fcomp3', 'fxch4', 'fcomp5', 'fxch7', 'fstp8', 'fstp9']);

/** ModRM byte of an instance: the byte after the opcode (after any prefixes and 0F). */
function modrmOf(c: Case): number {
  let p = 0;
  while ([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3].includes(c.bytes[p]!)) p++;
  if (c.bytes[p] === 0x0f) p++;
  return c.bytes[p + 1] ?? -1;
}

/** The two texts are the same up to the final (branch target) number. */
function sameButTarget(a: string, b: string): boolean {
  const strip = (t: string): string => t.replace(/0x[0-9a-f]+$/, '');
  return strip(a) === strip(b);
}

export const ACCEPTED_DIFFERENCES: readonly AcceptedDifference[] = [
  {
    name: 'simd-by-length',
    reason:
      "The MMX/SSE/SSE2 rows (cls 'simd') are described by opcode and length only: our CPUID does not claim " +
      'them and the CPU raises #UD, so we print a placeholder where objdump names the instruction and its ' +
      'operands. objdump also prints (bad) for prefix/mod combinations that no SSE level defines (0F 13 with ' +
      'mod=3, 66 0F 52, 66 0F 77, ...), which are #UD on every processor; for LFENCE/MFENCE/SFENCE with ' +
      'ModRM.rm != 0, which the SDM says the processor ignores; and it reads 66 0F AE as later extensions ' +
      '(CLFLUSHOPT, TPAUSE).',
    rows: (row) => row.cls === 'simd',
    objdumpBad: true,
  },
  {
    name: 'hint-nop-mpx',
    reason:
      '0F 1A and 0F 1B are in the hint-NOP space that a P6 executes as NOP Ev; objdump decodes them as MPX ' +
      '(bndldx, bndstx, bndmov, bndcl, bndcu, bndcn, bndmk). MPX has no 16-bit addressing, so with a ' +
      '16-bit address size objdump prints (bad) after the ModRM byte.',
    rows: (row) => row.map === 1 && (row.opcode === 0x1a || row.opcode === 0x1b),
    objdumpBad: true,
  },
  {
    name: 'hint-nop-cldemote',
    reason: '0F 1C /0 with a memory operand is a hint NOP on a P6; objdump decodes it as CLDEMOTE (a later hint).',
    rows: (row) => row.map === 1 && row.opcode === 0x1c,
    when: (c) => c.objdump.includes('cldemote') && ((modrmOf(c) >> 3) & 7) === 0,
  },
  {
    name: 'x87-undocumented-aliases',
    reason:
      'D9 D8+i, DC D0+i, DC D8+i, DD C8+i, DE D0+i, DF C8+i, DF D0+i and DF D8+i are undocumented aliases ' +
      '(FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FXCH7, FSTP8, FSTP9) that P6 processors execute; objdump 2.40 ' +
      'prints (bad) for them (lengths agree).',
    rows: (row) => X87_ALIASES.has(row.mnemonic32),
    when: (c) => c.objdump.endsWith('(bad)'),
  },
  {
    name: 'salc',
    reason: 'D6 is SALC, undocumented but executed by P6 processors; objdump prints (bad) (lengths agree).',
    rows: (row) => row.sem === 'salc',
    when: (c) => c.objdump.endsWith('(bad)'),
  },
  {
    name: 'x87-8087-only-annotation',
    reason:
      "objdump appends a note to FENI/FDISI ('(8087 only)') and FSETPM ('(287 only)'); we print the mnemonic. " +
      'The 387 and later run them as FNOP.',
    rows: (row) => row.sem === 'fnop' && row.mnemonic32 !== 'fnop',
    when: (c) => c.objdump === `${c.ours}(8087 only)` || c.objdump === `${c.ours}(287 only)`,
  },
  {
    name: 'rel8-with-data16',
    reason:
      'A 66 prefix on a short branch (Jcc/JMP/LOOPcc/JCXZ rel8) in 32-bit code makes the operand size 16, ' +
      "and the CPU truncates the new EIP to 16 bits (SDM, Jcc: 'IF OperandSize = 16 THEN EIP <- EIP AND " +
      "0000FFFFH'). We print that target; objdump ignores the prefix for rel8 branches (it prints data16) " +
      'and shows the untruncated one. (It does truncate for rel16, where both agree.)',
    rows: (row) => row.operands.some((o) => o.kind === 'J' && o.size === 'b'),
    when: (c) => c.bits === 32 && c.ours.startsWith('data16') && sameButTarget(c.ours, c.objdump),
  },
  {
    name: 'wbinvd-66',
    reason:
      'objdump prints (bad) for 66 0F 09 (it has a prefix table for 0F 09 because of F3 0F 09 WBNOINVD); ' +
      'the CPU ignores the operand-size prefix on WBINVD (lengths agree).',
    rows: (row) => row.sem === 'wbinvd',
    when: (c) => c.objdump.endsWith('(bad)') && c.ours.includes('data'),
  },
];

/** The accepted differences that cover this case, if any. */
export function acceptedDifference(c: Case): AcceptedDifference | undefined {
  return ACCEPTED_DIFFERENCES.find((d) => d.rows(c.row) && (!d.when || d.when(c)));
}

/** Rows after whose instances the corpus pads with NOPs (objdump may lose step on them). */
export function padAfterRow(row: Row): boolean {
  return ACCEPTED_DIFFERENCES.some((d) => d.objdumpBad && d.rows(row));
}
