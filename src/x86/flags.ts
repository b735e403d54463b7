/**
 * Lazy arithmetic flags. Most instructions write OF/SF/ZF/AF/PF/CF and most of
 * those values are never read, so a flag-setting operation only records its
 * operands and result (`setLazy`), and each flag is derived when something reads
 * it. Operations whose flags are awkward to derive (shifts, multiplies, BCD) store
 * them eagerly with `setFlags`. `lazyMask` says which of the six flags are
 * currently lazy; the others are in `flagsBits`.
 */
import type { CpuState } from './state.js';

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

/** Lazy operation kinds. */
export const OP = { ADD: 1, ADC: 2, SUB: 3, SBB: 4, LOGIC: 5, INC: 6, DEC: 7, NEG: 8 } as const;

/** Parity of the low byte: PF bit value for each byte. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b; b >>= 1) bits += b & 1;
  PARITY[i] = bits & 1 ? 0 : PF;
}

const MASK = [0, 0xff, 0xffff, 0, 0xffffffff];
const SIGN = [0, 0x80, 0x8000, 0, 0x80000000];

/** Mask of a size in bytes (1, 2, 4). */
export function sizeMask(size: number): number {
  return MASK[size]!;
}

/**
 * Record a flag-setting operation. `mask` is the set of flags it writes; for INC
 * and DEC that excludes CF, which keeps its current value.
 */
export function setLazy(s: CpuState, op: number, a: number, b: number, res: number, size: number, mask = ARITH_FLAGS): void {
  if (mask !== ARITH_FLAGS) {
    // Flags the operation does not write keep their current values: materialise them.
    const keep = ARITH_FLAGS & ~mask & s.lazyMask;
    if (keep === CF) s.flagsBits = (s.flagsBits & ~CF) | lazyCF(s); // INC/DEC: the common case
    else if (keep) s.flagsBits = (s.flagsBits & ~keep) | (computeLazy(s) & keep);
  }
  s.lazyOp = op;
  s.lazyA = a;
  s.lazyB = b;
  s.lazyRes = res;
  s.lazySize = size;
  s.lazyMask = (s.lazyMask & ~ARITH_FLAGS) | mask;
}

/** ADC/SBB need their carry-in to derive CF. */
export function setLazyCarry(s: CpuState, op: number, a: number, b: number, cin: number, res: number, size: number): void {
  s.lazyCin = cin;
  setLazy(s, op, a, b, res, size);
}

/** Store flag values eagerly: `mask` selects the flags, `values` gives them. */
export function setFlags(s: CpuState, mask: number, values: number): void {
  if (s.lazyMask & ~mask & ARITH_FLAGS) {
    const keep = s.lazyMask & ~mask & ARITH_FLAGS;
    s.flagsBits = (s.flagsBits & ~keep) | (computeLazy(s) & keep);
  }
  s.lazyMask &= ~mask;
  s.flagsBits = (s.flagsBits & ~mask) | (values & mask);
}

/** SF, ZF and PF of a result, as flag bits. */
export function szp(res: number, size: number): number {
  const m = res & MASK[size]!;
  return (m === 0 ? ZF : 0) | (m & SIGN[size]! ? SF : 0) | PARITY[m & 0xff]!;
}

/** CF alone of the recorded lazy operation (cheaper than computeLazy). */
function lazyCF(s: CpuState): number {
  const m = MASK[s.lazySize]!;
  const a = (s.lazyA & m) >>> 0;
  const b = (s.lazyB & m) >>> 0;
  switch (s.lazyOp) {
    case OP.ADD: return ((s.lazyRes & m) >>> 0) < a ? CF : 0;
    case OP.ADC: return (s.lazyCin ? ((s.lazyRes & m) >>> 0) <= a : ((s.lazyRes & m) >>> 0) < a) ? CF : 0;
    case OP.SUB: return a < b ? CF : 0;
    case OP.SBB: return (s.lazyCin ? a <= b : a < b) ? CF : 0;
    case OP.NEG: return b !== 0 ? CF : 0;
    default: return 0; // LOGIC clears CF; INC/DEC never leave CF lazy (it is materialised before)
  }
}

