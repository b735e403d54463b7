/**
 * Issue 2, part 5: the table's self-consistency. Every row is reachable from the
 * decoder, no two rows claim the same encoding, every row disassembles in both
 * modes, the rows' flags/LOCK/class fields agree with what the rows are; and the
 * decoder's faults: #UD for undefined encodings, #GP for over-long instructions,
 * `truncated` when the bytes run out.
 */
import { describe, expect, it } from 'vitest';
import { decode, MAX_INSN_LENGTH, reachableRows } from '../../src/x86/decoder.js';
import { formatInsn } from '../../src/x86/disasm.js';
import { FLAG, ROWS, rowAcceptsModrm, type Row } from '../../src/x86/rows.js';
import { TABLE } from '../../src/x86/table.js';
import { buildCorpus } from './corpus.js';

const describeRow = (row: Row): string => `${row.spec.enc} ${row.spec.syntax}`;
const bytesOf = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('the table', () => {
  it('parses into one Row per table entry, with ids in order', () => {
    expect(ROWS.length).toBe(TABLE.length);
    ROWS.forEach((row, i) => expect(row.id).toBe(i));
  });

  it('loads into the decoder (which throws at load time on overlapping rows)', async () => {
    await expect(import('../../src/x86/decoder.js')).resolves.toHaveProperty('decode');
  });

  it('has every row reachable from the decoder', () => {
    const reachable = reachableRows();
    expect(ROWS.filter((row) => !reachable.has(row)).map(describeRow)).toEqual([]);
  });

  it('has no two rows that claim the same encoding (checked independently of the decoder)', () => {
    // Key: mandatory prefix, map, opcode, then the ModRM byte or 'none'.
    const owner = new Map<string, Row>();
    const noModrm = new Map<string, Row>();
    const modrmUsers = new Map<string, Row>();
    const overlaps: string[] = [];
    for (const row of ROWS) {
      for (let i = 0; i < (row.opcodeReg ? 8 : 1); i++) {
        const op = `${row.prefix}:${row.map}:${row.opcode + i}`;
        if (!row.hasModrm) {
          const other = noModrm.get(op) ?? modrmUsers.get(op);
          if (other) overlaps.push(`${describeRow(row)} / ${describeRow(other)}`);
          noModrm.set(op, row);
          continue;
        }
        const plain = noModrm.get(op);
        if (plain) overlaps.push(`${describeRow(row)} / ${describeRow(plain)}`);
        modrmUsers.set(op, row);
        for (let m = 0; m < 256; m++) {
          if (!rowAcceptsModrm(row, m)) continue;
          const key = `${op}:${m}`;
          const other = owner.get(key);
          if (other && other !== row) overlaps.push(`${describeRow(row)} / ${describeRow(other)} at ModRM ${m.toString(16)}`);
          owner.set(key, row);
        }
      }
    }
    expect(overlaps.slice(0, 10)).toEqual([]);
  });

  for (const bits of [16, 32] as const) {
    it(`has every row decode and disassemble in ${bits}-bit code`, () => {
      const corpus = buildCorpus(bits);
      const seen = new Set<Row>();
      const bad: string[] = [];
      for (const item of corpus.items) {
        const insn = decode(corpus.bytes, item.offset, bits === 32);
        if (insn.fault || insn.row !== item.row || insn.length !== item.length) {
          bad.push(`${describeRow(item.row)}: decodes as ${insn.fault || insn.row.spec.syntax}, length ${insn.length}`);
          continue;
        }
        seen.add(insn.row);
        const text = formatInsn(insn, item.offset, corpus.bytes, item.offset);
        const textNoBytes = formatInsn(insn, item.offset);
        for (const t of [text, textNoBytes]) {
          if (!/^[a-z]/.test(t) || /undefined|NaN|\(bad\)|\s$|,,/.test(t)) bad.push(`${describeRow(item.row)}: '${t}'`);
        }
      }
      expect(bad.slice(0, 10)).toEqual([]);
      expect(ROWS.filter((row) => !seen.has(row)).map(describeRow)).toEqual([]);
    });
  }
});

/** The instructions LOCK may prefix (SDM vol. 2, LOCK), by semantics name. */
const LOCKABLE = new Set(['add', 'adc', 'and', 'btc', 'btr', 'bts', 'cmpxchg', 'cmpxchg8b', 'dec', 'inc', 'neg', 'not',
  'or', 'sbb', 'sub', 'xor', 'xadd', 'xchg']);

