/**
 * What each vector expects of bt86: the 286's captured final state, or, where an
 * IA-32 processor must behave differently from the 286, the IA-32 result worked
 * out by a targeted rule (the vectors do not carry it).
 *
 * `prepare` turns one test into a Setup (registers and RAM to load) and an
 * Expectation (registers and RAM to find after the HLT), classifying the test
 * from its own bytes and captured state. The cases where IA-32 differs ("differs"),
 * in the order an IA-32 processor would detect them:
 *
 * - `lock`: LOCK on an instruction that cannot be locked. The 286 ignores it;
 *   IA-32 raises #UD before anything else happens (SDM vol. 2, LOCK: "#UD if the
 *   LOCK prefix is used with an instruction not listed, or with a register
 *   destination"). Expected: #UD delivered through IVT entry 6 with the state
 *   before the instruction, i.e. FLAGS, CS and IP of the first prefix byte pushed,
 *   IF/TF cleared, CS:IP from IVT[6] (then the HLT planted there).
 * - `length`: an instruction of 11-15 bytes (redundant prefixes). The 286 raises
 *   #GP above 10 bytes; IA-32's limit is 15 (SDM vol. 2 §2.3.11), so it executes.
 *   Expected: the instruction's effect, computed here by an independent reference
 *   of the forms that occur (ALU/MOV/TEST with an immediate), or the #GP/#SS that
 *   its own memory access raises when it runs past offset FFFF.
 * - `sreg`: MOV Ew,Sw / MOV Sw,Ew with Sw = 4 or 5. The 286 has no FS/GS and
 *   raises #UD; IA-32 moves FS/GS. Expected: the selector stored to (8C) or loaded
 *   from (8E) the operand, base = selector * 16, IP past the instruction.
 * - `ss`: a stack-segment access past offset FFFF. The 286 raises #GP (int 13);
 *   IA-32 real mode raises #SS (int 12) for SS-relative references (SDM vol. 2,
 *   "Real-Address Mode Exceptions": "#SS If a memory operand effective address is
 *   outside the SS segment limit"). Detected from the access model of insn286.ts
 *   applied to the registers at the fault (the final registers, SP before the
 *   exception frame): the first access past FFFF is SS-relative. Expected: the
 *   286's final state (same partial work, same frame) except that CS:IP come from
 *   IVT[12], planted to point at a HLT of its own.
 * - `string`: a string instruction whose element runs past offset FFFF (#GP on
 *   both). The 286 has already stepped SI and/or DI (and, under REP, CX, by one
 *   or two) for the faulting element when it delivers the fault; IA-32 faults
 *   precisely: "the source and destination registers point to the next string
 *   elements to be operated on ... ECX has the value it held following the last
 *   successful iteration" (SDM vol. 2, REP). Expected: the 286's final state (its
 *   completed iterations, frame and memory) with SI, DI and CX as at the start of
 *   the faulting iteration, found by stepping the iterations from the initial
 *   state with the access model (REPE/REPNE compare values from the test's RAM).
 *   When that element is SS-relative (an SS: override on the source) the test is
 *   an `ss` one and gets both corrections. The data's README does not list this
 *   case either.
 * - `iopl`: POPF/IRET popping a FLAGS image with IOPL or NT set. The 286 forces
 *   bits 12-15 to 0 in real mode; IA-32 at CPL 0 loads IOPL and NT (SDM vol. 2,
 *   POPF: "all non-reserved flags can be modified"; IRET in real mode pops all of
 *   FLAGS). Expected: the 286's final state with FLAGS bits 12-14 from the image.
 *   The data's README does not list this case; real 386+ processors differ from
 *   the 286 here (it is the classic 286-vs-386 detection test).
 *
 * Faults that are the same on both (#GP through DS/ES/CS, #UD for LEA/LES/LDS with
 * a register operand, MOV CS, #DE, BOUND, INT...) are plain tests.
 */
import {
  DS, ES, SS, accesses, decode286, effectiveAddress, firstLimitViolation, lockLegalIA32, readImm,
  type Insn286, type Regs16,
} from './insn286.js';
import type { FormInfo, Metadata, SstTest } from './vectors.js';

export type DifferKind = 'lock' | 'length' | 'sreg' | 'ss' | 'string' | 'iopl';
export const DIFFER_KINDS: readonly DifferKind[] = ['lock', 'length', 'sreg', 'ss', 'string', 'iopl'];

