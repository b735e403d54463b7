/**
 * The native half of the differential CPU tests: runs short x86 instruction
 * sequences on the host CPU in a 32-bit process and returns the final
 * registers, EFLAGS, the x87 state (FNSAVE image) and the bytes of the data
 * window that changed, so that the emulator's results can be compared with the
 * real processor's.
 *
 * The work is done by test/native/runner32.c (see the essay at its top): a
 * static `gcc -m32` program that forks once per case; the child runs the case
 * under a seccomp filter that kills it on any system call, with a time limit.
 * This module builds it on demand into .cache/native/ (rebuilt when the source
 * is newer than the binary) and talks to it over stdin/stdout.
 *
 * Machine model of a case (what the emulator side must reproduce):
 *   - 32-bit flat protected mode, CPL 3, Linux user selectors in CS/DS/ES/SS.
 *   - The code is at CODE_BASE (0x30000000) in a writable, executable page;
 *     right after the last byte of `code` comes the runner's epilogue, so a
 *     case that falls off its end finishes with EIP = CODE_BASE + code.length.
 *     The rest of the page is 0xCC (int3); the pages around it are unmapped.
 *   - The data window is DATA_SIZE (64 KiB) at DATA_BASE (0x20000000), readable
 *     and writable, not executable. It starts as zeros overlaid with `mem`.
 *     ESP normally points inside it (the caller chooses).
 *   - EFLAGS starts as (eflags & EFLAGS_SETTABLE) | 0x202 (IF and bit 1 set).
 *   - The x87 unit starts in the FNINIT state, or is loaded with FRSTOR from
 *     `fpu` (a 108-byte 32-bit protected-mode FNSAVE image).
 *
 * Protocol (all integers u32 little-endian; mirrored from runner32.c):
 *   request:  magic 0x51433638, flags (bit 0: FRSTOR image follows), timeout_ms,
 *             regs[8] (EAX ECX EDX EBX ESP EBP ESI EDI), eflags, code_len,
 *             nchunks, [fpu[108]], code[code_len],
 *             nchunks x {offset (from DATA_BASE), len, bytes[len]}
 *   response: magic 0x52433638, status (0 ok, 1 signal, 2 syscall, 3 timeout,
 *             4 error), info (bit 0: regs/eflags/fpu/fault fields valid), signo,
 *             si_code, fault_addr, trapno, err, eip, regs[8], eflags, fpu[108],
 *             errno_info, nruns, nruns x {offset, len, bytes[len]} (the bytes
 *             of the window that differ from the initial contents, final values)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA_BASE = 0x20000000;
export const DATA_SIZE = 0x10000;
export const CODE_BASE = 0x30000000;
/** The most code bytes one case may have (the code page also holds the epilogue). */
export const MAX_CODE = 0x1000 - 256;
export const FNSAVE_SIZE = 108;
/** The EFLAGS bits a case may set initially: CF PF AF ZF SF DF OF. */
export const EFLAGS_SETTABLE = 0xcd5;
/** The arithmetic flags: CF PF AF ZF SF OF. */
export const EFLAGS_ARITH = 0x8d5;
export const DEFAULT_TIMEOUT_MS = 250;

/** Signal numbers on Linux/x86. */
export const SIG = { SIGILL: 4, SIGTRAP: 5, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGSYS: 31 } as const;

/** Register order everywhere in this module: the x86 encoding order. */
export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;

export interface MemChunk {
  /** A linear address inside [DATA_BASE, DATA_BASE + DATA_SIZE). */
  addr: number;
  bytes: Uint8Array;
}

