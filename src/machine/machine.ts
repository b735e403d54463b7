/**
 * A machine: CPU, memory with paging, the port bus and the devices, assembled
 * from a configuration, with the run loop that drives them. Today it carries the
 * debug devices (0xE9 console, 0xF4 isa-debug-exit) that our own test guests
 * use; the PC issue adds the platform devices here.
 *
 * Boot paths: a raw ROM image run from the reset vector (like QEMU's -bios), or
 * a multiboot v1 kernel.
 */
import { Cpu } from '../x86/cpu.js';
import { SEMANTICS } from '../x86/sem/index.js';
import { FLAG } from '../x86/rows.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Mmu } from '../../runtime/mmu.js';
import { PortRegistry } from '../../runtime/ports.js';
import { protectedModeHooks } from '../../runtime/system.js';
import { DebugConsole } from '../../runtime/devices/debugcon.js';
import { DebugExit } from '../../runtime/devices/debug-exit.js';
import { loadMultiboot } from './multiboot.js';
import { loadLinux } from './linux.js';
import { Clock, NS_PER_INSTRUCTION, type ClockMode } from '../../runtime/clock.js';

/** Most instructions between two looks at the timers. */
const SLICE = 20_000;

export interface MachineConfig {
  /** Guest RAM in bytes. */
  memSize: number;
  /** A raw ROM image to run from the reset vector. */
  bios?: Uint8Array;
  /** A multiboot kernel, and its command line. */
  multiboot?: Uint8Array;
  cmdline?: string;
  /** A Linux bzImage (booted through the 32-bit boot protocol), its initrd and command line. */
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  append?: string;
  /** Debug console ports and where their bytes go. */
  debugcon?: { port: number; sink: (byte: number) => void }[];
  /** On a triple fault: stop (true, QEMU's -no-reboot) or reset the machine. */
  noReboot?: boolean;
  /** Virtual time: deterministic ('virtual', the default) or following the host ('realtime'). */
  clock?: ClockMode;
}

/**
 * Why run() returned: the guest wrote isa-debug-exit ('exit') or powered off
 * ('poweroff'), a triple fault with noReboot ('shutdown'), a CPU halted with
 * nothing that can wake it ('halted'), the instruction budget ran out ('limit'),
 * or (realtime clock) the CPU is idle until `idleUntilNs` ('idle'), or pause()
 * was called ('paused': run() may be called again to continue).
 */
export type StopKind = 'exit' | 'poweroff' | 'shutdown' | 'halted' | 'limit' | 'idle' | 'paused';

export interface RunResult {
  kind: StopKind;
  /** With 'idle': the next timer deadline (ns of virtual time), or Infinity. */
  idleUntilNs?: number;
  /** isa-debug-exit status ((v << 1) | 1) when kind is 'exit'. */
  exitStatus: number;
  instructions: number;
  /** With 'shutdown': what the processor was doing (e.g. "triple fault: #PF while delivering #DF at 0008:00101234"). */
  shutdownCause?: string;
}

export class Machine {
  readonly phys: PhysicalMemory;
  readonly mmu: Mmu;
  readonly ports = new PortRegistry();
  readonly cpu: Cpu;
  readonly clock: Clock;
  private exitStatus = -1;
  /** Set by the power-management device when the guest powers off. */
  poweredOff = false;
  private shutdownRequested = false;
  private pauseRequested = false;

  constructor(readonly config: MachineConfig) {
    this.phys = new PhysicalMemory(config.memSize);
    this.cpu = new Cpu(null as never, this.ports, SEMANTICS, protectedModeHooks);
    this.mmu = new Mmu(this.phys, this.cpu);
    this.clock = new Clock(config.clock ?? 'virtual', () => this.cpu.instructionCount);
    this.cpu.mem = this.mmu;
    this.mmu.onCodeWrite((page) => this.cpu.dropDecoded(page));
    this.cpu.onModeChange = (cr3Only) => this.mmu.controlChanged(cr3Only);
    this.cpu.onInvlpg = (lin) => this.mmu.invlpg(lin);
    this.cpu.onShutdown = () => { this.shutdownRequested = true; };
    for (const d of config.debugcon ?? []) new DebugConsole(d.port, d.sink).attach(this.ports);
    new DebugExit(0xf4, (status) => { this.exitStatus = status; this.cpu.stopReason = 'stop'; }).attach(this.ports);
    this.boot();
  }