export type RegName = keyof Regs16 | 'fs' | 'gs';
export const REG_NAMES: readonly RegName[] = [
  'ax', 'bx', 'cx', 'dx', 'sp', 'bp', 'si', 'di', 'cs', 'ss', 'ds', 'es', 'fs', 'gs', 'ip', 'flags',
];
export type Regs = Record<RegName, number>;

/** FS and GS have no 286 value: the runner loads these distinctive selectors and expects them kept. */
export const FS_PRESET = 0x5a3c;
export const GS_PRESET = 0xc3a5;

export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;

export interface Setup {
  regs: Regs;
  /** Bytes to write before the run: the test's initial RAM plus anything a rule plants. */
  ram: Map<number, number>;
}

export interface Expectation {
  regs: Regs;
  /** AND-ed into expected and actual FLAGS. */
  flagsMask: number;
  /**
   * Every byte whose final value is known. Any other byte must still be 0 (the
   * runner's memory is zero outside the setup).
   */
  ram: Map<number, number>;
  /** Masks for bytes compared under a mask: the FLAGS word an exception pushed. */
  ramMask: Map<number, number>;
}

export interface Prepared {
  form: string;
  info: FormInfo;
  differ: DifferKind | null;
  /** One line on how the expectation was made (shown with failures). */
  rule: string;
  setup: Setup;
  expect: Expectation;
}

export interface Skipped {
  form: string;
  info: FormInfo | undefined;
  differ: DifferKind | null;
  skip: string;
}

/** The test's initial registers as loaded: FLAGS bits 12-15 cleared (README), FS/GS preset. */
export function initialRegs(t: SstTest): Regs {
  return { ...t.initial.regs, flags: t.initial.regs.flags & 0x0fff, fs: FS_PRESET, gs: GS_PRESET };
}

/** The FLAGS mask as two byte masks at the pushed-FLAGS address of an exception frame. */
function pushedFlagsMask(regs: Regs, mask: number): Map<number, number> {
  const out = new Map<number, number>();
  if ((mask & 0xffff) === 0xffff) return out;
  const base = regs.ss * 16;
  out.set(base + ((regs.sp + 4) & 0xffff), mask & 0xff);
  out.set(base + ((regs.sp + 5) & 0xffff), (mask >> 8) & 0xff);
  return out;
}

/**
 * The 286's captured result: registers absent from `final` unchanged, listed RAM
 * bytes, the form's undefined-flags mask on FLAGS and, after an exception, on the
 * FLAGS word the CPU pushed (at SS*16 + ((final SP + 4) & 0xFFFF), README).
 */
export function plainExpectation(t: SstTest, info: FormInfo, setup: Setup): Expectation {
  const regs: Regs = { ...setup.regs };
  for (const [k, v] of Object.entries(t.final.regs)) regs[k as RegName] = v!;
  const ram = new Map(setup.ram);
  for (const [a, v] of t.final.ram) ram.set(a, v);
  return {
    regs, ram, flagsMask: info.flagsMask,
    ramMask: t.exception ? pushedFlagsMask(regs, info.flagsMask) : new Map(),
  };
}

/** Per-test state for building an IA-32 expectation: the setup image and what must not be planted over. */
class Rules {
  readonly d: Insn286;
  readonly setup: Setup;
  /** Addresses the test lists (initial or final): planted bytes must avoid them. */
  private readonly taken = new Set<number>();

  constructor(readonly t: SstTest, readonly info: FormInfo) {
    this.d = decode286(t.bytes);
    this.setup = { regs: initialRegs(t), ram: new Map(t.initial.ram) };
    for (const [a] of t.initial.ram) this.taken.add(a);
    for (const [a] of t.final.ram) this.taken.add(a);
  }

  private plant(addr: number, v: number): void {
    this.setup.ram.set(addr, v & 0xff);
    this.taken.add(addr);
  }

  /** A byte of the setup image (0 where nothing is written: the runner's RAM is zeroed). */
  byte(addr: number): number {
    return this.setup.ram.get(addr) ?? 0;
  }

  word(addr: number): number {
    return this.byte(addr) | (this.byte(addr + 1) << 8);
  }

  segBase(seg: number): number {
    const r = this.setup.regs;
    return [r.es, r.cs, r.ss, r.ds, r.fs, r.gs][seg]! * 16;
  }

