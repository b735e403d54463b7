/**
 * The firmware configuration device, fw_cfg, in its x86 I/O port form: the
 * interface SeaBIOS (and Linux's qemu_fw_cfg driver) read to learn about the
 * machine (QEMU's docs/specs/fw_cfg.rst describes the protocol; this is our own
 * implementation of it).
 *
 *   0x510  selector (16 bits, write): selects an item and rewinds its data offset.
 *          Bit 14 marks a write, bit 15 an architecture-specific item.
 *   0x511  data (read): the selected item's bytes in order, then 0s. Writes are
 *          ignored (the legacy write path is gone).
 *   0x514  DMA address (64 bits, big-endian, as two 32-bit halves: 0x514 the
 *          high one, 0x518 the low one, whose write starts the transfer). Reading
 *          0x514-0x51B gives "QEMU CFG", the DMA interface's signature.
 *
 * A DMA request is a FWCfgDmaAccess structure in guest memory: be32 control,
 * be32 length, be64 address. Control bits: 0 error, 1 read, 2 skip, 3 select
 * (item in bits 31:16), 4 write. The device performs select, then read / skip /
 * write of `length` bytes at the data offset, and writes the control word back
 * as 0 (done) or with the error bit. Writes are accepted only into files added
 * as writable.
 *
 * Items: 0x0000 signature "QEMU", 0x0001 ID (bit 0 traditional interface, bit 1
 * DMA), 0x0019 the file directory (be32 count, then per file be32 size, be16
 * select, be16 reserved, 56-byte NUL-padded name, sorted by name), and from
 * 0x0020 the files. The machine adds numbered items (addItem) and named files
 * (addFile): the RAM size, CPU counts, "etc/e820", option ROMs ("genroms/...").
 */
import type { Device, DeviceHost } from './device.js';

const STATE_VERSION = 1;

export const FW_CFG_PORT = 0x510;
export const FW_CFG_DMA_PORT = 0x514;

/** Well-known item keys. */
export const FW_CFG = {
  SIGNATURE: 0x0000, ID: 0x0001, UUID: 0x0002, RAM_SIZE: 0x0003, NOGRAPHIC: 0x0004, NB_CPUS: 0x0005,
  BOOT_MENU: 0x000e, MAX_CPUS: 0x000f, FILE_DIR: 0x0019, FILE_FIRST: 0x0020,
  WRITE: 0x4000, ARCH_LOCAL: 0x8000,
} as const;

const DMA_CTL = { ERROR: 1, READ: 2, SKIP: 4, SELECT: 8, WRITE: 16 } as const;
/** "QEMU CFG", the DMA signature, as it reads from ports 0x514-0x51B. */
const DMA_SIGNATURE = new TextEncoder().encode('QEMU CFG');

interface Item {
  data: Uint8Array;
  writable: boolean;
  name?: string;
}

export interface FwCfgState {
  version: number;
  selector: number;
  offset: number;
  dmaHigh: number;
  /** Contents of the writable files (the rest comes from the machine's configuration). */
  written: Record<string, number[]>;
}

export class FwCfg implements Device {
  readonly name = 'fw-cfg';
  private host: DeviceHost | null = null;
  private readonly items = new Map<number, Item>();
  private files: Item[] = [];
  private selector = 0;
  private offset = 0;
  private dmaHigh = 0;
  dmaTransfers = 0;

  constructor(readonly dma = true) {
    this.items.set(FW_CFG.SIGNATURE, { data: new TextEncoder().encode('QEMU'), writable: false });
    this.items.set(FW_CFG.ID, { data: le32(dma ? 3 : 1), writable: false });
    this.rebuildDirectory();
  }

