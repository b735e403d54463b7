/**
 * The Bochs/QEMU debug console: every byte written to its port (0xE9 by
 * default) goes to a host sink; reading the port returns 0xE9, which is how
 * guests detect it.
 */
import type { PortHandler, PortRegistry } from '../ports.js';

export class DebugConsole implements PortHandler {
  constructor(readonly port: number, private readonly sink: (byte: number) => void) {}

  attach(bus: PortRegistry): void {
    bus.register(this.port, 1, this);
  }
  read(): number {
    return 0xe9;
  }
  write(_port: number, _size: number, value: number): void {
    this.sink(value & 0xff);
  }
}