  /**
   * CS:IP of the handler of `vector`: the test's own IVT entry if it lists one,
   * else a planted entry pointing at a free address; a HLT is planted at the
   * handler unless the test already has one there. `avoid` lists addresses the
   * expected run writes. Returns a reason string when no handler can be arranged.
   */
  handler(vector: number, avoid: Iterable<number>): { cs: number; ip: number } | string {
    const entry = vector * 4;
    const known = [0, 1, 2, 3].map((i) => this.setup.ram.get(entry + i));
    let cs: number, ip: number;
    if (known.every((b) => b !== undefined)) {
      ip = known[0]! | (known[1]! << 8);
      cs = known[2]! | (known[3]! << 8);
    } else if (known.every((b) => b === undefined)) {
      const busy = new Set([...this.taken, ...avoid]);
      for (let i = entry; i < entry + 4; i++) busy.add(i);
      // Free 16-byte slots from E000:0010 up, one area per vector.
      cs = -1; ip = 0x10;
      for (let k = 0; k < 64 && cs < 0; k++) {
        const c = 0xe000 + vector * 0x80 + k;
        if (!busy.has(c * 16 + ip)) cs = c;
      }
      if (cs < 0) return `no free address for the IVT[${vector}] handler`;
      this.plant(entry, ip); this.plant(entry + 1, ip >> 8);
      this.plant(entry + 2, cs); this.plant(entry + 3, cs >> 8);
    } else {
      return `IVT entry ${vector} is partly in the test's RAM`;
    }
    const lin = cs * 16 + ip;
    const at = this.setup.ram.get(lin);
    if (at === undefined) this.plant(lin, 0xf4);
    else if (at !== 0xf4) return `IVT[${vector}] handler at ${lin.toString(16)} is not a HLT`;
    return { cs, ip };
  }

  /**
   * IA-32 delivers `vector` as a fault at the instruction's first byte, before the
   * instruction changes anything: FLAGS, CS, IP pushed, IF and TF cleared, CS:IP
   * from the IVT (SDM vol. 3 §20.1.4), then the HLT at the handler runs.
   */
  fault(vector: number): Expectation | string {
    const r0 = this.setup.regs;
    const ssBase = r0.ss * 16;
    const frame: [number, number][] = [];
    let sp = r0.sp;
    for (const v of [r0.flags, r0.cs, r0.ip]) {
      sp = (sp - 2) & 0xffff;
      if (sp === 0xffff) return 'exception frame runs past SS:FFFF';
      frame.push([ssBase + sp, v & 0xff], [ssBase + sp + 1, (v >> 8) & 0xff]);
    }
    const h = this.handler(vector, frame.map(([a]) => a));
    if (typeof h === 'string') return h;
    const regs: Regs = { ...r0, sp, cs: h.cs, ip: (h.ip + 1) & 0xffff, flags: r0.flags & ~(IF | TF) };
    const ram = new Map(this.setup.ram);
    for (const [a, v] of frame) ram.set(a, v);
    return { regs, ram, flagsMask: 0xffff, ramMask: new Map() };
  }

  /** Registers and RAM after the instruction completed normally and the HLT after it ran. */
  fallThrough(): { regs: Regs; ram: Map<number, number> } | string {
    const d = this.d;
    if (this.t.bytes[d.length] !== 0xf4) return 'no HLT after the instruction';
    const regs: Regs = { ...this.setup.regs, ip: (this.setup.regs.ip + d.length + 1) & 0xffff };
    return { regs, ram: new Map(this.setup.ram) };
  }

  // ---- the rules ------------------------------------------------------------

  lock(): Expectation | string {
    return this.fault(6);
  }

  /** 11-15 byte instruction: execute it (reference below), or its own #GP/#SS. */
  length(): Expectation | string {
    const list = accesses(this.d, this.t.bytes, this.setup.regs);
    if (list === null) return 'no access model for this opcode';
    const bad = firstLimitViolation(list);
    if (bad) return this.fault(bad.seg === SS ? 12 : 13);
    return this.immediateForm();
  }

