/**
 * A test bench for devices: a port bus, a Clock in 'virtual' mode driven by a
 * fake instruction counter, and interrupt lines that either record levels and
 * rising edges or go to a real PIC.
 */
import { Clock, NS_PER_INSTRUCTION } from '../../runtime/clock.js';
import { PortRegistry } from '../../runtime/ports.js';
import type { Device, DeviceHost, InterruptLines } from '../../runtime/devices/device.js';

export class Lines implements InterruptLines {
  level = new Array<boolean>(16).fill(false);
  rises = new Array<number>(16).fill(0);
  /** Called after a rising edge (like an interrupt handler would run). */
  onRise: ((line: number) => void) | null = null;
  setIrq(line: number, high: boolean): void {
    const was = this.level[line]!;
    this.level[line] = high;
    if (high && !was) {
      this.rises[line]!++;
      this.onRise?.(line);
    }
  }
}

export class Bench {
  instructions = 0;
  readonly clock = new Clock('virtual', () => this.instructions);
  readonly ports = new PortRegistry();
  readonly host: DeviceHost;

  constructor(readonly irq: InterruptLines = new Lines(), startNs = 0) {
    this.host = {
      ports: this.ports,
      clock: this.clock,
      irq,
      memory: { read8: () => 0, write8: () => {}, load: () => {} },
    };
    if (startNs) this.clock.skipTo(startNs);
  }

  attach<D extends Device>(d: D): D {
    d.attach(this.host);
    return d;
  }

  now(): number {
    return this.clock.now();
  }

  /** Execute `n` fake instructions (10 ns each), then run the timers that became due, as the run loop does. */
  step(n: number): void {
    this.instructions += n;
    this.clock.runDue();
  }

  /** Move time forward by `ns`, running every timer at its own deadline. */
  advance(ns: number): void {
    this.runUntil(this.clock.now() + ns);
  }

  runUntil(target: number): void {
    for (;;) {
      const next = this.clock.nextDeadline();
      if (next > target) break;
      this.clock.skipTo(next);
      this.clock.runDue();
    }
    this.clock.skipTo(target);
    this.clock.runDue();
  }

  in(port: number, size: 1 | 2 | 4 = 1): number {
    return this.ports.portIn(port, size);
  }
  out(port: number, value: number, size: 1 | 2 | 4 = 1): void {
    this.ports.portOut(port, size, value);
  }
}

export { NS_PER_INSTRUCTION };
