/**
 * The x86 decoder: bytes + mode -> one decoded instruction (its table row, prefixes,
 * ModRM/SIB addressing, immediates and length).
 *
 * It is derived entirely from the instruction table: at load time every row is
 * placed in a dispatch array indexed by opcode (and, for rows with a ModRM byte, by
 * the ModRM byte itself), so decoding is a few array lookups with no search. Any byte
 * sequence produces an instruction or a fault (#UD for undefined encodings, #GP for
 * instructions longer than 15 bytes, as SDM vol. 2 §2.3.11 says), never a host
 * exception; running out of bytes is reported as `truncated` so that the caller can
 * fetch more (and take the page fault, if any, only when the bytes are really needed),
 * except when the bytes already seen make the instruction longer than 15 bytes
 * whatever follows: that is #GP at once.
 */
import { ROWS, UD_ROW, rowAcceptsModrm, type Row } from './rows.js';

/** Segment register numbers, in the encoding order of Sw and the override prefixes. */
export const SEG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

export const MAX_INSN_LENGTH = 15;

export type DecodeFault = '' | 'ud' | 'gp' | 'truncated';

/** A decoded instruction. Fields that do not apply are -1 (or 0 for numbers). */
export interface Insn {
  row: Row;
  /** '' when the instruction is valid; otherwise the fault that executing it raises. */
  fault: DecodeFault;
  length: number;
  /** Operand-size and address-size attributes in effect (16 or 32). */
  opsize: 16 | 32;
  adsize: 16 | 32;
  /** Segment override (SEG.*), or -1. */
  segOverride: number;
  /** 0xF3 (REP/REPE), 0xF2 (REPNE) or 0: the last of the two seen. */
  rep: number;
  lock: boolean;
  /** Number of prefix bytes (including one consumed as a mandatory prefix). */
  prefixCount: number;
  /** The opcode byte and map (0 one-byte, 1 0F). */
  opcode: number;
  map: 0 | 1;
  modrm: number;
  mod: number;
  reg: number;
  rm: number;
  /** Memory operand: base and index register numbers (-1 none), scale shift, displacement. */
  base: number;
  index: number;
  scale: number;
  disp: number;
  /** Segment used for the memory operand without an override (SEG.DS or SEG.SS). */
  defaultSeg: number;
  /** First and second immediates (ENTER and far pointers have two; imm2 is the selector). */
  imm: number;
  imm2: number;
}

type Entry = Row | (Row | null)[] | null;

/** Dispatch without a mandatory prefix: 512 entries, one-byte map then 0F map. */
const primary: Entry[] = new Array(512).fill(null);
/** Dispatch for rows that need a mandatory prefix, keyed (prefix << 16) | (map << 8) | opcode. */
const withPrefix = new Map<number, Entry>();

function place(table: Entry[] | Map<number, Entry>, key: number, row: Row): void {
  const get = (): Entry => (Array.isArray(table) ? table[key] ?? null : table.get(key) ?? null);
  const set = (e: Entry): void => { if (Array.isArray(table)) table[key] = e; else table.set(key, e); };
  const cur = get();
  if (!row.hasModrm) {
    if (cur) throw new Error(`table: rows overlap at ${key.toString(16)}: ${row.spec.syntax}`);
    set(row);
    return;
  }
  let arr: (Row | null)[];
  if (cur === null) { arr = new Array(256).fill(null); set(arr); }
  else if (Array.isArray(cur)) arr = cur;
  else throw new Error(`table: ModRM and non-ModRM rows share ${key.toString(16)}: ${row.spec.syntax}`);
  for (let m = 0; m < 256; m++) {
    if (!rowAcceptsModrm(row, m)) continue;
    const other = arr[m];
    if (other) throw new Error(`table: rows overlap at ${key.toString(16)}/${m.toString(16)}: ${other.spec.syntax} and ${row.spec.syntax}`);
    arr[m] = row;
  }
}

