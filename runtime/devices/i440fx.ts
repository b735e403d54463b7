/**
 * The Intel 440FX PCI and memory controller (PMC) as PCI 00:00.0, the host
 * bridge (82441FX datasheet, 290549): vendor 8086, device 1237, class 060000.
 *
 * Kept registers (all else reads as its reset value and ignores writes):
 *   0x50-0x51 PMCCFG, 0x52 DETURBO, 0x53 DBC, 0x54 AXC, 0x55-0x56 DRAMR,
 *   0x57 DRAMC, 0x58 DRAMT, 0x59-0x5F PAM0-PAM6, 0x60-0x67 DRB0-7, 0x68 FDHC,
 *   0x70 MTT, 0x71 CLT, 0x72 SMRAM, 0x90 ERRCMD, 0x91 ERRSTS (RW1C), 0x93 TRC.
 *
 * PAM (programmable attribute map): each field gives one segment of 0xC0000-
 * 0xFFFFF its read-enable (bit 0 of the field) and write-enable (bit 1): with
 * RE the segment reads DRAM, else the PCI bus (the BIOS ROM); with WE writes go to
 * DRAM, else to the PCI bus. PAM0 bits 5:4 cover 0xF0000-0xFFFFF (64 KiB);
 * PAM1-PAM6 bits 1:0 and 5:4 cover the 16 KiB segments from 0xC0000 upwards.
 * The machine decides what that means for its memory (onPamChange, and
 * pamSegments() for the current map); this device only keeps the registers.
 *
 * SMRAM: C_BASE_SEG (2:0) reads 010 (the A/B segment); G_SMRAME, D_CLS and
 * D_OPEN are kept, D_LCK makes D_OPEN read-only until reset. There is no SMM.
 *
 * The turbo/reset control register TRC at I/O port 0xCF9 (the PMC's, outside
 * configuration space): writing it with RCPU (bit 2) set resets the system,
 * as a hard reset (SRST, bit 1) or a soft one (INIT) otherwise; both are a
 * reset of this one-processor machine (onReset). It is the ACPI reset register.
 */
import type { Device, DeviceHost } from './device.js';
import { PciFunction } from './pci.js';

const STATE_VERSION = 1;

export const PAM_FIRST = 0x59;
/** The TRC port, and the value to write to it to reset (the FADT's reset register and value). */
export const RESET_PORT = 0xcf9;
export const RESET_VALUE = 0x06;

export interface PamSegment {
  base: number;
  size: number;
  /** Reads come from DRAM. */
  readDram: boolean;
  /** Writes go to DRAM. */
  writeDram: boolean;
}

export class I440fx extends PciFunction implements Device {
  /** A PAM register changed: the new map of 0xC0000-0xFFFFF. */
  onPamChange: ((segments: PamSegment[]) => void) | null = null;
  /** The guest asked for a reset through TRC (hard: SRST set). */
  onReset: ((hard: boolean) => void) | null = null;
  private trc = 0;

  constructor() {
    super('i440fx', { vendor: 0x8086, device: 0x1237, classCode: 0x060000, revision: 0x02 });
    this.reset();
  }

  attach(host: DeviceHost): void {
    host.ports.register(RESET_PORT, 1, {
      read: (_p, size) => (size === 1 ? this.trc : undefined),
      write: (_p, size, v) => {
        if (size !== 1) return false;
        this.writeTrc(v);
      },
    });
  }

  reset(): void {
    this.config.fill(0, 0x40);
    this.writable.fill(0, 0x40);
    this.writeOneToClear.fill(0, 0x40);
    this.set16(0x04, 0x0006); // memory and bus master always on
    this.set16(0x06, 0x0280); // fast back-to-back capable, medium DEVSEL
    this.writable[0x04] = 0; // the host bridge's command bits are fixed
    this.writable[0x05] = 0;
    this.set16(0x50, 0x0000);
    this.config[0x52] = 0x80;
    this.config[0x53] = 0x80;
    this.config[0x57] = 0x01;
    this.config[0x58] = 0x10;
    for (let i = 0x60; i <= 0x67; i++) this.config[i] = 0x01;
    this.config[0x71] = 0x10;
    this.config[0x72] = 0x02;
    for (const [off, mask] of [[0x50, 0xff], [0x51, 0xff], [0x52, 0xff], [0x53, 0xff], [0x54, 0xff], [0x55, 0xff], [0x56, 0xff],
      [0x57, 0xff], [0x58, 0xff], [0x59, 0x30], [0x68, 0xff], [0x70, 0xff], [0x71, 0xff], [0x72, 0x78], [0x90, 0xff], [0x93, 0x06]] as const) {
      this.writable[off] = mask;
    }
    for (let i = 0x5a; i <= 0x5f; i++) this.writable[i] = 0x33;
    for (let i = 0x60; i <= 0x67; i++) this.writable[i] = 0xff;
    this.writeOneToClear[0x91] = 0xff;
    this.trc = 0;
  }

  protected override configChanged(off: number, size: number): void {
    // D_LCK (bit 4) set: D_OPEN (bit 6) and D_LCK itself become read-only until reset.
    if (off <= 0x72 && off + size > 0x72 && this.config[0x72]! & 0x10) this.writable[0x72] = 0x28;
    if (off <= 0x5f && off + size > PAM_FIRST) this.onPamChange?.(this.pamSegments());
  }

  /** The current PAM map, in address order. */
  pamSegments(): PamSegment[] {
    const out: PamSegment[] = [];
    for (let i = 1; i <= 6; i++) {
      const v = this.config[PAM_FIRST + i]!;
      const base = 0xc0000 + (i - 1) * 0x8000;
      out.push({ base, size: 0x4000, readDram: (v & 1) !== 0, writeDram: (v & 2) !== 0 });
      out.push({ base: base + 0x4000, size: 0x4000, readDram: (v & 0x10) !== 0, writeDram: (v & 0x20) !== 0 });
    }
    const p0 = this.config[PAM_FIRST]!;
    out.push({ base: 0xf0000, size: 0x10000, readDram: (p0 & 0x10) !== 0, writeDram: (p0 & 0x20) !== 0 });
    return out;
  }

  private writeTrc(v: number): void {
    this.trc = v & 0x06;
    this.config[0x93] = this.trc;
    if (v & 0x04) {
      this.trc = 0;
      this.onReset?.((v & 0x02) !== 0);
    }
  }

  override save(): unknown {
    return { version: STATE_VERSION, pci: super.save(), trc: this.trc, smramWritable: this.writable[0x72] };
  }

  override restore(state: unknown): void {
    const s = state as { version: number; pci: unknown; trc: number; smramWritable: number };
    if (!s || s.version !== STATE_VERSION) throw new Error(`i440FX state version ${s?.version} is not ${STATE_VERSION}`);
    super.restore(s.pci);
    this.trc = s.trc;
    this.writable[0x72] = s.smramWritable;
    this.onPamChange?.(this.pamSegments());
  }
}