  private boot(): void {
    this.cpu.reset();
    this.mmu.controlChanged();
    if (this.config.bios) this.phys.mapRom(this.config.bios);
    if (this.config.multiboot) loadMultiboot(this.cpu, this.phys, this.config.multiboot, this.config.cmdline);
    if (this.config.kernel) loadLinux(this.cpu, this.phys, this.config.kernel, this.config.initrd ?? null, this.config.append ?? '');
  }

  /**
   * Run until the guest exits, shuts down, halts for good, or `maxInstructions`
   * pass. Timers are served between slices of at most SLICE instructions (and
   * exactly at their deadlines in virtual time), so devices are never late by
   * more than a slice. With the realtime clock a halted CPU returns 'idle' so
   * that the caller can wait for the host clock or input.
   */
  run(maxInstructions = Infinity): RunResult {
    const cpu = this.cpu;
    const clock = this.clock;
    const start = cpu.instructionCount;
    for (;;) {
      clock.runDue();
      const left = maxInstructions - (cpu.instructionCount - start);
      if (left <= 0) return this.result('limit', start);
      let slice = Math.min(SLICE, left);
      const deadline = clock.nextDeadline();
      if (clock.mode === 'virtual' && deadline !== Infinity) {
        slice = Math.max(1, Math.min(slice, Math.ceil((deadline - clock.now()) / NS_PER_INSTRUCTION)));
      }
      const reason = cpu.run(slice);
      if (this.exitStatus >= 0) return this.result('exit', start);
      if (this.poweredOff) return this.result('poweroff', start);
      if (this.shutdownRequested) {
        this.shutdownRequested = false;
        if (this.config.noReboot) return { ...this.result('shutdown', start), shutdownCause: cpu.shutdownCause };
        this.boot();
        continue;
      }
      if (this.pauseRequested) {
        this.pauseRequested = false;
        return this.result('paused', start);
      }
      if (reason === 'halt' && !this.wakeable()) {
        const next = clock.nextDeadline();
        const canWake = (cpu.flagsBits & FLAG.IF) !== 0 && cpu.interruptController !== null && next !== Infinity;
        if (!canWake && !this.inputPossible) return this.result('halted', start);
        if (clock.mode === 'virtual' && next !== Infinity) clock.skipTo(next);
        else return { ...this.result('idle', start), idleUntilNs: next };
      }
    }
  }

  /**
   * Stop run() at the next instruction boundary with kind 'paused' (called by a
   * device during an instruction, or by the host between runs).
   */
  pause(): void {
    this.pauseRequested = true;
    this.cpu.stopReason = 'stop';
  }

  /** True when a halted CPU has an interrupt to take now. */
  private wakeable(): boolean {
    const cpu = this.cpu;
    if (cpu.nmiPending) return true;
    return (cpu.flagsBits & FLAG.IF) !== 0 && cpu.interruptController !== null && cpu.interruptController.hasInterrupt();
  }

  /** Serial ports COM1-COM4 as the launcher sees them (filled in when the UARTs are attached). */
  readonly serialPorts: { onTransmit: ((byte: number) => void) | null; receive(bytes: Uint8Array): void }[] = [];

  /** Send host input to a serial port (COM1 = 0). */
  serialInput(index: number, bytes: Uint8Array): void {
    this.serialPorts[index]?.receive(bytes);
  }

  /** Route a serial port's output to a host sink. */
  serialOutput(index: number, sink: (byte: number) => void): void {
    const port = this.serialPorts[index];
    if (port) port.onTransmit = sink;
  }

  /** One line for Ctrl-A C: execution rate and cache figures. */
  statusLine(): string {
    const cpu = this.cpu;
    const secs = this.clock.now() / 1e9;
    return `instructions ${cpu.instructionCount}, virtual time ${secs.toFixed(2)} s, ` +
      `decode-cache misses ${cpu.decodeCacheMisses}, page walks ${this.mmu.walks}, eip ${cpu.eip.toString(16)}`;
  }

  /** Whether host input (a serial console, the keyboard) may still wake the guest: the launcher sets it. */
  inputPossible = false;

  private result(kind: StopKind, start: number): RunResult {
    return { kind, exitStatus: this.exitStatus, instructions: this.cpu.instructionCount - start };
  }
}