export interface NativeCase {
  /** At most MAX_CODE bytes, placed at CODE_BASE. */
  code: Uint8Array;
  /** EAX ECX EDX EBX ESP EBP ESI EDI. */
  regs: ArrayLike<number>;
  /** Only the EFLAGS_SETTABLE bits are used. Default 0. */
  eflags?: number;
  /** Initial contents of the data window; everything else is zero. Later chunks win. */
  mem?: MemChunk[];
  /** A 108-byte FNSAVE image to FRSTOR before the code; default: the FNINIT state. */
  fpu?: Uint8Array;
  /** Wall-clock limit for this case; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * ok:      the code ran to its end (EIP = CODE_BASE + code.length).
 * signal:  a signal ended it (a CPU exception: SIGSEGV, SIGFPE, SIGILL, SIGBUS,
 *          SIGTRAP). `fault` and the state at the fault are there when the
 *          runner's handler caught it, which is the normal case.
 * syscall: the code made a system call (int 0x80, sysenter, ...); seccomp killed
 *          the process before the kernel did anything.
 * timeout: still running after the time limit; killed.
 * error:   the runner could not run the case (see `error`).
 */
export type NativeStatus = 'ok' | 'signal' | 'syscall' | 'timeout' | 'error';

export interface NativeFault {
  signal: number;
  /** si_code (e.g. SEGV_MAPERR 1, SEGV_ACCERR 2, FPE_INTDIV 1, ILL_ILLOPN 2, SI_KERNEL 128). */
  code: number;
  /** si_addr: the faulting data address for SIGSEGV/SIGBUS, the instruction for SIGILL/SIGFPE. */
  addr: number;
  /** The CPU exception vector (0 #DE, 1 #DB, 3 #BP, 6 #UD, 13 #GP, 14 #PF, 16 #MF, 17 #AC, ...). */
  trapno: number;
  /** The exception's error code (for #PF: bit 0 present, bit 1 write, bit 2 user). */
  err: number;
  /** EIP at the fault (of the faulting instruction; after it for traps such as int3). */
  eip: number;
}

export interface NativeResult {
  status: NativeStatus;
  /** The signal that ended the code (SIGSYS for 'syscall'); 0 for ok/timeout/error. */
  signal: number;
  /** Whether regs/eflags/fpu/eip hold the final state (ok) or the state at the fault (signal). */
  hasState: boolean;
  /** Set for status 'signal' when the runner's handler caught the signal. */
  fault: NativeFault | null;
  /** CODE_BASE + code.length for ok, the faulting EIP for a caught signal, else 0. */
  eip: number;
  /** EAX ECX EDX EBX ESP EBP ESI EDI (zeros without state). */
  regs: Uint32Array;
  /** EFLAGS as PUSHFD sees it (IF and bit 1 set; RF may be set at a fault). */
  eflags: number;
  /** The 108-byte FNSAVE image of the x87 state (FNSAVE reinitialises the unit afterwards). */
  fpu: Uint8Array;
  /**
   * The bytes of the data window that differ from the initial contents, as runs
   * of final values (sorted, non-adjacent). Memory writes before a fault are included.
   */
  memWrites: MemChunk[];
  /** For status 'error'. */
  error?: string;
}

// ---- Building the runner ------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));

function findRepoRoot(): string {
  let d = here;
  for (;;) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'test', 'native', 'runner32.c'))) return d;
    const up = dirname(d);
    if (up === d) throw new Error(`native: cannot find the repository root above ${here}`);
    d = up;
  }
}

let runnerPath: string | null = null;
let unavailable: string | null = null; // why nativeAvailable() is false

const GCC_FLAGS = ['-m32', '-O2', '-fno-pie', '-no-pie', '-fno-stack-protector', '-Wall'];

