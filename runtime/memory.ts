/**
 * Guest physical memory: RAM as one Uint8Array, with the A20 gate applied to
 * every address, the system ROM, and the code-page watch that keeps cached
 * decodings and translations exact: a page that holds decoded or translated code
 * has PAGE_CODE in `pageFlags`, and any write to it (by the CPU, DMA or a loader:
 * they all come through here) calls the registered listeners before the write
 * lands. Every write path tests `pageFlags` once, so read-only ROM shadow pages
 * (PAGE_ROM) cost nothing extra.
 *
 * The ROM (a BIOS image, like QEMU's -bios) is mapped whole just below 4 GiB, and
 * its top 128 KiB (all of it when smaller) also at the top of the first MiB,
 * where it shadows RAM read-only.
 *
 * Memory-mapped devices (runtime/mmio.ts) answer for addresses beyond RAM: only
 * the slow path looks them up, and an access wholly inside one device window
 * reaches it whole. The paging MMU sits in front of this; without paging,
 * linear addresses are physical and FlatMemory below is the CPU's LinearMemory.
 */
import type { LinearMemory } from '../src/x86/state.js';
import type { MmioRegistry } from './mmio.js';

export const PAGE_SHIFT = 12;
/** pageFlags bits. */
export const PAGE_CODE = 1;
export const PAGE_ROM = 2;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/**
 * Called when a watched page is about to be written: the physical page number,
 * and the physical address and length of the write within that page (the
 * translator invalidates at a finer grain than the page).
 */
export type CodeWriteListener = (page: number, addr: number, len: number) => void;

export class PhysicalMemory {
  readonly ram: Uint8Array;
  /** Address mask: bit 20 cleared while the A20 gate is disabled. */
  a20Mask = 0xffffffff;
  /** Per-page PAGE_CODE / PAGE_ROM bits; any nonzero value sends writes to the slow path. */
  readonly pageFlags: Uint8Array;
  private rom: Uint8Array | null = null;
  private romBase = 0;
  private readonly listeners: CodeWriteListener[] = [];
  /** Memory-mapped devices, consulted only for addresses at or beyond the end of RAM (runtime/mmio.ts). */
  mmio: MmioRegistry | null = null;

  constructor(readonly size: number) {
    if (size <= 0 || size % PAGE_SIZE !== 0) throw new Error(`memory size must be a positive multiple of 4 KiB, not ${size}`);
    this.ram = new Uint8Array(size);
    this.pageFlags = new Uint8Array(size >>> PAGE_SHIFT);
  }

  setA20(enabled: boolean): void {
    this.a20Mask = enabled ? 0xffffffff : 0xffefffff;
  }

  onCodeWrite(listener: CodeWriteListener): void {
    this.listeners.push(listener);
  }

  /** Mark a page as holding code; writes to it will notify the listeners. */
  watchPage(page: number): void {
    if (page < this.pageFlags.length) this.pageFlags[page]! |= PAGE_CODE;
  }

  /**
   * `len` bytes at `addr` (all on `page`) are about to change: invalidate code
   * cached from the page. The watch is disarmed first; a listener that still
   * has code on the page arms it again.
   */
  private codeWritten(page: number, addr: number, len: number): void {
    this.pageFlags[page]! &= ~PAGE_CODE;
    for (const l of this.listeners) l(page, addr, len);
  }

  /**
   * Map a ROM image: whole below 4 GiB, and its top 128 KiB at the end of the
   * first MiB (copied into RAM there and made read-only).
   */
  mapRom(image: Uint8Array): void {
    if (image.length === 0 || image.length % 0x10000 !== 0 || image.length > 16 << 20) {
      throw new Error(`a ROM image must be a multiple of 64 KiB up to 16 MiB, not ${image.length} bytes`);
    }
    this.rom = image;
    this.romBase = 0x100000000 - image.length;
    const low = image.subarray(Math.max(0, image.length - 0x20000));
    const lowBase = 0x100000 - low.length;
    for (let p = lowBase >>> PAGE_SHIFT; p < 0x100; p++) this.pageFlags[p] = 0;
    this.ram.set(low, lowBase);
    for (let p = lowBase >>> PAGE_SHIFT; p < 0x100; p++) this.pageFlags[p] = PAGE_ROM;
  }

