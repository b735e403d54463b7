/**
 * The instruction table in the form its consumers use: each RowSpec of table.ts
 * parsed once into a Row with numeric encoding fields, parsed operands and flag
 * masks. Everything here is derived; the facts live in table.ts.
 */
import { TABLE, type InsnClass, type Privilege, type RowSpec } from './table.js';

/** EFLAGS bits. */
export const FLAG = {
  CF: 1 << 0, PF: 1 << 2, AF: 1 << 4, ZF: 1 << 6, SF: 1 << 7, TF: 1 << 8,
  IF: 1 << 9, DF: 1 << 10, OF: 1 << 11, IOPL: 3 << 12, NT: 1 << 14, RF: 1 << 16,
  VM: 1 << 17, AC: 1 << 18, VIF: 1 << 19, VIP: 1 << 20, ID: 1 << 21,
} as const;

const FLAG_LETTER: Record<string, number> = {
  o: FLAG.OF, d: FLAG.DF, i: FLAG.IF, t: FLAG.TF, s: FLAG.SF, z: FLAG.ZF, a: FLAG.AF, p: FLAG.PF, c: FLAG.CF,
  r: FLAG.RF,
};

/** Where an operand comes from (Intel appendix A addressing method, or a fixed operand). */
export type OperandKind =
  | 'E' | 'G' | 'M' | 'R' | 'S' | 'C' | 'D' | 'I' | 'J' | 'O' | 'A' | 'X' | 'Y' | 'Z'
  | 'reg' | 'sreg' | 'one' | 'st0' | 'sti';

/** Operand size code: fixed sizes, or v/z resolved by the operand-size attribute. */
export type SizeCode = 'b' | 'w' | 'd' | 'q' | 'v' | 'z' | 'a' | 'p' | 's' | 'bs' | 't' | 'x' | '';

export interface Operand {
  /** As written in the table (`Ev`, `Ibs`, `AL`, `Mfd`). */
  text: string;
  kind: OperandKind;
  size: SizeCode;
  /** Fixed register number (AL/AX/eAX = 0, CL = 1, DX = 2; segment ES..GS = 0..5). */
  reg: number;
  /** x87 memory format (`fs`, `fd`, `ft`, `wi`, `di`, `qi`, `bcd`, `env`, `st`, `fx`), else ''. */
  x87: string;
}

export interface Row {
  /** Index in ROWS. */
  id: number;
  spec: RowSpec;
  /** Mnemonic for 16-bit and 32-bit operand size (the same unless written `a/b`). */
  mnemonic16: string;
  mnemonic32: string;
  operands: Operand[];
  /** 0 = one-byte map, 1 = 0F map. */
  map: 0 | 1;
  /** Opcode byte (the first of eight for `+r` rows). */
  opcode: number;
  /** Mandatory prefix (0 when none). */
  prefix: 0 | 0x66 | 0xf2 | 0xf3;
  /** The low three opcode bits select a register (`+r`). */
  opcodeReg: boolean;
  hasModrm: boolean;
  /** Required ModRM.reg, or -1. */
  modrmReg: number;
  /** Required ModRM.mod class. */
  mod: 'any' | 'mem' | 'reg';
  /** Fixed ModRM byte (or the first of eight for `+i`), or -1. */
  modrmByte: number;
  modrmPlusI: boolean;
  flagsRead: number;
  flagsWritten: number;
  flagsUndefined: number;
  lock: boolean;
  cls: InsnClass;
  priv: Privilege | '';
  ends: boolean;
  status: 'normal' | 'alias' | 'undoc';
  sem: string;
}

const FIXED: Record<string, { kind: OperandKind; size: SizeCode; reg: number }> = {
  AL: { kind: 'reg', size: 'b', reg: 0 },
  CL: { kind: 'reg', size: 'b', reg: 1 },
  AX: { kind: 'reg', size: 'w', reg: 0 },
  DX: { kind: 'reg', size: 'w', reg: 2 },
  eAX: { kind: 'reg', size: 'v', reg: 0 },
  ES: { kind: 'sreg', size: 'w', reg: 0 },
  CS: { kind: 'sreg', size: 'w', reg: 1 },
  SS: { kind: 'sreg', size: 'w', reg: 2 },
  DS: { kind: 'sreg', size: 'w', reg: 3 },
  FS: { kind: 'sreg', size: 'w', reg: 4 },
  GS: { kind: 'sreg', size: 'w', reg: 5 },
  '1': { kind: 'one', size: 'b', reg: -1 },
  ST: { kind: 'st0', size: '', reg: 0 },
  STi: { kind: 'sti', size: '', reg: -1 },
};