/** Builds runner32 if it is missing or older than its source; returns its path. Throws when it can't. */
export function buildRunner(): string {
  if (runnerPath) return runnerPath;
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'ia32')) {
    throw new Error(`native: needs Linux on x86 (this is ${process.platform}/${process.arch})`);
  }
  const root = findRepoRoot();
  const src = join(root, 'test', 'native', 'runner32.c');
  const outDir = join(root, '.cache', 'native');
  const bin = join(outDir, 'runner32');
  const fresh = existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs;
  if (!fresh) {
    mkdirSync(outDir, { recursive: true });
    // Build under a private name and rename, so that concurrent test workers never run a half-written file.
    const tmp = `${bin}.${process.pid}.tmp`;
    const errors: string[] = [];
    for (const extra of [['-static'], []]) {
      const r = spawnSync('gcc', [...GCC_FLAGS, ...extra, '-o', tmp, src], { encoding: 'utf8' });
      if (r.error) {
        throw new Error(`native: cannot run gcc (${r.error.message}); install gcc-multilib`);
      }
      if (r.status === 0) {
        renameSync(tmp, bin);
        errors.length = 0;
        break;
      }
      errors.push(`gcc ${[...GCC_FLAGS, ...extra].join(' ')}: ${r.stderr.trim()}`);
      try {
        unlinkSync(tmp);
      } catch {
        // nothing to remove
      }
    }
    if (errors.length) {
      throw new Error(`native: cannot build runner32 with gcc -m32 (is gcc-multilib installed?)\n${errors.join('\n')}`);
    }
  }
  runnerPath = bin;
  return bin;
}

let checked = false;

/**
 * True when the runner can be built and runs a trivial case (so 32-bit
 * binaries, fork and seccomp all work here); otherwise see nativeUnavailableReason().
 */
export function nativeAvailable(): boolean {
  if (checked) return unavailable === null;
  checked = true;
  try {
    buildRunner();
    const [r] = runNative([{ code: Uint8Array.of(0x40), regs: [0, 0, 0, 0, DATA_BASE + 0x100, 0, 0, 0], timeoutMs: 5000 }]); // inc eax
    if (r!.status !== 'ok' || r!.regs[0] !== 1) {
      throw new Error(`native: runner32 smoke test failed: ${r!.status} ${r!.error ?? `signal ${r!.signal}`}`);
    }
  } catch (e) {
    unavailable = e instanceof Error ? e.message : String(e);
  }
  return unavailable === null;
}

/** Why nativeAvailable() is false, or null. */
export function nativeUnavailableReason(): string | null {
  return nativeAvailable() ? null : unavailable;
}

// ---- Encoding and decoding -------------------------------------------------------

const REQ_MAGIC = 0x51433638;
const RSP_MAGIC = 0x52433638;
const STATUS: readonly NativeStatus[] = ['ok', 'signal', 'syscall', 'timeout', 'error'];
const ERROR_STEPS: Record<number, string> = {
  1: 'sigaltstack',
  2: 'sigaction',
  3: 'sigprocmask',
  4: 'prctl(PR_SET_NO_NEW_PRIVS)',
  5: 'seccomp filter',
  6: 'prctl(PR_SET_PDEATHSIG)',
  7: 'runner exited',
  8: 'setrlimit(RLIMIT_CPU)',
  100: 'fork',
  101: 'unexpected child exit',
};

function checkCase(c: NativeCase, i: number): void {
  const bad = (m: string) => new Error(`native: case ${i}: ${m}`);
  if (c.code.length > MAX_CODE) throw bad(`code is ${c.code.length} bytes (max ${MAX_CODE})`);
  if (c.regs.length !== 8) throw bad('regs must have 8 entries');
  if (c.fpu && c.fpu.length !== FNSAVE_SIZE) throw bad(`fpu must be ${FNSAVE_SIZE} bytes`);
  for (const m of c.mem ?? []) {
    const off = m.addr - DATA_BASE;
    if (!(off >= 0 && off + m.bytes.length <= DATA_SIZE)) {
      throw bad(`memory chunk at 0x${m.addr.toString(16)} (+${m.bytes.length}) is outside the data window`);
    }
  }
}

