/**
 * PCI bus 0 with configuration mechanism #1 (PCI Local Bus Specification 3.0,
 * §3.2.2.3.2; i440FX datasheet §3.1): a dword written to CONFADD (port 0xCF8)
 * with bit 31 set selects bus (23:16), device (15:11), function (10:8) and
 * register (7:2); ports 0xCFC-0xCFF are then that dword of configuration space,
 * byte, word or dword wide. Only dword accesses to 0xCF8 reach CONFADD (bits
 * 1:0 read 0); narrower ones go to the ISA bus, where 0xCF9 is the PIIX's reset
 * control register. A function that is absent, or any other bus, reads all ones.
 *
 * Devices register PciFunction objects: 256 bytes of configuration space with a
 * per-byte writable mask and write-1-to-clear mask (the status register), so
 * that read-only fields, sizing and status bits behave without code. Base
 * address registers follow the sizing protocol by their masks alone (write all
 * ones, read back the size); a function declares its BARs and the bus maps them
 * (I/O BARs on the port bus, memory BARs and the expansion ROM as MMIO windows)
 * whenever the BAR or the command register's I/O / memory enable changes.
 *
 * INTx: a function asserts its interrupt pin (setIntx); the board swizzles
 * device d's INTA-INTD onto PIRQ[(d + pin - 1) mod 4], the wiring of a
 * motherboard's slots, and hands PIRQ levels to onPirq (the PIIX3 routes them).
 */
import type { Device, DeviceHost } from './device.js';
import type { MmioHandler, MmioRegion } from '../mmio.js';
import type { PortHandler } from '../ports.js';

const STATE_VERSION = 1;

export const PCI_CMD = { IO: 1, MEMORY: 2, MASTER: 4, PARITY: 0x40, SERR: 0x100, INTX_DISABLE: 0x400 } as const;

/** A base address register as the function declares it. */
export interface PciBarDef {
  /** Size in bytes: a power of two (at least 4 for I/O, 16 for memory). */
  size: number;
  kind: 'io' | 'memory';
  prefetchable?: boolean;
  io?: PortHandler;
  memory?: MmioHandler;
}

export interface PciIdentity {
  vendor: number;
  device: number;
  /** Class code: base class << 16 | subclass << 8 | programming interface. */
  classCode: number;
  revision?: number;
  /** Header type (bit 7: multi-function device). */
  headerType?: number;
  subsystemVendor?: number;
  subsystem?: number;
  /** Interrupt pin: 1-4 for INTA-INTD, 0 for none. */
  interruptPin?: number;
}

export class PciFunction {
  readonly config = new Uint8Array(256);
  /** Bits software may write, per byte. */
  readonly writable = new Uint8Array(256);
  /** Bits a write of 1 clears, per byte. */
  readonly writeOneToClear = new Uint8Array(256);
  readonly bars: (PciBarDef | null)[] = [null, null, null, null, null, null];
  /** The expansion ROM image, mapped through the ROM BAR (0x30) when enabled. */
  rom: Uint8Array | null = null;
  /** Set by the bus when the function is registered. */
  bus: PciBus | null = null;
  devfn = -1;
  private intx = false;
  private readonly barMaps: ({ base: number; region?: MmioRegion } | null)[] = [null, null, null, null, null, null, null];

  constructor(readonly name: string, id: PciIdentity) {
    this.set16(0x00, id.vendor);
    this.set16(0x02, id.device);
    this.config[0x08] = id.revision ?? 0;
    this.config[0x09] = id.classCode & 0xff;
    this.config[0x0a] = (id.classCode >> 8) & 0xff;
    this.config[0x0b] = (id.classCode >> 16) & 0xff;
    this.config[0x0e] = id.headerType ?? 0;
    this.set16(0x2c, id.subsystemVendor ?? 0);
    this.set16(0x2e, id.subsystem ?? 0);
    this.config[0x3d] = id.interruptPin ?? 0;
    // Command: I/O, memory, bus master, parity, SERR#, INTx disable. Status: the error bits are RW1C.
    this.writable[0x04] = 0x47;
    this.writable[0x05] = 0x05;
    this.writeOneToClear[0x07] = 0xf9;
    this.writable[0x0c] = 0xff; // cache line size
    this.writable[0x0d] = 0xff; // latency timer
    this.writable[0x3c] = 0xff; // interrupt line: a scratch byte for software
  }

  // ---- declaring the function -----------------------------------------------------------

  /** Declare BAR `index` (0-5). */
  defineBar(index: number, def: PciBarDef): void {
    if (def.size & (def.size - 1) || def.size < (def.kind === 'io' ? 4 : 16)) throw new Error(`BAR size ${def.size} is not a power of two`);
    this.bars[index] = def;
    const off = 0x10 + 4 * index;
    const type = def.kind === 'io' ? 1 : def.prefetchable ? 8 : 0;
    const mask = def.kind === 'io' ? ~(def.size - 1) & 0xfffc : ~(def.size - 1) & 0xfffffff0;
    this.set32(off, type);
    for (let i = 0; i < 4; i++) this.writable[off + i] = (mask >>> (8 * i)) & 0xff;
  }

