// Known-answer tests for the native runner (test/native/native.ts, runner32.c).
import { describe, expect, it } from 'vitest';
import {
  CODE_BASE,
  DATA_BASE,
  DATA_SIZE,
  EFLAGS_ARITH,
  FNSAVE_SIZE,
  SIG,
  f80ToNumber,
  finalMemory,
  nativeAvailable,
  nativeUnavailableReason,
  parseFnsave,
  runNative,
  runNativeParallel,
  type NativeCase,
} from './native.js';

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
const STACK_TOP = DATA_BASE + 0x8000;

const available = nativeAvailable();
if (!available) console.warn(`native tests skipped: ${nativeUnavailableReason()}`);

function regs(r: Partial<Record<'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi', number>>): number[] {
  return [r.eax ?? 0, r.ecx ?? 0, r.edx ?? 0, r.ebx ?? 0, r.esp ?? STACK_TOP, r.ebp ?? 0, r.esi ?? 0, r.edi ?? 0];
}

function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

function one(c: NativeCase) {
  const [r] = runNative([c]);
  return r!;
}

/** The flags of a 32-bit ADD/ADC, computed here to check the host against. */
function addFlags(a: number, b: number, carry: number): { sum: number; flags: number } {
  const full = a + b + carry;
  const sum = full >>> 0;
  let f = 0;
  if (full > 0xffffffff) f |= CF;
  let p = sum & 0xff;
  p ^= p >> 4;
  p ^= p >> 2;
  p ^= p >> 1;
  if (!(p & 1)) f |= PF;
  if ((a ^ b ^ sum) & 0x10) f |= AF;
  if (sum === 0) f |= ZF;
  if (sum & 0x80000000) f |= SF;
  if (~(a ^ b) & (a ^ sum) & 0x80000000) f |= OF;
  return { sum, flags: f };
}