const X87_MEM: Record<string, SizeCode> = {
  fs: 'd', fd: 'q', ft: 't', wi: 'w', di: 'd', qi: 'q', bcd: 't', env: '', st: '', fx: 'x',
};

export function parseOperand(text: string): Operand {
  const fixed = FIXED[text];
  if (fixed) return { text, ...fixed, x87: '' };
  const m = /^([EGMRSCDIJOAXYZ])(fs|fd|ft|wi|di|qi|bcd|env|st|fx|bs|[bwdqvzaps])?$/.exec(text);
  if (!m) throw new Error(`table: unknown operand ${text}`);
  const kind = m[1] as OperandKind;
  const t = m[2] ?? '';
  if (kind === 'M' && t in X87_MEM) return { text, kind, size: X87_MEM[t]!, reg: -1, x87: t };
  return { text, kind, size: t as SizeCode, reg: -1, x87: '' };
}

function parseFlags(f: string | undefined): { r: number; w: number; u: number } {
  const out = { r: 0, w: 0, u: 0 };
  if (!f) return out;
  for (const part of f.trim().split(/\s+/)) {
    const [k, letters] = part.split(':');
    if (!letters || (k !== 'r' && k !== 'w' && k !== 'u')) throw new Error(`table: bad flags ${f}`);
    for (const ch of letters) {
      const bit = FLAG_LETTER[ch];
      if (bit === undefined) throw new Error(`table: bad flag letter ${ch} in ${f}`);
      out[k] |= bit;
    }
  }
  return out;
}

function parseRow(spec: RowSpec, id: number): Row {
  const tokens = spec.enc.split(/\s+/);
  let prefix: Row['prefix'] = 0;
  if (tokens.length > 1 && /^(66|F2|F3)$/.test(tokens[0]!) && tokens[1] !== undefined && /^[0-9A-F]{2}(\+r)?$/.test(tokens[1])) {
    prefix = parseInt(tokens.shift()!, 16) as Row['prefix'];
  }
  let map: 0 | 1 = 0;
  if (tokens[0] === '0F') { map = 1; tokens.shift(); }
  const opTok = tokens.shift();
  if (!opTok) throw new Error(`table: no opcode in ${spec.enc}`);
  const opcodeReg = opTok.endsWith('+r');
  const opcode = parseInt(opTok, 16);
  let hasModrm = false;
  let modrmReg = -1;
  let mod: Row['mod'] = 'any';
  let modrmByte = -1;
  let modrmPlusI = false;
  for (const t of tokens) {
    if (t === '/r') hasModrm = true;
    else if (/^\/[0-7]$/.test(t)) { hasModrm = true; modrmReg = Number(t[1]); }
    else if (t === 'mem' || t === 'reg') mod = t;
    else if (/^[0-9A-F]{2}(\+i)?$/.test(t)) {
      hasModrm = true; mod = 'reg'; modrmByte = parseInt(t, 16); modrmPlusI = t.endsWith('+i');
      modrmReg = (modrmByte >> 3) & 7;
    } else throw new Error(`table: bad encoding token ${t} in ${spec.enc}`);
  }
  const [mn, ops = ''] = spec.syntax.split(' ');
  const [m16, m32 = m16] = mn!.split('/');
  const flags = parseFlags(spec.f);
  return {
    id, spec, mnemonic16: m16!, mnemonic32: m32!,
    operands: ops ? ops.split(',').map(parseOperand) : [],
    map, opcode, prefix, opcodeReg, hasModrm, modrmReg, mod, modrmByte, modrmPlusI,
    flagsRead: flags.r, flagsWritten: flags.w, flagsUndefined: flags.u,
    lock: spec.lock ?? false, cls: spec.cls ?? 'int', priv: spec.priv ?? '', ends: spec.ends ?? false,
    status: spec.status ?? 'normal', sem: spec.sem ?? 'ud',
  };
}

export const ROWS: readonly Row[] = TABLE.map(parseRow);

/** The row a decoder reports for an undefined encoding (#UD). */
export const UD_ROW: Row = parseRow({ enc: '0F FF', syntax: '(bad)', sem: 'ud', cls: 'ud', ends: true }, -1);

/** True when ModRM byte `modrm` satisfies the row's ModRM constraints. */
export function rowAcceptsModrm(row: Row, modrm: number): boolean {
  const mod = modrm >> 6;
  if (row.modrmByte >= 0) {
    return row.modrmPlusI ? (modrm & 0xf8) === row.modrmByte : modrm === row.modrmByte;
  }
  if (row.modrmReg >= 0 && ((modrm >> 3) & 7) !== row.modrmReg) return false;
  if (row.mod === 'mem' && mod === 3) return false;
  if (row.mod === 'reg' && mod !== 3) return false;
  return true;
}
