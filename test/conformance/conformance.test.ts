/**
 * The 80286 conformance vectors, run in-process, and unit tests of the runner's
 * own logic (classification, masking, the IA-32 rules) on hand-made tests.
 */
import { describe, expect, it } from 'vitest';
import { compareState, type ActualState } from './compare.js';
import {
  FS_PRESET, GS_PRESET, aluReference, classifyDiffer, plainExpectation, prepare, stringFault,
  type Expectation, type Prepared, type Regs, type Skipped,
} from './ia32.js';
import { decode286, type Regs16 } from './insn286.js';
import { runConformance } from './run.js';
import { Metadata, type SstTest } from './vectors.js';

describe('80286 real-mode vectors', () => {
  it('pass: no failures or skips in normal/alias forms, no failed differs', () => {
    const r = runConformance({ keep: 2 });
    const failing = Object.entries(r.summary.forms)
      .filter(([, c]) => c.failed > 0 && (c.status === 'normal' || c.status === 'alias'))
      .map(([k, c]) => `${k}:${c.failed}`);
    expect(r.tests).toBe(65000);
    expect(failing).toEqual([]);
    expect(r.summary.failed).toBe(0);
    expect(r.summary.skipped).toBe(0);
    expect(r.summary.differs.failed).toBe(0);
  });
});

// ---- unit tests of the runner on hand-made vectors ------------------------------

const META = new Metadata({
  opcodes: {
    '00': { status: 'normal' },
    '07': { status: 'normal' },
    '31': { status: 'normal', 'flags-mask': 0xffef },
    '81': { reg: { '0': { status: 'normal' }, '6': { status: 'normal', 'flags-mask': 0xffef } } },
    '88': { status: 'normal' },
    '8C': { status: 'normal' },
    '8D': { status: 'normal' },
    '8E': { status: 'normal' },
    '9D': { status: 'normal' },
    'AB': { status: 'normal' },
    'AD': { status: 'normal' },
    'F6': { reg: { '6': { status: 'normal', 'flags-mask': 0xf72a } } },
    'D0': { reg: { '6': { status: 'undocumented', 'flags-mask': 0xffef } } },
  },
});

const REGS: Regs16 = {
  ax: 0x1234, bx: 0x0100, cx: 0x0005, dx: 0x5678, cs: 0x1000, ss: 0x2000, ds: 0x3000, es: 0x4000,
  sp: 0x0100, bp: 0x0200, si: 0x0300, di: 0x0400, ip: 0x0010, flags: 0xf002,
};

/** A test with code at CS:IP (the bytes end in F4) and the given extra RAM and final state. */
function vector(bytes: number[], over: Partial<SstTest> & { regs?: Partial<Regs16>; ram?: [number, number][] } = {}): SstTest {
  const regs = { ...REGS, ...over.regs };
  const code: [number, number][] = bytes.map((b, i) => [regs.cs * 16 + regs.ip + i, b]);
  return {
    idx: 0, name: 'hand-made', bytes,
    initial: { regs, ram: [...code, ...(over.ram ?? [])] },
    final: over.final ?? { regs: { ip: regs.ip + bytes.length }, ram: [] },
    ...(over.exception ? { exception: over.exception } : {}),
  };
}

function prepared(t: SstTest): Prepared {
  const p = prepare(t, META);
  if ('skip' in p) throw new Error(`skipped: ${(p as Skipped).skip}`);
  return p;
}

/** An ActualState that matches `e` exactly, with overrides. */
function actualFrom(e: Expectation, regs: Partial<Regs> = {}, ram: [number, number][] = []): ActualState {
  const mem = new Map(e.ram);
  for (const [a, v] of ram) mem.set(a, v);
  return { regs: { ...e.regs, ...regs }, checks: [], byte: (a) => mem.get(a) ?? 0, stray: [...mem.keys()].filter((a) => mem.get(a) !== 0) };
}

