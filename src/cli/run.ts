/**
 * `bt86 run`: boot a machine the way QEMU's command line does (--kernel/--initrd/
 * --append or --bios, --mem, --serial, --debugcon, --no-reboot), with no
 * arguments booting the default Debian guest (building it first).
 *
 * The terminal: with --serial stdio, stdin is put in raw mode and forwarded to
 * COM1; Ctrl-A X quits, Ctrl-A C prints a status line, Ctrl-A Ctrl-A sends a
 * Ctrl-A. The terminal is restored on every way out (normal exit, errors,
 * signals). Exit codes: 0 ACPI power-off; (v << 1) | 1 for isa-debug-exit; 2
 * usage errors; 3 triple fault with --no-reboot; 4 CPU halted with interrupts
 * disabled and nothing that can wake it; 124 --timeout.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import type { ClockMode } from '../../runtime/clock.js';
import { ensureGuest, type KernelFlavour } from '../machine/guest.js';
import { Machine, type MachineConfig, type RunResult } from '../machine/machine.js';
import { isMultiboot } from '../machine/multiboot.js';

export const EXIT = { POWEROFF: 0, USAGE: 2, TRIPLE_FAULT: 3, HALTED: 4, TIMEOUT: 124 } as const;

export class UsageError extends Error {}

/** Parse a memory size (QEMU style: bytes, or with K/M/G suffix; a bare number is MiB). */
export function parseMemSize(text: string): number {
  const m = /^(\d+)([KMG]?)(i?B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`bad memory size '${text}' (examples: 256M, 1G)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  const bytes = unit === 'K' ? n * 1024 : unit === 'G' ? n * 1024 ** 3 : n * 1024 * 1024;
  if (bytes < 16 << 20 || bytes > 3 * 1024 ** 3) throw new UsageError(`memory size ${text} is out of range (16M to 3G)`);
  if (bytes % 4096) throw new UsageError(`memory size ${text} is not a multiple of 4 KiB`);
  return bytes;
}

export interface DebugconSpec { port: number; path: string }

export function parseDebugcon(spec: string): DebugconSpec {
  const m = /^(?:(0x[0-9a-f]+|\d+)=)?(.+)$/i.exec(spec);
  if (!m || !m[2]) throw new UsageError(`bad --debugcon '${spec}' (want [PORT=]PATH)`);
  const port = m[1] ? Number(m[1]) : 0xe9;
  if (!(port >= 0 && port <= 0xffff)) throw new UsageError(`bad --debugcon port in '${spec}'`);
  return { port, path: m[2] };
}

export type SerialSpec = { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' };

export function parseSerial(spec: string): SerialSpec {
  if (spec === 'stdio') return { kind: 'stdio' };
  if (spec === 'none') return { kind: 'none' };
  if (spec.startsWith('file:') && spec.length > 5) return { kind: 'file', path: spec.slice(5) };
  throw new UsageError(`bad --serial '${spec}' (want stdio, file:PATH or none)`);
}

function readInput(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`${what} '${path}' does not exist`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read ${what} '${path}': ${(e as Error).message}`);
  }
}

export interface RunArgs {
  kernel?: string;
  initrd?: string;
  append?: string;
  bios?: string;
  mem: string;
  serial: string;
  debugcon?: string[];
  timeout?: number;
  'no-reboot': boolean;
  jit: string;
  clock: string;
  flavour: string;
}

/** A byte sink: stdout, a file, or nothing. */
function openSink(path: string): { write(b: number): void; close(): void } {
  if (path === 'stdio') return { write: (b) => process.stdout.write(Uint8Array.of(b)), close: () => {} };
  const fd = openSync(path, 'w');
  return { write: (b) => { writeSync(fd, Uint8Array.of(b)); }, close: () => closeSync(fd) };
}

/** Build the machine configuration from the command line; throws UsageError on bad input. */
export function configFromArgs(args: RunArgs): MachineConfig {
  const memSize = parseMemSize(args.mem);
  const config: MachineConfig = { memSize, noReboot: args['no-reboot'], clock: args.clock as ClockMode };
  if (args.bios && args.kernel) throw new UsageError('give either --bios or --kernel, not both');
  if (args.initrd && !args.kernel) throw new UsageError('--initrd needs --kernel');
  if (args.bios) {
    config.bios = readInput(args.bios, 'BIOS image');
  } else if (args.kernel) {
    const image = readInput(args.kernel, 'kernel');
    if (isMultiboot(image) && !args.initrd) {
      // As QEMU's -kernel: a multiboot kernel (our test guests) boots as one, --append its command line.
      config.multiboot = image;
      config.cmdline = args.append ?? '';
    } else {
      config.kernel = image;
      if (args.initrd) config.initrd = readInput(args.initrd, 'initrd');
      config.append = args.append ?? '';
    }
  } else {
    process.stderr.write('bt86: no kernel given: booting the default guest (building it if needed)\n');
    const guest = ensureGuest(args.flavour as KernelFlavour);
    config.kernel = new Uint8Array(readFileSync(guest.kernel));
    config.initrd = new Uint8Array(readFileSync(guest.initrd));
    config.append = args.append ?? 'console=ttyS0';
  }
  return config;
}