  /** Give the function an expansion ROM (the ROM BAR at 0x30 sizes it). */
  defineRom(image: Uint8Array): void {
    let size = 2048;
    while (size < image.length) size *= 2;
    this.rom = image;
    const mask = (~(size - 1) & 0xfffff800) | 1;
    for (let i = 0; i < 4; i++) this.writable[0x30 + i] = (mask >>> (8 * i)) & 0xff;
  }

  set8(off: number, v: number): void { this.config[off] = v & 0xff; }
  set16(off: number, v: number): void { this.config[off] = v & 0xff; this.config[off + 1] = (v >> 8) & 0xff; }
  set32(off: number, v: number): void { for (let i = 0; i < 4; i++) this.config[off + i] = (v >>> (8 * i)) & 0xff; }
  get8(off: number): number { return this.config[off]!; }
  get16(off: number): number { return this.config[off]! | (this.config[off + 1]! << 8); }
  get32(off: number): number { return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0; }

  // ---- configuration cycles -----------------------------------------------------------------

  /** A configuration read of `size` bytes at `off` (aligned within a dword). */
  readConfig(off: number, size: 1 | 2 | 4): number {
    return size === 1 ? this.get8(off) : size === 2 ? this.get16(off) : this.get32(off);
  }

  /** A configuration write, through the masks; then configChanged() for the bytes touched. */
  writeConfig(off: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = off + i;
      const v = (value >>> (8 * i)) & 0xff;
      const w = this.writable[o]!;
      const c = this.writeOneToClear[o]!;
      this.config[o] = ((this.config[o]! & ~w) | (v & w)) & ~(v & c);
    }
    this.configChanged(off, size);
  }

  /** Hook for subclasses: bytes [off, off + size) were written. */
  protected configChanged(off: number, size: number): void {
    if (off < 0x06 || (off < 0x34 && off + size > 0x10)) this.remapBars();
  }

  // ---- BAR mapping -----------------------------------------------------------------------------

  /** Map, move or unmap every BAR (and the ROM) to match the BARs and the command register. */
  remapBars(): void {
    const host = this.bus?.host;
    if (!host) return;
    const cmd = this.get16(0x04);
    for (let i = 0; i < 7; i++) {
      const def = i < 6 ? this.bars[i] : null;
      const isRom = i === 6;
      if (!def && !(isRom && this.rom)) continue;
      const off = isRom ? 0x30 : 0x10 + 4 * i;
      const raw = this.get32(off);
      const kind = isRom ? 'memory' : def!.kind;
      const size = isRom ? this.romSize() : def!.size;
      const base = kind === 'io' ? raw & 0xfffc : isRom ? raw & 0xfffff800 : raw & 0xfffffff0;
      const enabled = kind === 'io' ? (cmd & PCI_CMD.IO) !== 0 : (cmd & PCI_CMD.MEMORY) !== 0 && (!isRom || (raw & 1) !== 0);
      const want = enabled && base !== 0 ? base >>> 0 : -1;
      const cur = this.barMaps[i];
      if (cur && cur.base === want) continue;
      // Unmap.
      if (cur) {
        if (kind === 'io') host.ports.unregister(cur.base, size, def!.io!);
        else if (cur.region) host.mmio?.remove(cur.region);
        this.barMaps[i] = null;
      }
      if (want < 0) continue;
      if (kind === 'io') {
        if (def!.io && want + size <= 0x10000 && host.ports.tryRegister(want, size, def!.io)) this.barMaps[i] = { base: want };
      } else if (host.mmio) {
        const handler = isRom ? this.romHandler() : def!.memory;
        if (!handler) continue;
        try {
          this.barMaps[i] = { base: want, region: host.mmio.add(`${this.name} ${isRom ? 'ROM' : `BAR${i}`}`, want, size, handler) };
        } catch {
          // Placed over another window (or past 4 GiB): the bus does not decode it.
        }
      }
    }
  }

  private romSize(): number {
    let size = 2048;
    while (this.rom && size < this.rom.length) size *= 2;
    return size;
  }

  private romHandler(): MmioHandler {
    return {
      read: (off, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= (this.rom![off + i] ?? 0xff) << (8 * i);
        return v >>> 0;
      },
      write: () => {},
    };
  }

  // ---- interrupts ------------------------------------------------------------------------------

  /** Assert or release this function's INTx pin (ignored while the command register's INTx disable is set). */
  setIntx(level: boolean): void {
    const pin = this.config[0x3d]!;
    if (!pin) return;
    this.intx = level;
    const asserted = level && !(this.get16(0x04) & PCI_CMD.INTX_DISABLE);
    // Status bit 3: interrupt status.
    if (level) this.config[0x06]! |= 8;
    else this.config[0x06]! &= ~8;
    this.bus?.intxChanged(this, pin, asserted);
  }

  // ---- snapshots ------------------------------------------------------------------------------

  save(): unknown {
    return { config: Array.from(this.config), intx: this.intx };
  }

  restore(state: unknown): void {
    const s = state as { config: number[]; intx: boolean };
    this.config.set(s.config);
    this.intx = s.intx;
    this.remapBars();
  }
}

