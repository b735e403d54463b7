/**
 * The ACPI tables of this PC (ACPI 6.x, chapter 5), generated from the machine's
 * configuration: RSDP (revision 2, with RSDT and XSDT), FADT (revision 3, the
 * ACPI 2.0 layout with the reset register and IA-PC boot flags), FACS, MADT,
 * an optional HPET table, and a DSDT whose AML comes from aml.ts.
 *
 * The FADT describes the PIIX4's PM block (PM1a event at PMBA+0, PM1a control
 * at +4, the PM timer at +8, GPE0 at +0xC), the SCI on ISA IRQ 9, SMI_CMD at the
 * APM control port with the ACPI enable/disable commands the PIIX4 device
 * honours, the reset register at port 0xCF9 (value 6), the RTC century at CMOS
 * index 0x32, and IA-PC boot flags "legacy devices" and "8042". It claims C1
 * (HLT) only (P_LVL2/3 latencies above the limits), a fixed-feature power
 * button, no sleep button, and WBINVD.
 *
 * The MADT lists the processor's local APIC, the I/O APIC (GSI 0-23), the
 * interrupt source overrides IRQ 0 -> GSI 2 (the PIT on pin 2) and IRQ 9 -> GSI
 * 9 level/active high (the SCI), a local APIC NMI on LINT1, and PCAT_COMPAT (the
 * 8259 pair is present).
 *
 * The DSDT holds \_S5 (SLP_TYP 0: the PIIX4's soft-off encoding), the PCI root
 * bridge (PNP0A03 with _CRS and an APIC-mode _PRT) and the processors as ACPI0007
 * devices. Every table is checksummed; the RSDP carries
 * both its ACPI 1.0 checksum and the extended one.
 *
 * Layout: the caller picks two places in guest memory: the RSDP's (16-byte
 * aligned, where the OS searches: the BIOS area 0xE0000-0xFFFFF) and the
 * tables' (the FACS first, 64-byte aligned, then the others, each 8-byte
 * aligned), which it must report as reserved or ACPI memory.
 */
import * as aml from './aml.js';
import { ACPI_DISABLE, ACPI_ENABLE, APM_CNT_PORT, SCI_IRQ } from '../devices/piix4-pm.js';
import { RESET_PORT, RESET_VALUE } from '../devices/i440fx.js';
import { APIC_DEFAULT_BASE } from '../devices/lapic.js';
import { IOAPIC_DEFAULT_BASE } from '../devices/ioapic.js';

export interface AcpiConfig {
  /** PIIX4 PMBA: the PM1a event block; control at +4, timer at +8, GPE0 at +0xC. */
  pmBase: number;
  sciIrq: number;
  /** SMI_CMD port and the commands written there to enter and leave ACPI mode (0 = no mode switch). */
  smiCmd: number;
  acpiEnable: number;
  acpiDisable: number;
  /** The reset register (an I/O port) and the value to write. */
  resetPort: number;
  resetValue: number;
  /** CMOS index of the RTC century byte (0 = none). */
  century: number;
  localApicBase: number;
  /** The processors' local APIC IDs (ACPI processor UIDs are their indices). */
  apicIds: number[];
  ioApic: { id: number; base: number; gsiBase: number };
  /** Where the PCI memory window starts (the top of RAM, rounded up) and ends (below the I/O APIC). */
  pciMemory: { base: number; limit: number };
  /** An HPET block, when the machine has one. */
  hpet?: { base: number; eventTimerBlockId: number; minimumTick: number };
  oemId?: string;
  oemTableId?: string;
}

export interface AcpiImage {
  rsdpAddr: number;
  rsdp: Uint8Array;
  tablesAddr: number;
  tables: Uint8Array;
  /** Where each table landed, by signature (for tests and the monitor). */
  at: Record<string, number>;
}

const OEM_ID = 'BT86  ';
const OEM_TABLE_ID = 'BT86PC  ';
const CREATOR_ID = 'BT86';

export const HEADER_LENGTH = 36;
const FADT_LENGTH = 244;

/** Generic Address Structure: address space (0 memory, 1 I/O), width and offset in bits, access size, address. */
function gas(space: number, bitWidth: number, accessSize: number, address: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, space);
  v.setUint8(1, bitWidth);
  v.setUint8(2, 0);
  v.setUint8(3, accessSize);
  v.setBigUint64(4, BigInt(address), true);
  return b;
}

