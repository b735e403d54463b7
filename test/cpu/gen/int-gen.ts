/**
 * Generator of the integer differential test's cases, from the instruction
 * table: for every user-mode integer row, instances of the instruction with
 * random operands in every operand size (66), addressing form (ModRM, SIB,
 * displacement sizes, segment overrides, 16-bit addressing through 67 where
 * it cannot reach memory or is meant to fault), prefix arrangement, and the
 * row's interesting values (shift counts, divisors, bit offsets, selectors, ...).
 *
 * ## One case, many items
 *
 * Forking a sandboxed child per native case costs about a millisecond, so a
 * case is a sequence of *items*, each one instance of one row, each with its
 * own setup and its own record of the state after it:
 *
 *     setup:  [restore DS ES FS GS]  push imm32 / popfd  (EFLAGS)
 *             mov r32, imm32 x 8     (all eight registers, ESP last)
 *     body:   the instruction (with branch scaffolding for control transfers)
 *     dump:   mov ss:[slot+4r], r32 x 8   [mov ss:[slot+32+2s], Sreg x 6]
 *             mov esp, SCRATCH   pushfd   pop dword ss:[slot+32]
 *
 * so the host's state after every item lands in the data window, and the
 * window comparison says which item (hence which row) diverged. A row's
 * "cases" in the reports are its items: one instance each, with its own
 * operands, its own setup and its own recorded result. The dump uses
 * SS overrides because an item may load DS with a null or odd selector (SS
 * itself can only ever hold the flat data segment at CPL 3), restores ESP
 * before PUSHFD because an item may leave ESP anywhere, and never touches
 * EFLAGS. Each item has its own region of the window for its stack and memory
 * operands, filled with random bytes.
 *
 * An item that may fault (a *fault variant*: #DE, #UD from LOCK or a register
 * form of a memory-only row, #GP from a null or read-only segment, an
 * instruction longer than 15 bytes, #PF at the window's edge or through
 * 16-bit addressing or a 16-bit branch target, #BR, #AC, a REP string running
 * off the window) is the last item of its case: the state at the fault (the
 * host's from the signal frame) is compared, with the vector, the error code
 * and CR2.
 *
 * ## Undefined results
 *
 * Flags the table leaves undefined for a row are not compared, nor those the
 * SDM leaves undefined for particular operands: OF after multi-bit shifts and
 * rotates, CF after SHL/SHR by at least the operand width, everything after
 * SHLD/SHRD by more than the operand width (the destination too), and the
 * result of BSWAP with a 16-bit operand.
 *
 * ## What is avoided, and why
 *
 * - F2/F3 appear only on string instructions (and F3 90, PAUSE): on the host
 *   F3 0F B8/BC/BD are POPCNT/TZCNT/LZCNT and F2/F3 0F xx are SSE forms.
 * - Memory is addressed only inside the window or in unmapped pages next to it
 *   (0x1FFF0000-0x1FFFFFFF, 0x20010000-0x2001FFFF), never through GS (the
 *   host's TLS segment has a base bt86 cannot know).
 * - POPF never sets TF (a single-step trap would land in the runner's epilogue).
 * - At a fault inside POPA the host has already loaded the registers popped
 *   before it; bt86 restores the state of before the instruction (DESIGN.md:
 *   precise state), so only ESP is compared there.
 * - 16-bit addressing (67) with a memory access always faults here (offsets are
 *   below 64 KiB, DS has base 0): it is generated as a fault variant, and
 *   freely for LEA and the hint NOPs, which do not access memory.
 */
import type { Row } from '../../../src/x86/rows.js';
import { ROWS } from '../../../src/x86/rows.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, MAX_CODE } from '../../native/native.js';
import { Asm } from './asm.js';
import { Rng } from './rng.js';

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800;
export const AC = 1 << 18;
const ARITH = CF | PF | AF | ZF | SF | OF;

/** Dump slots: 8 registers, EFLAGS, 6 selectors (16 bits each), 4 spare bytes. */
export const DUMP_BASE = DATA_BASE + 0x100;
export const DUMP_SLOT = 48;
export const MAX_ITEMS = 60;
/** The stack the dump and the setup use between items (PUSHFD/POPFD writes just below it). */
export const SCRATCH_STACK = DATA_BASE + 0xf80;
const ALLOC_START = 0x1000;
const ALLOC_END = 0xff00;

const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
const P_ES = 0x26, P_CS = 0x2e, P_SS = 0x36, P_DS = 0x3e, P_FS = 0x64, P_GS = 0x65;
const P_OPSIZE = 0x66, P_ADSIZE = 0x67, P_LOCK = 0xf0;

/** Unmapped on both sides (the neighbours of the window). */
export const UNMAPPED_BELOW = DATA_BASE - 0x10000;
export const UNMAPPED_ABOVE = DATA_BASE + DATA_SIZE;

// ---- items -----------------------------------------------------------------------------

let labelSeq = 0;
/** A label name unique in the process (items are generated before their case is assembled). */
function newLabel(hint: string): string {
  return `${hint}${labelSeq++}`;
}

export interface Item {
  row: Row;
  /** Registers the setup loads (EAX..EDI); labels (for code addresses) in regLabels. */
  regs: number[];
  regLabels: Map<number, string>;
  /** Window dwords that must hold a label's address. */
  dataFixups: { addr: number; label: string }[];
  /** EFLAGS the setup loads (with POPFD, so only what CPL 3 may set). */
  flags: number;
  /** Emits the item's instruction(s) into the case. */
  body: (a: Asm) => void;
  /** The item may end in an exception: it must be the last of its case. */
  fault: boolean;
  /** The item may change segment registers: dump them, and restore them after it. */
  segs: boolean;
  /** EFLAGS bits not compared after the item. */
  undefFlags: number;
  /** Per register, the bits compared after the item. */
  regMask: number[];
  /** Per register, the bits compared when the item ends in an exception. */
  faultRegMask: number[];
  /** Window bytes whose final value is not compared (undefined results). */
  memUndefined: [number, number][];
  /** A short description of the variant, for reports. */
  note: string;
  /** Offsets in the case code: body start/end, item start/end (filled in by the case builder). */
  bodyStart: number;
  bodyEnd: number;
  start: number;
  end: number;
  slot: number;
}

/** Window space for one case's items, handed out in order with random gaps. */
export class Window {
  private next = ALLOC_START;
  readonly chunks: { addr: number; bytes: Uint8Array }[] = [];
  /** [addr, len, item index] of every allocation (to attribute memory differences). */
  readonly owners: [number, number, number][] = [];
  owner = -1;

  constructor(private readonly rng: Rng) {}

  get left(): number {
    return ALLOC_END - this.next;
  }

  /** `size` bytes, aligned; sometimes placed to straddle a page boundary. */
  alloc(size: number, align = 1, straddle = 0.06): number {
    let off = this.next + this.rng.int(16);
    if (this.rng.chance(straddle) && size > 1) {
      const page = (off + 0xfff) & ~0xfff;
      const cand = page - 1 - this.rng.int(Math.min(size - 1, 7));
      if (cand >= this.next) off = cand;
    }
    off = Math.ceil(off / align) * align;
    if (off + size > ALLOC_END) throw new WindowFull();
    this.next = off + size;
    this.owners.push([DATA_BASE + off, size, this.owner]);
    return DATA_BASE + off;
  }

  put(addr: number, bytes: Uint8Array): void {
    this.chunks.push({ addr, bytes });
  }
}

export class WindowFull extends Error {
  constructor() {
    super('window full');
  }
}

function le(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
  return out;
}

function bytesOf(v: number, n: number): Uint8Array {
  return Uint8Array.from(le(v, n));
}

// ---- the per-item builder ------------------------------------------------------------------

/** Width in bytes of an operand with size code `size` under operand size `opsize`. */
function width(size: string, opsize: number): number {
  switch (size) {
    case 'b': case 'bs': return 1;
    case 'w': return 2;
    case 'd': return 4;
    case 'q': return 8;
    case 'v': case 'z': return opsize >> 3;
    case 'a': return 2 * (opsize >> 3);
    case 'p': return 2 + (opsize >> 3);
    default: return 0;
  }
}

/** Rows whose ModRM memory operand is only read (a CS override is legal with them). */
const READS_E = new Set([
  'cmp', 'test', 'bt', 'movzx', 'movsx', 'cmovcc', 'bound', 'push', 'imul2', 'imul3', 'mul', 'imul1', 'div', 'idiv',
  'jmp', 'call', 'load_far_ptr', 'mov_to_seg', 'bsf', 'bsr', 'nop', 'lea',
]);

/** The memory operand is read by these rows only when it is the source (G,E forms). */
function memIsWritten(row: Row): boolean {
  if (READS_E.has(row.sem)) return false;
  if (row.sem === 'mov') return row.operands[0]!.kind === 'E' || row.operands[0]!.kind === 'O';
  const first = row.operands[0];
  if (row.sem === 'add' || row.sem === 'or' || row.sem === 'adc' || row.sem === 'sbb' || row.sem === 'and' || row.sem === 'sub' || row.sem === 'xor') {
    return first?.kind === 'E';
  }
  return true;
}

interface MemOpts {
  /** The effective address (default: a fresh allocation of `size` bytes). */
  ea?: number;
  /** Contents to place at the address (default: random). */
  content?: Uint8Array;
  /** ESP's value as the address computation sees it differs by this (POP Ev: +size). */
  espDelta?: number;
  /** Registers that must not serve as base or index. */
  avoid?: number[];
  align?: number;
}

