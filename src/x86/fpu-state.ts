/**
 * The x87 FPU's architectural state, kept exactly as the hardware holds it.
 *
 * Registers: eight 80-bit data registers, indexed by *physical* number (R0..R7;
 * ST(i) is R[(TOP + i) & 7]), each as a 64-bit significand (`sig`, a
 * BigUint64Array, with 32-bit and byte views of the same memory) and a 16-bit
 * sign/exponent word (`se`). Nothing is ever converted
 * to a JS double on the way in or out, so loads and stores of any bit pattern
 * (denormals, pseudo-denormals, unnormals, NaN payloads, pseudo-infinities)
 * round-trip bit for bit.
 *
 * Tags: the processor only distinguishes empty from non-empty internally; the
 * full tag word that FSTENV/FSAVE store (00 valid, 01 zero, 10 special, 11 empty)
 * is computed from the register contents when it is stored, and FLDENV/FRSTOR
 * keep only "empty or not" of what they load (checked on the host: FRSTOR of tag
 * 00 over a zero, an infinity or an unnormal stores back 01/10/10). `empty` holds
 * one bit per physical register (1 = empty), which is also FXSAVE's abridged tag
 * byte inverted.
 *
 * Status word: `sw` keeps every bit except TOP (bits 11-13), which is `top`.
 * ES (bit 7) and B (bit 15) are kept equal to "some exception flag is set whose
 * mask bit is clear", as the hardware recomputes them whenever the control or
 * status word is loaded (FLDCW, FLDENV, FRSTOR, FXRSTOR; checked on the host).
 *
 * Last instruction / operand pointers: `fip`/`fcs` (offset and CS selector of the
 * last non-control x87 instruction, prefixes included), `fop` (its 11-bit opcode:
 * low three bits of the escape byte, then the ModRM byte), `fdp`/`fds` (offset
 * and segment selector of its memory operand). In real and v8086 mode the
 * save formats store linear addresses; they are computed from these fields.
 *
 * Everything here is plain numbers and typed arrays, so `save()`/`restore()` give
 * a serializable snapshot.
 */

/** Status word bits. */
export const SW = {
  IE: 0x0001, DE: 0x0002, ZE: 0x0004, OE: 0x0008, UE: 0x0010, PE: 0x0020,
  SF: 0x0040, ES: 0x0080, C0: 0x0100, C1: 0x0200, C2: 0x0400, TOP: 0x3800, C3: 0x4000, B: 0x8000,
} as const;

/** The six exception flags (and the six mask bits of the control word). */
export const EXC_BITS = 0x3f;
/** C0 C1 C2 C3. */
export const CC_BITS = SW.C0 | SW.C1 | SW.C2 | SW.C3;

/** Control word: bits that exist (IM..PM, PC, RC, X); bit 6 always reads 1. */
export const CW_WRITABLE = 0x1f3f;
export const CW_ALWAYS = 0x0040;

export interface FpuSnapshot {
  cw: number; sw: number; top: number; empty: number;
  fip: number; fcs: number; fop: number; fdp: number; fds: number;
  regs: number[]; // 8 x [lo, hi, se], physical order
  ferrAsserted: boolean;
}

export class FpuState {
  /** Significand (with the explicit integer bit 63) per physical register. */
  readonly sig = new BigUint64Array(8);
  /** The significands as 32-bit halves: bits 0-31 of R[p] at 2p, bits 32-63 at 2p + 1 (little-endian host). */
  readonly sig32 = new Uint32Array(this.sig.buffer);
  /** The significands as bytes, 8 per register, in memory order. */
  readonly sig8 = new Uint8Array(this.sig.buffer);
  /** Sign (bit 15) and biased exponent per physical register. */
  readonly se = new Uint16Array(8);
  /** Bit p set: physical register p is empty. */
  empty = 0xff;
  cw = 0x037f;
  /** Status word without TOP. */
  sw = 0;
  top = 0;
  fip = 0;
  fcs = 0;
  fop = 0;
  fdp = 0;
  fds = 0;
  /**
   * FERR# has been signalled for the pending exception (CR0.NE = 0): it is
   * signalled once, at the first waiting instruction that finds ES set, and
   * cleared with ES (FNCLEX, FNINIT, a load of a status word without ES).
   */
  ferrAsserted = false;