for (const row of ROWS) {
  const count = row.opcodeReg ? 8 : 1;
  for (let i = 0; i < count; i++) {
    const key = (row.map << 8) | (row.opcode + i);
    if (row.prefix) place(withPrefix, (row.prefix << 16) | key, row);
    else place(primary, key, row);
  }
}

/** Rows whose ModRM.mod is ignored (R operands: MOV to/from CR and DR), by row id. */
const modIgnored: boolean[] = ROWS.map((row) => row.operands.some((o) => o.kind === 'R'));

/** Sizes in bytes of each operand's immediate/offset part, precomputed per row. */
function immBytes(kind: string, size: string, opsize: number, adsize: number): number {
  switch (kind) {
    case 'I':
      if (size === 'b' || size === 'bs') return 1;
      if (size === 'w') return 2;
      if (size === 'd') return 4;
      return opsize === 16 ? 2 : 4; // v and z are equal without 64-bit mode
    case 'J':
      return size === 'b' ? 1 : opsize === 16 ? 2 : 4;
    case 'O':
      return adsize === 16 ? 2 : 4;
    case 'A':
      return opsize === 16 ? 4 : 6;
    default:
      return 0;
  }
}

const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3]; // BX BX BP BP SI DI BP BX
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1]; // SI DI SI DI

/** A blank instruction record (for callers that keep decoded instructions). */
export function newInsn(): Insn {
  return {
    row: UD_ROW, fault: '', length: 0, opsize: 32, adsize: 32, segOverride: -1, rep: 0, lock: false,
    prefixCount: 0, opcode: 0, map: 0, modrm: -1, mod: -1, reg: -1, rm: -1,
    base: -1, index: -1, scale: 0, disp: 0, defaultSeg: SEG.DS, imm: 0, imm2: 0,
  };
}

/**
 * Decode one instruction from `bytes[at..limit)`. `code32` is the default operand
 * and address size (CS.D). The result is a fresh object unless `out` is given.
 */