function exitCodeOf(r: RunResult): number {
  switch (r.kind) {
    case 'exit': return r.exitStatus;
    case 'poweroff': return EXIT.POWEROFF;
    case 'reboot': return 0;
    case 'shutdown': return EXIT.TRIPLE_FAULT;
    case 'halted': return EXIT.HALTED;
    default: return 0;
  }
}

/** Run a machine until it stops; resolves to the process exit code. */
export async function runMachine(machine: Machine, opts: { timeoutSec?: number; stdioSerial: boolean }): Promise<number> {
  const started = Date.now();
  const deadline = opts.timeoutSec ? started + opts.timeoutSec * 1000 : Infinity;
  const stdin = process.stdin;
  const raw = opts.stdioSerial && stdin.isTTY;
  let quit = false;
  let ctrlA = false;
  const restore = () => { if (raw) stdin.setRawMode(false); stdin.pause(); };
  const onData = (buf: Buffer) => {
    for (const b of buf) {
      if (ctrlA) {
        ctrlA = false;
        if (b === 0x78 || b === 0x58) { quit = true; continue; } // x
        if (b === 0x63 || b === 0x43) { process.stderr.write(`\r\n[bt86] ${machine.statusLine()}\r\n`); continue; } // c
        if (b !== 1) continue;
      } else if (b === 1 && raw) {
        ctrlA = true;
        continue;
      }
      machine.serialInput(0, Uint8Array.of(b));
    }
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = () => { quit = true; };
  if (opts.stdioSerial) {
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    machine.inputPossible = true;
  }
  for (const s of signals) process.on(s, onSignal);
  try {
    for (;;) {
      if (quit) return 0;
      if (Date.now() >= deadline) return EXIT.TIMEOUT;
      const r = machine.run(2_000_000);
      if (r.kind === 'limit') {
        await new Promise((res) => setImmediate(res));
        continue;
      }
      if (r.kind === 'idle') {
        const waitMs = r.idleUntilNs === undefined || r.idleUntilNs === Infinity
          ? 20 : Math.max(0, Math.min(20, (r.idleUntilNs - machine.clock.now()) / 1e6));
        await new Promise((res) => setTimeout(res, waitMs));
        continue;
      }
      if (r.kind === 'shutdown') process.stderr.write(`\r\nbt86: ${r.shutdownCause || 'triple fault'}; the processor shut down (--no-reboot)\r\n`);
      return exitCodeOf(r);
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
    if (opts.stdioSerial) { stdin.off('data', onData); restore(); }
  }
}

export function runCommand(setExit: (code: number) => void): CommandModule<object, RunArgs> {
  return {
    command: 'run',
    describe: 'boot a machine (no options: the default Debian guest)',
    builder: (y) => y
      .option('kernel', { type: 'string', describe: 'Linux bzImage (32-bit boot protocol) or multiboot kernel' })
      .option('initrd', { type: 'string', describe: 'initial ramdisk' })
      .option('append', { type: 'string', describe: 'kernel command line' })
      .option('bios', { type: 'string', describe: 'raw ROM image run from the reset vector' })
      .option('mem', { type: 'string', default: '256M', describe: 'guest RAM, 16M to 3G' })
      .option('serial', { type: 'string', default: 'stdio', describe: 'COM1: stdio, file:PATH or none' })
      .option('debugcon', { type: 'string', array: true, describe: '[PORT=]PATH debug console (default port 0xe9; PATH a file or stdio)' })
      .option('timeout', { type: 'number', describe: 'stop after this many wall-clock seconds (exit 124)' })
      .option('no-reboot', { type: 'boolean', default: false, describe: 'stop on a triple fault (exit 3) instead of resetting' })
      .option('jit', { type: 'string', default: 'on', choices: ['off', 'on', 'always'], describe: 'translator: off, on (hot code), always' })
      .option('clock', { type: 'string', default: 'realtime', choices: ['realtime', 'virtual'], describe: 'guest time source' })
      .option('flavour', { type: 'string', default: '686', choices: ['686', '686-pae'], describe: 'default guest kernel flavour' }),
    handler: async (args) => {
      const sinks: { close(): void }[] = [];
      try {
        const serial = parseSerial(args.serial);
        const debugcons = (args.debugcon ?? []).map(parseDebugcon);
        if (args.timeout !== undefined && !(args.timeout > 0)) throw new UsageError('--timeout needs a positive number of seconds');
        const config = configFromArgs(args);
        config.debugcon = debugcons.map((d) => {
          const sink = openSink(d.path);
          sinks.push(sink);
          return { port: d.port, sink: (b: number) => sink.write(b) };
        });
        const machine = new Machine(config);
        if (serial.kind !== 'none') {
          const sink = openSink(serial.kind === 'stdio' ? 'stdio' : serial.path);
          sinks.push(sink);
          machine.serialOutput(0, (b) => sink.write(b));
        }
        setExit(await runMachine(machine, { timeoutSec: args.timeout, stdioSerial: serial.kind === 'stdio' }));
      } catch (e) {
        if (e instanceof UsageError) {
          process.stderr.write(`bt86: ${e.message}\n`);
          setExit(EXIT.USAGE);
          return;
        }
        throw e;
      } finally {
        for (const s of sinks) s.close();
      }
    },
  };
}