  /**
   * Reference for the immediate forms that occur among the over-long vectors:
   * 80-83 (ADD OR ADC SBB AND SUB XOR CMP), C6/C7 /0 (MOV), F6/F7 /0-1 (TEST), on
   * a register or memory operand. Independent of src/x86 on purpose.
   */
  private immediateForm(): Expectation | string {
    const d = this.d;
    const op = d.opcode;
    let kind: string;
    if (op >= 0x80 && op <= 0x83) kind = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'][d.reg]!;
    else if ((op === 0xc6 || op === 0xc7) && d.reg === 0) kind = 'mov';
    else if ((op === 0xf6 || op === 0xf7) && d.reg <= 1) kind = 'test';
    else return `no IA-32 reference for opcode ${op.toString(16)} /${d.reg}`;
    const size = op === 0x81 || op === 0x83 || op === 0xc7 || op === 0xf7 ? 2 : 1;
    let imm = readImm(this.t.bytes, d.immAt, d.immBytes);
    if (op === 0x83) imm = ((imm << 24) >> 24) & 0xffff;
    const base = this.fallThrough();
    if (typeof base === 'string') return base;
    const { regs, ram } = base;
    let lin = -1;
    let a: number;
    if (d.mod === 3) {
      a = getReg(regs, d.rm, size);
    } else {
      const ea = effectiveAddress(d, regs);
      lin = this.segBase(ea.seg) + ea.offset;
      a = size === 1 ? this.byte(lin) : this.word(lin);
    }
    let res = imm;
    if (kind !== 'mov') {
      const out = aluReference(kind, a, imm, regs.flags & CF, size);
      regs.flags = (regs.flags & ~ARITH) | out.flags;
      res = out.result;
    }
    if (kind !== 'cmp' && kind !== 'test') {
      if (lin < 0) setReg(regs, d.rm, size, res);
      else for (let i = 0; i < size; i++) ram.set(lin + i, (res >> (8 * i)) & 0xff);
    }
    return { regs, ram, flagsMask: this.info.flagsMask, ramMask: new Map() };
  }

  /** MOV to/from FS (Sw = 4) or GS (Sw = 5). */
  sreg(): Expectation | string {
    const d = this.d;
    const name = d.reg === 4 ? 'fs' : 'gs';
    let ea: { seg: number; offset: number } | null = null;
    if (d.mod !== 3) {
      ea = effectiveAddress(d, this.setup.regs);
      if (ea.offset === 0xffff) return this.fault(ea.seg === SS ? 12 : 13);
    }
    let loaded = -1;
    if (d.opcode === 0x8e && ea) {
      // The 286 never read the source: plant a distinctive word where the test has none.
      const lin = this.segBase(ea.seg) + ea.offset;
      const seed = [0x1d, 0x6f];
      for (let i = 0; i < 2; i++) if (!this.setup.ram.has(lin + i)) this.plant(lin + i, seed[i]!);
      loaded = this.word(lin);
    }
    const base = this.fallThrough();
    if (typeof base === 'string') return base;
    const { regs, ram } = base;
    if (d.opcode === 0x8c) {
      const v = regs[name];
      if (ea) {
        const lin = this.segBase(ea.seg) + ea.offset;
        ram.set(lin, v & 0xff);
        ram.set(lin + 1, v >> 8);
      } else {
        setReg(regs, d.rm, 2, v);
      }
    } else {
      regs[name] = ea ? loaded : getReg(regs, d.rm, 2);
    }
    return { regs, ram, flagsMask: 0xffff, ramMask: new Map() };
  }

  /** The 286's frame and state, delivered through IVT[12] instead of IVT[13]. */
  stackFault(): Expectation | string {
    const h = this.handler(12, []);
    if (typeof h === 'string') return h;
    const e = isStringOp(this.d.opcode) ? this.stringFault() : plainExpectation(this.t, this.info, this.setup);
    if (typeof e === 'string') return e;
    e.regs.cs = h.cs;
    e.regs.ip = (h.ip + 1) & 0xffff;
    return e;
  }

  /** The 286's final state with SI, DI and CX as at the faulting element. */
  stringFault(): Expectation | string {
    const f = stringFault(this.t, this.d);
    if (!f) return 'no string element runs past FFFF';
    const e = plainExpectation(this.t, this.info, this.setup);
    e.regs.si = f.si;
    e.regs.di = f.di;
    e.regs.cx = f.cx;
    return e;
  }

  /** POPF/IRET: IOPL and NT come from the popped image. */
  iopl(popped: number): Expectation {
    const e = plainExpectation(this.t, this.info, this.setup);
    e.regs.flags |= popped & 0x7000;
    return e;
  }