export function decode(bytes: Uint8Array, at: number, code32: boolean, limit = bytes.length, out?: Insn): Insn {
  const insn = out ?? newInsn();
  if (out) resetInsn(out);
  let p = at;
  const end = Math.min(limit, bytes.length);
  let opsize: 16 | 32 = code32 ? 32 : 16;
  let adsize: 16 | 32 = code32 ? 32 : 16;
  let saw66 = false;
  let b = 0;
  // Prefixes. Each group may repeat; the last segment override and the last of
  // F2/F3 win. 66 is remembered separately for mandatory-prefix lookups.
  for (;;) {
    if (p - at >= MAX_INSN_LENGTH) return finish(insn, at, p, 'gp');
    if (p >= end) return finish(insn, at, p, 'truncated');
    b = bytes[p]!;
    switch (b) {
      case 0x26: insn.segOverride = SEG.ES; break;
      case 0x2e: insn.segOverride = SEG.CS; break;
      case 0x36: insn.segOverride = SEG.SS; break;
      case 0x3e: insn.segOverride = SEG.DS; break;
      case 0x64: insn.segOverride = SEG.FS; break;
      case 0x65: insn.segOverride = SEG.GS; break;
      case 0x66: opsize = code32 ? 16 : 32; saw66 = true; break;
      case 0x67: adsize = code32 ? 16 : 32; break;
      case 0xf0: insn.lock = true; break;
      case 0xf2: case 0xf3: insn.rep = b; break;
      default: break;
    }
    if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65 ||
        b === 0x66 || b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3) {
      p++;
      continue;
    }
    break;
  }
  insn.prefixCount = p - at;
  insn.opsize = opsize;
  insn.adsize = adsize;
  let map: 0 | 1 = 0;
  p++;
  if (b === 0x0f) {
    if (p >= end) return ranOut(insn, at, end, p + 1);
    map = 1;
    b = bytes[p++]!;
  }
  insn.opcode = b;
  insn.map = map;
  const key = (map << 8) | b;
  // A mandatory prefix (PAUSE is F3 90) is an F2/F3 seen among the prefixes, or 66.
  let entry: Entry = null;
  if (insn.rep) entry = withPrefix.get((insn.rep << 16) | key) ?? null;
  if (entry === null && saw66) entry = withPrefix.get((0x66 << 16) | key) ?? null;
  const prefixed = entry !== null;
  if (entry === null) entry = primary[key]!;
  let row: Row | null;
  if (entry === null) {
    // Undefined opcode: report #UD with a length covering what we consumed.
    return finish(insn, at, p, 'ud');
  }
  if (Array.isArray(entry)) {
    if (p >= end) return ranOut(insn, at, end, p + 1);
    const modrm = bytes[p++]!;
    insn.modrm = modrm;
    insn.mod = modrm >> 6;
    insn.reg = (modrm >> 3) & 7;
    insn.rm = modrm & 7;
    row = entry[modrm] ?? null;
    if (row !== null && modIgnored[row.id]) {
      // MOV to/from CRn/DRn: the processor ignores ModRM.mod and always uses the
      // register named by rm (SDM vol. 2, MOV—Move to/from Control Registers), so no
      // displacement or SIB follows. We report mod = 3 to match.
      insn.mod = 3;
    } else if (insn.mod !== 3) {
      p = decodeAddress(insn, bytes, p, end);
      if (p < 0) return ranOut(insn, at, end, -p);
    }
    if (row === null) {
      return finish(insn, at, p, 'ud');
    }
  } else {
    row = entry;
    insn.rm = b & 7;
  }
  if (prefixed && row.prefix === insn.rep) insn.rep = 0;
  insn.row = row;
  // Immediates, in operand order.
  const ops = row.operands;
  let immIndex = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const n = immBytes(op.kind, op.size, opsize, adsize);
    if (n === 0) continue;
    if (p + n > end) return ranOut(insn, at, end, p + n);
    if (p + n - at > MAX_INSN_LENGTH) return finish(insn, at, at + MAX_INSN_LENGTH, 'gp');
    let v: number;
    if (op.kind === 'A') {
      const offBytes = n - 2;
      const off = readLE(bytes, p, offBytes);
      insn.imm = off;
      insn.imm2 = readLE(bytes, p + offBytes, 2);
      p += n;
      continue;
    }
    v = readLE(bytes, p, n);
    if (op.kind === 'J' || op.size === 'bs') v = signExtend(v, n);
    if (op.kind === 'O') insn.disp = v;
    else if (immIndex++ === 0) insn.imm = v;
    else insn.imm2 = v;
    p += n;
  }
  if (p - at > MAX_INSN_LENGTH) return finish(insn, at, at + MAX_INSN_LENGTH, 'gp');
  return finish(insn, at, p, '');
}

function readLE(bytes: Uint8Array, p: number, n: number): number {
  if (n === 1) return bytes[p]!;
  if (n === 2) return bytes[p]! | (bytes[p + 1]! << 8);
  return (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) >>> 0;
}

function signExtend(v: number, n: number): number {
  if (n === 1) return (v << 24) >> 24;
  if (n === 2) return (v << 16) >> 16;
  return v | 0;
}