export class PciBus implements Device {
  readonly name = 'pci';
  host: DeviceHost | null = null;
  private readonly functions: (PciFunction | undefined)[] = new Array(256);
  private confadd = 0;
  /** Asserted INTx inputs per PIRQ line, as a bit set of (devfn << 2 | pin - 1). */
  private readonly pirqSources: Set<number>[] = [new Set(), new Set(), new Set(), new Set()];
  /** A PIRQ line (0-3 for A-D) changed level: the PIIX3 routes it. */
  onPirq: ((pirq: number, level: boolean) => void) | null = null;

  attach(host: DeviceHost): void {
    this.host = host;
    host.ports.register(0xcf8, 1, {
      read: (_port, size) => (size === 4 ? this.confadd : undefined),
      write: (_port, size, v) => {
        if (size === 4) this.confadd = v & 0x80fffffc;
        else if (size !== 1) return false; // a word at 0xCF8 reaches 0xCF8 and 0xCF9 on the ISA bus
      },
    });
    host.ports.register(0xcfc, 4, {
      read: (port, size) => this.dataRead(port, size),
      write: (port, size, v) => this.dataWrite(port, size, v),
    });
    for (const f of this.functions) f?.remapBars();
  }

  /** Put `fn` at device `dev` (0-31), function `func` (0-7) of bus 0. */
  register(dev: number, func: number, fn: PciFunction): void {
    const devfn = (dev << 3) | func;
    if (this.functions[devfn]) throw new Error(`PCI 00:${dev.toString(16).padStart(2, '0')}.${func} is taken`);
    this.functions[devfn] = fn;
    fn.bus = this;
    fn.devfn = devfn;
    fn.remapBars();
  }

  function(dev: number, func: number): PciFunction | undefined {
    return this.functions[(dev << 3) | func];
  }

  reset(): void {
    this.confadd = 0;
  }

  /** A configuration read on bus 0 (also for firmware and tests); absent functions read all ones. */
  configRead(devfn: number, off: number, size: 1 | 2 | 4): number {
    const f = this.functions[devfn & 0xff];
    if (!f) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return f.readConfig(off & 0xff, size);
  }

  configWrite(devfn: number, off: number, size: 1 | 2 | 4, v: number): void {
    this.functions[devfn & 0xff]?.writeConfig(off & 0xff, size, v);
  }

  private dataRead(port: number, size: 1 | 2 | 4): number | undefined {
    const a = this.confadd;
    const ones = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    if (!(a & 0x80000000) || (port & 3) + size > 4) return (port & 3) + size > 4 ? undefined : ones;
    if ((a >> 16) & 0xff) return ones; // only bus 0 exists
    return this.configRead((a >> 8) & 0xff, (a & 0xfc) | (port & 3), size);
  }

  private dataWrite(port: number, size: 1 | 2 | 4, v: number): boolean | void {
    const a = this.confadd;
    if ((port & 3) + size > 4) return false;
    if (!(a & 0x80000000) || (a >> 16) & 0xff) return;
    this.configWrite((a >> 8) & 0xff, (a & 0xfc) | (port & 3), size, v);
  }

  /** Called by a function when its INTx level changes. */
  intxChanged(fn: PciFunction, pin: number, asserted: boolean): void {
    const pirq = ((fn.devfn >> 3) + pin - 1) & 3;
    const set = this.pirqSources[pirq]!;
    const was = set.size > 0;
    const key = (fn.devfn << 2) | (pin - 1);
    if (asserted) set.add(key);
    else set.delete(key);
    if (was !== set.size > 0) this.onPirq?.(pirq, set.size > 0);
  }

  /** The level of PIRQ line `pirq`. */
  pirqLevel(pirq: number): boolean {
    return this.pirqSources[pirq]!.size > 0;
  }

  save(): unknown {
    const fns: Record<string, unknown> = {};
    this.functions.forEach((f, devfn) => { if (f) fns[devfn] = f.save(); });
    return { version: STATE_VERSION, confadd: this.confadd, pirq: this.pirqSources.map((s) => [...s]), functions: fns };
  }

  restore(state: unknown): void {
    const s = state as { version: number; confadd: number; pirq: number[][]; functions: Record<string, unknown> };
    if (!s || s.version !== STATE_VERSION) throw new Error(`PCI state version ${s?.version} is not ${STATE_VERSION}`);
    this.confadd = s.confadd;
    s.pirq.forEach((keys, i) => { this.pirqSources[i] = new Set(keys); });
    for (const [devfn, st] of Object.entries(s.functions)) this.functions[Number(devfn)]?.restore(st);
  }
}