class Builder {
  readonly regs: number[];
  fixed = 0;
  flags: number;
  opsize: 16 | 32 = 32;
  adsize: 16 | 32 = 32;
  readonly prefixes: number[] = [];
  readonly regLabels = new Map<number, string>();
  readonly dataFixups: { addr: number; label: string }[] = [];
  /** Control-transfer handlers: no backward layouts (the fault wrappers prefix the first instruction). */
  simpleLayout = false;
  undef: number;
  readonly regMask = [~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0];
  readonly faultRegMask = [~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0];
  readonly memUndefined: [number, number][] = [];
  fault = false;
  segs = false;
  notes: string[] = [];
  /** The memory operand of the last mem() call. */
  memAddr = -1;

  constructor(readonly rng: Rng, readonly win: Window, readonly row: Row) {
    this.regs = Array.from({ length: 8 }, () => rng.reg(32));
    this.flags = rng.u32() & (CF | PF | AF | ZF | SF | OF | DF);
    if (rng.chance(0.5)) this.flags &= ~DF;
    this.undef = row.flagsUndefined;
  }

  isFixed(r: number): boolean {
    return (this.fixed & (1 << r)) !== 0;
  }

  /** Give register r (32-bit number) a value and keep it. */
  set(r: number, v: number): void {
    this.regs[r] = v >>> 0;
    this.fixed |= 1 << r;
  }

  /** Put a value into register n of `size` bytes (AL..BH for bytes) unless its register is fixed. */
  setPart(n: number, size: number, v: number): void {
    if (size === 1) {
      const r = n & 3;
      if (this.isFixed(r)) return;
      const sh = n >= 4 ? 8 : 0;
      this.regs[r] = ((this.regs[r]! & ~(0xff << sh)) | ((v & 0xff) << sh)) >>> 0;
    } else if (size === 2) {
      if (this.isFixed(n)) return;
      this.regs[n] = ((this.regs[n]! & 0xffff0000) | (v & 0xffff)) >>> 0;
    } else {
      if (this.isFixed(n)) return;
      this.regs[n] = v >>> 0;
    }
  }

  /** Read register n of `size` bytes. */
  getPart(n: number, size: number): number {
    if (size === 1) return (this.regs[n & 3]! >>> (n >= 4 ? 8 : 0)) & 0xff;
    if (size === 2) return this.regs[n]! & 0xffff;
    return this.regs[n]! >>> 0;
  }

  /** A register number not fixed and not in `avoid` (or -1). */
  freeReg(avoid: number[] = [], allowEsp = false): number {
    const c: number[] = [];
    for (let r = 0; r < 8; r++) if (!this.isFixed(r) && !avoid.includes(r) && (allowEsp || r !== ESP)) c.push(r);
    return c.length ? this.rng.pick(c) : -1;
  }

  /** A stack for the item: `below` bytes under ESP and `above` over it, random contents. */
  stack(below = 48, above = 48, misalign = 0.08): number {
    const base = this.win.alloc(below + above, 4, 0.1);
    this.win.put(base, this.rng.bytes(below + above));
    let esp = base + below;
    if (this.rng.chance(misalign)) esp += this.rng.pick([-2, 2, -1, 1]);
    this.set(ESP, esp);
    return esp;
  }

  /**
   * A ModRM (+ SIB + displacement) for a memory operand at `ea`, with `regField`
   * in bits 5:3. Base and index registers get values that make the address;
   * fixed registers keep theirs (a 32-bit displacement makes up the difference).
   */
  modrmMem32(regField: number, ea: number, o: MemOpts = {}): number[] {
    const rng = this.rng;
    const avoid = o.avoid ?? [];
    const espVal = (r: number) => (r === ESP ? (this.regs[ESP]! + (o.espDelta ?? 0)) >>> 0 : this.regs[r]!);
    const usable = (r: number, asIndex: boolean) => !avoid.includes(r) && !(asIndex && r === ESP) &&
      (r !== ESP || this.isFixed(ESP));
    const form = rng.int(10);
    const reg = regField << 3;
    if (form === 0) {
      return [reg | 5, ...le(ea, 4)]; // [disp32]
    }
    if (form <= 4) {
      // No SIB: [base], [base+disp8], [base+disp32]; base not ESP (needs SIB), EBP only with a displacement.
      const cands = [EAX, ECX, EDX, EBX, EBP, ESI, EDI].filter((r) => usable(r, false));
      if (!cands.length) return [reg | 5, ...le(ea, 4)];
      const base = rng.pick(cands);
      let mod = rng.int(3);
      if (base === EBP && mod === 0) mod = 1;
      if (this.isFixed(base)) mod = 2;
      const disp = mod === 0 ? 0 : mod === 1 ? rng.int(256) - 128 : this.isFixed(base) ? (ea - this.regs[base]!) | 0 : rng.u32() | 0;
      if (!this.isFixed(base)) this.set(base, ea - disp);
      return [(mod << 6) | reg | base, ...(mod === 1 ? [disp & 0xff] : mod === 2 ? le(disp, 4) : [])];
    }
    // SIB.
    const scale = rng.int(4);
    const noIndex = rng.chance(0.2);
    const idxCands = [EAX, ECX, EDX, EBX, EBP, ESI, EDI].filter((r) => usable(r, true));
    const index = noIndex || !idxCands.length ? 4 : rng.pick(idxCands);
    const baseCands = [EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI].filter((r) => usable(r, false));
    const noBase = rng.chance(0.12) || !baseCands.length;
    const base = noBase ? 5 : rng.pick(baseCands);
    let mod = noBase ? 0 : rng.int(3);
    if (!noBase && base === EBP && mod === 0) mod = 1;
    // Values: index first (small, negative or anything), then the base or displacement closes the equation.
    if (index !== 4 && !this.isFixed(index) && index !== base) {
      const r = rng.int(10);
      this.set(index, r < 5 ? rng.int(32) : r < 7 ? -1 - rng.int(16) : rng.u32());
    }
    const idxVal = index === 4 ? 0 : (espVal(index) << scale) >>> 0;
    if (noBase) {
      // [index*scale + disp32]
      if (index !== 4 && !this.isFixed(index)) this.set(index, rng.int(64));
      const iv = index === 4 ? 0 : (this.regs[index]! << scale) >>> 0;
      return [reg | 4, (scale << 6) | (index << 3) | 5, ...le((ea - iv) >>> 0, 4)];
    }
    if (index !== 4 && base === index) {
      // Same register twice: any value, the displacement closes.
      if (!this.isFixed(base)) this.set(base, rng.int(4) ? DATA_BASE + rng.int(0x10000) : rng.u32());
      const v = espVal(base);
      const disp = (ea - v - ((v << scale) >>> 0)) | 0;
      return [0x80 | reg | 4, (scale << 6) | (index << 3) | base, ...le(disp, 4)];
    }
    if (this.isFixed(base)) {
      mod = 2;
      const disp = (ea - espVal(base) - idxVal) | 0;
      return [0x80 | reg | 4, (scale << 6) | (index << 3) | base, ...le(disp, 4)];
    }
    const disp = mod === 0 ? 0 : mod === 1 ? rng.int(256) - 128 : rng.u32() | 0;
    this.set(base, ea - disp - idxVal);
    return [(mod << 6) | reg | 4, (scale << 6) | (index << 3) | base, ...(mod === 1 ? [disp & 0xff] : mod === 2 ? le(disp, 4) : [])];
  }

  /**
   * A 16-bit ModRM memory operand (67 prefix). Its offset is below 64 KiB, so
   * with DS/SS base 0 it addresses unmapped low memory (LEA and NOPs only
   * compute it).
   */
  modrmMem16(regField: number, avoid: number[] = []): number[] {
    const rng = this.rng;
    const reg = regField << 3;
    const rm = rng.int(8);
    let mod = rng.int(3);
    if (rm === 6 && mod === 0) return [reg | 6, ...le(rng.u32(), 2)];
    // Registers BX BP SI DI by rm: give them any value when free.
    const used = [[EBX, ESI], [EBX, EDI], [EBP, ESI], [EBP, EDI], [ESI], [EDI], [EBP], [EBX]][rm]!;
    for (const r of used) if (!this.isFixed(r) && !avoid.includes(r)) this.set(r, rng.reg(16));
    if (mod === 0 && rm === 6) mod = 1;
    return [(mod << 6) | reg | rm, ...(mod === 1 ? [rng.int(256)] : mod === 2 ? le(rng.u32(), 2) : [])];
  }

  /**
   * Allocate and fill a memory operand of `size` bytes and return its ModRM
   * bytes (32-bit addressing).
   */
  mem(regField: number, size: number, o: MemOpts = {}): number[] {
    const ea = o.ea ?? this.win.alloc(Math.max(size, 1), o.align ?? (this.rng.chance(0.8) ? Math.min(size, 4) || 1 : 1));
    const inside = ea >= DATA_BASE && ea + size <= DATA_BASE + DATA_SIZE;
    if (inside && (o.ea === undefined || o.content)) this.win.put(ea, o.content ?? this.rng.bytes(size));
    this.memAddr = ea;
    return this.modrmMem32(regField, ea, o);
  }

  /** A segment override for a memory operand (none most of the time; CS only when the row only reads). */
  segOverride(readOnly: boolean): void {
    const r = this.rng.int(100);
    if (r < 70) return;
    const c = [P_DS, P_ES, P_SS, ...(readOnly ? [P_CS] : [])];
    this.prefixes.push(this.rng.pick(c));
  }