/** ModRM (mod != 3) and SIB addressing. Returns the new position, or minus the position the bytes would have to reach when they run out first. */
function decodeAddress(insn: Insn, bytes: Uint8Array, p: number, end: number): number {
  const mod = insn.mod;
  const rm = insn.rm;
  if (insn.adsize === 16) {
    if (mod === 0 && rm === 6) {
      if (p + 2 > end) return -(p + 2);
      insn.disp = bytes[p]! | (bytes[p + 1]! << 8);
      insn.defaultSeg = SEG.DS;
      return p + 2;
    }
    insn.base = BASE16[rm]!;
    insn.index = INDEX16[rm]!;
    insn.defaultSeg = insn.base === 5 ? SEG.SS : SEG.DS;
    if (mod === 1) {
      if (p + 1 > end) return -(p + 1);
      insn.disp = ((bytes[p]! << 24) >> 24) & 0xffff;
      return p + 1;
    }
    if (mod === 2) {
      if (p + 2 > end) return -(p + 2);
      insn.disp = bytes[p]! | (bytes[p + 1]! << 8);
      return p + 2;
    }
    return p;
  }
  let base = rm;
  if (rm === 4) {
    if (p >= end) return -(p + 1);
    const sib = bytes[p++]!;
    insn.scale = sib >> 6;
    const idx = (sib >> 3) & 7;
    insn.index = idx === 4 ? -1 : idx;
    base = sib & 7;
    if (base === 5 && mod === 0) {
      if (p + 4 > end) return -(p + 4);
      insn.base = -1;
      insn.disp = readLE(bytes, p, 4) | 0;
      insn.defaultSeg = SEG.DS;
      return p + 4;
    }
  } else if (rm === 5 && mod === 0) {
    if (p + 4 > end) return -(p + 4);
    insn.disp = readLE(bytes, p, 4) | 0;
    insn.defaultSeg = SEG.DS;
    return p + 4;
  }
  insn.base = base;
  insn.defaultSeg = base === 4 || base === 5 ? SEG.SS : SEG.DS;
  if (mod === 1) {
    if (p + 1 > end) return -(p + 1);
    insn.disp = (bytes[p]! << 24) >> 24;
    return p + 1;
  }
  if (mod === 2) {
    if (p + 4 > end) return -(p + 4);
    insn.disp = readLE(bytes, p, 4) | 0;
    return p + 4;
  }
  return p;
}

/**
 * The bytes ran out at `end` where the instruction needs them up to `need`. An
 * instruction that would pass 15 bytes is #GP whatever the missing bytes are (the
 * processor does not fetch past the limit), so that is what the caller learns
 * rather than `truncated`.
 */
function ranOut(insn: Insn, at: number, end: number, need: number): Insn {
  if (need - at > MAX_INSN_LENGTH) return finish(insn, at, at + MAX_INSN_LENGTH, 'gp');
  return finish(insn, at, end, 'truncated');
}

function finish(insn: Insn, at: number, p: number, fault: DecodeFault): Insn {
  let len = p - at;
  if (fault !== 'truncated' && len > MAX_INSN_LENGTH) { len = MAX_INSN_LENGTH; fault = 'gp'; }
  insn.length = len;
  insn.fault = fault;
  if (fault) insn.row = UD_ROW;
  return insn;
}

function resetInsn(i: Insn): void {
  i.row = UD_ROW; i.fault = ''; i.length = 0; i.opsize = 32; i.adsize = 32; i.segOverride = -1; i.rep = 0;
  i.lock = false; i.prefixCount = 0; i.opcode = 0; i.map = 0; i.modrm = -1; i.mod = -1; i.reg = -1; i.rm = -1;
  i.base = -1; i.index = -1; i.scale = 0; i.disp = 0; i.defaultSeg = SEG.DS; i.imm = 0; i.imm2 = 0;
}

/** True when LOCK is allowed on this instruction: the row permits it and the destination is memory. */
export function lockIsLegal(insn: Insn): boolean {
  return insn.row.lock && insn.mod !== 3 && insn.mod !== -1;
}

/** Every row reachable from the dispatch tables (for the table self-test). */
export function reachableRows(): Set<Row> {
  const out = new Set<Row>();
  const visit = (e: Entry): void => {
    if (e === null) return;
    if (Array.isArray(e)) { for (const r of e) if (r) out.add(r); }
    else out.add(e);
  };
  primary.forEach(visit);
  withPrefix.forEach(visit);
  return out;
}
