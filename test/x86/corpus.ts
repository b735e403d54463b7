/**
 * A corpus of instruction encodings derived from the table, for comparing our
 * decoder and disassembler with objdump.
 *
 * The generator knows x86 encoding rules on its own (ModRM, SIB, displacement and
 * immediate sizes, the effect of 66/67), independently of src/x86/decoder.ts, so
 * every item carries the length it was built to have and the row it was built
 * from: the test checks decoder, generator and objdump against each other.
 *
 * For every row and both code sizes it emits
 * - every register form (all eight rm values, reg rotating; all eight `+r`/`+i`),
 * - a core set of memory forms plus a per-row rotating slice of all the others
 *   (every mod, every rm, SIB with every scale/index/base, disp8/16/32 of both signs),
 * - the row again under 66, 67 and 66+67 (so both operand and address sizes appear
 *   in both modes), under each segment override (memory forms), LOCK (lockable
 *   memory forms), and REP/REPNE (string instructions),
 * - immediates cycling through interesting values (0, 1, sign boundaries, all ones).
 */
import { ROWS, type Row } from '../../src/x86/rows.js';

export interface CorpusItem {
  /** Offset of the instruction in the corpus buffer. */
  offset: number;
  length: number;
  row: Row;
  /** The prefix bytes placed before the opcode (not counting a mandatory prefix). */
  prefixes: number[];
}

export interface Corpus {
  bits: 16 | 32;
  bytes: Uint8Array;
  items: CorpusItem[];
}

const SEGS = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const STRING_SEMS = new Set(['movs', 'cmps', 'scas', 'lods', 'stos', 'ins', 'outs']);

const IMM8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x12, 0xfe];
const IMM16 = [0x0000, 0x0001, 0x7fff, 0x8000, 0xffff, 0x1234, 0x00ff, 0xff80];
const IMM32 = [0x00000000, 0x00000001, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0x000000ff, 0xffffff80];

function le(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
  return out;
}

/** A memory operand: mod and rm bits plus the SIB/displacement bytes that follow ModRM. */
interface MemForm { mod: number; rm: number; tail: number[] }

const DISP8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10];
const DISP16 = [0x0000, 0x1234, 0x7fff, 0x8000, 0xffff, 0x0080];
const DISP32 = [0x00000000, 0x12345678, 0x7fffffff, 0x80000000, 0xffffffff, 0x00000080];

function memForms16(): MemForm[] {
  const out: MemForm[] = [];
  for (let rm = 0; rm < 8; rm++) {
    if (rm === 6) DISP16.forEach((d) => out.push({ mod: 0, rm, tail: le(d, 2) }));
    else out.push({ mod: 0, rm, tail: [] });
    DISP8.forEach((d) => out.push({ mod: 1, rm, tail: [d] }));
    DISP16.forEach((d) => out.push({ mod: 2, rm, tail: le(d, 2) }));
  }
  return out;
}

function memForms32(): MemForm[] {
  const out: MemForm[] = [];
  for (let mod = 0; mod < 3; mod++) {
    for (let rm = 0; rm < 8; rm++) {
      const disp = (k: number): number[] => (mod === 1 ? [DISP8[k % DISP8.length]!] : mod === 2 ? le(DISP32[k % DISP32.length]!, 4) : []);
      if (rm === 4) {
        for (let sib = 0; sib < 256; sib++) {
          const base = sib & 7;
          const extra = mod === 0 && base === 5 ? le(DISP32[sib % DISP32.length]!, 4) : disp(sib);
          out.push({ mod, rm, tail: [sib, ...extra] });
        }
      } else if (rm === 5 && mod === 0) {
        DISP32.forEach((d) => out.push({ mod, rm, tail: le(d, 4) }));
      } else {
        for (let k = 0; k < 6; k++) out.push({ mod, rm, tail: disp(k) });
      }
    }
  }
  return out;
}

const MEM16 = memForms16();
const MEM32 = memForms32();

/** Forms every memory row gets: plain base, absolute, SIB with index, disp8 and disp32 with a base. */
function coreForms(adsize: 16 | 32): MemForm[] {
  if (adsize === 16) {
    return [
      { mod: 0, rm: 0, tail: [] }, { mod: 0, rm: 6, tail: le(0x1234, 2) }, { mod: 1, rm: 6, tail: [0x80] },
      { mod: 2, rm: 7, tail: le(0x8001, 2) }, { mod: 1, rm: 2, tail: [0x7f] },
    ];
  }
  return [
    { mod: 0, rm: 0, tail: [] }, { mod: 0, rm: 5, tail: le(0x12345678, 4) }, { mod: 0, rm: 4, tail: [0x24] },
    { mod: 1, rm: 4, tail: [0x8d, 0x80] }, { mod: 2, rm: 4, tail: [0xc4, ...le(0xfffffff0, 4)] },
    { mod: 0, rm: 4, tail: [0x1d, ...le(0x1000, 4)] }, { mod: 1, rm: 5, tail: [0xf8] }, { mod: 2, rm: 3, tail: le(0x40, 4) },
  ];
}

