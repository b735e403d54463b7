/**
 * QEMU's isa-debug-exit device: a write of v to its port (0xF4) ends the
 * emulation with exit status (v << 1) | 1. Guests and test programs use it to
 * report a result to the host.
 */
import type { PortHandler, PortRegistry } from '../ports.js';

export class DebugExit implements PortHandler {
  constructor(readonly port: number, private readonly onExit: (status: number) => void) {}

  attach(bus: PortRegistry): void {
    bus.register(this.port, 1, this);
  }
  write(_port: number, size: number, value: number): void {
    const v = size === 1 ? value & 0xff : size === 2 ? value & 0xffff : value >>> 0;
    this.onExit(((v << 1) | 1) >>> 0);
  }
}
