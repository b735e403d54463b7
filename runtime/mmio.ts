/**
 * Memory-mapped I/O: devices claim windows of the physical address space above
 * RAM (the local APIC at 0xFEE00000, the I/O APIC at 0xFEC00000, the HPET at
 * 0xFED00000, PCI memory BARs and expansion ROMs). PhysicalMemory consults this
 * registry only on its slow path, for addresses at or beyond the end of RAM, so
 * RAM accesses never pay for it; MMIO takes precedence over the system ROM there.
 *
 * A handler sees offsets from the start of its window and the access size. An
 * access that lies wholly inside one window reaches the handler whole (a dword
 * read of an APIC register is one read(off, 4)); one that straddles a window's
 * edge is split into bytes by PhysicalMemory. Windows can be added, moved and
 * removed at run time (the APIC base MSR, PCI BAR programming) and must not
 * overlap when added.
 */

export interface MmioHandler {
  /** `size` bytes at `offset` from the window's base, little-endian. */
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

export interface MmioRegion {
  base: number;
  size: number;
  handler: MmioHandler;
  /** For reports: who claimed it. */
  name: string;
}

export class MmioRegistry {
  private regions: MmioRegion[] = [];
  /** The region of the last hit: device drivers touch one window many times in a row. */
  private last: MmioRegion | null = null;
  reads = 0;
  writes = 0;

  /** Claim [base, base + size). Returns the region, to pass to move() or remove(). */
  add(name: string, base: number, size: number, handler: MmioHandler): MmioRegion {
    const r: MmioRegion = { base: base >>> 0, size, handler, name };
    this.check(r);
    this.regions.push(r);
    return r;
  }

  /**
   * Move a region to a new base (a relocated APIC or a reprogrammed BAR). The
   * guest decides where, so an overlap is not an error here: the region added
   * first wins, as a bus would resolve it by decode priority.
   */
  move(r: MmioRegion, base: number): void {
    if (base + r.size > 0x100000000 || base < 0) throw new Error(`MMIO window ${r.name} cannot move to ${base.toString(16)}`);
    r.base = base >>> 0;
  }

  remove(r: MmioRegion): void {
    const i = this.regions.indexOf(r);
    if (i >= 0) this.regions.splice(i, 1);
    if (this.last === r) this.last = null;
  }

  /** The region holding all of [addr, addr + size), or null. */
  find(addr: number, size: number): MmioRegion | null {
    const l = this.last;
    if (l && addr - l.base >= 0 && addr + size - l.base <= l.size) return l;
    for (const r of this.regions) {
      if (addr - r.base >= 0 && addr + size - r.base <= r.size) {
        this.last = r;
        return r;
      }
    }
    return null;
  }

  /** Read `size` bytes at physical `addr`, or undefined when no single window holds them all. */
  read(addr: number, size: 1 | 2 | 4): number | undefined {
    const r = this.find(addr, size);
    if (!r) return undefined;
    this.reads++;
    const v = r.handler.read(addr - r.base, size);
    return size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff);
  }

  /** Write `size` bytes at physical `addr`; false when no single window holds them all. */
  write(addr: number, size: 1 | 2 | 4, value: number): boolean {
    const r = this.find(addr, size);
    if (!r) return false;
    this.writes++;
    r.handler.write(addr - r.base, size, size === 4 ? value >>> 0 : value & (size === 1 ? 0xff : 0xffff));
    return true;
  }

  /** The claimed windows, for the monitor. */
  list(): readonly MmioRegion[] {
    return this.regions;
  }

  private check(r: MmioRegion): void {
    if (r.size <= 0 || r.base + r.size > 0x100000000) throw new Error(`MMIO window ${r.name} at ${r.base.toString(16)} (+${r.size.toString(16)}) is outside the 4 GiB space`);
    for (const o of this.regions) {
      if (r.base < o.base + o.size && o.base < r.base + r.size) {
        throw new Error(`MMIO window ${r.name} at ${r.base.toString(16)} overlaps ${o.name} at ${o.base.toString(16)}`);
      }
    }
  }
}