/** One way to fill a row's ModRM: a register form or a memory form. */
type ModrmChoice = { kind: 'reg'; rm: number } | { kind: 'mem'; form: MemForm } | { kind: 'fixed'; byte: number };

function isStringRow(row: Row): boolean {
  return STRING_SEMS.has(row.sem);
}

function hasMemoryForm(row: Row): boolean {
  if (row.operands.some((o) => o.kind === 'O' || o.kind === 'X')) return true;
  return row.hasModrm && row.modrmByte < 0 && row.mod !== 'reg' && row.operands.some((o) => o.kind === 'E' || o.kind === 'M') ;
}

class Builder {
  readonly out: number[] = [];
  readonly items: CorpusItem[] = [];
  private counter = 0;
  constructor(readonly bits: 16 | 32, private readonly padAfter: (row: Row) => boolean) {}

  private nextImm(n: number): number[] {
    const k = this.counter++;
    if (n === 1) return [IMM8[k % IMM8.length]!];
    if (n === 2) return le(IMM16[k % IMM16.length]!, 2);
    return le(IMM32[k % IMM32.length]!, 4);
  }

  /** Emit one instance of `row` with the given prefixes, opcode register and ModRM choice. */
  emit(row: Row, prefixes: number[], opReg: number, choice: ModrmChoice | null, regField: number): void {
    let opsize = this.bits;
    let adsize = this.bits;
    for (const p of prefixes) {
      if (p === 0x66) opsize = this.bits === 32 ? 16 : 32;
      if (p === 0x67) adsize = this.bits === 32 ? 16 : 32;
    }
    const bytes = [...prefixes];
    if (row.prefix) bytes.push(row.prefix);
    if (row.map === 1) bytes.push(0x0f);
    bytes.push(row.opcode + (row.opcodeReg ? opReg : 0));
    if (row.hasModrm) {
      if (!choice) throw new Error('corpus: ModRM row without a choice');
      if (choice.kind === 'fixed') bytes.push(choice.byte);
      else if (choice.kind === 'reg') bytes.push(0xc0 | (regField << 3) | choice.rm);
      else if (row.operands.some((o) => o.kind === 'R')) bytes.push((choice.form.mod << 6) | (regField << 3) | choice.form.rm); // mod ignored
      else bytes.push((choice.form.mod << 6) | (regField << 3) | choice.form.rm, ...choice.form.tail);
    }
    for (const op of row.operands) {
      switch (op.kind) {
        case 'I': {
          const n = op.size === 'b' || op.size === 'bs' ? 1 : op.size === 'w' ? 2 : op.size === 'd' ? 4 : opsize / 8;
          bytes.push(...this.nextImm(n));
          break;
        }
        case 'J':
          bytes.push(...this.nextImm(op.size === 'b' ? 1 : opsize / 8));
          break;
        case 'O':
          bytes.push(...this.nextImm(adsize / 8));
          break;
        case 'A':
          bytes.push(...this.nextImm(opsize / 8), ...this.nextImm(2));
          break;
        default:
          break;
      }
    }
    if (bytes.length > 15) return; // cannot be a valid instruction; not this corpus's business
    this.items.push({ offset: this.out.length, length: bytes.length, row, prefixes });
    for (const b of bytes) this.out.push(b);
    // objdump folds FWAIT into a following x87 instruction or prefix (`9B DB E3` is
    // one `finit` to it); a NOP after it keeps the two listings in step.
    if (row.sem === 'fwait') this.out.push(0x90);
    // After an encoding objdump may not decode, enough NOPs that whatever it makes
    // of the bytes ends before the next item (no instruction is over 15 bytes).
    if (this.padAfter(row)) for (let i = 0; i < 15; i++) this.out.push(0x90);
  }
}