describe('instruction decoding and forms', () => {
  it('finds prefixes, ModRM, displacement and immediates', () => {
    const d = decode286([0x2e, 0x36, 0xf0, 0x81, 0x84, 0xdf, 0x1d, 0x93, 0x76, 0xf4]);
    expect(d).toMatchObject({ seg: 2, lock: true, opcode: 0x81, mod: 2, reg: 0, rm: 4, disp: 0x1ddf, immBytes: 2, length: 9 });
    expect(decode286([0xf7, 0xc0, 0x34, 0x12, 0xf4]).length).toBe(4); // TEST AX,imm16
    expect(decode286([0xf7, 0xd0, 0xf4]).length).toBe(2); // NOT AX: no immediate
    expect(decode286([0x8b, 0x46, 0xfe, 0xf4])).toMatchObject({ length: 3, disp: 0xfffe }); // disp8 sign-extended
    expect(decode286([0x8b, 0x06, 0x34, 0x12, 0xf4])).toMatchObject({ length: 4, disp: 0x1234 }); // [disp16]
    expect(decode286([0xc8, 1, 2, 3, 0xf4]).length).toBe(4); // ENTER Iw,Ib
    expect(decode286([0x9a, 1, 2, 3, 4, 0xf4]).length).toBe(5);
  });

  it('classifies forms per test by ModRM.reg for groups', () => {
    expect(META.formKey(decode286([0x81, 0xf0, 1, 2, 0xf4]))).toBe('81.6');
    expect(META.formKey(decode286([0x26, 0x00, 0x07, 0xf4]))).toBe('00');
    expect(META.form('81.6')).toEqual({ status: 'normal', flagsMask: 0xffef });
    expect(META.form('81.0')).toEqual({ status: 'normal', flagsMask: 0xffff });
    expect(META.form('D0.6')?.status).toBe('undocumented');
  });
});

describe('flag masking', () => {
  it('loads FLAGS with bits 12-15 cleared and keeps it when final.regs has none', () => {
    const p = prepared(vector([0x88, 0xd3, 0xf4])); // mov bl,dl
    expect(p.setup.regs.flags).toBe(0x0002);
    expect(p.expect.regs.flags).toBe(0x0002);
    expect(p.setup.regs.fs).toBe(FS_PRESET);
    expect(p.setup.regs.gs).toBe(GS_PRESET);
  });

  it("ANDs the form's flags-mask into expected and actual FLAGS", () => {
    const t = vector([0x31, 0xc0, 0xf4], { final: { regs: { ax: 0, ip: 0x13, flags: 0x0046 }, ram: [] } }); // xor ax,ax
    const e = prepared(t).expect;
    expect(e.flagsMask).toBe(0xffef);
    expect(compareState(e, actualFrom(e, { flags: 0x0056 }))).toEqual([]); // AF undefined
    const diffs = compareState(e, actualFrom(e, { flags: 0x0047 })); // CF is defined
    expect(diffs.map((d) => d.what)).toEqual(['flags']);
    expect(compareState(e, actualFrom(e, { flags: 0x10046 })).map((d) => d.what)).toEqual(['flags']); // EFLAGS.RF
  });

  it('masks the FLAGS word an exception pushed, at SS*16 + ((final SP + 4) & 0xFFFF)', () => {
    // div byte [bx] raising #DE; final SP odd and wrapping: the flags word straddles offset FFFF/0000.
    const t = vector([0xf6, 0x37, 0xf4], {
      exception: { number: 0, flagsAddress: 0 },
      final: { regs: { sp: 0xfffb, cs: 0x0500, ip: 0x0021, flags: 0x0002 }, ram: [[0x20000 + 0xffff, 0x13], [0x20000, 0x08]] },
    });
    const e = prepared(t).expect;
    expect(e.ramMask.get(0x2ffff)).toBe(0x2a); // low byte of 0xf72a: OF SZAPC undefined for DIV
    expect(e.ramMask.get(0x20000)).toBe(0xf7);
    expect(compareState(e, actualFrom(e, {}, [[0x2ffff, 0x13 ^ 0xd5], [0x20000, 0x08 ^ 0x08]]))).toEqual([]);
    expect(compareState(e, actualFrom(e, {}, [[0x2ffff, 0x13 ^ 0x02]])).map((d) => d.what)).toEqual(['mem[02ffff]']);
    expect(compareState(e, actualFrom(e, {}, [[0x20000, 0x08 ^ 0x04]])).map((d) => d.what)).toEqual(['mem[020000]']); // DF
  });

  it('reports a byte written outside the expected RAM', () => {
    const t = vector([0x88, 0xd3, 0xf4]);
    const e = plainExpectation(t, { status: 'normal', flagsMask: 0xffff }, prepared(t).setup);
    expect(compareState(e, actualFrom(e, {}, [[0x123456, 0x77]])).map((d) => d.what)).toEqual(['mem[123456]']);
  });
});

