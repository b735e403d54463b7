/**
 * The I/O port bus: devices register handlers for port ranges; an access to a
 * port nobody claims reads as open bus (all ones) and writes go nowhere, as on a
 * PC's ISA bus. A word or dword access to a device that only handles bytes is
 * split into byte accesses on consecutive ports.
 */
import type { PortBus } from '../src/x86/state.js';

export interface PortHandler {
  /** Read `size` bytes at `port`; return undefined to let the bus split it into bytes. */
  read?(port: number, size: 1 | 2 | 4): number | undefined;
  write?(port: number, size: 1 | 2 | 4, value: number): boolean | void;
}

export class PortRegistry implements PortBus {
  private readonly handlers: (PortHandler | undefined)[] = new Array(0x10000);
  reads = 0;
  writes = 0;
  /** Called after every write (the machine uses it to re-check interrupts: a write may unmask or EOI). */
  onWrite: (() => void) | null = null;

  register(first: number, count: number, handler: PortHandler): void {
    for (let p = first; p < first + count; p++) {
      if (this.handlers[p]) throw new Error(`port ${p.toString(16)} is already claimed`);
      this.handlers[p] = handler;
    }
  }

  /**
   * Claim ports for a block the guest places (a PCI I/O BAR, the PIIX4 PM base):
   * nothing is claimed and false returned when any of them is taken.
   */
  tryRegister(first: number, count: number, handler: PortHandler): boolean {
    if (first < 0 || first + count > 0x10000) return false;
    for (let p = first; p < first + count; p++) if (this.handlers[p]) return false;
    this.register(first, count, handler);
    return true;
  }

  /** Release the ports in [first, first + count) that `handler` holds. */
  unregister(first: number, count: number, handler: PortHandler): void {
    for (let p = Math.max(0, first); p < Math.min(0x10000, first + count); p++) if (this.handlers[p] === handler) this.handlers[p] = undefined;
  }

  portIn(port: number, size: 1 | 2 | 4): number {
    this.reads++;
    port &= 0xffff;
    const h = this.handlers[port];
    const v = h?.read?.(port, size);
    if (v !== undefined) return size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff);
    if (size === 1) return 0xff;
    let out = 0;
    for (let i = 0; i < size; i++) out |= this.portIn((port + i) & 0xffff, 1) << (8 * i);
    this.reads -= size;
    return out >>> 0;
  }

  portOut(port: number, size: 1 | 2 | 4, value: number): void {
    this.writes++;
    if (this.onWrite) this.onWrite();
    port &= 0xffff;
    const h = this.handlers[port];
    const handled = h?.write?.(port, size, value);
    if (handled !== false && (h?.write || size === 1)) return;
    for (let i = 0; i < size; i++) this.portOut((port + i) & 0xffff, 1, (value >>> (8 * i)) & 0xff);
    this.writes -= size;
  }
}
