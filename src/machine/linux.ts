/**
 * The Linux/x86 boot protocol's 32-bit entry (Documentation/arch/x86/boot.rst):
 * load a bzImage's protected-mode kernel at 1 MiB, an initrd below the kernel's
 * initrd_addr_max, and the command line; build the zero page (struct
 * boot_params) with the setup header copied from the image and an e820 memory
 * map; then enter at code32_start in flat 32-bit protected mode with a GDT that
 * has __BOOT_CS (0x10) and __BOOT_DS (0x18), ESI pointing at the zero page.
 * No BIOS is needed on this path.
 */
import { ATTR, REG, SREG } from '../x86/state.js';
import type { Cpu } from '../x86/cpu.js';
import type { PhysicalMemory } from '../../runtime/memory.js';

export class LinuxBootError extends Error {}

/** Where the loader puts its structures (all below 640 KiB, clear of the kernel's use). */
const ZERO_PAGE = 0x7000;
const CMDLINE = 0x20000;
const GDT = 0x6000;
const KERNEL_BASE = 0x100000;

export interface E820Entry { addr: number; size: number; type: 1 | 2 | 3 }

/** The PC memory map we report: low RAM, the legacy hole, RAM from 1 MiB to the top. */
export function e820Map(memSize: number): E820Entry[] {
  return [
    { addr: 0, size: 0x9fc00, type: 1 },
    { addr: 0x9fc00, size: 0x400, type: 2 },
    { addr: 0xe0000, size: 0x20000, type: 2 },
    { addr: 0x100000, size: memSize - 0x100000, type: 1 },
  ];
}

export interface LinuxBootInfo {
  protocol: number;
  kernelSize: number;
  initrdAddr: number;
}

export function loadLinux(cpu: Cpu, phys: PhysicalMemory, bzImage: Uint8Array, initrd: Uint8Array | null, cmdline: string): LinuxBootInfo {
  if (bzImage.length < 0x260) throw new LinuxBootError('the kernel image is too small to be a bzImage');
  const v = new DataView(bzImage.buffer, bzImage.byteOffset, bzImage.byteLength);
  if (v.getUint32(0x202, true) !== 0x53726448) throw new LinuxBootError('no "HdrS" boot-protocol signature: not a bzImage');
  const protocol = v.getUint16(0x206, true);
  if (protocol < 0x0206) throw new LinuxBootError(`boot protocol ${(protocol >> 8)}.${protocol & 0xff} is too old (need 2.06)`);
  const loadflags = v.getUint8(0x211);
  if (!(loadflags & 1)) throw new LinuxBootError('the kernel is not a bzImage (LOADED_HIGH clear)');
  let setupSects = v.getUint8(0x1f1);
  if (setupSects === 0) setupSects = 4;
  const kernelOffset = (setupSects + 1) * 512;
  if (kernelOffset >= bzImage.length) throw new LinuxBootError('the bzImage is truncated');
  const kernel = bzImage.subarray(kernelOffset);
  const initSize = protocol >= 0x020a ? v.getUint32(0x260, true) : kernel.length * 4;
  if (KERNEL_BASE + Math.max(initSize, kernel.length) > phys.size) throw new LinuxBootError('guest memory is too small for this kernel');
  phys.load(KERNEL_BASE, kernel);

  // The zero page: zeroed, then the setup header copied in from the image.
  const zp = new Uint8Array(4096);
  const headerEnd = 0x202 + v.getUint8(0x201);
  zp.set(bzImage.subarray(0x1f1, Math.min(headerEnd, bzImage.length)), 0x1f1);
  const z = new DataView(zp.buffer);
  z.setUint8(0x210, 0xff); // type_of_loader: undefined loader
  z.setUint8(0x211, loadflags | 0x80); // CAN_USE_HEAP
  z.setUint16(0x224, 0xde00, true); // heap_end_ptr
  // Command line.
  const cmdBytes = new TextEncoder().encode(cmdline + '\0');
  const maxCmd = protocol >= 0x0206 ? v.getUint32(0x238, true) + 1 : 256;
  if (cmdBytes.length > maxCmd) throw new LinuxBootError(`the command line is longer than the kernel's limit (${maxCmd - 1})`);
  phys.load(CMDLINE, cmdBytes);
  z.setUint32(0x228, CMDLINE, true);
  // Initrd: as high as allowed, page-aligned, below the top of RAM.
  let initrdAddr = 0;
  if (initrd) {
    const maxAddr = Math.min(v.getUint32(0x22c, true), phys.size - 1);
    initrdAddr = (maxAddr + 1 - initrd.length) & ~0xfff;
    if (initrdAddr < KERNEL_BASE + initSize) throw new LinuxBootError('guest memory is too small for the kernel and the initrd');
    phys.load(initrdAddr, initrd);
    z.setUint32(0x218, initrdAddr, true);
    z.setUint32(0x21c, initrd.length, true);
  }
  // Memory: e820 table (at 0x2d0, count at 0x1e8) and alt_mem_k (0x1e0).
  const map = e820Map(phys.size);
  map.forEach((e, i) => {
    z.setBigUint64(0x2d0 + i * 20, BigInt(e.addr), true);
    z.setBigUint64(0x2d0 + i * 20 + 8, BigInt(e.size), true);
    z.setUint32(0x2d0 + i * 20 + 16, e.type, true);
  });
  z.setUint8(0x1e8, map.length);
  z.setUint32(0x1e0, (phys.size >>> 10) - 1024, true);
  // screen_info: an 80x25 VGA colour text console (orig_video_mode 3, isVGA).
  z.setUint8(0x06, 3);
  z.setUint8(0x07, 80);
  z.setUint8(0x0e, 25);
  z.setUint8(0x0f, 1);
  z.setUint16(0x10, 16, true);
  phys.load(ZERO_PAGE, zp);

  // A GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18).
  const gdt = new DataView(new ArrayBuffer(32));
  gdt.setUint32(0x10, 0x0000ffff, true);
  gdt.setUint32(0x14, 0x00cf9b00, true);
  gdt.setUint32(0x18, 0x0000ffff, true);
  gdt.setUint32(0x1c, 0x00cf9300, true);
  phys.load(GDT, new Uint8Array(gdt.buffer));
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 31;
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = s === SREG.CS ? 0x10 : 0x18;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = ATTR.P | ATTR.S | ATTR.ACCESSED | ATTR.DB | ATTR.G | ATTR.WRITABLE | (s === SREG.CS ? ATTR.CODE : 0);
  }
  cpu.cr0 = (cpu.cr0 | 1) & ~0x80000000;
  cpu.cpl = 0;
  cpu.eflags = 2;
  cpu.r32.fill(0);
  cpu.r32[REG.ESI] = ZERO_PAGE;
  cpu.eip = v.getUint32(0x214, true) >>> 0;
  phys.setA20(true);
  return { protocol, kernelSize: kernel.length, initrdAddr };
}