  /** Processor reset (SDM vol. 3 table 9-1): FCW 0040H, FSW 0, all registers +0.0 and tagged valid. */
  reset(): void {
    this.sig.fill(0n);
    this.se.fill(0);
    this.empty = 0;
    this.cw = 0x0040;
    this.sw = 0;
    this.top = 0;
    this.fip = this.fcs = this.fop = this.fdp = this.fds = 0;
    this.ferrAsserted = false;
  }

  /** FNINIT: FCW 037FH, FSW 0, all tags empty, pointers and opcode cleared; the registers keep their bits. */
  init(): void {
    this.cw = 0x037f;
    this.sw = 0;
    this.top = 0;
    this.empty = 0xff;
    this.fip = this.fcs = this.fop = this.fdp = this.fds = 0;
    this.ferrAsserted = false;
  }

  /** Physical register of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }

  isEmpty(i: number): boolean {
    return ((this.empty >> ((this.top + i) & 7)) & 1) !== 0;
  }

  /** The status word as FNSTSW stores it. */
  statusWord(): number {
    return (this.sw & ~SW.TOP) | (this.top << 11);
  }

  /** Load a status word (FLDENV/FRSTOR/FXRSTOR): TOP from bits 11-13, ES and B recomputed. */
  loadStatusWord(v: number): void {
    this.top = (v >> 11) & 7;
    this.sw = v & ~SW.TOP & 0xffff;
    this.updateSummary();
  }

  /** Load the control word (FLDCW, FLDENV, ...): reserved bits as the hardware keeps them; ES recomputed. */
  loadControlWord(v: number): void {
    this.cw = (v & CW_WRITABLE) | CW_ALWAYS;
    this.updateSummary();
  }

  /** ES and B = some exception flag set whose mask bit is clear. */
  updateSummary(): void {
    if (this.sw & ~this.cw & EXC_BITS) this.sw |= SW.ES | SW.B;
    else {
      this.sw &= ~(SW.ES | SW.B);
      this.ferrAsserted = false;
    }
  }

  /** An unmasked exception is pending: the next waiting instruction raises #MF (or FERR#). */
  get pending(): boolean {
    return (this.sw & SW.ES) !== 0;
  }

  /** Tag of physical register p as the full tag word has it: 0 valid, 1 zero, 2 special, 3 empty. */
  tagOf(p: number): number {
    if ((this.empty >> p) & 1) return 3;
    const exp = this.se[p]! & 0x7fff;
    const hi = this.sig32[2 * p + 1]!;
    if (exp === 0x7fff) return 2;
    if (exp === 0) return hi === 0 && this.sig32[2 * p] === 0 ? 1 : 2;
    return hi & 0x80000000 ? 0 : 2; // unnormals are special
  }

  /** The full tag word (FSTENV/FSAVE), physical register order. */
  tagWord(): number {
    let w = 0;
    for (let p = 0; p < 8; p++) w |= this.tagOf(p) << (2 * p);
    return w;
  }

  /** Load a full tag word: only "empty (11) or not" is kept. */
  loadTagWord(w: number): void {
    let e = 0;
    for (let p = 0; p < 8; p++) if (((w >> (2 * p)) & 3) === 3) e |= 1 << p;
    this.empty = e;
  }

  /** FXSAVE's abridged tag byte: bit p set when physical register p is not empty. */
  abridgedTag(): number {
    return ~this.empty & 0xff;
  }

  loadAbridgedTag(b: number): void {
    this.empty = ~b & 0xff;
  }

  save(): FpuSnapshot {
    const regs: number[] = [];
    for (let p = 0; p < 8; p++) regs.push(this.sig32[2 * p]!, this.sig32[2 * p + 1]!, this.se[p]!);
    return {
      cw: this.cw, sw: this.sw, top: this.top, empty: this.empty,
      fip: this.fip, fcs: this.fcs, fop: this.fop, fdp: this.fdp, fds: this.fds,
      regs, ferrAsserted: this.ferrAsserted,
    };
  }

  restore(s: FpuSnapshot): void {
    this.cw = s.cw; this.sw = s.sw; this.top = s.top; this.empty = s.empty;
    this.fip = s.fip; this.fcs = s.fcs; this.fop = s.fop; this.fdp = s.fdp; this.fds = s.fds;
    for (let p = 0; p < 8; p++) {
      this.sig32[2 * p] = s.regs[3 * p]!;
      this.sig32[2 * p + 1] = s.regs[3 * p + 1]!;
      this.se[p] = s.regs[3 * p + 2]!;
    }
    this.ferrAsserted = s.ferrAsserted;
  }
}