describe('differs classification and IA-32 expectations', () => {
  it('lock: LOCK on an unlockable instruction expects #UD through IVT[6]', () => {
    const t = vector([0xf0, 0x88, 0xd3, 0xf4], { final: { regs: { bx: 0x7800, ip: 0x14 }, ram: [] } });
    expect(classifyDiffer(t)).toBe('lock');
    const p = prepared(t);
    const ivt = [0, 1, 2, 3].map((i) => p.setup.ram.get(0x18 + i)!);
    const hip = ivt[0]! | (ivt[1]! << 8), hcs = ivt[2]! | (ivt[3]! << 8);
    expect(p.setup.ram.get(hcs * 16 + hip)).toBe(0xf4);
    expect(p.expect.regs).toMatchObject({ bx: 0x0100, sp: 0x00fa, cs: hcs, ip: hip + 1, flags: 0x0002 });
    // Frame: IP of the LOCK prefix, CS, FLAGS (bits 12-15 as loaded).
    const at = (a: number): number => p.expect.ram.get(0x20000 + a)!;
    expect([at(0xfa), at(0xfb), at(0xfc), at(0xfd), at(0xfe), at(0xff)]).toEqual([0x10, 0x00, 0x00, 0x10, 0x02, 0x00]);
    expect(p.expect.flagsMask).toBe(0xffff);
  });

  it('lock: not a differ when LOCK is legal, or when the 286 raised #UD itself', () => {
    expect(classifyDiffer(vector([0xf0, 0x00, 0x07, 0xf4]))).toBeNull(); // lock add [bx],al
    expect(classifyDiffer(vector([0xf0, 0x00, 0xc7, 0xf4]))).toBe('lock'); // register destination
    expect(classifyDiffer(vector([0xf0, 0x81, 0x3f, 1, 2, 0xf4]))).toBe('lock'); // CMP
    expect(classifyDiffer(vector([0xf0, 0x8d, 0xc0, 0xf4], { exception: { number: 6, flagsAddress: 0 } }))).toBeNull();
  });

  it('length: an 11-byte instruction that the 286 refused is executed', () => {
    // cs: ss: cs: ds: ds: add word [si+1DDFh],7693h
    const bytes = [0x2e, 0x36, 0x2e, 0x3e, 0x3e, 0x81, 0x84, 0xdf, 0x1d, 0x93, 0x76, 0xf4];
    const lin = 0x30000 + 0x0300 + 0x1ddf;
    const t = vector(bytes, { exception: { number: 13, flagsAddress: 0 }, ram: [[lin, 0x70], [lin + 1, 0x89]] });
    expect(classifyDiffer(t)).toBe('length');
    const e = prepared(t).expect;
    // 0x8970 + 0x7693 = 0x10003: result 0003, CF and PF set; no AF (0 + 3 in the low nibble), no OF.
    expect(e.ram.get(lin)).toBe(0x03);
    expect(e.ram.get(lin + 1)).toBe(0x00);
    expect(e.regs.ip).toBe(0x10 + 12);
    expect(e.regs.flags & 0xfff).toBe(0x0002 | 0x1 | 0x4);
  });

  it('sreg: MOV to/from FS and GS', () => {
    const st = vector([0x8c, 0x27, 0xf4], { exception: { number: 6, flagsAddress: 0 } }); // mov [bx],fs
    expect(classifyDiffer(st)).toBe('sreg');
    const e1 = prepared(st).expect;
    expect(e1.ram.get(0x30100)).toBe(FS_PRESET & 0xff);
    expect(e1.ram.get(0x30101)).toBe(FS_PRESET >> 8);
    expect(e1.regs.ip).toBe(0x13);
    const ld = vector([0x8e, 0x2f, 0xf4], { exception: { number: 6, flagsAddress: 0 } }); // mov gs,[bx]
    const p = prepared(ld);
    const planted = p.setup.ram.get(0x30100)! | (p.setup.ram.get(0x30101)! << 8);
    expect(p.expect.regs.gs).toBe(planted);
    expect(planted).not.toBe(GS_PRESET);
    expect(classifyDiffer(vector([0x8e, 0x37, 0xf4], { exception: { number: 6, flagsAddress: 0 } }))).toBeNull(); // Sw=6
  });

  it('ss: a stack access past FFFF expects #SS through IVT[12], a DS one stays #GP', () => {
    const final = { regs: { sp: 0xfff9, cs: 0x0700, ip: 0x0001 }, ram: [] as [number, number][] };
    const pop = vector([0x07, 0xf4], { regs: { sp: 0xffff }, exception: { number: 13, flagsAddress: 0 }, final });
    expect(classifyDiffer(pop)).toBe('ss');
    const p = prepared(pop);
    const hcs = p.setup.ram.get(0x32)! | (p.setup.ram.get(0x33)! << 8);
    expect(p.expect.regs.cs).toBe(hcs);
    expect(p.expect.regs.sp).toBe(0xfff9);
    const bp = vector([0x01, 0x02, 0xf4], { regs: { bp: 0, si: 0xffff }, exception: { number: 13, flagsAddress: 0 }, final });
    expect(classifyDiffer(bp)).toBe('ss'); // add [bp+si],ax
    const ds = vector([0x01, 0x04, 0xf4], { regs: { si: 0xffff }, exception: { number: 13, flagsAddress: 0 }, final });
    expect(classifyDiffer(ds)).toBeNull(); // add [si],ax
    const ss = vector([0x36, 0x01, 0x04, 0xf4], { regs: { si: 0xffff }, exception: { number: 13, flagsAddress: 0 }, final });
    expect(classifyDiffer(ss)).toBe('ss'); // add [ss:si],ax
  });

  it('string: precise SI/DI/CX at the faulting element', () => {
    // lodsw at SI=FFFF: the 286 reports SI=0001, IA-32 leaves SI at FFFF.
    const lods = vector([0xad, 0xf4], {
      regs: { si: 0xffff }, exception: { number: 13, flagsAddress: 0 },
      final: { regs: { si: 0x0001, sp: 0x00fa, cs: 0x0700, ip: 1 }, ram: [] },
    });
    expect(classifyDiffer(lods)).toBe('string');
    expect(prepared(lods).expect.regs.si).toBe(0xffff);
    // rep stosw from DI=FFFB with CX=5: two words fit, the third runs past FFFF.
    const stos = vector([0xf3, 0xab, 0xf4], {
      regs: { di: 0xfffb, cx: 5 }, exception: { number: 13, flagsAddress: 0 },
      final: { regs: { di: 0x0001, cx: 2, sp: 0x00fa, cs: 0x0700, ip: 1 }, ram: [] },
    });
    expect(stringFault(stos, decode286(stos.bytes))).toMatchObject({ di: 0xffff, cx: 3, done: 2, seg: 0 });
    expect(prepared(stos).expect.regs).toMatchObject({ di: 0xffff, cx: 3 });
  });

  it('iopl: POPF loading IOPL/NT keeps them on IA-32', () => {
    const t = vector([0x9d, 0xf4], {
      ram: [[0x20100, 0x02], [0x20101, 0x70]],
      final: { regs: { sp: 0x102, ip: 0x12, flags: 0x0002 }, ram: [] },
    });
    expect(classifyDiffer(t)).toBe('iopl');
    expect(prepared(t).expect.regs.flags).toBe(0x7002);
    const plain = vector([0x9d, 0xf4], { ram: [[0x20100, 0x02], [0x20101, 0x08]], final: { regs: { sp: 0x102, ip: 0x12, flags: 0x0802 }, ram: [] } });
    expect(classifyDiffer(plain)).toBeNull();
  });
});

describe('ALU reference', () => {
  it('computes OF SF ZF AF PF CF', () => {
    expect(aluReference('add', 0xffff, 1, 0, 2)).toEqual({ result: 0, flags: 0x1 | 0x4 | 0x10 | 0x40 });
    expect(aluReference('sub', 0x8000, 1, 0, 2)).toEqual({ result: 0x7fff, flags: 0x800 | 0x10 | 0x4 });
    expect(aluReference('sbb', 0, 0, 1, 1)).toEqual({ result: 0xff, flags: 0x1 | 0x80 | 0x10 | 0x4 });
    expect(aluReference('adc', 0x7f, 0, 1, 1)).toEqual({ result: 0x80, flags: 0x800 | 0x80 | 0x10 });
    expect(aluReference('xor', 0x0f0f, 0x0f0f, 1, 2)).toEqual({ result: 0, flags: 0x40 | 0x4 });
  });
});