function ascii(s: string, len: number): Uint8Array {
  const b = new Uint8Array(len).fill(0x20);
  for (let i = 0; i < Math.min(len, s.length); i++) b[i] = s.charCodeAt(i);
  return b;
}

export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const x of bytes) sum = (sum + x) & 0xff;
  return sum;
}

/** A table: the standard header (checksummed over the whole table) and `body`. */
function table(sig: string, revision: number, body: Uint8Array, cfg: AcpiConfig): Uint8Array {
  const t = new Uint8Array(HEADER_LENGTH + body.length);
  const v = new DataView(t.buffer);
  t.set(ascii(sig, 4), 0);
  v.setUint32(4, t.length, true);
  v.setUint8(8, revision);
  t.set(ascii(cfg.oemId ?? OEM_ID, 6), 10);
  t.set(ascii(cfg.oemTableId ?? OEM_TABLE_ID, 8), 16);
  v.setUint32(24, 1, true); // OEM revision
  t.set(ascii(CREATOR_ID, 4), 28);
  v.setUint32(32, 1, true); // creator revision
  t.set(body, HEADER_LENGTH);
  t[9] = (0x100 - checksum(t)) & 0xff;
  return t;
}

/**
 * The PCI root bridge: Linux enumerates PCI through it when ACPI is on (there is
 * no legacy scan then). _CRS gives bus 0-255, the configuration ports, the I/O
 * space around them, the VGA window and the PCI memory window. _PRT routes INTx
 * of every slot to the I/O APIC pins the PIIX3's PIRQ lines reach (GSI 16-19),
 * with the board's swizzle (device d, pin p: PIRQ (d + p) mod 4); it is the APIC
 * mode table (PIC mode would need PCI interrupt link devices).
 */
function pciRootBridge(cfg: AcpiConfig): Uint8Array {
  const { resource } = aml;
  const crs = resource.template([
    resource.busNumbers(0, 0xff),
    resource.io(0x0cf8, 0x0cf8, 1, 8),
    resource.ioWindow(0x0000, 0x0cf7),
    resource.ioWindow(0x0d00, 0xffff),
    resource.memoryWindow(0x000a0000, 0x000bffff, true),
    resource.memoryWindow(cfg.pciMemory.base, cfg.pciMemory.limit),
  ]);
  const prt: Uint8Array[] = [];
  for (let dev = 1; dev < 32; dev++) {
    for (let pin = 0; pin < 4; pin++) {
      prt.push(aml.pkg([aml.integer(((dev << 16) | 0xffff) >>> 0), aml.integer(pin), aml.integer(0), aml.integer(16 + ((dev + pin) & 3))]));
    }
  }
  return aml.device('PCI0', [
    aml.name('_HID', aml.eisaId('PNP0A03')),
    aml.name('_UID', aml.integer(0)),
    aml.name('_BBN', aml.integer(0)),
    aml.name('_CRS', aml.buffer(crs)),
    aml.name('_PRT', aml.pkg(prt)),
  ]);
}

/** The DSDT's AML. */
export function dsdtAml(cfg: AcpiConfig): Uint8Array {
  return aml.amlConcat([
    aml.scope('\\_SB', [
      pciRootBridge(cfg),
      ...cfg.apicIds.map((_id, uid) =>
        aml.device(`C${uid.toString(16).toUpperCase().padStart(3, '0')}`, [
          aml.name('_HID', aml.string('ACPI0007')),
          aml.name('_UID', aml.integer(uid)),
        ])),
    ]),
    // Soft off: SLP_TYPa = SLP_TYPb = 0 (PIIX4 SUS_TYP 000), two reserved bytes.
    aml.name('\\_S5', aml.pkg([aml.integer(0), aml.integer(0), aml.integer(0), aml.integer(0)])),
  ]);
}