/** All six arithmetic flags of the recorded lazy operation. */
function computeLazy(s: CpuState): number {
  const size = s.lazySize;
  const m = MASK[size]!;
  const sign = SIGN[size]!;
  const a = (s.lazyA & m) >>> 0;
  const b = (s.lazyB & m) >>> 0;
  const r = (s.lazyRes & m) >>> 0;
  let f = szp(r, size);
  switch (s.lazyOp) {
    case OP.ADD:
      if (r < a) f |= CF;
      if ((a ^ r) & (b ^ r) & sign) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case OP.ADC:
      if (s.lazyCin ? r <= a : r < a) f |= CF;
      if ((a ^ r) & (b ^ r) & sign) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case OP.SUB:
      if (a < b) f |= CF;
      if ((a ^ b) & (a ^ r) & sign) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case OP.SBB:
      if (s.lazyCin ? a <= b : a < b) f |= CF;
      if ((a ^ b) & (a ^ r) & sign) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case OP.LOGIC:
      break;
    case OP.INC:
      if (r === sign) f |= OF;
      f |= (a ^ 1 ^ r) & AF;
      break;
    case OP.DEC:
      if (a === sign) f |= OF;
      f |= (a ^ 1 ^ r) & AF;
      break;
    case OP.NEG:
      if (b !== 0) f |= CF;
      if (b === sign) f |= OF;
      f |= (b ^ r) & AF;
      break;
  }
  return f;
}

/** The full EFLAGS value. */
export function getFlags(s: CpuState): number {
  if (!(s.lazyMask & ARITH_FLAGS)) return s.flagsBits;
  const lazy = s.lazyMask & ARITH_FLAGS;
  return ((s.flagsBits & ~lazy) | (computeLazy(s) & lazy)) >>> 0;
}

/** Replace all of EFLAGS (POPF, IRET, task switch...). Bit 1 is forced set, 3/5/15 clear. */
export function loadFlags(s: CpuState, value: number): void {
  s.lazyMask = 0;
  s.flagsBits = ((value & ~0x8028) | 2) >>> 0;
}

export function getCF(s: CpuState): number {
  return s.lazyMask & CF ? lazyCF(s) : s.flagsBits & CF;
}
export function getZF(s: CpuState): boolean {
  if (s.lazyMask & ZF) return (s.lazyRes & MASK[s.lazySize]!) === 0;
  return (s.flagsBits & ZF) !== 0;
}
export function getSF(s: CpuState): boolean {
  if (s.lazyMask & SF) return (s.lazyRes & SIGN[s.lazySize]!) !== 0;
  return (s.flagsBits & SF) !== 0;
}
export function getOF(s: CpuState): boolean {
  return ((s.lazyMask & OF ? computeLazy(s) : s.flagsBits) & OF) !== 0;
}
export function getPF(s: CpuState): boolean {
  if (s.lazyMask & PF) return PARITY[s.lazyRes & 0xff] !== 0;
  return (s.flagsBits & PF) !== 0;
}
export function getAF(s: CpuState): boolean {
  return ((s.lazyMask & AF ? computeLazy(s) : s.flagsBits) & AF) !== 0;
}

/** Evaluate condition code `cc` (0-15, the low nibble of Jcc/SETcc/CMOVcc). */
export function testCC(s: CpuState, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(s); break;
    case 1: r = getCF(s) !== 0; break;
    case 2: r = getZF(s); break;
    case 3: r = getCF(s) !== 0 || getZF(s); break;
    case 4: r = getSF(s); break;
    case 5: r = getPF(s); break;
    case 6: r = getSF(s) !== getOF(s); break;
    default: r = getZF(s) || getSF(s) !== getOF(s); break;
  }
  return cc & 1 ? !r : r;
}