  /** Reads outside RAM and ROM float high (open bus), writes there are dropped, as on a PC. */
  read8(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    if (a < this.size) return this.ram[a]!;
    if (this.mmio) {
      const v = this.mmio.read(a, 1);
      if (v !== undefined) return v;
    }
    if (this.rom && a >= this.romBase) return this.rom[a - this.romBase]!;
    return 0xff;
  }
  write8(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    if (a < this.size) {
      const flags = this.pageFlags[a >>> PAGE_SHIFT];
      if (flags) {
        if (flags & PAGE_ROM) return;
        this.codeWritten(a >>> PAGE_SHIFT, a, 1);
      }
      this.ram[a] = v;
    } else if (this.mmio) this.mmio.write(a, 1, v);
  }
  read16(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    if (a + 1 < this.size && (a & 0xfff) !== 0xfff) return this.ram[a]! | (this.ram[a + 1]! << 8);
    if (a >= this.size && this.mmio) {
      const v = this.mmio.read(a, 2);
      if (v !== undefined) return v;
    }
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }
  read32(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    const r = this.ram;
    if (a + 3 < this.size && (a & 0xfff) <= 0xffc) return (r[a]! | (r[a + 1]! << 8) | (r[a + 2]! << 16) | (r[a + 3]! << 24)) >>> 0;
    if (a >= this.size && this.mmio) {
      const v = this.mmio.read(a, 4);
      if (v !== undefined) return v;
    }
    return (this.read8(addr) | (this.read8(addr + 1) << 8) | (this.read8(addr + 2) << 16) | (this.read8(addr + 3) << 24)) >>> 0;
  }
  write16(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    if (a + 1 < this.size && (a & 0xfff) !== 0xfff) {
      const flags = this.pageFlags[a >>> PAGE_SHIFT]!;
      if (flags) {
        if (flags & PAGE_ROM) return;
        this.codeWritten(a >>> PAGE_SHIFT, a, 2);
      }
      this.ram[a] = v;
      this.ram[a + 1] = v >> 8;
      return;
    }
    if (a >= this.size && this.mmio && this.mmio.write(a, 2, v)) return;
    this.write8(addr, v);
    this.write8(addr + 1, v >> 8);
  }
  write32(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    const r = this.ram;
    if (a + 3 < this.size && (a & 0xfff) <= 0xffc) {
      const flags = this.pageFlags[a >>> PAGE_SHIFT]!;
      if (flags) {
        if (flags & PAGE_ROM) return;
        this.codeWritten(a >>> PAGE_SHIFT, a, 4);
      }
      r[a] = v; r[a + 1] = v >> 8; r[a + 2] = v >> 16; r[a + 3] = v >> 24;
      return;
    }
    if (a >= this.size && this.mmio && this.mmio.write(a, 4, v)) return;
    this.write8(addr, v);
    this.write8(addr + 1, v >> 8);
    this.write8(addr + 2, v >> 16);
    this.write8(addr + 3, v >> 24);
  }

  /** Copy bytes in from the host (a loader or DMA), invalidating code it overwrites. */
  load(addr: number, data: Uint8Array): void {
    if (addr < 0 || addr + data.length > this.size) throw new Error(`load of ${data.length} bytes at ${addr.toString(16)} is outside RAM`);
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + data.length - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last && data.length > 0; p++) {
      if (!(this.pageFlags[p]! & PAGE_CODE)) continue;
      const from = Math.max(addr, p << PAGE_SHIFT);
      const to = Math.min(addr + data.length, (p + 1) << PAGE_SHIFT);
      this.codeWritten(p, from, to - from);
    }
    this.ram.set(data, addr);
  }
}

/** Linear memory without paging: linear = physical (real mode, or CR0.PG = 0). */
export class FlatMemory implements LinearMemory {
  constructor(readonly phys: PhysicalMemory) {}

  read8(lin: number): number { return this.phys.read8(lin); }
  read16(lin: number): number { return this.phys.read16(lin); }
  read32(lin: number): number { return this.phys.read32(lin); }
  write8(lin: number, v: number): void { this.phys.write8(lin, v); }
  write16(lin: number, v: number): void { this.phys.write16(lin, v); }
  write32(lin: number, v: number): void { this.phys.write32(lin, v); }
  translateCode(lin: number): number {
    return (lin & this.phys.a20Mask) >>> 0;
  }
  watchCodePage(page: number): void { this.phys.watchPage(page); }
  onCodeWrite(listener: CodeWriteListener): void { this.phys.onCodeWrite(listener); }
  /** Without paging nothing faults. */
  probeWrite(): void {}
  readSystem(lin: number, size: 1 | 2 | 4): number {
    return size === 1 ? this.read8(lin) : size === 2 ? this.read16(lin) : this.read32(lin);
  }
  writeSystem(lin: number, size: 1 | 2 | 4, v: number): void {
    if (size === 1) this.write8(lin, v);
    else if (size === 2) this.write16(lin, v);
    else this.write32(lin, v);
  }
  fetch(lin: number, buf: Uint8Array, at: number, max: number): number {
    const n = Math.min(max, PAGE_SIZE - (lin & (PAGE_SIZE - 1)));
    for (let i = 0; i < n; i++) buf[at + i] = this.phys.read8(lin + i);
    return n;
  }
}
