/**
 * The common shape of every device: one class per file, attached to the
 * machine through a DeviceHost (port bus, clock, interrupt lines), able to reset
 * and to save and restore its state as plain JSON data (snapshots and migration
 * are built on this, so it is not optional).
 */
import type { Clock } from '../clock.js';
import type { PortRegistry } from '../ports.js';
import type { MmioRegistry } from '../mmio.js';

/** Level-triggered interrupt input of the interrupt controller(s): ISA IRQ 0-15 (and beyond for the I/O APIC). */
export interface InterruptLines {
  setIrq(line: number, high: boolean): void;
}

export interface DeviceHost {
  ports: PortRegistry;
  clock: Clock;
  irq: InterruptLines;
  /** Guest physical memory for devices that do DMA or expose tables (reads/writes go through the code-page watch). */
  memory: { read8(addr: number): number; write8(addr: number, v: number): void; load(addr: number, data: Uint8Array): void };
  /** Memory-mapped windows above RAM (the APICs, the HPET, PCI BARs); devices that have registers there require it. */
  mmio?: MmioRegistry;
}

export interface Device {
  readonly name: string;
  /** Register ports, MMIO windows and timers with the machine. */
  attach(host: DeviceHost): void;
  /** Power-on / reset state. */
  reset(): void;
  /** Plain JSON-serialisable state, versioned by the device itself. */
  save(): unknown;
  restore(state: unknown): void;
}
