/**
 * Run one of our system test guests (guests/tests/*.bin) on a Machine and
 * collect what it reports on the debug console: "ok NAME" and "FAIL NAME ..."
 * lines (see guests/tests/lib.inc).
 *
 * Host actions: a guest that writes a byte to HOST_PORT stops the run
 * (Machine.pause); the test's `onHostAction` then does what the byte asks
 * (raise an NMI or an external interrupt at a chosen instruction boundary) and
 * the run continues. That is how the interrupt-shadow checks place an event
 * exactly after STI or MOV SS.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';

function findGuestDir(): string {
  // test/system/ when run from source, dist/test/system/ when built.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'guests', 'tests', 'lib.inc'))) return join(dir, 'guests', 'tests');
    dir = dirname(dir);
  }
  throw new Error('cannot find guests/tests');
}

export const GUEST_DIR = findGuestDir();
export const HOST_PORT = 0x5ff0;

export interface GuestOptions {
  rom?: boolean;
  /** The multiboot command line. */
  cmdline?: string;
  noReboot?: boolean;
  maxInstructions?: number;
  memSize?: number;
  /** Called when the guest writes `value` to HOST_PORT; the run resumes after it returns. */
  onHostAction?: (m: Machine, value: number) => void;
  /** Wire extra devices before the run. */
  setup?: (m: Machine) => void;
  /** More machine configuration (the translator's mode, say). */
  config?: Partial<MachineConfig>;
}

/** External interrupt vector the host raises for actions 3 and 4. */
export const HOST_IRQ = 0x50;

/**
 * The host actions of intr.asm: 1 raise NMI now; 2 run one instruction, then
 * raise NMI; 3 run one instruction, then raise external interrupt HOST_IRQ;
 * 4 raise HOST_IRQ now (delivered when IF allows). The interrupt line is an
 * interrupt controller that holds one vector until acknowledged.
 */
export function hostInterrupts(): Pick<GuestOptions, 'setup' | 'onHostAction'> {
  let pending = -1;
  return {
    setup: (m) => {
      m.cpu.interruptController = {
        hasInterrupt: () => pending >= 0,
        acknowledge: () => {
          const v = pending;
          pending = -1;
          return v;
        },
      };
    },
    onHostAction: (m, action) => {
      if (action === 2 || action === 3) m.cpu.run(1);
      if (action === 1 || action === 2) m.cpu.nmi();
      if (action === 3 || action === 4) pending = HOST_IRQ;
      // The CPU asks its interrupt controller only when told that something changed.
      if (pending >= 0) m.cpu.interruptCheck = true;
    },
  };
}

export interface GuestRun {
  output: string;
  ok: string[];
  fail: string[];
  result: RunResult;
  machine: Machine;
}

export function guestImage(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(GUEST_DIR, `${name}.bin`)));
}

export function runGuest(name: string, opts: GuestOptions = {}): GuestRun {
  const image = guestImage(name);
  let output = '';
  const m = new Machine({
    memSize: opts.memSize ?? 16 << 20,
    ...(opts.rom ? { bios: image } : { multiboot: image, cmdline: opts.cmdline ?? '' }),
    debugcon: [{ port: 0xe9, sink: (b) => { output += String.fromCharCode(b); } }],
    noReboot: opts.noReboot ?? true,
    ...opts.config,
  });
  let action = -1;
  m.ports.register(HOST_PORT, 1, {
    write: (_port, _size, value) => {
      action = value & 0xff;
      m.pause();
    },
  });
  opts.setup?.(m);
  let budget = opts.maxInstructions ?? 20_000_000;
  let result: RunResult;
  for (;;) {
    result = m.run(budget);
    budget -= result.instructions;
    if (result.kind !== 'paused') break;
    if (opts.onHostAction) opts.onHostAction(m, action);
    action = -1;
  }
  const lines = output.split('\n');
  return {
    output,
    ok: lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3).trim()),
    fail: lines.filter((l) => l.startsWith('FAIL ')),
    result,
    machine: m,
  };
}