  /** Randomly order the prefixes, sometimes repeating one (up to a total length of 15). */
  prefixBytes(restLen: number): number[] {
    const p = this.rng.shuffle([...this.prefixes]);
    if (p.length && this.rng.chance(0.06)) {
      const extra = this.rng.range(1, 3);
      const x = this.rng.pick(p);
      for (let i = 0; i < extra && p.length + restLen < 15; i++) p.splice(this.rng.int(p.length + 1), 0, x);
    }
    return p;
  }

  /** Choose the operand size: 66 with probability p. */
  pickOpsize(p = 0.3): void {
    if (this.rng.chance(p)) {
      this.opsize = 16;
      this.prefixes.push(P_OPSIZE);
    }
  }

  finish(body: (a: Asm) => void, note = ''): Item {
    if (note) this.notes.push(note);
    return {
      row: this.row,
      regs: this.regs,
      regLabels: this.regLabels,
      dataFixups: this.dataFixups,
      flags: this.flags,
      body,
      fault: this.fault,
      segs: this.segs,
      undefFlags: this.undef,
      regMask: this.regMask,
      faultRegMask: this.faultRegMask,
      memUndefined: this.memUndefined,
      note: this.notes.join(' '),
      bodyStart: 0,
      bodyEnd: 0,
      start: 0,
      end: 0,
      slot: 0,
    };
  }

  /** An item whose body is fixed bytes (prefixes in random order, then `rest`). */
  plain(rest: number[], note = ''): Item {
    const bytes = [...this.prefixBytes(rest.length), ...rest];
    return this.finish((a) => a.emit(...bytes), note);
  }
}

// ---- the standard encoder ------------------------------------------------------------------------

interface StdOpts {
  /** 'reg' or 'mem' for the ModRM r/m operand (default: as the row allows, 50/50). */
  mod?: 'reg' | 'mem';
  /** Value for the register operands (G, Z, E as register) of `size` bytes. */
  regValue?: (size: number) => number;
  /** Contents of the memory operand. */
  memContent?: (size: number) => Uint8Array;
  /** Value of the k-th immediate, `n` bytes. */
  imm?: (k: number, n: number) => number;
  /** Registers (full numbers) the r/m register operand must not be. */
  avoidRm?: number[];
  /** Registers (operand numbers by size) the G operand must not be. */
  avoidReg?: number[];
  /** The ModRM reg field (for S operands, or a fixed choice). */
  regField?: number;
  /** ESP delta for the address computation (POP Ev). */
  espDelta?: number;
  /** Size of the memory operand region (BT with a register offset uses a larger one). */
  memEa?: number;
  /** LOCK may be added (legal form). */
  lock?: boolean;
  /** Operand-size prefix probability. */
  p66?: number;
  /** Use 16-bit addressing for the memory operand (fault variants, LEA, NOP). */
  a16?: boolean;
  /** Address of the memory operand (fault variants). */
  ea?: number;
  /** Segment override to use (fault variants); default random. */
  seg?: number;
}

interface StdResult {
  /** Register numbers of the operands in ModRM.reg and ModRM.rm (or +r), and the memory address. */
  reg: number;
  rm: number;
  isMem: boolean;
  memAddr: number;
  memSize: number;
  imms: number[];
}

/**
 * Encode `row` with random operands: prefixes, opcode, ModRM/SIB/displacement,
 * immediates. Returns the bytes after the prefixes (the caller finishes the item).
 */
function encodeStd(b: Builder, o: StdOpts = {}): { rest: number[]; r: StdResult } {
  const { row, rng } = b;
  if (o.p66 !== 0) b.pickOpsize(o.p66 ?? 0.3);
  const osz = b.opsize;
  const rest: number[] = [];
  if (row.map === 1) rest.push(0x0f);
  const res: StdResult = { reg: -1, rm: -1, isMem: false, memAddr: -1, memSize: 0, imms: [] };
  let opcode = row.opcode;
  const ops = row.operands;
  const regVal = o.regValue ?? ((size: number) => rng.value(size * 8));
  // Z: register from the opcode.
  const z = ops.find((x) => x.kind === 'Z');
  if (row.opcodeReg && z) {
    const zs = width(z.size, osz);
    const cands = [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !(o.avoidRm ?? []).includes(zs === 1 ? r & 3 : r));
    res.rm = rng.pick(cands);
    opcode += res.rm;
    b.setPart(res.rm, zs, regVal(zs));
  }
  rest.push(opcode);
  if (row.hasModrm) {
    const e = ops.find((x) => x.kind === 'E' || x.kind === 'M' || x.kind === 'R');
    const g = ops.find((x) => x.kind === 'G');
    let regField = o.regField ?? (row.modrmReg >= 0 ? row.modrmReg : rng.int(8));
    if (g && o.avoidReg) {
      const gs = width(g.size, osz);
      const cands = [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !o.avoidReg!.includes(gs === 1 ? r & 3 : r));
      regField = rng.pick(cands);
    }
    res.reg = regField;
    const mod = o.mod ?? (row.mod === 'mem' || e?.kind === 'M' ? 'mem' : row.mod === 'reg' ? 'reg' : rng.chance(0.5) ? 'mem' : 'reg');
    const esize = e ? width(e.size, osz) : 0;
    if (mod === 'reg') {
      // With a chosen value (o.regValue), not a register whose value is already fixed.
      const full = (r: number) => (esize === 1 ? r & 3 : r);
      let cands = [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !(o.avoidRm ?? []).includes(full(r)));
      if (o.regValue) {
        const free = cands.filter((r) => !b.isFixed(full(r)));
        if (free.length) cands = free;
      }
      res.rm = rng.pick(cands);
      rest.push(0xc0 | (regField << 3) | res.rm);
      if (e && esize) b.setPart(res.rm, esize, regVal(esize));
    } else {
      res.isMem = true;
      res.memSize = esize;
      const readOnly = !memIsWritten(row);
      if (o.seg !== undefined) b.prefixes.push(o.seg);
      else b.segOverride(readOnly);
      if (o.a16) {
        b.prefixes.push(P_ADSIZE);
        b.adsize = 16;
        rest.push(...b.modrmMem16(regField, o.avoidRm));
      } else {
        const content = o.memContent ? o.memContent(esize) : undefined;
        const ea = o.ea ?? o.memEa;
        rest.push(...b.mem(regField, esize, { ea, content, espDelta: o.espDelta, avoid: o.avoidRm }));
        res.memAddr = b.memAddr;
      }
      if (o.lock && rng.chance(0.25)) b.prefixes.push(P_LOCK);
    }
    if (g) b.setPart(regField, width(g.size, osz), regVal(width(g.size, osz)));
  }
  // Implicit register operands (AL, eAX, ...) get values too, unless fixed.
  for (const op of ops) if (op.kind === 'reg') b.setPart(op.reg, width(op.size, osz), regVal(width(op.size, osz)));
  // Immediates and moffs.
  let k = 0;
  for (const op of ops) {
    if (op.kind === 'I') {
      const n = op.size === 'b' || op.size === 'bs' ? 1 : op.size === 'w' ? 2 : op.size === 'v' ? osz >> 3 : osz === 16 ? 2 : 4;
      const v = o.imm ? o.imm(k, n) : rng.value(n * 8);
      res.imms.push(v);
      rest.push(...le(v, n));
      k++;
    } else if (op.kind === 'O') {
      const size = width(op.size, osz);
      if (o.seg !== undefined) b.prefixes.push(o.seg);
      else b.segOverride(!memIsWritten(row));
      if (o.a16) {
        b.prefixes.push(P_ADSIZE);
        b.adsize = 16;
        rest.push(...le(rng.u32(), 2));
      } else {
        const ea = o.ea ?? b.win.alloc(size, rng.chance(0.8) ? size : 1);
        if (o.ea === undefined) b.win.put(ea, rng.bytes(size));
        res.memAddr = ea;
        res.isMem = true;
        res.memSize = size;
        rest.push(...le(ea, 4));
      }
    }
  }
  return { rest, r: res };
}

// ---- value pickers -----------------------------------------------------------------------------------

function shiftCount(rng: Rng): number {
  return rng.chance(0.7) ? rng.pick([0, 1, 1, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 0xff]) : rng.int(256);
}

/** Flags the SDM leaves undefined for a shift or rotate of `bits` bits by `count`. */
function shiftUndefined(sem: string, count: number, bits: number): number {
  const c = count & 0x1f;
  if (c === 0) return 0;
  let u = c !== 1 ? OF : 0;
  if ((sem === 'shl' || sem === 'shr') && c >= bits) u |= CF;
  if (sem === 'shl' || sem === 'shr' || sem === 'sar') u |= AF;
  return u;
}

// ---- handlers per semantics family --------------------------------------------------------------------

type Handler = (b: Builder, fault: boolean) => Item;

function std(b: Builder, o: StdOpts = {}, note = ''): Item {
  const { rest } = encodeStd(b, { lock: b.row.lock, ...o });
  return b.plain(rest, note);
}

/** Shifts and rotates: C0/C1 (Ib), D0/D1 (1), D2/D3 (CL). */
const shiftHandler: Handler = (b) => {
  const row = b.row;
  const src = row.operands[1]!;
  let count = 1;
  if (src.kind === 'reg') {
    count = shiftCount(b.rng);
    b.set(ECX, (b.rng.u32() & ~0xff) | count);
  }
  const { rest } = encodeStd(b, {
    imm: () => (count = shiftCount(b.rng)),
    avoidRm: src.kind === 'reg' ? [ECX] : [],
  });
  const bits = width(row.operands[0]!.size, b.opsize) * 8;
  b.undef |= shiftUndefined(row.sem, count, bits);
  return b.plain(rest, `count ${count}`);
};