/** The ModRM choices for a row under an address size: `many` for the plain row, a few for variants. */
function modrmChoices(row: Row, adsize: 16 | 32, salt: number, many: boolean): ModrmChoice[] {
  if (!row.hasModrm) return [];
  if (row.modrmByte >= 0) {
    const n = row.modrmPlusI ? 8 : 1;
    const out: ModrmChoice[] = [];
    for (let i = 0; i < n; i++) out.push({ kind: 'fixed', byte: row.modrmByte + i });
    return many ? out : out.slice(0, Math.min(out.length, 2));
  }
  const out: ModrmChoice[] = [];
  if (row.mod !== 'mem') {
    const rms = many ? [0, 1, 2, 3, 4, 5, 6, 7] : [salt % 8, (salt + 3) % 8];
    for (const rm of rms) out.push({ kind: 'reg', rm });
  }
  if (row.mod !== 'reg') {
    const all = adsize === 16 ? MEM16 : MEM32;
    const core = coreForms(adsize);
    const forms = many ? [...core] : [core[salt % core.length]!];
    const extra = many ? (adsize === 16 ? 24 : 64) : 3;
    for (let i = 0; i < extra; i++) forms.push(all[(salt * 37 + i * 7919) % all.length]!);
    for (const form of forms) out.push({ kind: 'mem', form });
  }
  return out;
}

function emitVariant(b: Builder, row: Row, prefixes: number[], salt: number, many: boolean): void {
  let adsize = b.bits;
  for (const p of prefixes) if (p === 0x67) adsize = b.bits === 32 ? 16 : 32;
  const choices = modrmChoices(row, adsize, salt, many);
  const opRegs = row.opcodeReg ? (many ? [0, 1, 2, 3, 4, 5, 6, 7] : [salt % 8]) : [0];
  const immCount = row.operands.filter((o) => o.kind === 'I' || o.kind === 'J' || o.kind === 'O' || o.kind === 'A').length;
  let k = salt;
  const regFor = (): number => (row.modrmReg >= 0 ? row.modrmReg : (k++ * 3) % 8);
  if (choices.length === 0) {
    // No ModRM: repeat enough times for the immediates to take several values.
    const reps = many && immCount > 0 ? 8 : 1;
    for (const r of opRegs) for (let i = 0; i < reps; i++) b.emit(row, prefixes, r, null, 0);
    return;
  }
  for (const r of opRegs) {
    for (const c of choices) {
      b.emit(row, prefixes, r, c, regFor());
    }
  }
  // Memory-only and register-only rows still see every reg value with a memory form.
  if (many && row.modrmReg < 0 && row.modrmByte < 0) {
    const c = choices[choices.length - 1]!;
    for (let reg = 0; reg < 8; reg++) b.emit(row, prefixes, opRegs[0]!, c, reg);
  }
}

/** Prefix combinations that are meaningful for a row (besides none). */
function prefixVariants(row: Row, salt: number): number[][] {
  const out: number[][] = [[0x66], [0x67], [0x66, 0x67]];
  if (hasMemoryForm(row)) {
    for (const s of SEGS) out.push([s]);
    out.push([SEGS[salt % 6]!, 0x67], [0x66, SEGS[(salt + 1) % 6]!]);
  } else {
    out.push([SEGS[salt % 6]!]); // unused: objdump names it before the mnemonic
  }
  if (row.lock && row.mod !== 'reg') {
    out.push([0xf0], [0xf0, 0x66], [0xf0, SEGS[salt % 6]!]);
  }
  if (isStringRow(row)) {
    out.push([0xf3], [0xf2], [0xf3, 0x66], [0xf3, 0x67], [0xf2, 0x67]);
  }
  return out;
}

/** Rows whose memory form only (`lock` applies only to it). */
function lockChoicesOnlyMemory(row: Row, adsize: 16 | 32, salt: number): ModrmChoice[] {
  return modrmChoices(row, adsize, salt, false).filter((c) => c.kind === 'mem');
}

export interface CorpusOptions {
  rows?: readonly Row[];
  /** Rows after whose instances to put 15 NOPs. */
  padAfter?: (row: Row) => boolean;
}

export function buildCorpus(bits: 16 | 32, options: CorpusOptions = {}): Corpus {
  const rows = options.rows ?? ROWS;
  const b = new Builder(bits, options.padAfter ?? (() => false));
  rows.forEach((row, i) => {
    const salt = i * 13 + (bits === 16 ? 5 : 0);
    emitVariant(b, row, [], salt, true);
    prefixVariants(row, salt).forEach((prefixes, j) => {
      if (prefixes.includes(0xf0)) {
        // LOCK only on memory destinations.
        let adsize: 16 | 32 = bits;
        for (const p of prefixes) if (p === 0x67) adsize = bits === 32 ? 16 : 32;
        for (const c of lockChoicesOnlyMemory(row, adsize, salt + j)) {
          b.emit(row, prefixes, 0, c, row.modrmReg >= 0 ? row.modrmReg : (salt + j) % 8);
        }
        return;
      }
      emitVariant(b, row, prefixes, salt + j * 7, false);
    });
  });
  return { bits, bytes: Uint8Array.from(b.out), items: b.items };
}
