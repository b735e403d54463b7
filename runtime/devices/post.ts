/**
 * The POST code port (0x80): firmware writes its progress codes here for a
 * diagnostic card to display; reads return the last code written (on a PC the
 * port is a spare DMA page register that holds it). Linux and other guests write
 * to it as an I/O delay, so a write does nothing but store a byte. A word or
 * dword access is split by the bus, so its upper bytes go to 0x81-0x83 (the DMA
 * page registers), as on the ISA bus.
 */
import type { Device, DeviceHost } from './device.js';
import type { PortHandler } from '../ports.js';

const STATE_VERSION = 1;

export interface PostState {
  version: number;
  code: number;
}

export class PostPort implements Device, PortHandler {
  readonly name = 'post';
  /** The last code written. */
  code = 0;

  constructor(readonly port = 0x80) {}

  attach(host: DeviceHost): void {
    host.ports.register(this.port, 1, this);
  }

  reset(): void {
    this.code = 0;
  }

  read(_port: number, size: 1 | 2 | 4): number | undefined {
    return size === 1 ? this.code : undefined;
  }

  write(_port: number, size: 1 | 2 | 4, value: number): boolean | void {
    if (size !== 1) return false;
    this.code = value & 0xff;
  }

  save(): PostState {
    return { version: STATE_VERSION, code: this.code };
  }

  restore(state: unknown): void {
    const st = state as PostState;
    if (!st || st.version !== STATE_VERSION) throw new Error(`post: unsupported state version ${(st as { version?: unknown })?.version}`);
    this.code = st.code & 0xff;
  }
}