/** SHLD/SHRD: Ib or CL; counts above the operand width leave everything undefined. */
const shxdHandler: Handler = (b) => {
  const row = b.row;
  const byCl = row.operands[2]!.kind === 'reg';
  let count = 0;
  if (byCl) {
    count = shiftCount(b.rng);
    b.set(ECX, (b.rng.u32() & ~0xff) | count);
  }
  const { rest, r } = encodeStd(b, { imm: () => (count = shiftCount(b.rng)), avoidRm: byCl ? [ECX] : [], avoidReg: byCl ? [ECX] : [] });
  const bits = b.opsize;
  const c = count & 0x1f;
  if (c !== 0) {
    if (c !== 1) b.undef |= OF;
    if (c > bits) {
      b.undef |= ARITH;
      if (r.isMem) b.memUndefined.push([r.memAddr, bits >> 3]);
      else b.regMask[r.rm] = bits === 16 ? ~0xffff : 0;
    }
  }
  return b.plain(rest, `count ${count}`);
};

/** MUL/IMUL/DIV/IDIV with one operand: EAX/EDX implicit. */
const muldivHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  const div = row.sem === 'div' || row.sem === 'idiv';
  if (!div) return std(b, {}, '');
  b.pickOpsize();
  const size = width(row.operands[0]!.size, b.opsize);
  const bits = size * 8;
  const signed = row.sem === 'idiv';
  // Choose divisor, quotient and remainder; dividend = q*d + r.
  const B = BigInt(bits);
  let d: bigint, n: bigint;
  const wrap = (x: bigint, w: bigint) => BigInt.asUintN(Number(w), x);
  const kind = fault ? rng.pick(['zero', 'overflow', 'overflow']) : 'ok';
  if (kind === 'zero') {
    d = 0n;
    n = BigInt(rng.u32()) | (BigInt(rng.u32()) << 32n);
  } else if (kind === 'overflow') {
    d = BigInt(rng.value(bits)) || 1n;
    const q = signed ? (1n << (B - 1n)) + BigInt(rng.int(1000)) : (1n << B) + BigInt(rng.int(1000));
    const ds = signed ? BigInt.asIntN(bits, d) : d;
    n = q * ds * (rng.chance(0.5) && signed ? -1n : 1n);
  } else {
    d = BigInt(rng.value(bits)) || 1n;
    const ds = signed ? BigInt.asIntN(bits, d) : d;
    const qmax = signed ? (1n << (B - 1n)) - 1n : (1n << B) - 1n;
    const qmin = signed ? -(1n << (B - 1n)) : 0n;
    let q: bigint;
    const pickR = rng.int(4);
    if (pickR === 0) q = qmax;
    else if (pickR === 1) q = qmin;
    else q = signed ? BigInt.asIntN(bits, BigInt(rng.value(bits))) : BigInt(rng.value(bits));
    if (q > qmax) q = qmax;
    if (q < qmin) q = qmin;
    const absd = ds < 0n ? -ds : ds;
    let rem = absd > 1n ? BigInt(rng.u32()) % absd : 0n;
    // The remainder has the dividend's sign; keep |n| consistent with q.
    n = q * ds;
    if (signed) {
      const neg = n < 0n || (n === 0n && rng.chance(0.5));
      rem = neg ? -rem : rem;
      // q = trunc((q*d + r) / d) holds when r has the sign of q*d (or q*d = 0).
      if (n !== 0n && (rem < 0n) !== (n < 0n)) rem = -rem;
    }
    n += rem;
  }
  const dividendBits = 2n * B;
  const nn = wrap(n, dividendBits);
  if (size === 1) {
    b.set(EAX, (rng.u32() & 0xffff0000) | Number(nn & 0xffffn));
  } else if (size === 2) {
    b.set(EAX, (rng.u32() & 0xffff0000) | Number(nn & 0xffffn));
    b.set(EDX, (rng.u32() & 0xffff0000) | Number((nn >> 16n) & 0xffffn));
  } else {
    b.set(EAX, Number(nn & 0xffffffffn));
    b.set(EDX, Number((nn >> 32n) & 0xffffffffn));
  }
  const dv = Number(wrap(d, B));
  const avoid = size === 1 ? [EAX] : [EAX, EDX, ESP]; // the dividend, and the stack pointer (fixed)
  const { rest } = encodeStd(b, {
    p66: 0,
    avoidRm: avoid,
    regValue: () => dv,
    memContent: (s) => bytesOf(dv, s),
  });
  b.fault = fault;
  return b.plain(rest, kind === 'ok' ? '' : `#DE ${kind}`);
};

/** BT/BTS/BTR/BTC: register bit offsets reach memory around the operand. */
const btHandler: Handler = (b) => {
  const { row, rng } = b;
  if (row.operands[1]!.kind === 'I') return std(b, { imm: () => (rng.chance(0.7) ? rng.int(64) : rng.int(256)) });
  b.pickOpsize();
  const osz = b.opsize;
  const isMem = rng.chance(0.5);
  if (!isMem) return std(b, { mod: 'reg', p66: 0 });
  // Bit offset in [-span, span) bits; the operand region covers every byte it can reach.
  const span = 256;
  const off = rng.int(2 * span) - span;
  const region = b.win.alloc(2 * (span >> 3) + 8, 4);
  b.win.put(region, rng.bytes(2 * (span >> 3) + 8));
  const ea = region + (span >> 3) + rng.int(4);
  const gcands = [0, 1, 2, 3, 5, 6, 7];
  const g = rng.pick(gcands);
  b.set(g, osz === 16 ? (rng.u32() & 0xffff0000) | (off & 0xffff) : off);
  const { rest } = encodeStd(b, { mod: 'mem', p66: 0, regField: g, memEa: ea, regValue: (s) => rng.value(s * 8) });
  return b.plain(rest, `bit offset ${off}`);
};

/** CMPXCHG: the accumulator equals the destination half of the time. */
const cmpxchgHandler: Handler = (b) => {
  const { row, rng } = b;
  const size0 = row.operands[0]!.size;
  const same = rng.chance(0.5);
  const v = rng.u32();
  const { rest, r } = encodeStd(b, {
    lock: true,
    avoidRm: [EAX],
    regValue: (s) => rng.value(s * 8),
    memContent: (s) => bytesOf(same ? v : rng.u32(), s),
  });
  const size = width(size0, b.opsize);
  const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
  let dest: number;
  if (r.isMem) dest = v & mask;
  else dest = b.getPart(r.rm, size);
  if (same && !b.isFixed(EAX)) {
    b.regs[EAX] = ((b.regs[EAX]! & ~mask) | dest) >>> 0;
  }
  return b.plain(rest, same ? 'equal' : '');
};

const cmpxchg8bHandler: Handler = (b, fault) => {
  const { rng } = b;
  if (fault && rng.chance(0.5)) {
    b.fault = true;
    return b.plain([0x0f, 0xc7, 0xc8 | rng.int(8)], '#UD register form');
  }
  const lo = rng.u32(), hi = rng.u32();
  const same = rng.chance(0.5);
  b.set(EAX, same ? lo : rng.u32());
  b.set(EDX, same ? hi : rng.u32());
  b.set(EBX, rng.u32());
  b.set(ECX, rng.u32());
  const content = new Uint8Array([...le(lo, 4), ...le(hi, 4)]);
  if (rng.chance(0.2)) b.prefixes.push(P_OPSIZE);
  b.segOverride(false);
  const modrm = b.mem(1, 8, { content, align: rng.chance(0.8) ? 8 : 1 });
  if (rng.chance(0.25)) b.prefixes.push(P_LOCK);
  return b.plain([0x0f, 0xc7, ...modrm], same ? 'equal' : '');
};

const bsfHandler: Handler = (b) => {
  const { rng } = b;
  const zero = rng.chance(0.25);
  return std(b, {
    regValue: (s) => (zero ? 0 : rng.value(s * 8)),
    memContent: (s) => (zero ? new Uint8Array(s) : bytesOf(rng.value(s * 8), s)),
  }, zero ? 'zero source' : '');
};

const bswapHandler: Handler = (b) => {
  const { rest, r } = encodeStd(b, { p66: 0.15 });
  if (b.opsize === 16) b.regMask[r.rm] = ~0xffff; // BSWAP r16: undefined result
  return b.plain(rest);
};

/** LEA: any addressing form, 32- or 16-bit (no memory access). */
const leaHandler: Handler = (b, fault) => {
  const { rng } = b;
  if (fault && rng.chance(0.5)) {
    b.fault = true;
    b.pickOpsize();
    return b.plain([0x8d, 0xc0 | (rng.int(8) << 3) | rng.int(8)], '#UD register form');
  }
  b.pickOpsize();
  const g = rng.int(8);
  let modrm: number[];
  if (rng.chance(0.3)) {
    b.prefixes.push(P_ADSIZE);
    modrm = b.modrmMem16(g);
  } else {
    modrm = b.modrmMem32(g, rng.chance(0.7) ? DATA_BASE + rng.int(DATA_SIZE) : rng.u32());
  }
  if (rng.chance(0.2)) b.prefixes.push(rng.pick([P_DS, P_ES, P_SS, P_CS, P_FS, P_GS]));
  return b.plain([0x8d, ...modrm]);
};