  /** The FLAGS image POPF (at SS:SP) or IRET (at SS:SP+4) pops, if the test lists it. */
  poppedFlags(): number | null {
    const r = this.setup.regs;
    const at = r.ss * 16 + ((r.sp + (this.d.opcode === 0x9d ? 0 : 4)) & 0xffff);
    const hi = r.ss * 16 + ((r.sp + (this.d.opcode === 0x9d ? 1 : 5)) & 0xffff);
    const lo = this.setup.ram.get(at), h = this.setup.ram.get(hi);
    return lo === undefined || h === undefined ? null : lo | (h << 8);
  }
}

export function isStringOp(op: number): boolean {
  return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f);
}

/** Where an IA-32 processor faults in a string instruction: the registers at the faulting element. */
export interface StringFault {
  si: number;
  di: number;
  cx: number;
  /** Segment of the access that runs past FFFF. */
  seg: number;
  /** Iterations completed before it. */
  done: number;
}

/**
 * Step the iterations of string instruction `d` from the test's initial state
 * until an element runs past offset FFFF; null when none does (the instruction
 * completes, or REPE/REPNE stops it first).
 */
export function stringFault(t: SstTest, d: Insn286): StringFault | null {
  const r: Regs16 = { ...t.initial.regs };
  const ram = new Map(t.initial.ram);
  const w = d.opcode & 1 ? 2 : 1;
  const step = r.flags & 0x400 ? -w : w;
  const base = (seg: number): number => [r.es, r.cs, r.ss, r.ds][seg]! * 16;
  const read = (seg: number, off: number): number => {
    let v = 0;
    for (let i = 0; i < w; i++) v |= (ram.get(base(seg) + ((off + i) & 0xffff)) ?? 0) << (8 * i);
    return v;
  };
  const op = d.opcode & 0xfe;
  const usesSi = op === 0xa4 || op === 0xa6 || op === 0xac || op === 0x6e;
  const usesDi = op !== 0xac && op !== 0x6e;
  for (let done = 0; done <= 0x10000; done++) {
    if (d.rep && r.cx === 0) return null;
    const list = accesses(d, t.bytes, r) ?? [];
    const bad = firstLimitViolation(list);
    if (bad) return { si: r.si, di: r.di, cx: r.cx, seg: bad.seg, done };
    let zf = false;
    if (op === 0xa6 || op === 0xae) {
      const a = op === 0xa6 ? read(d.seg >= 0 ? d.seg : DS, r.si) : r.ax & (w === 1 ? 0xff : 0xffff);
      zf = a === read(ES, r.di);
    }
    if (usesSi) r.si = (r.si + step) & 0xffff;
    if (usesDi) r.di = (r.di + step) & 0xffff;
    if (!d.rep) return null;
    r.cx = (r.cx - 1) & 0xffff;
    if ((op === 0xa6 || op === 0xae) && zf !== (d.rep === 0xf3)) return null;
  }
  return null;
}

/** Which IA-32 rule, if any, applies to a test (in the order IA-32 detects them). */
export function classifyDiffer(t: SstTest, d: Insn286 = decode286(t.bytes)): DifferKind | null {
  const exc = t.exception?.number ?? -1;
  if (d.lock && !lockLegalIA32(d) && exc !== 6) return 'lock';
  if (exc === 13 && d.length > 10 && d.length <= 15) return 'length';
  if ((d.opcode === 0x8c || d.opcode === 0x8e) && (d.reg === 4 || d.reg === 5) && exc === 6) return 'sreg';
  if (exc === 13 && isStringOp(d.opcode)) {
    const f = stringFault(t, d);
    if (f) return f.seg === SS ? 'ss' : 'string';
  } else if (exc === 13) {
    // Other instructions fault precisely on both processors: the registers at the
    // fault are the initial ones.
    const list = accesses(d, t.bytes, t.initial.regs);
    const bad = list && firstLimitViolation(list);
    if (bad && bad.seg === SS) return 'ss';
  }
  if ((d.opcode === 0x9d || d.opcode === 0xcf) && exc < 0) {
    const r = t.initial.regs;
    const ram = new Map(t.initial.ram);
    const at = r.ss * 16 + ((r.sp + (d.opcode === 0x9d ? 1 : 5)) & 0xffff);
    if (((ram.get(at) ?? 0) << 8) & 0x7000) return 'iopl';
  }
  return null;
}