  attach(host: DeviceHost): void {
    this.host = host;
    host.ports.register(FW_CFG_PORT, 2, {
      read: (port, size) => {
        if (port !== FW_CFG_PORT + 1) return size === 1 ? 0 : undefined;
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.readByte() << (8 * i);
        return v >>> 0;
      },
      write: (port, size, v) => {
        if (port === FW_CFG_PORT) this.select(v & (size === 1 ? 0xff : 0xffff));
        else if (size !== 1) return false;
      },
    });
    if (this.dma) {
      host.ports.register(FW_CFG_DMA_PORT, 8, {
        read: (port, size) => {
          let v = 0;
          for (let i = 0; i < size; i++) v |= (DMA_SIGNATURE[port - FW_CFG_DMA_PORT + i] ?? 0) << (8 * i);
          return v >>> 0;
        },
        write: (port, size, v) => {
          if (size !== 4) return size === 1 ? undefined : false;
          if (port === FW_CFG_DMA_PORT) this.dmaHigh = bswap32(v);
          else if (port === FW_CFG_DMA_PORT + 4) this.runDma(this.dmaHigh * 2 ** 32 + bswap32(v));
        },
      });
    }
  }

  reset(): void {
    this.selector = 0;
    this.offset = 0;
    this.dmaHigh = 0;
  }

  // ---- contents (set up by the machine) -----------------------------------------------------

  /** A numbered item (FW_CFG.RAM_SIZE, ...). */
  addItem(key: number, data: Uint8Array): void {
    if (key >= FW_CFG.FILE_FIRST && key < FW_CFG.WRITE) throw new Error(`fw_cfg key ${key.toString(16)} is in the file range`);
    this.items.set(key & ~FW_CFG.WRITE, { data, writable: false });
  }

  /**
   * A named file; returns its selector. Re-adding a name replaces its contents.
   * Files take selectors in name order, so adding one can renumber those after
   * it: set the files up before the guest runs (fileSelector() looks one up).
   */
  addFile(name: string, data: Uint8Array, opts: { writable?: boolean } = {}): number {
    if (new TextEncoder().encode(name).length > 55) throw new Error(`fw_cfg file name "${name}" is longer than 55 bytes`);
    const old = this.files.find((f) => f.name === name);
    if (old) {
      old.data = data;
      old.writable = opts.writable ?? false;
    } else {
      this.files.push({ name, data, writable: opts.writable ?? false });
    }
    this.rebuildDirectory();
    return this.fileSelector(name)!;
  }

  /** An option ROM for SeaBIOS to run ("genroms/NAME"), after checking its header. */
  addOptionRom(name: string, image: Uint8Array): number {
    const problem = optionRomProblem(image);
    if (problem) throw new Error(`option ROM ${name}: ${problem}`);
    return this.addFile(`genroms/${name}`, image);
  }

  /** The selector of file `name`, or undefined. */
  fileSelector(name: string): number | undefined {
    const i = this.files.findIndex((f) => f.name === name);
    return i < 0 ? undefined : FW_CFG.FILE_FIRST + i;
  }

  /** A file's current contents (writable files may have been changed by the guest). */
  file(name: string): Uint8Array | undefined {
    return this.files.find((f) => f.name === name)?.data;
  }

  private rebuildDirectory(): void {
    this.files.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const v = new DataView(dir.buffer);
    v.setUint32(0, this.files.length, false);
    this.files.forEach((f, i) => {
      const at = 4 + 64 * i;
      v.setUint32(at, f.data.length, false);
      v.setUint16(at + 4, FW_CFG.FILE_FIRST + i, false);
      dir.set(new TextEncoder().encode(f.name), at + 8);
    });
    this.items.set(FW_CFG.FILE_DIR, { data: dir, writable: false });
  }

  private item(key: number): Item | undefined {
    const k = key & ~FW_CFG.WRITE;
    if (k >= FW_CFG.FILE_FIRST && k < FW_CFG.ARCH_LOCAL) return this.files[k - FW_CFG.FILE_FIRST];
    return this.items.get(k);
  }

  // ---- the port interface ------------------------------------------------------------------

  private select(key: number): void {
    this.selector = key;
    this.offset = 0;
  }