/** Hint NOPs (0F 18-1F Ev): memory forms compute an address and access nothing. */
const nopHandler: Handler = (b) => {
  const { row, rng } = b;
  if (!row.hasModrm) return b.plain(row.prefix ? [row.prefix, row.opcode] : [row.opcode]);
  b.pickOpsize();
  const reg = row.modrmReg >= 0 ? row.modrmReg : rng.int(8);
  let modrm: number[];
  if (row.mod === 'reg' || (row.mod === 'any' && rng.chance(0.3))) modrm = [0xc0 | (reg << 3) | rng.int(8)];
  else if (rng.chance(0.2)) {
    b.prefixes.push(P_ADSIZE);
    modrm = b.modrmMem16(reg);
  } else modrm = b.modrmMem32(reg, rng.chance(0.8) ? DATA_BASE + rng.int(DATA_SIZE) : UNMAPPED_ABOVE + rng.int(0x10000));
  if (rng.chance(0.15)) b.prefixes.push(rng.pick([P_DS, P_ES, P_SS, P_CS]));
  return b.plain([0x0f, row.opcode, ...modrm]);
};

/** BOUND: the index inside or (fault variant) outside the bounds. */
const boundHandler: Handler = (b, fault) => {
  const { rng } = b;
  if (fault && rng.chance(0.3)) {
    b.fault = true;
    b.pickOpsize();
    return b.plain([0x62, 0xc0 | (rng.int(8) << 3) | rng.int(8)], '#UD register form');
  }
  b.pickOpsize();
  const size = b.opsize >> 3;
  const bits = size * 8;
  const sx = (v: number) => (bits === 16 ? (v << 16) >> 16 : v | 0);
  let lo = sx(rng.value(bits)), hi = sx(rng.value(bits));
  if (lo > hi && rng.chance(0.7)) [lo, hi] = [hi, lo];
  let idx: number;
  if (fault) idx = rng.chance(0.5) ? lo - 1 - rng.int(4) : hi + 1 + rng.int(4);
  else if (lo <= hi) idx = rng.pick([lo, hi, lo + Math.floor((hi - lo) / 2)]);
  else idx = lo; // empty range: only equal to neither... keep it the fault case's
  if (!fault && lo > hi) { hi = lo; }
  const content = new Uint8Array([...le(lo, size), ...le(hi, size)]);
  const g = rng.pick([0, 1, 2, 3, 5, 6, 7]);
  b.set(g, size === 2 ? (rng.u32() & 0xffff0000) | (idx & 0xffff) : idx);
  b.segOverride(true);
  const modrm = b.mem(g, 2 * size, { content, align: rng.chance(0.8) ? size : 1 });
  b.fault = fault;
  return b.plain([0x62, ...modrm], fault ? '#BR' : '');
};

/** AAM/AAD: any base; AAM 0 is #DE (fault variant). */
const aamHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  b.pickOpsize(0.1);
  b.setPart(EAX, 2, rng.value(16));
  let imm = rng.chance(0.5) ? 10 : rng.int(256);
  if (row.sem === 'aam' && imm === 0) imm = 10;
  if (fault && row.sem === 'aam') {
    imm = 0;
    b.fault = true;
  }
  return b.plain([row.opcode, imm], `base ${imm}`);
};

/** DAA DAS AAA AAS: AL/AH near the decimal boundaries and any AF/CF. */
const bcdHandler: Handler = (b) => {
  const { row, rng } = b;
  b.pickOpsize(0.1);
  const al = rng.chance(0.6) ? rng.pick([0x09, 0x0a, 0x0f, 0x10, 0x19, 0x1a, 0x99, 0x9a, 0x9f, 0xa0, 0xf9, 0xfa, 0xff, 0x00, 0x66]) : rng.int(256);
  b.setPart(EAX, 1, al);
  b.setPart(4, 1, rng.value(8));
  return b.plain([row.opcode]);
};

/** Rows without operands (flag ops, CBW/CWD, SAHF/LAHF, SALC, PAUSE): registers and flags random. */
const noOperandHandler: Handler = (b) => {
  const { row, rng } = b;
  b.pickOpsize(row.mnemonic16 !== row.mnemonic32 ? 0.4 : 0.15);
  if (row.sem === 'sahf' || row.sem === 'cbw' || row.sem === 'cwd' || row.sem === 'salc') b.setPart(EAX, 2, rng.value(16));
  const rest = row.prefix ? [row.prefix, row.opcode] : row.map ? [0x0f, row.opcode] : [row.opcode];
  return b.plain(rest);
};

/** XLAT: table at EBX, index AL. */
const xlatHandler: Handler = (b) => {
  const { rng } = b;
  const table = b.win.alloc(256, 1, 0.1);
  b.win.put(table, rng.bytes(256));
  b.set(EBX, table);
  b.setPart(EAX, 1, rng.value(8));
  b.fixed |= 1 << EAX;
  b.pickOpsize(0.1);
  b.segOverride(true);
  return b.plain([0xd7]);
};

// ---- stack -----------------------------------------------------------------------------------------------

const pushPopHandler: Handler = (b) => {
  const { row, rng } = b;
  const pop = row.sem === 'pop';
  b.pickOpsize();
  const size = b.opsize >> 3;
  b.stack(64, 64);
  if (row.opcode === 0x8f || row.opcode === 0xff) {
    // POP Ev / PUSH Ev: ESP-relative memory operands included.
    const isMem = rng.chance(0.6);
    const regField = row.modrmReg;
    if (!isMem) {
      const rm = rng.int(8);
      if (!pop && rm !== ESP) b.setPart(rm, size, rng.value(size * 8));
      return b.plain([row.opcode, 0xc0 | (regField << 3) | rm]);
    }
    b.segOverride(!pop);
    const useEsp = rng.chance(0.4);
    let modrm: number[];
    if (useEsp) {
      // [esp + disp8] with SIB, address inside the item's stack region.
      const disp = rng.int(17) * (rng.chance(0.5) ? 4 : 1) - 16;
      const ea = (b.regs[ESP]! + (pop ? size : 0) + disp) >>> 0;
      modrm = [0x44 | (regField << 3), 0x24, disp & 0xff];
      if (!pop) b.win.put(ea, rng.bytes(size));
      b.memAddr = ea;
    } else {
      modrm = b.mem(regField, size, { espDelta: pop ? size : 0 });
    }
    return b.plain([row.opcode, ...modrm], useEsp ? 'esp-relative' : '');
  }
  if (row.opcode === 0x68 || row.opcode === 0x6a) {
    const n = row.opcode === 0x6a ? 1 : size;
    return b.plain([row.opcode, ...le(rng.value(n * 8), n)]);
  }
  // 50+r / 58+r
  const r = rng.int(8);
  if (r !== ESP) b.setPart(r, size, rng.value(size * 8));
  return b.plain([row.opcode + r]);
};

const pushaHandler: Handler = (b) => {
  b.pickOpsize(0.4);
  b.stack(64, 64);
  return b.plain([b.row.opcode]);
};

const pushfHandler: Handler = (b) => {
  const { row, rng } = b;
  b.pickOpsize(0.3);
  const size = b.opsize >> 3;
  b.stack(32, 32);
  if (row.sem === 'popf') {
    // Random flags without TF (see the header); AC, NT, ID and the reserved bits come and go.
    let v = rng.u32() & ~TF;
    if (rng.chance(0.5)) v &= ~AC;
    b.win.put(b.regs[ESP]!, bytesOf(v, size));
  }
  return b.plain([row.opcode]);
};

/**
 * ENTER Iw,Ib: frame size and nesting level (mod 32). Levels above 1 copy
 * frame pointers from [EBP-4], [EBP-8], ... (2-byte steps with 66). Only the
 * pushes touch memory; the frame itself is just subtracted from ESP.
 */
const enterHandler: Handler = (b, fault) => {
  const { rng } = b;
  b.pickOpsize(0.3);
  const level = rng.chance(0.5) ? rng.int(3) : rng.chance(0.5) ? rng.int(32) : rng.int(256);
  const esp = b.stack(4 * 34 + 8, 16, 0.05);
  const ebpRegion = b.win.alloc(4 * 34, 4);
  b.win.put(ebpRegion, rng.bytes(4 * 34));
  b.set(EBP, ebpRegion + 4 * 33 + (rng.chance(0.1) ? 2 : 0));
  // The final ESP must stay in the window (ENTER probes a write there), unless this is the fault variant.
  const room = esp - DATA_BASE - 4 * 34;
  let frame = rng.chance(0.6) ? rng.int(64) : rng.pick([0, room, rng.int(room + 1), room - 1]);
  if (fault) frame = rng.chance(0.5) ? 0xffff : Math.min(0xffff, room + 4 * 34 + 1 + rng.int(64));
  b.fault = fault;
  return b.plain([0xc8, ...le(frame, 2), level], `frame ${frame} level ${level & 31}`);
};

const leaveHandler: Handler = (b) => {
  const { rng } = b;
  b.pickOpsize(0.3);
  const region = b.win.alloc(64, 4);
  b.win.put(region, rng.bytes(64));
  b.set(EBP, region + 16 + 4 * rng.int(8));
  b.stack(16, 16);
  return b.plain([0xc9]);
};

// ---- control transfers --------------------------------------------------------------------------------------

/** The "taken" marker: NOT ESI (flags untouched). */
const MARK = [0xf7, 0xd6];

/**
 * Conditional branches (Jcc, LOOPcc, JCXZ) forward or backward. The fall-through
 * path skips the marker; the taken path runs it.
 */
const condHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  const isLoop = row.sem === 'loop' || row.sem === 'jcxz';
  if (isLoop) {
    if (rng.chance(0.3)) {
      b.prefixes.push(P_ADSIZE);
      b.adsize = 16;
    }
    const c = rng.chance(0.5) ? rng.pick([0, 1, 2, 0xffff, 0x10000, 0x10001, 0xffffffff]) : rng.u32();
    b.set(ECX, c);
  }
  // Fault variant: 66 makes the target EIP 16 bits wide (rel16 for 0F 8x); taken, it lands in low memory.
  const o16 = fault;
  if (o16) {
    b.prefixes.push(P_OPSIZE);
    b.fault = true;
  }
  const rel16 = row.map === 1 && o16;
  const pre = b.prefixBytes(2);
  const opc = row.map === 1 ? [0x0f, row.opcode] : [row.opcode];
  const backward = !o16 && !b.simpleLayout && rng.chance(0.35);
  const fwd = newLabel('F'), back = newLabel('B'), done = newLabel('D');
  const relRandom = rng.u32();
  return b.finish((a) => {
    if (o16) {
      a.emit(...pre, ...opc);
      if (rel16) a.u16(relRandom);
      else a.emit(relRandom & 0xff);
      a.emit(...MARK);
      return;
    }
    const rel = (l: string) => (row.map === 1 ? a.rel32(l) : a.rel8(l));
    if (!backward) {
      a.emit(...pre, ...opc);
      rel(done);
      a.emit(...MARK);
      a.label(done);
    } else {
      a.emit(0xeb);
      a.rel8(fwd);
      a.label(back);
      a.emit(...MARK, 0xeb);
      a.rel8(done);
      a.label(fwd);
      a.emit(...pre, ...opc);
      rel(back);
      a.label(done);
    }
  }, `${backward ? 'backward' : o16 ? 'o16 target' : 'forward'}${isLoop ? ` ecx ${b.regs[ECX]!.toString(16)}` : ''}`);
};

/** JMP Jb/Jz/Ev and CALL Jz/Ev. */
const jmpCallHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  b.stack(32, 32);
  // Fault variant: 16-bit operand size truncates the target to 16 bits and the fetch faults.
  const o16 = fault;
  if (o16) {
    b.prefixes.push(P_OPSIZE);
    b.fault = true;
  }
  const target = newLabel('T');
  const opBytes = [row.opcode];
  let rest: number[] = [];
  if (row.opcode === 0xff) {
    // Indirect: through a register or memory holding the target's address.
    if (rng.chance(0.5)) {
      b.segOverride(true);
      const size = o16 ? 2 : 4;
      const ea = b.win.alloc(size, rng.chance(0.8) ? size : 1);
      b.win.put(ea, rng.bytes(size));
      rest = b.modrmMem32(row.modrmReg, ea);
      if (!o16) b.dataFixups.push({ addr: ea, label: target });
    } else {
      const r = rng.pick([EAX, ECX, EDX, EBX, EBP, ESI, EDI]);
      rest = [0xc0 | (row.modrmReg << 3) | r];
      if (o16) b.set(r, rng.u32());
      else {
        b.fixed |= 1 << r;
        b.regLabels.set(r, target);
      }
    }
  }
  const pre = b.prefixBytes(opBytes.length + rest.length + 4);
  const backward = !o16 && !b.simpleLayout && row.opcode !== 0xff && rng.chance(0.3);
  const fwd = newLabel('F'), done = newLabel('D');
  const relRandom = rng.u32();
  return b.finish((a) => {
    const emitBranch = () => {
      a.emit(...pre, ...opBytes, ...rest);
      if (row.opcode === 0xeb) a.rel8(target);
      else if (row.opcode !== 0xff) {
        if (o16) a.u16(relRandom);
        else a.rel32(target);
      }
    };
    if (!backward) {
      emitBranch();
      a.emit(...MARK);
      a.label(target);
    } else {
      a.emit(0xeb);
      a.rel8(fwd);
      a.label(target);
      a.emit(...MARK, 0xeb);
      a.rel8(done);
      a.label(fwd);
      emitBranch();
      a.label(done);
    }
  }, `${row.opcode === 0xff ? 'indirect' : backward ? 'backward' : 'forward'}${o16 ? ' o16' : ''}`);
};

/** RET / RET Iw: the return address is on the item's stack. */
const retHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  const imm = row.opcode === 0xc2 ? (rng.chance(0.7) ? rng.int(40) : rng.int(0x10000)) : -1;
  const esp = b.stack(16, 48);
  if (fault) {
    // 16-bit operand size: pops a 16-bit EIP (low memory).
    b.prefixes.push(P_OPSIZE);
    b.fault = true;
  }
  const target = newLabel('R');
  if (!b.fault) b.dataFixups.push({ addr: esp, label: target });
  const pre = b.prefixBytes(3);
  return b.finish((a) => {
    a.emit(...pre, row.opcode);
    if (imm >= 0) a.u16(imm);
    a.emit(...MARK);
    a.label(target);
  }, imm >= 0 ? `imm ${imm}` : '');
};

// ---- strings ----------------------------------------------------------------------------------------------------

const stringHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  const sem = row.sem;
  b.pickOpsize();
  const elem = row.opcode & 1 ? b.opsize >> 3 : 1;
  const rep = rng.int(10) < 6 ? (rng.chance(0.5) ? 0xf3 : 0xf2) : 0;
  if (rep) b.prefixes.push(rep);
  const down = (b.flags & DF) !== 0;
  const usesSrc = sem === 'movs' || sem === 'cmps' || sem === 'lods';
  const usesDst = sem !== 'lods';
  let count = rep ? (rng.chance(0.15) ? 0 : rng.chance(0.7) ? rng.int(24) : rng.int(80)) : 1;
  let note = rep ? `${rep === 0xf3 ? 'rep' : 'repne'} count ${count}` : '';
  const faultKind = fault ? rng.pick(['runoff', 'a16', 'srcnull', 'a16zero']) : '';
  if (faultKind === 'a16' || faultKind === 'a16zero') {
    // 16-bit addressing: SI/DI/CX; any access faults (low memory).
    b.prefixes.push(P_ADSIZE);
    b.adsize = 16;
    if (faultKind === 'a16zero' && rep) count = 0;
    b.set(ECX, (rng.u32() & 0xffff0000) | count);
    b.set(ESI, rng.u32());
    b.set(EDI, rng.u32());
    b.fault = true;
    return b.plain([row.opcode], `a16 ${note}`);
  }
  const span = Math.max(count, 1) * elem;
  const region = (n: number) => {
    const at = b.win.alloc(n + 16, 4, 0.1);
    b.win.put(at, rng.bytes(n + 16));
    return at + 8;
  };
  let src = 0, dst = 0;
  if (faultKind === 'runoff') {
    // Run off the window: the last elements fall in an unmapped page.
    count = rng.range(2, 24);
    const runBytes = count * elem;
    const k = rng.int(runBytes);
    const near = down ? DATA_BASE + k : DATA_BASE + DATA_SIZE - runBytes + k;
    const other = region(runBytes);
    const first = down ? near + runBytes - elem : near;
    const otherFirst = down ? other + runBytes - elem : other;
    if (rng.chance(0.5) && usesSrc) { src = first; dst = otherFirst; } else { dst = first; src = otherFirst; }
    if (!usesDst) src = first;
    if (!usesSrc) dst = first;
    // The edge bytes inside the window hold random data.
    const lo = Math.max(DATA_BASE + ALLOC_END, near), hi = Math.min(DATA_BASE + DATA_SIZE, near + runBytes);
    if (hi > lo) b.win.put(lo, rng.bytes(hi - lo));
    if (!rep) { b.prefixes.push(0xf3); }
    b.fault = true;
    note = `runoff count ${count}`;
  } else {
    const s = region(span);
    const d = rng.chance(0.15) && sem === 'movs' ? s + rng.int(9) - 4 : region(span);
    src = down ? s + span - elem : s;
    dst = down ? d + span - elem : d;
    if ((sem === 'cmps' || sem === 'scas') && rng.chance(0.6)) {
      // Equal runs up to a random point, so that REPE/REPNE stop in the middle.
      const data = rng.bytes(span);
      const stop = rng.int(span + 1);
      const other = data.slice();
      if (stop < span) other[stop] ^= 1 << rng.int(8);
      const sLo = Math.min(src, src - (down ? span - elem : 0));
      const dLo = Math.min(dst, dst - (down ? span - elem : 0));
      if (sem === 'cmps') {
        b.win.put(sLo, data);
        b.win.put(dLo, other);
      } else {
        // SCAS compares with the accumulator: fill with its value, except at `stop`.
        const acc = rng.value(elem * 8);
        const fill = new Uint8Array(span);
        for (let i = 0; i < span; i += elem) fill.set(bytesOf(rep === 0xf2 && rng.chance(0.8) ? acc ^ 1 : acc, elem), i);
        if (stop < span) fill[stop] ^= 0x10;
        b.win.put(dLo, fill);
        b.setPart(EAX, elem, acc);
        b.fixed |= 1 << EAX;
      }
      note += ` differ at ${stop}`;
    }
  }
  if (usesSrc) {
    const ov = rng.int(100);
    if (faultKind === 'srcnull') {
      b.prefixes.push(P_FS);
      b.fault = true;
      note += ' fs:null';
    } else if (ov < 25) b.prefixes.push(rng.pick([P_DS, P_ES, P_SS, P_CS]));
  } else if (faultKind === 'srcnull') {
    b.prefixes.push(P_CS); // ES:EDI cannot be overridden; CS on a destination-only string does nothing
    b.fault = true;
  }
  b.set(ECX, rep ? count : rng.u32());
  b.set(ESI, usesSrc ? src : rng.u32());
  b.set(EDI, usesDst ? dst : rng.u32());
  return b.plain([row.opcode], note);
};

