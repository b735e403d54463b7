/**
 * Multiboot v1 (the Multiboot Specification 0.6.96): find the header in the
 * first 8 KiB of a kernel image, load it (by the header's address fields when
 * flag 16 is set, else as an ELF32 executable), and build the machine state the
 * specification gives the kernel: EAX = 0x2BADB002, EBX = the multiboot
 * information structure, protected mode with flat 4 GiB code and data segments,
 * paging off, interrupts off, A20 on.
 */
import { ATTR, REG, SREG } from '../x86/state.js';
import type { Cpu } from '../x86/cpu.js';
import type { PhysicalMemory } from '../../runtime/memory.js';

const MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** Where the information structure and the command line go (below the usual 1 MiB kernels). */
const INFO_ADDR = 0x9000;

export class MultibootError extends Error {}

interface Header { offset: number; flags: number }

function findHeader(image: Uint8Array): Header | null {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(8192, image.length) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (view.getUint32(off, true) !== MAGIC) continue;
    const flags = view.getUint32(off + 4, true);
    const sum = view.getUint32(off + 8, true);
    if (((MAGIC + flags + sum) >>> 0) !== 0) continue;
    return { offset: off, flags };
  }
  return null;
}

export function isMultiboot(image: Uint8Array): boolean {
  return findHeader(image) !== null;
}

/** Load a multiboot kernel into memory and put the CPU in the state the specification defines. */
export function loadMultiboot(cpu: Cpu, phys: PhysicalMemory, image: Uint8Array, cmdline = ''): { entry: number } {
  const header = findHeader(image);
  if (!header) throw new MultibootError('no multiboot header in the first 8 KiB of the kernel');
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let entry: number;
  let kernelStart: number;
  let kernelEnd = 0;
  if (header.flags & (1 << 16)) {
    const h = header.offset;
    if (h + 32 > image.length) throw new MultibootError('multiboot header address fields are truncated');
    const headerAddr = view.getUint32(h + 12, true);
    const loadAddr = view.getUint32(h + 16, true);
    const loadEnd = view.getUint32(h + 20, true);
    const bssEnd = view.getUint32(h + 24, true);
    entry = view.getUint32(h + 28, true);
    const fileOff = h - (headerAddr - loadAddr);
    const length = loadEnd ? loadEnd - loadAddr : image.length - fileOff;
    if (fileOff < 0 || length < 0 || fileOff + length > image.length) throw new MultibootError('multiboot load addresses do not fit the image');
    if (loadAddr + length > phys.size || (bssEnd && bssEnd > phys.size)) throw new MultibootError('the kernel does not fit in guest memory');
    phys.load(loadAddr, image.subarray(fileOff, fileOff + length));
    if (bssEnd > loadAddr + length) phys.load(loadAddr + length, new Uint8Array(bssEnd - loadAddr - length));
    kernelStart = loadAddr;
    kernelEnd = Math.max(loadAddr + length, bssEnd);
  } else {
    ({ entry, start: kernelStart, end: kernelEnd } = loadElf(phys, image, view));
  }
  // Information structure: flags (mem_lower/upper, cmdline), memory sizes in KiB.
  const info = new DataView(new ArrayBuffer(88));
  info.setUint32(0, 1 | 4, true);
  info.setUint32(4, 640, true);
  info.setUint32(8, Math.max(0, phys.size / 1024 - 1024), true);
  const cmdAddr = INFO_ADDR + 0x100;
  info.setUint32(16, cmdAddr, true);
  const cmdBytes = new TextEncoder().encode(cmdline + '\0');
  const infoEnd = cmdAddr + cmdBytes.length;
  if (kernelStart < infoEnd && kernelEnd > INFO_ADDR) {
    // Kernels below 1 MiB and over our info area are unusual; refuse rather than overlap.
    throw new MultibootError(`the kernel overlaps the multiboot information at 0x${INFO_ADDR.toString(16)}-0x${infoEnd.toString(16)}`);
  }
  phys.load(INFO_ADDR, new Uint8Array(info.buffer));
  phys.load(cmdAddr, cmdBytes);

  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = s === SREG.CS ? 0x08 : 0x10;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED | ATTR.DB | ATTR.G;
  }
  cpu.segAttr[SREG.CS] |= ATTR.CODE;
  cpu.cr0 = (cpu.cr0 | 1) & ~0x80000000;
  cpu.cpl = 0;
  cpu.eflags = 2;
  cpu.r32[REG.EAX] = MULTIBOOT_BOOTLOADER_MAGIC;
  cpu.r32[REG.EBX] = INFO_ADDR;
  cpu.eip = entry >>> 0;
  phys.setA20(true);
  return { entry };
}

function loadElf(phys: PhysicalMemory, image: Uint8Array, view: DataView): { entry: number; start: number; end: number } {
  if (image.length < 52 || view.getUint32(0, false) !== 0x7f454c46) throw new MultibootError('the kernel is neither a.out-kludge multiboot nor ELF');
  if (image[4] !== 1 || image[5] !== 1 || view.getUint16(18, true) !== 3) throw new MultibootError('the kernel is not a 32-bit little-endian i386 ELF');
  const entry = view.getUint32(24, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  let start = Infinity;
  let end = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 32 > image.length) throw new MultibootError('ELF program headers are truncated');
    if (view.getUint32(ph, true) !== 1) continue; // PT_LOAD
    const offset = view.getUint32(ph + 4, true);
    const paddr = view.getUint32(ph + 12, true);
    const filesz = view.getUint32(ph + 16, true);
    const memsz = view.getUint32(ph + 20, true);
    if (offset + filesz > image.length || paddr + memsz > phys.size) throw new MultibootError('an ELF segment does not fit the image or guest memory');
    phys.load(paddr, image.subarray(offset, offset + filesz));
    if (memsz > filesz) phys.load(paddr + filesz, new Uint8Array(memsz - filesz));
    start = Math.min(start, paddr);
    end = Math.max(end, paddr + memsz);
  }
  return { entry, start, end };
}