/** The flags each condition-code suffix reads (SDM vol. 1, appendix B), written out independently. */
const CC_READS: Record<string, number> = {
  o: FLAG.OF, no: FLAG.OF, b: FLAG.CF, ae: FLAG.CF, nb: FLAG.CF, nae: FLAG.CF, e: FLAG.ZF, ne: FLAG.ZF,
  be: FLAG.CF | FLAG.ZF, a: FLAG.CF | FLAG.ZF, nbe: FLAG.CF | FLAG.ZF, s: FLAG.SF, ns: FLAG.SF, p: FLAG.PF, np: FLAG.PF,
  u: FLAG.PF, nu: FLAG.PF, l: FLAG.SF | FLAG.OF, ge: FLAG.SF | FLAG.OF, le: FLAG.ZF | FLAG.SF | FLAG.OF,
  g: FLAG.ZF | FLAG.SF | FLAG.OF,
};
const CONDITIONAL: Record<string, string> = { jcc: 'j', cmovcc: 'cmov', setcc: 'set', fcmov: 'fcmov' };

describe('row fields are consistent', () => {
  it('LOCK is legal exactly on the lockable instructions with an r/m destination', () => {
    const wrong: string[] = [];
    for (const row of ROWS) {
      const dest = row.operands[0];
      const memDest = !!dest && (dest.kind === 'E' || dest.kind === 'M') && row.mod !== 'reg';
      const expected = memDest && LOCKABLE.has(row.sem);
      if (row.lock !== expected) wrong.push(`${describeRow(row)}: lock ${row.lock}`);
    }
    expect(wrong).toEqual([]);
  });

  it('no flag is both written and left undefined, and rows of one operation agree on flags', () => {
    const bySem = new Map<string, Row>();
    const wrong: string[] = [];
    for (const row of ROWS) {
      if (row.flagsWritten & row.flagsUndefined) wrong.push(`${describeRow(row)}: written and undefined`);
      if (row.sem in CONDITIONAL || row.sem === 'loop') continue;
      const first = bySem.get(row.sem);
      if (!first) { bySem.set(row.sem, row); continue; }
      if (first.flagsRead !== row.flagsRead || first.flagsWritten !== row.flagsWritten || first.flagsUndefined !== row.flagsUndefined) {
        wrong.push(`${describeRow(row)} and ${describeRow(first)} (sem ${row.sem}) differ in flags`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('conditional instructions read the flags their condition names', () => {
    const wrong: string[] = [];
    for (const row of ROWS) {
      const stem = CONDITIONAL[row.sem];
      if (stem === undefined) continue;
      const cc = row.mnemonic32.slice(stem.length);
      const want = CC_READS[cc];
      if (want === undefined || row.flagsRead !== want || row.flagsWritten !== 0) wrong.push(describeRow(row));
    }
    expect(wrong).toEqual([]);
    // LOOPE/LOOPNE read ZF; LOOP reads nothing.
    for (const row of ROWS.filter((r) => r.sem === 'loop')) {
      expect(row.flagsRead, describeRow(row)).toBe(row.mnemonic32 === 'loop' ? 0 : FLAG.ZF);
    }
  });

  it('classes, privileges and block ends fit the rows', () => {
    const wrong: string[] = [];
    for (const row of ROWS) {
      const where = describeRow(row);
      const x87Opcode = row.map === 0 && row.opcode >= 0xd8 && row.opcode <= 0xdf;
      if (x87Opcode !== (row.cls === 'x87') && row.sem !== 'fwait' && row.sem !== 'fxsave' && row.sem !== 'fxrstor') {
        wrong.push(`${where}: x87 class`);
      }
      if (row.cls === 'simd' && (row.sem !== 'ud' || row.map !== 1)) wrong.push(`${where}: SIMD rows execute as #UD`);
      if (row.cls === 'ud' && !row.ends) wrong.push(`${where}: #UD rows end the block`);
      if ((row.priv === 'cpl0' || row.priv === 'pm') && row.cls !== 'sys') wrong.push(`${where}: privileged but not sys`);
      if (row.priv === 'iopl' && row.cls !== 'sys' && row.sem !== 'pushf' && row.sem !== 'popf') wrong.push(`${where}: iopl`);
      if (row.operands.some((o) => o.kind === 'J') && !row.ends) wrong.push(`${where}: branches end the block`);
      if (['ret', 'ret_far', 'iret', 'int', 'int3', 'into', 'call_far', 'jmp_far', 'hlt'].includes(row.sem) && !row.ends) {
        wrong.push(`${where}: control transfer does not end the block`);
      }
      if (row.operands.some((o) => o.kind === 'M') && row.mod !== 'mem') wrong.push(`${where}: M operand allows registers`);
      if (row.operands.some((o) => o.kind === 'R') && row.mod !== 'any') wrong.push(`${where}: R operand (mod is ignored)`);
      if (row.sem === 'ud' && row.cls !== 'simd' && row.cls !== 'ud') wrong.push(`${where}: no semantics`);
      if (row.operands.filter((o) => o.kind === 'E' || o.kind === 'M' || o.kind === 'R').length > 1) wrong.push(`${where}: two r/m operands`);
      const modrmOperands = row.operands.some((o) => ['E', 'M', 'R', 'G', 'S', 'C', 'D'].includes(o.kind));
      if (modrmOperands && !row.hasModrm) wrong.push(`${where}: ModRM operands without ModRM`);
      // A `/r` row names its ModRM operands, except the SIMD rows (described by length only).
      if (row.hasModrm && row.modrmReg < 0 && !modrmOperands && row.cls !== 'simd') wrong.push(`${where}: /r without operands`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('decoder faults', () => {
  const ud: [string, number[]][] = [
    ['FE /2 (no such INC/DEC form)', [0xfe, 0x10]],
    ['FE /7 register', [0xfe, 0xf8]],
    ['FF /7', [0xff, 0x38]],
    ['FF /3 with a register (far CALL needs memory)', [0xff, 0xd8]],
    ['FF /5 with a register (far JMP needs memory)', [0xff, 0xe8]],
    ['8F /1', [0x8f, 0x08]],
    ['C6 /1', [0xc6, 0x08, 0x00]],
    ['C7 /1', [0xc7, 0xc8, 0, 0, 0, 0]],
    ['LEA with mod=3', [0x8d, 0xc0]],
    ['LES with mod=3 (VEX on later CPUs)', [0xc4, 0xc0]],
    ['LDS with mod=3 (VEX on later CPUs)', [0xc5, 0xc0]],
    ['BOUND with mod=3 (EVEX on later CPUs)', [0x62, 0xc0]],
    ['0F 0A', [0x0f, 0x0a]],
    ['0F FF (UD0)', [0x0f, 0xff]],
    ['0F 05 (SYSCALL)', [0x0f, 0x05]],
    ['0F 0F (3DNow!)', [0x0f, 0x0f, 0xc0, 0x00]],
    ['0F 24 (MOV from TRn, 486 only)', [0x0f, 0x24, 0xc0]],
    ['0F 38 (SSSE3 map)', [0x0f, 0x38, 0x00, 0xc0]],
    ['0F 3A (SSSE3 map)', [0x0f, 0x3a, 0x0f, 0xc0, 0x00]],
    ['0F A6', [0x0f, 0xa6, 0xc0]],
    ['0F B8 (POPCNT without F3, JMPE)', [0x0f, 0xb8, 0xc0]],
    ['0F 00 /6', [0x0f, 0x00, 0x30]],
    ['0F 01 /5', [0x0f, 0x01, 0x28]],
    ['0F 01 /0 with a register (VMX on later CPUs)', [0x0f, 0x01, 0xc1]],
    ['0F 01 /7 with a register (SWAPGS/RDTSCP later)', [0x0f, 0x01, 0xf9]],
    ['0F C7 /0', [0x0f, 0xc7, 0x00]],
    ['CMPXCHG8B with a register', [0x0f, 0xc7, 0xc8]],
    ['0F C7 /6 (RDRAND later)', [0x0f, 0xc7, 0xf0]],
    ['0F AE /4 (XSAVE later)', [0x0f, 0xae, 0x20]],
    ['D9 /1 memory', [0xd9, 0x08]],
    ['D9 D1', [0xd9, 0xd1]],
    ['D9 E2', [0xd9, 0xe2]],
    ['D9 EF', [0xd9, 0xef]],
    ['DA E8', [0xda, 0xe8]],
    ['DA F0', [0xda, 0xf0]],
    ['DB /1 memory (FISTTP is SSE3)', [0xdb, 0x08]],
    ['DB /4 memory', [0xdb, 0x20]],
    ['DB E5', [0xdb, 0xe5]],
    ['DB F8', [0xdb, 0xf8]],
    ['DD /5 memory', [0xdd, 0x28]],
    ['DD F0', [0xdd, 0xf0]],
    ['DE D8', [0xde, 0xd8]],
    ['DF /1 memory (FISTTP is SSE3)', [0xdf, 0x08]],
    ['DF E1', [0xdf, 0xe1]],
    ['DF F8', [0xdf, 0xf8]],
  ];
  for (const [what, bytes] of ud) {
    it(`#UD: ${what}`, () => {
      for (const code32 of [false, true]) {
        const insn = decode(bytesOf(...bytes, 0, 0, 0, 0, 0, 0, 0, 0), 0, code32);
        expect(insn.fault, `${code32 ? 32 : 16}-bit`).toBe('ud');
        expect(insn.length).toBeGreaterThanOrEqual(1);
        expect(insn.length).toBeLessThanOrEqual(MAX_INSN_LENGTH);
        expect(formatInsn(insn, 0)).toBe('(bad)');
      }
    });
  }

  it('#GP when the instruction would be longer than 15 bytes', () => {
    for (const code32 of [false, true]) {
      // 14 prefixes + NOP = 15 bytes: fine. 15 prefixes + NOP: #GP.
      expect(decode(bytesOf(...Array(14).fill(0x66), 0x90), 0, code32)).toMatchObject({ fault: '', length: 15 });
      expect(decode(bytesOf(...Array(15).fill(0x66), 0x90), 0, code32).fault).toBe('gp');
      expect(decode(bytesOf(...Array(16).fill(0x3e), 0x90), 0, code32).fault).toBe('gp');
      expect(decode(bytesOf(...Array(40).fill(0xf0), 0x90), 0, code32)).toMatchObject({ fault: 'gp', length: 15 });
    }
    // #GP is known as soon as the bytes seen make 16 whatever follows, even if the
    // rest is not there yet (not `truncated`, which would ask for more bytes).
    for (const code32 of [false, true]) {
      expect(decode(bytesOf(...Array(15).fill(0x26)), 0, code32).fault).toBe('gp');
      expect(decode(bytesOf(...Array(14).fill(0x26), 0x0f), 0, code32).fault).toBe('gp');
      expect(decode(bytesOf(...Array(14).fill(0x26), 0x01), 0, code32).fault).toBe('gp');
      expect(decode(bytesOf(...Array(13).fill(0x26), 0x01, 0x80), 0, code32).fault).toBe('gp');
      expect(decode(bytesOf(...Array(14).fill(0x26)), 0, code32).fault).toBe('truncated');
    }
    // ADD eAX,imm32: 10 prefixes + 5 bytes is 15 (truncated when cut), 11 prefixes 16 (#GP).
    expect(decode(bytesOf(...Array(10).fill(0x3e), 0x05, 1, 2), 0, true).fault).toBe('truncated');
    expect(decode(bytesOf(...Array(11).fill(0x3e), 0x05, 1, 2), 0, true).fault).toBe('gp');
    expect(decode(bytesOf(...Array(11).fill(0x3e), 0x05, 1, 2), 0, false)).toMatchObject({ fault: '', length: 14 }); // imm16
    // 32-bit: ADD [esp+disp32],imm32 is 11 bytes; with 4 prefixes 15 (fine), with 5 it is 16.
    const add = [0x81, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8];
    expect(decode(bytesOf(0x3e, 0x3e, 0x3e, 0x3e, ...add), 0, true)).toMatchObject({ fault: '', length: 15 });
    expect(decode(bytesOf(0x3e, 0x3e, 0x3e, 0x3e, 0x3e, ...add), 0, true)).toMatchObject({ fault: 'gp', length: 15 });
    // 16-bit code: 66 67 make the same instruction 11 bytes long again.
    expect(decode(bytesOf(0x66, 0x67, 0x3e, 0x3e, ...add), 0, false)).toMatchObject({ fault: '', length: 15 });
    expect(decode(bytesOf(0x66, 0x67, 0x3e, 0x3e, 0x3e, ...add), 0, false).fault).toBe('gp');
    // Without 66, the immediate is a word: 4 + 9 = 13 bytes.
    expect(decode(bytesOf(0x67, 0x3e, 0x3e, 0x3e, ...add), 0, false)).toMatchObject({ fault: '', length: 13 });
  });

  it('`truncated` for every proper prefix of every corpus instruction, in both modes', () => {
    for (const bits of [16, 32] as const) {
      const corpus = buildCorpus(bits);
      let checked = 0;
      for (const item of corpus.items) {
        for (let k = 0; k < item.length; k++) {
          const insn = decode(corpus.bytes, item.offset, bits === 32, item.offset + k);
          if (insn.fault !== 'truncated') {
            throw new Error(`${bits}-bit ${describeRow(item.row)} cut to ${k} of ${item.length} bytes: fault '${insn.fault}'`);
          }
          checked++;
        }
        // The same through the end of the array rather than `limit`.
        if (item.length > 1) {
          const cut = corpus.bytes.subarray(item.offset, item.offset + item.length - 1);
          expect(decode(cut, 0, bits === 32).fault).toBe('truncated');
        }
      }
      expect(checked).toBeGreaterThan(100_000);
    }
  });

  it('an empty buffer and a start past the end are truncated, not exceptions', () => {
    expect(decode(new Uint8Array(0), 0, true).fault).toBe('truncated');
    expect(decode(bytesOf(0x90), 5, true).fault).toBe('truncated');
  });
});