// ---- segments ---------------------------------------------------------------------------------------------------

/** Selectors that load at CPL 3 (as LAR/LSL found them) and some that fault. */
const GOOD_SELECTORS = [0, 1, 2, 3, 0x2b, 0x28, 0x29, 0x2a, 0x23, 0x20, 0x7b, 0x33];
const BAD_SELECTORS = [0x08, 0x10, 0x18, 0x1b, 0x43, 0x4b, 0x83, 0xfffb, 0x2f, 0x2c, 0x3b, 0x53];

function selector(b: Builder, seg: number, fault: boolean): number {
  const { rng } = b;
  if (seg === 2) return fault ? rng.pick([0, 3, 0x23, 0x7b, 0x33, ...BAD_SELECTORS]) : 0x2b;
  return fault ? rng.pick(BAD_SELECTORS) : rng.pick(GOOD_SELECTORS);
}

const pushSegHandler: Handler = (b) => {
  b.pickOpsize(0.4);
  b.stack(32, 32);
  const rest = b.row.map ? [0x0f, b.row.opcode] : [b.row.opcode];
  return b.plain(rest);
};

const popSegHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  b.pickOpsize(0.3);
  const size = b.opsize >> 3;
  const esp = b.stack(32, 32);
  const seg = row.operands[0]!.reg;
  const sel = selector(b, seg, fault);
  b.win.put(esp, bytesOf((rng.u32() & 0xffff0000) | sel, size));
  b.segs = true;
  b.fault = fault;
  return b.plain(row.map ? [0x0f, row.opcode] : [row.opcode], `selector ${sel.toString(16)}`);
};

const movToSegHandler: Handler = (b, fault) => {
  const { rng } = b;
  let seg = rng.pick([0, 2, 3, 4, 5]);
  let note = '';
  if (fault && rng.chance(0.3)) {
    seg = rng.pick([1, 6, 7]);
    note = '#UD';
  }
  const sel = selector(b, seg, fault && !note);
  b.segs = true;
  b.fault = fault;
  const { rest } = encodeStd(b, { regField: seg, p66: 0.2, regValue: () => (rng.u32() & 0xffff0000) | sel, memContent: () => bytesOf(sel, 2) });
  return b.plain(rest, `${note} selector ${sel.toString(16)}`);
};

const movFromSegHandler: Handler = (b, fault) => {
  const { rng } = b;
  let seg = rng.int(6);
  if (fault) seg = rng.pick([6, 7]);
  b.fault = fault;
  const { rest } = encodeStd(b, { regField: seg, p66: 0.35 });
  return b.plain(rest);
};

const farPtrHandler: Handler = (b, fault) => {
  const { row, rng } = b;
  const seg = row.map === 0 ? (row.opcode === 0xc4 ? 0 : 3) : row.opcode === 0xb2 ? 2 : row.opcode === 0xb4 ? 4 : 5;
  const opc = row.map ? [0x0f, row.opcode] : [row.opcode];
  b.segs = true;
  if (fault && rng.chance(0.3)) {
    b.fault = true;
    b.pickOpsize();
    return b.plain([...opc, 0xc0 | (rng.int(8) << 3) | rng.int(8)], '#UD register form');
  }
  b.pickOpsize();
  const size = b.opsize >> 3;
  const sel = selector(b, seg, fault);
  const off = seg === 2 ? rng.u32() : rng.value(size * 8);
  const content = new Uint8Array([...le(off, size), ...le(sel, 2)]);
  b.segOverride(true);
  const g = rng.int(8);
  const modrm = b.mem(g, size + 2, { content });
  b.fault = fault;
  return b.plain([...opc, ...modrm], `selector ${sel.toString(16)}`);
};

// ---- the dispatch -----------------------------------------------------------------------------------------------------

const HANDLERS: Record<string, Handler> = {
  rol: shiftHandler, ror: shiftHandler, rcl: shiftHandler, rcr: shiftHandler, shl: shiftHandler, shr: shiftHandler, sar: shiftHandler,
  shld: shxdHandler, shrd: shxdHandler,
  mul: muldivHandler, imul1: muldivHandler, div: muldivHandler, idiv: muldivHandler,
  bt: btHandler, bts: btHandler, btr: btHandler, btc: btHandler,
  cmpxchg: cmpxchgHandler, cmpxchg8b: cmpxchg8bHandler,
  bsf: bsfHandler, bsr: bsfHandler, bswap: bswapHandler,
  lea: leaHandler, nop: nopHandler, bound: boundHandler,
  aam: aamHandler, aad: aamHandler, daa: bcdHandler, das: bcdHandler, aaa: bcdHandler, aas: bcdHandler,
  cbw: noOperandHandler, cwd: noOperandHandler, cmc: noOperandHandler, clc: noOperandHandler, stc: noOperandHandler,
  cld: noOperandHandler, std: noOperandHandler, sahf: noOperandHandler, lahf: noOperandHandler, salc: noOperandHandler,
  xlat: xlatHandler,
  push: pushPopHandler, pop: pushPopHandler, pusha: pushaHandler, popa: pushaHandler, pushf: pushfHandler, popf: pushfHandler,
  enter: enterHandler, leave: leaveHandler,
  jcc: condHandler, loop: condHandler, jcxz: condHandler, jmp: jmpCallHandler, call: jmpCallHandler, ret: retHandler,
  movs: stringHandler, cmps: stringHandler, stos: stringHandler, lods: stringHandler, scas: stringHandler,
  push_seg: pushSegHandler, pop_seg: popSegHandler, mov_to_seg: movToSegHandler, mov_from_seg: movFromSegHandler,
  load_far_ptr: farPtrHandler,
};

/** Rows whose handlers set up ESP themselves. */
const STACK_SEMS = new Set(['push', 'pop', 'pusha', 'popa', 'pushf', 'popf', 'enter', 'leave', 'jmp', 'call', 'ret', 'push_seg', 'pop_seg']);

/** Rows with their own fault variants (the others get the generic ones). */
const OWN_FAULTS = new Set(['div', 'idiv', 'cmpxchg8b', 'lea', 'bound', 'aam', 'enter', 'jcc', 'loop', 'jcxz', 'jmp', 'call', 'ret',
  'movs', 'cmps', 'stos', 'lods', 'scas', 'pop_seg', 'mov_to_seg', 'mov_from_seg', 'load_far_ptr']);

/** Whether the row has a ModRM memory form (or moffs) that accesses memory. */
function accessesMemory(row: Row): boolean {
  if (row.sem === 'lea' || row.sem === 'nop') return false;
  if (row.operands.some((o) => o.kind === 'O')) return true;
  return row.hasModrm && row.mod !== 'reg' && row.modrmByte < 0 && row.operands.some((o) => o.kind === 'E' || o.kind === 'M');
}

/**
 * A generic fault variant: LOCK where it is illegal (#UD), more than 15 bytes
 * (#GP), or a memory operand that is not there: unmapped (#PF), straddling the
 * window's edge (#PF), through the null FS (#GP), written through CS (#GP),
 * 16-bit addressing (#PF), misaligned with EFLAGS.AC (#AC).
 */
function genericFault(b: Builder, handler: Handler): Item {
  const { row, rng } = b;
  b.simpleLayout = true;
  const kinds: string[] = ['lock', 'long'];
  const btReg = row.sem.startsWith('bt') && row.operands[1]?.kind === 'G';
  const mem = accessesMemory(row) && !btReg && !STACK_SEMS.has(row.sem) && row.sem !== 'xlat';
  if (mem) kinds.push('pf', 'pf', 'edge', 'fsnull', 'a16', 'ac', ...(memIsWritten(row) ? ['cswrite'] : []));
  if (['push', 'pusha', 'pushf', 'push_seg', 'enter', 'call'].includes(row.sem)) kinds.push('stack', 'stack');
  if (['pop', 'popa', 'popf', 'ret'].includes(row.sem)) kinds.push('stackpop');
  const kind = rng.pick(kinds);
  b.fault = true;
  switch (kind) {
    case 'lock': {
      // LOCK on a row that does not allow it, or on a register form.
      const item = handler(b, false);
      b.fault = true;
      const inner = item.body;
      item.fault = true;
      item.body = (a) => {
        a.emit(P_LOCK);
        inner(a);
      };
      item.note = `lock ${item.note}`;
      return item;
    }
    case 'long': {
      const item = handler(b, false);
      item.fault = true;
      const inner = item.body;
      item.body = (a) => {
        // 15 redundant DS overrides before the instruction: at least 16 bytes in all (#GP).
        for (let i = 0; i < 15; i++) a.emit(P_DS);
        inner(a);
      };
      item.note = `16+ bytes ${item.note}`;
      return item;
    }
    case 'stack': {
      const item = handler(b, false);
      // ESP just above the window's start: the push runs off it.
      item.regs[ESP] = DATA_BASE + rng.int(4);
      item.fault = true;
      item.note = `push below the window ${item.note}`;
      return item;
    }
    case 'stackpop': {
      const item = handler(b, false);
      item.regs[ESP] = DATA_BASE + DATA_SIZE - rng.int(3);
      item.fault = true;
      // The host's POPA loads the registers one by one: those popped before the fault keep their new values.
      // bt86 keeps the state of before the instruction (DESIGN.md, precise state); only ESP is compared.
      if (row.sem === 'popa') for (let r = 0; r < 8; r++) if (r !== ESP) item.faultRegMask[r] = 0;
      item.note = `pop beyond the window ${item.note}`;
      return item;
    }
    default: {
      const o: StdOpts = {};
      let note = kind;
      if (kind === 'pf') o.ea = rng.chance(0.5) ? UNMAPPED_ABOVE + rng.int(0x8000) : UNMAPPED_BELOW + rng.int(0x10000);
      else if (kind === 'edge') o.ea = rng.chance(0.5) ? DATA_BASE + DATA_SIZE - 1 - rng.int(3) : DATA_BASE - 1 - rng.int(3);
      else if (kind === 'fsnull') o.seg = P_FS;
      else if (kind === 'cswrite') o.seg = P_CS;
      else if (kind === 'a16') o.a16 = true;
      else if (kind === 'ac') {
        b.flags |= AC;
        const at = b.win.alloc(16, 4);
        b.win.put(at, rng.bytes(16));
        o.ea = at + rng.pick([1, 2, 3]);
        note = 'ac misaligned';
      }
      if (o.ea !== undefined && kind !== 'ac') {
        const lo = Math.max(o.ea - 8, DATA_BASE), hi = Math.min(o.ea + 8, DATA_BASE + DATA_SIZE);
        if (hi > lo && (lo - DATA_BASE >= ALLOC_END || lo < DATA_BASE + 0x100)) b.win.put(lo, rng.bytes(hi - lo));
      }
      o.mod = 'mem';
      o.lock = false;
      const item = stdFaultItem(b, o);
      item.note = `${note} ${item.note}`;
      return item;
    }
  }
}