/** Encodes a batch of requests into one buffer (see the protocol above). */
export function encodeCases(cases: readonly NativeCase[]): Buffer {
  let size = 0;
  cases.forEach((c, i) => {
    checkCase(c, i);
    size += 4 * 14 + (c.fpu ? FNSAVE_SIZE : 0) + c.code.length;
    for (const m of c.mem ?? []) size += 8 + m.bytes.length;
  });
  const buf = Buffer.allocUnsafe(size);
  let p = 0;
  const u32 = (v: number) => {
    buf.writeUInt32LE(v >>> 0, p);
    p += 4;
  };
  const bytes = (b: Uint8Array) => {
    buf.set(b, p);
    p += b.length;
  };
  for (const c of cases) {
    const mem = c.mem ?? [];
    u32(REQ_MAGIC);
    u32(c.fpu ? 1 : 0);
    u32(Math.max(1, Math.min(60000, Math.round(c.timeoutMs ?? DEFAULT_TIMEOUT_MS))));
    for (let r = 0; r < 8; r++) u32(c.regs[r]!);
    u32(c.eflags ?? 0);
    u32(c.code.length);
    u32(mem.length);
    if (c.fpu) bytes(c.fpu);
    bytes(c.code);
    for (const m of mem) {
      u32(m.addr - DATA_BASE);
      u32(m.bytes.length);
      bytes(m.bytes);
    }
  }
  if (p !== size) throw new Error('native: encoder size mismatch');
  return buf;
}

/** Decodes `count` responses; throws if the output is short or malformed. */
export function decodeResults(out: Buffer, count: number): NativeResult[] {
  const results: NativeResult[] = [];
  let p = 0;
  const need = (n: number) => {
    if (p + n > out.length) throw new Error(`native: runner output ends early (after ${results.length} of ${count} results)`);
  };
  const u32 = () => {
    need(4);
    const v = out.readUInt32LE(p);
    p += 4;
    return v;
  };
  const bytes = (n: number) => {
    need(n);
    const b = new Uint8Array(n);
    b.set(out.subarray(p, p + n));
    p += n;
    return b;
  };
  for (let i = 0; i < count; i++) {
    if (u32() !== RSP_MAGIC) throw new Error(`native: bad response magic for case ${i}`);
    const statusCode = u32();
    const info = u32();
    const signal = u32();
    const code = u32();
    const addr = u32();
    const trapno = u32();
    const err = u32();
    const eip = u32();
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++) regs[r] = u32();
    const eflags = u32();
    const fpu = bytes(FNSAVE_SIZE);
    const errInfo = u32();
    const nruns = u32();
    const memWrites: MemChunk[] = [];
    for (let k = 0; k < nruns; k++) {
      const off = u32();
      const len = u32();
      memWrites.push({ addr: DATA_BASE + off, bytes: bytes(len) });
    }
    const status = STATUS[statusCode];
    if (!status) throw new Error(`native: unknown status ${statusCode} for case ${i}`);
    const hasState = (info & 1) !== 0;
    const res: NativeResult = {
      status,
      signal,
      hasState,
      fault: status === 'signal' && hasState ? { signal, code, addr, trapno, err, eip } : null,
      eip,
      regs,
      eflags,
      fpu,
      memWrites,
    };
    if (status === 'error') {
      const step = errInfo >>> 16;
      res.error = `${ERROR_STEPS[step] ?? `step ${step}`} failed (errno/status ${errInfo & 0xffff})`;
    }
    results.push(res);
  }
  if (p !== out.length) throw new Error('native: trailing bytes in runner output');
  return results;
}

// ---- Running ------------------------------------------------------------------

