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
import type { Device, DeviceHost } from '../../runtime/devices/device.js';
import { Pic } from '../../runtime/devices/pic.js';
import { Pit } from '../../runtime/devices/pit.js';
import { Rtc } from '../../runtime/devices/rtc.js';
import { Port92 } from '../../runtime/devices/port92.js';
import { PostPort } from '../../runtime/devices/post.js';
import { Uart16550 } from '../../runtime/devices/uart16550.js';
import { I8042 } from '../../runtime/devices/i8042.js';
import { VgaText } from '../../runtime/devices/vga.js';
import { IrqRouter } from '../../runtime/irq.js';
import { loadMultiboot } from './multiboot.js';
import { loadLinux } from './linux.js';
import { Clock, NS_PER_INSTRUCTION, type ClockMode } from '../../runtime/clock.js';

/** The time-stamp counter's rate: 1 GHz, one tick per nanosecond of machine time. */
export const TSC_HZ = 1e9;

/** Elements a REP string instruction runs before it yields (ECX = FFFFFFFF would take minutes). */
export const REP_LIMIT = 4096;

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
  /** Wall-clock time at power-on for the RTC (ms since the epoch). Default: now with the realtime clock, 2026-01-01 with the virtual one. */
  startTime?: number;
  /** Leave out the PC platform devices (bare test machines). */
  noPlatform?: boolean;
}

/** The RTC's start time for deterministic runs: 2026-01-01T00:00:00Z. */
const VIRTUAL_EPOCH = Date.UTC(2026, 0, 1);

/**
 * Why run() returned: the guest wrote isa-debug-exit ('exit') or powered off
 * ('poweroff'), a triple fault with noReboot ('shutdown'), a guest reset with
 * noReboot ('reboot'), a CPU halted with
 * nothing that can wake it ('halted'), the instruction budget ran out ('limit'),
 * or (realtime clock) the CPU is idle until `idleUntilNs` ('idle'), or pause()
 * was called ('paused': run() may be called again to continue).
 */
export type StopKind = 'exit' | 'poweroff' | 'reboot' | 'shutdown' | 'halted' | 'limit' | 'idle' | 'paused';

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
  private resetRequested = false;
  readonly irq: IrqRouter;
  readonly devices: Device[] = [];
  pic: Pic | null = null;
  vga: VgaText | null = null;
  keyboard: I8042 | null = null;
  readonly uarts: Uart16550[] = [];
  /** A20 as the two gates (port 0x92 and the keyboard controller's output port) drive it. */
  private a20Port92 = false;
  private a20Kbc = true;
  private shutdownRequested = false;
  private pauseRequested = false;

  constructor(readonly config: MachineConfig) {
    this.phys = new PhysicalMemory(config.memSize);
    this.cpu = new Cpu(null as never, this.ports, SEMANTICS, protectedModeHooks);
    this.mmu = new Mmu(this.phys, this.cpu);
    this.clock = new Clock(config.clock ?? 'virtual', () => this.cpu.instructionCount);
    this.cpu.mem = this.mmu;
    // A REP string instruction yields every REP_LIMIT elements (as if interrupted between
    // iterations), so no single guest instruction holds the host (the cold tier follows
    // nextEip after it; sem/string.ts).
    this.cpu.repLimit = REP_LIMIT;
    // The TSC runs at TSC_HZ on the machine's clock: virtual time, or the host's.
    this.cpu.tscSource = () => Math.floor(this.clock.now() * (TSC_HZ / 1e9));
    this.mmu.onCodeWrite((page) => this.cpu.dropDecoded(page));
    this.cpu.onModeChange = (cr3Only) => this.mmu.controlChanged(cr3Only);
    this.cpu.onInvlpg = (lin) => this.mmu.invlpg(lin);
    this.cpu.onShutdown = () => { this.shutdownRequested = true; };
    this.irq = new IrqRouter(() => { this.cpu.interruptCheck = true; });
    for (const d of config.debugcon ?? []) new DebugConsole(d.port, d.sink).attach(this.ports);
    if (!config.noPlatform) this.attachPlatform();
    new DebugExit(0xf4, (status) => { this.exitStatus = status; this.cpu.stopReason = 'stop'; }).attach(this.ports);
    this.boot();
  }

  /** The PC's devices: PIC, PIT, RTC, port 0x92, POST, COM1-4, the keyboard controller, VGA text. */
  private attachPlatform(): void {
    const clockMode = this.config.clock ?? 'virtual';
    const start = this.config.startTime ?? (clockMode === 'realtime' ? Date.now() : VIRTUAL_EPOCH);
    const pic = new Pic();
    this.pic = pic;
    this.irq.addSink(pic);
    this.cpu.interruptController = pic;
    this.ports.onWrite = () => { this.cpu.interruptCheck = true; };
    const rtc = new Rtc(start);
    const kbc = new I8042({ onReset: () => this.requestReset(), onA20: (on) => { this.a20Kbc = on; this.applyA20(); } });
    this.keyboard = kbc;
    this.vga = new VgaText();
    const devices: Device[] = [
      pic, new Pit(), rtc, new Port92((on) => { this.a20Port92 = on; this.applyA20(); }, () => this.requestReset()),
      new PostPort(), kbc, this.vga,
    ];
    for (const com of [1, 2, 3, 4] as const) {
      const uart = new Uart16550({ com });
      this.uarts.push(uart);
      devices.push(uart);
      this.serialPorts.push({
        get onTransmit() { return uart.onTransmit ?? null; },
        set onTransmit(f) { uart.onTransmit = f ?? undefined; },
        receive: (bytes) => uart.receive(bytes),
      });
    }
    for (const d of devices) this.attachDevice(d);
    rtc.setMemorySize(this.config.memSize);
  }

  /** Attach a device with its own interrupt lines. */
  attachDevice(d: Device): void {
    const host: DeviceHost = { ports: this.ports, clock: this.clock, irq: this.irq.linesFor(d), memory: this.phys };
    d.attach(host);
    d.reset();
    this.devices.push(d);
  }

  private applyA20(): void {
    this.phys.setA20(this.a20Port92 || this.a20Kbc);
    this.cpu.invalidateFetch();
    this.mmu.flush(false);
  }

  /** A guest reset (keyboard controller 0xFE, port 0x92, 0xCF9): taken between slices. */
  requestReset(): void {
    this.resetRequested = true;
    this.cpu.stopReason = 'stop';
  }

  private boot(): void {
    for (const d of this.devices) d.reset();
    this.a20Port92 = false;
    this.a20Kbc = true;
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
    // The budget counts steps: instructions, and exceptions delivered instead of one, so
    // that a guest caught in a loop of faults (that never retires an instruction) still
    // comes back to the caller.
    let steps = 0;
    for (;;) {
      clock.runDue();
      const left = maxInstructions - steps;
      if (left <= 0) return this.result('limit', start);
      let slice = Math.min(SLICE, left);
      const deadline = clock.nextDeadline();
      if (clock.mode === 'virtual' && deadline !== Infinity) {
        slice = Math.max(1, Math.min(slice, Math.ceil((deadline - clock.now()) / NS_PER_INSTRUCTION)));
      }
      const retired = cpu.instructionCount;
      const reason = cpu.run(slice);
      steps += reason === 'count' ? slice : cpu.instructionCount - retired;
      if (this.exitStatus >= 0) return this.result('exit', start);
      if (this.poweredOff) return this.result('poweroff', start);
      if (this.resetRequested) {
        this.resetRequested = false;
        if (this.config.noReboot) return this.result('reboot', start);
        this.boot();
        continue;
      }
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