/** Encode the row through its handler's standard path with forced memory options. */
function stdFaultItem(b: Builder, o: StdOpts): Item {
  const row = b.row;
  const shift = ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'].includes(row.sem);
  const shxd = row.sem === 'shld' || row.sem === 'shrd';
  let count = 1;
  if (shift || shxd) {
    // The count decides which flags are defined, as in the normal items.
    const last = row.operands[row.operands.length - 1]!;
    if (last.kind === 'reg') {
      count = shiftCount(b.rng);
      b.set(ECX, (b.rng.u32() & ~0xff) | count);
      o.avoidRm = [ECX];
      if (shxd) o.avoidReg = [ECX];
    } else if (last.kind === 'I') {
      o.imm = () => (count = shiftCount(b.rng));
    }
  }
  if (row.sem === 'mov_to_seg') o.regField = b.rng.pick([0, 3, 4, 5]);
  if (row.sem === 'mov_from_seg') o.regField = b.rng.int(6);
  if (row.sem === 'cmpxchg8b') {
    b.pickOpsize();
    const regField = 1;
    const bytes = [0x0f, 0xc7];
    if (o.seg !== undefined) b.prefixes.push(o.seg);
    let modrm: number[];
    if (o.a16) { b.prefixes.push(P_ADSIZE); modrm = b.modrmMem16(regField); }
    else {
      const ea = o.ea ?? b.win.alloc(8, 1);
      if (o.ea === undefined) b.win.put(ea, b.rng.bytes(8));
      modrm = b.modrmMem32(regField, ea);
    }
    return b.plain([...bytes, ...modrm]);
  }
  if (b.row.operands.some((x) => x.kind === 'M' && (x.size === 'p' || x.size === 'a'))) o.p66 = 0.3;
  const { rest, r } = encodeStd(b, o);
  if (shift) b.undef |= shiftUndefined(row.sem, count, width(row.operands[0]!.size, b.opsize) * 8);
  if (shxd && (count & 0x1f) !== 0) {
    b.undef |= (count & 0x1f) !== 1 ? OF : 0;
    if ((count & 0x1f) > b.opsize) {
      b.undef |= ARITH;
      if (r.isMem) b.memUndefined.push([r.memAddr, b.opsize >> 3]);
    }
  }
  return b.plain(rest);
}

/** One item for `row`: a normal instance, or (fault) a fault variant. */
export function genItem(rng: Rng, win: Window, row: Row, fault: boolean): Item {
  const b = new Builder(rng, win, row);
  const handler = HANDLERS[row.sem] ?? ((bb: Builder) => std(bb));
  // Every item has a stack of its own (ESP is a valid pointer for [esp+...] forms).
  if (!STACK_SEMS.has(row.sem)) b.stack(32, 32);
  if (!fault) return handler(b, false);
  if (OWN_FAULTS.has(row.sem) && rng.chance(0.5)) {
    const item = handler(b, true);
    item.fault = true;
    return item;
  }
  return genericFault(b, handler);
}

// ---- cases -------------------------------------------------------------------------------------------------------------

export interface IntCase {
  code: Uint8Array;
  regs: number[];
  eflags: number;
  mem: { addr: number; bytes: Uint8Array }[];
  items: Item[];
  /** Window owners: [addr, len, item] for attributing memory differences. */
  owners: [number, number, number][];
}

export interface GenOptions {
  /** Selectors at the start of a case (ES CS SS DS FS GS), as the host has them. */
  selectors: number[];
  /** Probability that a case ends with a fault variant. */
  faultRate?: number;
}

/** push imm / pop Sreg for DS ES FS GS: the selectors a case starts with (the item before may have changed them). */
function emitRestoreSegs(a: Asm, selectors: number[]): void {
  for (const [s, pop] of [[3, [0x1f]], [0, [0x07]], [4, [0x0f, 0xa1]], [5, [0x0f, 0xa9]]] as [number, number[]][]) {
    const v = selectors[s]!;
    if (v < 0x80) a.emit(0x6a, v, ...pop);
    else a.emit(0x68, ...le(v, 4), ...pop);
  }
}

/** Setup, body and dump of one item, appended to `a`. */
function emitItem(a: Asm, it: Item, index: number, restoreSegs: boolean, selectors: number[]): void {
  it.start = a.pos;
  it.slot = DUMP_BASE + index * DUMP_SLOT;
  if (restoreSegs) emitRestoreSegs(a, selectors);
  a.emit(0x68, ...le(it.flags, 4), 0x9d); // push imm32; popfd
  for (const r of [EAX, ECX, EDX, EBX, EBP, ESI, EDI, ESP]) {
    a.emit(0xb8 + r);
    const l = it.regLabels.get(r);
    if (l) a.abs32(l);
    else a.u32(it.regs[r]!);
  }
  for (const f of it.dataFixups) a.dataFixups.push({ ...f, add: 0 });
  it.bodyStart = a.pos;
  it.body(a);
  it.bodyEnd = a.pos;
  // Dump.
  a.emit(0x36, 0xa3, ...le(it.slot, 4));
  for (let r = 1; r < 8; r++) a.emit(0x36, 0x89, (r << 3) | 5, ...le(it.slot + 4 * r, 4));
  if (it.segs) for (let s = 0; s < 6; s++) a.emit(0x36, 0x8c, (s << 3) | 5, ...le(it.slot + 36 + 2 * s, 4));
  a.emit(0xbc, ...le(SCRATCH_STACK, 4), 0x9c, 0x36, 0x8f, 0x05, ...le(it.slot + 32, 4));
  it.end = a.pos;
}

/** Upper bound of the setup and dump bytes of one item. */
const ITEM_OVERHEAD = 16 + 6 + 40 + 6 + 49 + 42 + 13;

/**
 * Build cases from a list of rows (one item per entry, in order): items are
 * packed into a case until its code or window is full; with probability
 * `faultRate` the case's last item is a fault variant of its row.
 */
export function buildCases(rng: Rng, rows: readonly Row[], o: GenOptions): IntCase[] {
  const cases: IntCase[] = [];
  const faultRate = o.faultRate ?? 0.6;
  let i = 0;
  while (i < rows.length) {
    const win = new Window(rng);
    const a = new Asm();
    const items: Item[] = [];
    let segsDirty = false;
    const endWithFault = rng.chance(faultRate);
    for (;;) {
      if (i >= rows.length || items.length >= MAX_ITEMS) break;
      const row = rows[i]!;
      const last = i === rows.length - 1 || items.length === MAX_ITEMS - 1 || a.pos + 2 * (ITEM_OVERHEAD + 40) > MAX_CODE - 64 || win.left < 2600;
      const fault = last && endWithFault;
      win.owner = items.length;
      const chunksBefore = win.chunks.length;
      const ownersBefore = win.owners.length;
      let item: Item;
      try {
        item = genItem(rng, win, row, fault);
      } catch (e) {
        if (!(e instanceof WindowFull)) throw e;
        win.chunks.length = chunksBefore;
        win.owners.length = ownersBefore;
        break;
      }
      emitItem(a, item, items.length, segsDirty, o.selectors);
      if (a.pos > MAX_CODE - 64) throw new Error('int-gen: a case outgrew the code page');
      segsDirty = item.segs;
      items.push(item);
      i++;
      if (item.fault || last) break;
    }
    if (!items.length) throw new Error('int-gen: an empty case');
    // The runner's epilogue stores through DS: put the segment registers back after a segment item.
    const lastItem = items[items.length - 1]!;
    if (lastItem.segs && !lastItem.fault) emitRestoreSegs(a, o.selectors);
    const code = a.finish(CODE_BASE);
    const mem = [...win.chunks];
    for (const f of a.dataFixups) {
      const addr = a.address(f.label, CODE_BASE) + f.add;
      mem.push({ addr: f.addr, bytes: bytesOf(addr, 4) });
    }
    cases.push({
      code,
      regs: [0, 0, 0, 0, SCRATCH_STACK, 0, 0, 0],
      eflags: 0,
      mem,
      items,
      owners: win.owners,
    });
  }
  return cases;
}

/** The user-mode integer rows (class 'int'), in table order. */
export function intRows(): Row[] {
  return ROWS.filter((r) => r.cls === 'int');
}

export { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, ARITH };