function fadt(cfg: AcpiConfig, facs: number, dsdt: number): Uint8Array {
  const b = new Uint8Array(FADT_LENGTH - HEADER_LENGTH);
  const v = new DataView(b.buffer);
  const at = (off: number) => off - HEADER_LENGTH;
  const pm = cfg.pmBase;
  v.setUint32(at(36), facs, true);
  v.setUint32(at(40), dsdt, true);
  v.setUint8(at(45), 0); // preferred PM profile: unspecified
  v.setUint16(at(46), cfg.sciIrq, true);
  v.setUint32(at(48), cfg.smiCmd, true);
  v.setUint8(at(52), cfg.acpiEnable);
  v.setUint8(at(53), cfg.acpiDisable);
  v.setUint32(at(56), pm, true); // PM1a_EVT_BLK
  v.setUint32(at(64), pm + 4, true); // PM1a_CNT_BLK
  v.setUint32(at(76), pm + 8, true); // PM_TMR_BLK
  v.setUint32(at(80), pm + 0x0c, true); // GPE0_BLK
  v.setUint8(at(88), 4); // PM1_EVT_LEN
  v.setUint8(at(89), 2); // PM1_CNT_LEN
  v.setUint8(at(91), 4); // PM_TMR_LEN
  v.setUint8(at(92), 4); // GPE0_BLK_LEN
  v.setUint16(at(96), 101, true); // P_LVL2_LAT > 100: no C2
  v.setUint16(at(98), 1001, true); // P_LVL3_LAT > 1000: no C3
  v.setUint8(at(108), cfg.century);
  v.setUint16(at(109), 0x0003, true); // IAPC_BOOT_ARCH: LEGACY_DEVICES | 8042
  // Flags: WBINVD, PROC_C1, SLP_BUTTON (none), FIX_RTC (no RTC wake in PM1), RESET_REG_SUP.
  v.setUint32(at(112), (1 << 0) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 10), true);
  b.set(gas(1, 8, 1, cfg.resetPort), at(116));
  v.setUint8(at(128), cfg.resetValue);
  // X_FIRMWARE_CTRL stays 0: the spec wants it zero when FIRMWARE_CTRL (below 4 GiB) is set.
  v.setBigUint64(at(140), BigInt(dsdt), true); // X_DSDT
  b.set(gas(1, 32, 2, pm), at(148)); // X_PM1a_EVT_BLK
  b.set(gas(1, 16, 2, pm + 4), at(172)); // X_PM1a_CNT_BLK
  b.set(gas(1, 32, 3, pm + 8), at(208)); // X_PM_TMR_BLK
  b.set(gas(1, 32, 1, pm + 0x0c), at(220)); // X_GPE0_BLK
  return table('FACP', 3, b, cfg);
}

function facsTable(): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  b.set(ascii('FACS', 4), 0);
  v.setUint32(4, 64, true);
  v.setUint8(32, 2); // version
  return b;
}

function madt(cfg: AcpiConfig): Uint8Array {
  const parts: number[] = [];
  const u8 = (x: number) => parts.push(x & 0xff);
  const u16 = (x: number) => { u8(x); u8(x >> 8); };
  const u32 = (x: number) => { u16(x); u16(x >>> 16); };
  u32(cfg.localApicBase);
  u32(1); // PCAT_COMPAT
  cfg.apicIds.forEach((id, uid) => { u8(0); u8(8); u8(uid); u8(id); u32(1); }); // processor local APIC, enabled
  u8(1); u8(12); u8(cfg.ioApic.id); u8(0); u32(cfg.ioApic.base); u32(cfg.ioApic.gsiBase);
  // Interrupt source overrides (bus 0 = ISA): IRQ 0 -> GSI 2 conforming; SCI level, active high.
  u8(2); u8(10); u8(0); u8(0); u32(2); u16(0);
  u8(2); u8(10); u8(0); u8(cfg.sciIrq); u32(cfg.sciIrq); u16(0x000d);
  // Local APIC NMI: all processors, edge/active high, LINT1.
  u8(4); u8(6); u8(0xff); u16(0x0005); u8(1);
  return table('APIC', 3, new Uint8Array(parts), cfg);
}

function hpetTable(cfg: AcpiConfig): Uint8Array {
  const h = cfg.hpet!;
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint32(0, h.eventTimerBlockId, true);
  b.set(gas(0, 64, 0, h.base), 4);
  v.setUint8(16, 0); // HPET number
  v.setUint16(17, h.minimumTick, true);
  v.setUint8(19, 0); // page protection: none
  return table('HPET', 1, b, cfg);
}

