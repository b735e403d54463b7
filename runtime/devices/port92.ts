/**
 * System control port A (0x92, the PS/2 and PIIX "fast A20 and init" port).
 *
 * - bit 0: alternate fast reset. A 0-to-1 transition resets the processor; the
 *   bit reads back as written, and must be cleared before it can reset again.
 * - bit 1: fast A20 gate (1 = address line 20 enabled).
 * - the other bits (3: CMOS lock, 6-7: disk activity LEDs) are kept and read back
 *   without effect.
 *
 * The A20 callback receives this port's bit alone; the machine combines it with
 * the keyboard controller's A20 output (the gate is open when either asks).
 */
import type { Device, DeviceHost } from './device.js';
import type { PortHandler } from '../ports.js';

const STATE_VERSION = 1;

export interface Port92State {
  version: number;
  value: number;
}

export class Port92 implements Device, PortHandler {
  readonly name = 'port92';
  private value = 0;

  /**
   * @param onA20 the fast A20 bit changed (e.g. PhysicalMemory.setA20, ORed with the 8042's gate)
   * @param onReset bit 0 went from 0 to 1: reset the processor
   */
  constructor(private readonly onA20: (enabled: boolean) => void, private readonly onReset: () => void) {}

  attach(host: DeviceHost): void {
    host.ports.register(0x92, 1, this);
  }

  /** Chipset reset: every bit 0, A20 disabled. */
  reset(): void {
    const a20 = (this.value & 2) !== 0;
    this.value = 0;
    if (a20) this.onA20(false);
  }

  read(_port: number, size: 1 | 2 | 4): number | undefined {
    return size === 1 ? this.value : undefined;
  }

  write(_port: number, size: 1 | 2 | 4, value: number): boolean | void {
    if (size !== 1) return false;
    const old = this.value;
    this.value = value & 0xff;
    if ((old ^ value) & 2) this.onA20((value & 2) !== 0);
    // Last: the reset callback may reset this device too.
    if (value & 1 && !(old & 1)) this.onReset();
  }

  save(): Port92State {
    return { version: STATE_VERSION, value: this.value };
  }

  /** Restores the register and reports its A20 bit (the machine's gate may have been restored apart). */
  restore(state: unknown): void {
    const st = state as Port92State;
    if (!st || st.version !== STATE_VERSION) throw new Error(`port92: unsupported state version ${(st as { version?: unknown })?.version}`);
    this.value = st.value & 0xff;
    this.onA20((this.value & 2) !== 0);
  }
}