describe.skipIf(!available)('native runner', () => {
  it('runs add eax,ebx and reports registers and flags', () => {
    const r = one({ code: bytes(0x01, 0xd8), regs: regs({ eax: 0x7fffffff, ebx: 1, ecx: 0xdeadbeef }) });
    expect(r.status).toBe('ok');
    expect(r.hasState).toBe(true);
    expect(r.eip).toBe(CODE_BASE + 2);
    expect(r.regs[0]).toBe(0x80000000);
    expect(r.regs[1]).toBe(0xdeadbeef);
    expect(r.regs[3]).toBe(1);
    expect(r.regs[4]).toBe(STACK_TOP);
    expect(r.eflags & EFLAGS_ARITH).toBe(OF | SF | AF | PF);
    expect(r.eflags & 0x202).toBe(0x202);
    expect(r.memWrites).toEqual([]);
  });

  it('runs stc; adc and takes the initial flags (DF included, others forced)', () => {
    const r = one({
      code: bytes(0xf9, 0x11, 0xd8), // stc; adc eax,ebx
      regs: regs({ eax: 0xffffffff, ebx: 0 }),
      eflags: DF | ZF | 0x100 /* TF: must be ignored */ | 0x40000 /* AC: ignored */,
    });
    expect(r.status).toBe('ok');
    expect(r.regs[0]).toBe(0);
    expect(r.eflags & EFLAGS_ARITH).toBe(CF | ZF | AF | PF);
    expect(r.eflags & DF).toBe(DF);
    expect(r.eflags & 0x40100).toBe(0);
  });

  it('reports memory writes through [0x20000010] and pushes as changed bytes', () => {
    const r = one({
      code: bytes(0xc7, 0x05, 0x10, 0x00, 0x00, 0x20, 0x78, 0x56, 0x34, 0x12, 0x53), // mov dword [0x20000010],0x12345678; push ebx
      regs: regs({ ebx: 0xaabb0000 }),
      mem: [{ addr: DATA_BASE + 0x10, bytes: bytes(0x78, 0x00, 0x34, 0x00) }],
    });
    expect(r.status).toBe('ok');
    expect(r.memWrites).toEqual([
      { addr: DATA_BASE + 0x11, bytes: bytes(0x56) },
      { addr: DATA_BASE + 0x13, bytes: bytes(0x12) },
      { addr: STACK_TOP - 2, bytes: bytes(0xbb, 0xaa) },
    ]);
    expect(r.regs[4]).toBe(STACK_TOP - 4);
  });

  it('passes the initial window to the code and returns the final one', () => {
    const init = new Uint8Array(0x100).map((_, i) => i);
    const c: NativeCase = {
      // mov esi,0x20000100; mov edi,0x20000300; mov ecx,0x40; rep movsd
      code: bytes(0xbe, 0x00, 0x01, 0x00, 0x20, 0xbf, 0x00, 0x03, 0x00, 0x20, 0xb9, 0x40, 0, 0, 0, 0xf3, 0xa5),
      regs: regs({}),
      mem: [{ addr: DATA_BASE + 0x100, bytes: init }],
    };
    const r = one(c);
    expect(r.status).toBe('ok');
    const fin = finalMemory(c, r);
    expect(fin.length).toBe(DATA_SIZE);
    expect(fin.subarray(0x300, 0x400)).toEqual(init);
    expect(r.regs[6]).toBe(DATA_BASE + 0x200);
    expect(r.regs[7]).toBe(DATA_BASE + 0x400);
  });

  it('reports a division by zero as SIGFPE with the state at the fault', () => {
    // mov [0x20000000],eax; fld1; xor edx,edx; div ecx
    const r = one({ code: bytes(0xa3, 0x00, 0x00, 0x00, 0x20, 0xd9, 0xe8, 0x31, 0xd2, 0xf7, 0xf1), regs: regs({ eax: 0x11, edx: 5 }) });
    expect(r.status).toBe('signal');
    expect(r.signal).toBe(SIG.SIGFPE);
    expect(r.fault).not.toBeNull();
    expect(r.fault!.trapno).toBe(0); // #DE
    expect(r.fault!.eip).toBe(CODE_BASE + 9); // the div itself
    expect(r.eip).toBe(CODE_BASE + 9);
    const f = parseFnsave(r.fpu); // the x87 state at the fault
    expect(f.top).toBe(7);
    expect(f80ToNumber(f.st[0]!)).toBe(1);
    expect(r.regs[0]).toBe(0x11);
    expect(r.regs[2]).toBe(0);
    expect(r.memWrites).toEqual([{ addr: DATA_BASE, bytes: bytes(0x11) }]);
  });

  it('reports a page fault with its address and error code', () => {
    const r = one({ code: bytes(0x90, 0x89, 0x03), regs: regs({ ebx: 0x1000 }) }); // nop; mov [ebx],eax
    expect(r.status).toBe('signal');
    expect(r.signal).toBe(SIG.SIGSEGV);
    expect(r.fault!.trapno).toBe(14);
    expect(r.fault!.addr).toBe(0x1000);
    expect(r.fault!.err & 6).toBe(6); // user write
    expect(r.fault!.eip).toBe(CODE_BASE + 1);
  });

  it('stops an infinite loop at the time limit', () => {
    const t0 = Date.now();
    const r = one({ code: bytes(0xeb, 0xfe), regs: regs({}), timeoutMs: 100 }); // jmp $
    const dt = Date.now() - t0;
    expect(r.status).toBe('timeout');
    expect(r.hasState).toBe(false);
    expect(dt).toBeLessThan(2000);
  });

  it('survives garbage: ud, int3 and random bytes', () => {
    const [ud, bp] = runNative([
      { code: bytes(0xff, 0xff), regs: regs({}) }, // FF /7: #UD
      { code: bytes(0x90, 0xcc, 0x90), regs: regs({}) }, // int3
    ]);
    expect(ud!.status).toBe('signal');
    expect(ud!.signal).toBe(SIG.SIGILL);
    expect(ud!.fault!.eip).toBe(CODE_BASE);
    expect(bp!.status).toBe('signal');
    expect(bp!.signal).toBe(SIG.SIGTRAP);
    expect(bp!.fault!.eip).toBe(CODE_BASE + 2); // after the int3

    // Random bytes with random registers: whatever they do, every case gets an answer.
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed >>> 16);
    const cases: NativeCase[] = [];
    for (let i = 0; i < 2000; i++) {
      const code = new Uint8Array(1 + (rnd() % 32)).map(() => rnd() & 0xff);
      const rr = regs({ eax: rnd() << 16, ecx: rnd() % 64, esi: DATA_BASE + rnd(), edi: DATA_BASE + rnd(), ebx: DATA_BASE });
      cases.push({ code, regs: rr, eflags: rnd(), timeoutMs: 50 });
    }
    const res = runNative(cases);
    expect(res.length).toBe(cases.length);
    const counts: Record<string, number> = {};
    for (const r of res) {
      const k = r.status === 'signal' ? `signal ${r.signal}${r.fault ? '' : ' (uncaught)'}` : r.status;
      counts[k] = (counts[k] ?? 0) + 1;
      expect(r.status).not.toBe('error');
    }
    console.log('random byte sequences:', counts);
  });

  it('kills a system call before the kernel runs it', () => {
    // mov eax,20 (getpid); int 0x80; mov [0x20000000],eax
    const r = one({ code: bytes(0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0xa3, 0x00, 0x00, 0x00, 0x20), regs: regs({}) });
    expect(r.status).toBe('syscall');
    expect(r.signal).toBe(SIG.SIGSYS);
    expect(r.hasState).toBe(false);
    expect(r.memWrites).toEqual([]);

    // write(1, 0x20000000, 1): had the kernel run it, an 'A' would sit in the runner's output and
    // break the protocol (stdout is the result pipe), so decoding the batch proves it did not.
    const w = one({
      code: bytes(0xb8, 0x04, 0, 0, 0, 0xbb, 1, 0, 0, 0, 0xb9, 0, 0, 0, 0x20, 0xba, 1, 0, 0, 0, 0xcd, 0x80),
      regs: regs({}),
      mem: [{ addr: DATA_BASE, bytes: bytes(0x41) }],
    });
    expect(w.status).toBe('syscall');

    // write(1, 0x20000000, 1) through sysenter and syscall, then a store. sysenter takes the user stack
    // pointer from EBP (the vDSO convention), so EBP points into the window. Killed by seccomp, or #UD
    // where the CPU does not offer the instruction in 32-bit mode (syscall on Intel, sysenter on AMD).
    for (const insn of [bytes(0x0f, 0x34), bytes(0x0f, 0x05)]) {
      const code = bytes(0xb8, 0x04, 0, 0, 0, 0xbb, 1, 0, 0, 0, 0xb9, 0, 0, 0, 0x20, 0xba, 1, 0, 0, 0, ...insn, 0xa3, 0, 0, 0, 0x20);
      const s = one({ code, regs: regs({ ebp: STACK_TOP - 0x100 }), mem: [{ addr: DATA_BASE, bytes: bytes(0x41) }] });
      if (s.status === 'signal') expect(s.signal).toBe(SIG.SIGILL);
      else expect(s.status).toBe('syscall');
      expect(s.memWrites).toEqual([]);
    }
  });

  it('dumps the x87 state with FNSAVE: fld1; fldpi; faddp', () => {
    const r = one({ code: bytes(0xd9, 0xe8, 0xd9, 0xeb, 0xde, 0xc1), regs: regs({}) });
    expect(r.status).toBe('ok');
    expect(r.fpu.length).toBe(FNSAVE_SIZE);
    const f = parseFnsave(r.fpu);
    expect(f.fcw).toBe(0x37f);
    expect(f.top).toBe(7);
    expect(f.ftw).toBe(0x3fff); // only physical register 7 is valid
    expect(f80ToNumber(f.st[0]!)).toBeCloseTo(1 + Math.PI, 15);
    // FIP/FOP/FDP/FCS/FDS depend on the CPU (recent Intel CPUs zero FCS/FDS, and may leave FOP 0).
    expect([0, CODE_BASE + 4]).toContain(f.fip);

    // FRSTOR the image into a new case and store ST(0) as a double.
    const s = one({ code: bytes(0xdd, 0x1d, 0x00, 0x00, 0x00, 0x20), regs: regs({}), fpu: r.fpu }); // fstp qword [0x20000000]
    expect(s.status).toBe('ok');
    const out = finalMemory({ code: new Uint8Array(), regs: regs({}) }, s);
    expect(new DataView(out.buffer).getFloat64(0, true)).toBe(1 + Math.PI);
    expect(parseFnsave(s.fpu).top).toBe(0);
  });

  it('runs 5000 add cases per batch and matches the reference flags', async () => {
    let seed = 99;
    const rnd32 = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const cases: NativeCase[] = [];
    for (let i = 0; i < 5000; i++) {
      cases.push({ code: bytes(0x11, 0xd8), regs: regs({ eax: rnd32(), ebx: rnd32() }), eflags: rnd32() & 0xcd5 }); // adc eax,ebx
    }
    let t0 = performance.now();
    const res = runNative(cases);
    const syncRate = cases.length / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    const par = await runNativeParallel(cases);
    const parRate = cases.length / ((performance.now() - t0) / 1000);
    console.log(`native runner: ${syncRate.toFixed(0)} cases/s (runNative), ${parRate.toFixed(0)} cases/s (runNativeParallel)`);
    res.forEach((r, i) => {
      const c = cases[i]!;
      const want = addFlags(c.regs[0]!, c.regs[3]!, c.eflags! & 1);
      expect(r.status).toBe('ok');
      expect(r.regs[0]).toBe(want.sum);
      expect(r.eflags & EFLAGS_ARITH).toBe(want.flags);
      expect(par[i]!.regs[0]).toBe(want.sum);
      expect(par[i]!.eflags).toBe(r.eflags);
    });
  });
});