function rsdpStruct(cfg: AcpiConfig, rsdt: number, xsdt: number): Uint8Array {
  const b = new Uint8Array(36);
  const v = new DataView(b.buffer);
  b.set(ascii('RSD PTR ', 8), 0);
  b.set(ascii(cfg.oemId ?? OEM_ID, 6), 9);
  v.setUint8(15, 2);
  v.setUint32(16, rsdt, true);
  v.setUint32(20, 36, true);
  v.setBigUint64(24, BigInt(xsdt), true);
  b[8] = (0x100 - checksum(b.subarray(0, 20))) & 0xff;
  b[32] = (0x100 - checksum(b)) & 0xff;
  return b;
}

/**
 * Build the tables for a machine: the RSDP to be placed at `rsdpAddr` and the
 * rest as one block at `tablesAddr` (64-byte aligned).
 */
export function buildAcpiTables(cfg: AcpiConfig, rsdpAddr: number, tablesAddr: number): AcpiImage {
  if (tablesAddr % 64) throw new Error('the ACPI tables must start 64-byte aligned (the FACS)');
  if (rsdpAddr % 16) throw new Error('the RSDP must be 16-byte aligned');
  const blobs: Uint8Array[] = [];
  const at: Record<string, number> = {};
  let next = tablesAddr;
  const place = (sig: string, bytes: Uint8Array) => {
    at[sig] = next;
    blobs.push(bytes);
    const padded = (bytes.length + 7) & ~7;
    if (padded > bytes.length) blobs.push(new Uint8Array(padded - bytes.length));
    next += padded;
    return at[sig]!;
  };
  const facs = place('FACS', facsTable());
  const dsdt = place('DSDT', table('DSDT', 2, dsdtAml(cfg), cfg));
  const entries = [place('FACP', fadt(cfg, facs, dsdt)), place('APIC', madt(cfg))];
  if (cfg.hpet) entries.push(place('HPET', hpetTable(cfg)));
  const rsdtBody = new Uint8Array(4 * entries.length);
  const xsdtBody = new Uint8Array(8 * entries.length);
  entries.forEach((a, i) => {
    new DataView(rsdtBody.buffer).setUint32(4 * i, a, true);
    new DataView(xsdtBody.buffer).setBigUint64(8 * i, BigInt(a), true);
  });
  const rsdt = place('RSDT', table('RSDT', 1, rsdtBody, cfg));
  const xsdt = place('XSDT', table('XSDT', 1, xsdtBody, cfg));
  const tables = aml.amlConcat(blobs);
  return { rsdpAddr, rsdp: rsdpStruct(cfg, rsdt, xsdt), tablesAddr, tables, at };
}

/** Write an image into guest memory (through the loader path, so cached code there is invalidated). */
export function installAcpiTables(memory: { load(addr: number, data: Uint8Array): void }, image: AcpiImage): void {
  memory.load(image.tablesAddr, image.tables);
  memory.load(image.rsdpAddr, image.rsdp);
}

/**
 * The configuration of this PC's tables, from the devices' own constants: the
 * PIIX4 PM block at `pmBase`, PCI memory from the top of `ramSize` RAM up to the
 * I/O APIC, SCI on IRQ 9, ACPI mode through the APM port,
 * reset through the PMC's TRC, one processor (APIC ID 0), the I/O APIC with ID 1
 * at 0xFEC00000, and the HPET when given.
 */
export function pcAcpiConfig(opts: { ramSize: number; pmBase: number; hpet?: AcpiConfig['hpet']; cpus?: number }): AcpiConfig {
  return {
    pmBase: opts.pmBase,
    sciIrq: SCI_IRQ,
    smiCmd: APM_CNT_PORT,
    acpiEnable: ACPI_ENABLE,
    acpiDisable: ACPI_DISABLE,
    resetPort: RESET_PORT,
    resetValue: RESET_VALUE,
    century: 0x32,
    localApicBase: APIC_DEFAULT_BASE,
    apicIds: Array.from({ length: opts.cpus ?? 1 }, (_, i) => i),
    ioApic: { id: opts.cpus ?? 1, base: IOAPIC_DEFAULT_BASE, gsiBase: 0 },
    pciMemory: { base: Math.ceil(opts.ramSize / 0x100000) * 0x100000, limit: IOAPIC_DEFAULT_BASE - 1 },
    hpet: opts.hpet,
  };
}
