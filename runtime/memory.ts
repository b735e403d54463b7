/**
 * Guest physical memory: RAM as one Uint8Array, with the A20 gate applied to
 * every address, and the code-page watch that keeps cached decodings and
 * translations exact: a page that holds decoded or translated code is marked in
 * `codePages`, and any write to it (by the CPU, DMA or a loader: they all come
 * through here) calls the registered listeners before the write lands.
 *
 * The paging MMU and memory-mapped devices sit in front of this; without paging,
 * linear addresses are physical and FlatMemory below is the CPU's LinearMemory.
 */
import type { LinearMemory } from '../src/x86/state.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** Called with the physical page number when a watched page is about to be written. */
export type CodeWriteListener = (page: number) => void;

export class PhysicalMemory {
  readonly ram: Uint8Array;
  /** Address mask: bit 20 cleared while the A20 gate is disabled. */
  a20Mask = 0xffffffff;
  /** Nonzero for pages that hold cached code (decoded instructions or translations). */
  readonly codePages: Uint8Array;
  private readonly listeners: CodeWriteListener[] = [];

  constructor(readonly size: number) {
    if (size <= 0 || size % PAGE_SIZE !== 0) throw new Error(`memory size must be a positive multiple of 4 KiB, not ${size}`);
    this.ram = new Uint8Array(size);
    this.codePages = new Uint8Array(size >>> PAGE_SHIFT);
  }

  setA20(enabled: boolean): void {
    this.a20Mask = enabled ? 0xffffffff : 0xffefffff;
  }

  onCodeWrite(listener: CodeWriteListener): void {
    this.listeners.push(listener);
  }

  /** Mark a page as holding code; writes to it will notify the listeners. */
  watchPage(page: number): void {
    if (page < this.codePages.length) this.codePages[page] = 1;
  }

  /** A write is about to change `addr`: invalidate code cached from its page. */
  private codeWritten(page: number): void {
    this.codePages[page] = 0;
    for (const l of this.listeners) l(page);
  }

  /** Reads outside RAM float high (open bus), writes are dropped, as on a PC. */
  read8(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    return a < this.size ? this.ram[a]! : 0xff;
  }
  write8(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    if (a < this.size) {
      if (this.codePages[a >>> PAGE_SHIFT]) this.codeWritten(a >>> PAGE_SHIFT);
      this.ram[a] = v;
    }
  }
  read16(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    if (a + 1 < this.size && (a & 0xfff) !== 0xfff) return this.ram[a]! | (this.ram[a + 1]! << 8);
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }
  read32(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    const r = this.ram;
    if (a + 3 < this.size && (a & 0xfff) <= 0xffc) return (r[a]! | (r[a + 1]! << 8) | (r[a + 2]! << 16) | (r[a + 3]! << 24)) >>> 0;
    return (this.read8(addr) | (this.read8(addr + 1) << 8) | (this.read8(addr + 2) << 16) | (this.read8(addr + 3) << 24)) >>> 0;
  }
  write16(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    if (a + 1 < this.size && (a & 0xfff) !== 0xfff && !this.codePages[a >>> PAGE_SHIFT]) {
      this.ram[a] = v;
      this.ram[a + 1] = v >> 8;
      return;
    }
    this.write8(addr, v);
    this.write8(addr + 1, v >> 8);
  }
  write32(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    const r = this.ram;
    if (a + 3 < this.size && (a & 0xfff) <= 0xffc && !this.codePages[a >>> PAGE_SHIFT]) {
      r[a] = v; r[a + 1] = v >> 8; r[a + 2] = v >> 16; r[a + 3] = v >> 24;
      return;
    }
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
    for (let p = first; p <= last && data.length > 0; p++) if (this.codePages[p]) this.codeWritten(p);
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