/** Classify one test and build its setup and expectation. */
export function prepare(t: SstTest, meta: Metadata): Prepared | Skipped {
  const d = decode286(t.bytes);
  const form = meta.formKey(d);
  const info = meta.form(form);
  const differ = classifyDiffer(t, d);
  if (!info) return { form, info, differ, skip: `form ${form} is not in metadata.json` };
  const rules = new Rules(t, info);
  let e: Expectation | string;
  let rule: string;
  switch (differ) {
    case 'lock': e = rules.lock(); rule = 'IA-32: LOCK on an unlockable instruction raises #UD (int 6)'; break;
    case 'length': e = rules.length(); rule = `IA-32: ${d.length}-byte instruction executes (limit 15, the 286's is 10)`; break;
    case 'sreg': e = rules.sreg(); rule = `IA-32: MOV with ${d.reg === 4 ? 'FS' : 'GS'} (the 286 raises #UD)`; break;
    case 'ss': e = rules.stackFault(); rule = 'IA-32: SS access past FFFF raises #SS (int 12), the 286 int 13'; break;
    case 'string': e = rules.stringFault(); rule = 'IA-32: precise string fault (SI/DI/CX at the faulting element)'; break;
    case 'iopl': {
      const popped = rules.poppedFlags();
      if (popped === null) return { form, info, differ, skip: 'popped FLAGS not in the test RAM' };
      e = rules.iopl(popped); rule = 'IA-32: POPF/IRET in real mode load IOPL and NT (the 286 clears them)';
      break;
    }
    default: e = plainExpectation(t, info, rules.setup); rule = '286 vector'; break;
  }
  if (typeof e === 'string') return { form, info, differ, skip: e };
  return { form, info, differ, rule, setup: rules.setup, expect: e };
}

// ---- helpers ------------------------------------------------------------------

const WORD_REGS: readonly (keyof Regs16)[] = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];

/** ModRM register `n` of `size` bytes (byte registers: AL CL DL BL AH CH DH BH). */
export function getReg(r: Regs, n: number, size: number): number {
  if (size === 2) return r[WORD_REGS[n]!];
  const w = r[WORD_REGS[n & 3]!];
  return n < 4 ? w & 0xff : w >> 8;
}

export function setReg(r: Regs, n: number, size: number, v: number): void {
  if (size === 2) { r[WORD_REGS[n]!] = v & 0xffff; return; }
  const k = WORD_REGS[n & 3]!;
  r[k] = n < 4 ? (r[k] & 0xff00) | (v & 0xff) : (r[k] & 0x00ff) | ((v & 0xff) << 8);
}

function parityFlag(v: number): number {
  let x = v & 0xff;
  x ^= x >> 4; x ^= x >> 2; x ^= x >> 1;
  return x & 1 ? 0 : PF;
}

/** ALU reference: result and OF SF ZF AF PF CF of `a kind b` (AF is 0 after logic ops). */
export function aluReference(kind: string, a: number, b: number, cf: number, size: number): { result: number; flags: number } {
  const m = size === 1 ? 0xff : 0xffff;
  const sign = size === 1 ? 0x80 : 0x8000;
  let r: number, c = false, o = 0, af = 0;
  switch (kind) {
    case 'add': case 'adc': {
      const cin = kind === 'adc' ? cf & 1 : 0;
      r = a + b + cin;
      c = r > m;
      o = (a ^ r) & (b ^ r) & sign;
      af = (a ^ b ^ r) & AF;
      break;
    }
    case 'sub': case 'sbb': case 'cmp': {
      const cin = kind === 'sbb' ? cf & 1 : 0;
      r = a - b - cin;
      c = a < b + cin;
      o = (a ^ b) & (a ^ r) & sign;
      af = (a ^ b ^ r) & AF;
      break;
    }
    case 'or': r = a | b; break;
    case 'and': case 'test': r = a & b; break;
    case 'xor': r = a ^ b; break;
    default: throw new Error(`aluReference: ${kind}`);
  }
  r &= m;
  const flags = (c ? CF : 0) | parityFlag(r) | af | (r === 0 ? ZF : 0) | (r & sign ? SF : 0) | (o ? OF : 0);
  return { result: r, flags };
}