  private readByte(): number {
    const it = this.item(this.selector);
    if (!it || this.offset >= it.data.length) return 0;
    return it.data[this.offset++]!;
  }

  // ---- DMA -----------------------------------------------------------------------------------

  private runDma(addr: number): void {
    const mem = this.host?.memory;
    if (!mem) return;
    this.dmaTransfers++;
    const rd32 = (a: number) => ((mem.read8(a) << 24) | (mem.read8(a + 1) << 16) | (mem.read8(a + 2) << 8) | mem.read8(a + 3)) >>> 0;
    const control = rd32(addr);
    const length = rd32(addr + 4);
    const target = rd32(addr + 8) * 2 ** 32 + rd32(addr + 12);
    let error = false;
    if (control & DMA_CTL.SELECT) this.select(control >>> 16);
    const it = this.item(this.selector);
    if (control & DMA_CTL.READ) {
      // Bytes past the end of the item read as 0.
      const out = new Uint8Array(length);
      if (it) out.set(it.data.subarray(this.offset, Math.min(it.data.length, this.offset + length)));
      try {
        mem.load(target, out);
      } catch {
        error = true;
      }
      this.offset += length;
    } else if (control & DMA_CTL.SKIP) {
      this.offset += length;
    } else if (control & DMA_CTL.WRITE) {
      if (!it || !it.writable || this.offset + length > it.data.length) error = true;
      else for (let i = 0; i < length; i++) it.data[this.offset + i] = mem.read8(target + i);
      this.offset += length;
    }
    const done = error ? DMA_CTL.ERROR : 0;
    for (let i = 0; i < 4; i++) mem.write8(addr + i, (done >>> (24 - 8 * i)) & 0xff);
  }

  // ---- snapshots ------------------------------------------------------------------------------

  save(): FwCfgState {
    const written: Record<string, number[]> = {};
    for (const f of this.files) if (f.writable) written[f.name!] = Array.from(f.data);
    return { version: STATE_VERSION, selector: this.selector, offset: this.offset, dmaHigh: this.dmaHigh, written };
  }

  restore(state: unknown): void {
    const s = state as FwCfgState;
    if (!s || s.version !== STATE_VERSION) throw new Error(`fw_cfg state version ${s?.version} is not ${STATE_VERSION}`);
    this.selector = s.selector;
    this.offset = s.offset;
    this.dmaHigh = s.dmaHigh;
    for (const [name, bytes] of Object.entries(s.written)) {
      const f = this.files.find((x) => x.name === name);
      if (f) f.data = new Uint8Array(bytes);
    }
  }
}

function le32(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff]);
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** fw_cfg's "etc/e820" file: per entry le64 address, le64 length, le32 type. */
export function e820File(entries: readonly { addr: number; size: number; type: number }[]): Uint8Array {
  const out = new Uint8Array(20 * entries.length);
  const v = new DataView(out.buffer);
  entries.forEach((e, i) => {
    v.setBigUint64(20 * i, BigInt(e.addr), true);
    v.setBigUint64(20 * i + 8, BigInt(e.size), true);
    v.setUint32(20 * i + 16, e.type, true);
  });
  return out;
}

/**
 * Why an image is not a legacy option ROM (PC BIOS option ROM header: 55 AA,
 * the size in 512-byte blocks at byte 2, an entry point at 3, bytes summing to
 * 0 over the declared size), or null when it is one.
 */
export function optionRomProblem(image: Uint8Array): string | null {
  if (image.length < 512) return 'shorter than 512 bytes';
  if (image[0] !== 0x55 || image[1] !== 0xaa) return 'no 55 AA signature';
  const size = image[2]! * 512;
  if (size === 0 || size > image.length) return `declared size ${size} does not fit the ${image.length}-byte image`;
  let sum = 0;
  for (let i = 0; i < size; i++) sum = (sum + image[i]!) & 0xff;
  return sum === 0 ? null : 'checksum is not 0';
}