function batchTimeoutMs(cases: readonly NativeCase[]): number {
  let t = 10_000;
  for (const c of cases) t += (c.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 20;
  return t;
}

/** Runs the cases in one runner process, synchronously; results are in the same order. */
export function runNative(cases: readonly NativeCase[]): NativeResult[] {
  if (cases.length === 0) return [];
  const bin = buildRunner();
  const input = encodeCases(cases);
  const r = spawnSync(bin, [], {
    input,
    maxBuffer: 2 ** 31 - 1,
    timeout: batchTimeoutMs(cases),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) throw new Error(`native: runner32 failed: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`native: runner32 exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  }
  return decodeResults(r.stdout, cases.length);
}

function runOne(bin: string, cases: readonly NativeCase[]): Promise<NativeResult[]> {
  const input = encodeCases(cases); // throws on a bad case before anything is spawned
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const errText: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), batchTimeoutMs(cases));
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => errText.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`native: runner32 failed: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`native: runner32 exited with ${code ?? signal}: ${Buffer.concat(errText).toString().trim()}`));
        return;
      }
      try {
        resolve(decodeResults(Buffer.concat(out), cases.length));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.on('error', () => {
      // The runner died; 'close' reports it.
    });
    child.stdin.end(input);
  });
}

/**
 * Runs the cases split over `jobs` runner processes in parallel (default: the
 * number of CPUs); results are in the same order as the cases.
 */
export async function runNativeParallel(cases: readonly NativeCase[], jobs = cpus().length): Promise<NativeResult[]> {
  if (cases.length === 0) return [];
  const bin = buildRunner();
  const n = Math.max(1, Math.min(jobs, Math.ceil(cases.length / 64)));
  const per = Math.ceil(cases.length / n);
  const parts: Promise<NativeResult[]>[] = [];
  cases.forEach(checkCase);
  for (let i = 0; i < cases.length; i += per) parts.push(runOne(bin, cases.slice(i, i + per)));
  return (await Promise.all(parts)).flat();
}

// ---- Helpers for comparing -----------------------------------------------------

/** The initial 64 KiB window of a case. */
export function initialMemory(c: NativeCase): Uint8Array {
  const m = new Uint8Array(DATA_SIZE);
  for (const ch of c.mem ?? []) m.set(ch.bytes, ch.addr - DATA_BASE);
  return m;
}

/** The final 64 KiB window of a case (at the fault, for a caught signal). */
export function finalMemory(c: NativeCase, r: NativeResult): Uint8Array {
  const m = initialMemory(c);
  for (const ch of r.memWrites) m.set(ch.bytes, ch.addr - DATA_BASE);
  return m;
}

export interface FnsaveState {
  fcw: number;
  fsw: number;
  /** The full tag word (2 bits per physical register: 00 valid, 01 zero, 10 special, 11 empty). */
  ftw: number;
  /** TOP, from FSW bits 11..13. */
  top: number;
  fip: number;
  fcs: number;
  /** The last x87 opcode (11 bits). */
  fop: number;
  fdp: number;
  fds: number;
  /** ST(0)..ST(7), 10 bytes each, in stack order (as FNSAVE stores them). */
  st: Uint8Array[];
}

/** Splits a 32-bit protected-mode FNSAVE image into its fields. */
export function parseFnsave(b: Uint8Array): FnsaveState {
  if (b.length < FNSAVE_SIZE) throw new Error('native: FNSAVE image too short');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fsw = v.getUint16(4, true);
  const st: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) st.push(b.slice(28 + 10 * i, 38 + 10 * i));
  return {
    fcw: v.getUint16(0, true),
    fsw,
    ftw: v.getUint16(8, true),
    top: (fsw >> 11) & 7,
    fip: v.getUint32(12, true),
    fcs: v.getUint16(16, true),
    fop: v.getUint16(18, true) & 0x7ff,
    fdp: v.getUint32(20, true),
    fds: v.getUint16(24, true),
    st,
  };
}

/** The value of an 80-bit extended-precision number, rounded to a double (NaN for NaNs/unsupported). */
export function f80ToNumber(b: Uint8Array): number {
  let mant = 0n;
  for (let i = 7; i >= 0; i--) mant = (mant << 8n) | BigInt(b[i]!);
  const se = b[8]! | (b[9]! << 8);
  const sign = se & 0x8000 ? -1 : 1;
  const exp = se & 0x7fff;
  if (exp === 0x7fff) return (mant << 1n) & ((1n << 64n) - 1n) ? NaN : sign * Infinity;
  if (mant === 0n) return sign * 0;
  // value = mant * 2^(exp - 16383 - 63); keep 64 bits of precision via two halves.
  const hi = Number(mant >> 11n); // 53 bits
  const lo = Number(mant & 0x7ffn);
  const e = (exp === 0 ? 1 : exp) - 16383 - 63;
  return sign * (hi * 2 ** (e + 11) + lo * 2 ** e);
}
