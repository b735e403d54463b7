/**
 * Guest physical memory: RAM as one Uint8Array, with the A20 gate applied to
 * every address. The paging MMU (system issue) and devices with memory-mapped
 * registers sit in front of it; without paging, linear addresses are physical
 * and FlatMemory below is the CPU's LinearMemory.
 */
import type { LinearMemory } from '../src/x86/cpu.js';

export class PhysicalMemory {
  readonly ram: Uint8Array;
  /** Address mask: bit 20 cleared while the A20 gate is disabled. */
  a20Mask = 0xffffffff;

  constructor(readonly size: number) {
    if (size <= 0 || size % 4096 !== 0) throw new Error(`memory size must be a positive multiple of 4 KiB, not ${size}`);
    this.ram = new Uint8Array(size);
  }

  setA20(enabled: boolean): void {
    this.a20Mask = enabled ? 0xffffffff : 0xffefffff;
  }

  /** Reads outside RAM float high (open bus), writes are dropped, as on a PC. */
  read8(addr: number): number {
    const a = (addr & this.a20Mask) >>> 0;
    return a < this.size ? this.ram[a]! : 0xff;
  }
  write8(addr: number, v: number): void {
    const a = (addr & this.a20Mask) >>> 0;
    if (a < this.size) this.ram[a] = v;
  }
}

/** Linear memory without paging: linear = physical (real mode, or CR0.PG = 0). */
export class FlatMemory implements LinearMemory {
  constructor(readonly phys: PhysicalMemory) {}

  read8(lin: number): number {
    return this.phys.read8(lin);
  }
  read16(lin: number): number {
    return this.phys.read8(lin) | (this.phys.read8(lin + 1) << 8);
  }
  read32(lin: number): number {
    const p = this.phys;
    return (p.read8(lin) | (p.read8(lin + 1) << 8) | (p.read8(lin + 2) << 16) | (p.read8(lin + 3) << 24)) >>> 0;
  }
  write8(lin: number, v: number): void {
    this.phys.write8(lin, v);
  }
  write16(lin: number, v: number): void {
    this.phys.write8(lin, v);
    this.phys.write8(lin + 1, v >> 8);
  }
  write32(lin: number, v: number): void {
    const p = this.phys;
    p.write8(lin, v);
    p.write8(lin + 1, v >> 8);
    p.write8(lin + 2, v >> 16);
    p.write8(lin + 3, v >> 24);
  }
  fetch(lin: number, buf: Uint8Array, at: number, max: number): number {
    const n = Math.min(max, 4096 - (lin & 4095));
    for (let i = 0; i < n; i++) buf[at + i] = this.phys.read8(lin + i);
    return n;
  }
}
