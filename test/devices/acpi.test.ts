/**
 * The ACPI tables read back the way an OS reads them: the RSDP found by
 * scanning the BIOS area, every table checksummed, the FADT's and MADT's fields
 * checked, and the DSDT's AML decoded by a reader written here from the ACPI
 * grammar (independent of runtime/acpi/aml.ts).
 */
import { describe, expect, it } from 'vitest';
import * as aml from '../../runtime/acpi/aml.js';
import { buildAcpiTables, installAcpiTables, pcAcpiConfig } from '../../runtime/acpi/tables.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Piix4Pm, DEFAULT_PM_BASE } from '../../runtime/devices/piix4-pm.js';
import { Bench } from './bench.js';

// ---- an independent AML reader (just the terms a DSDT of ours may hold) ----

type AmlValue = bigint | string | AmlValue[] | { buffer: number[] } | { ref: string };
interface AmlNamed { kind: 'name' | 'scope' | 'device' | 'method'; path: string; value?: AmlValue; body?: AmlNamed[]; flags?: number; code?: number[] }

class AmlReader {
  at = 0;
  constructor(readonly b: Uint8Array, readonly end = b.length) {}
  u8(): number {
    if (this.at >= this.end) throw new Error('AML truncated');
    return this.b[this.at++]!;
  }
  pkgLength(): number {
    const start = this.at;
    const lead = this.u8();
    const extra = lead >> 6;
    if (extra === 0) return start + (lead & 0x3f);
    let len = lead & 0x0f;
    for (let i = 0; i < extra; i++) len |= this.u8() << (4 + 8 * i);
    return start + len;
  }
  seg(): string {
    let s = '';
    for (let i = 0; i < 4; i++) s += String.fromCharCode(this.u8());
    return s.replace(/_+$/, '') || '_';
  }
  name(): string {
    let prefix = '';
    let c = this.b[this.at]!;
    if (c === 0x5c) { prefix = '\\'; this.at++; } else while (this.b[this.at] === 0x5e) { prefix += '^'; this.at++; }
    c = this.b[this.at]!;
    if (c === 0x00) { this.at++; return prefix; }
    if (c === 0x2e) { this.at++; return prefix + this.seg() + '.' + this.seg(); }
    if (c === 0x2f) { this.at++; const n = this.u8(); return prefix + Array.from({ length: n }, () => this.seg()).join('.'); }
    return prefix + this.seg();
  }
  data(): AmlValue {
    const op = this.u8();
    switch (op) {
      case 0x00: return 0n;
      case 0x01: return 1n;
      case 0xff: return 0xffffffffffffffffn;
      case 0x0a: case 0x0b: case 0x0c: case 0x0e: {
        const n = op === 0x0a ? 1 : op === 0x0b ? 2 : op === 0x0c ? 4 : 8;
        let v = 0n;
        for (let i = 0; i < n; i++) v |= BigInt(this.u8()) << BigInt(8 * i);
        return v;
      }
      case 0x0d: { let s = ''; for (let c = this.u8(); c !== 0; c = this.u8()) s += String.fromCharCode(c); return s; }
      case 0x12: {
        const end = this.pkgLength();
        const count = this.u8();
        const out: AmlValue[] = [];
        while (this.at < end) out.push(this.data());
        expect(this.at).toBe(end);
        expect(out.length).toBe(count);
        return out;
      }
      case 0x11: {
        const end = this.pkgLength();
        const size = Number(this.data() as bigint);
        const bytes = Array.from(this.b.subarray(this.at, end));
        this.at = end;
        expect(bytes.length).toBe(size);
        return { buffer: bytes };
      }
      default:
        this.at--;
        return { ref: this.name() };
    }
  }
  terms(end: number): AmlNamed[] {
    const out: AmlNamed[] = [];
    while (this.at < end) {
      const op = this.u8();
      if (op === 0x08) out.push({ kind: 'name', path: this.name(), value: this.data() });
      else if (op === 0x10) { const e = this.pkgLength(); out.push({ kind: 'scope', path: this.name(), body: this.terms(e) }); }
      else if (op === 0x5b && this.b[this.at] === 0x82) { this.at++; const e = this.pkgLength(); out.push({ kind: 'device', path: this.name(), body: this.terms(e) }); }
      else if (op === 0x14) { const e = this.pkgLength(); const path = this.name(); const flags = this.u8(); out.push({ kind: 'method', path, flags, code: Array.from(this.b.subarray(this.at, e)) }); this.at = e; }
      else throw new Error(`unexpected AML opcode ${op.toString(16)} at ${this.at - 1}`);
    }
    expect(this.at).toBe(end);
    return out;
  }
}

function find(terms: AmlNamed[], path: string): AmlNamed | undefined {
  return terms.find((t) => t.path === path);
}

// ---- table reading ----

const sum = (b: Uint8Array) => b.reduce((a, x) => (a + x) & 0xff, 0);

function setup(hpet = false) {
  const phys = new PhysicalMemory(4 << 20);
  const cfg = pcAcpiConfig({ ramSize: 128 << 20, pmBase: DEFAULT_PM_BASE, hpet: hpet ? { base: 0xfed00000, eventTimerBlockId: 0x8086a201, minimumTick: 0x80 } : undefined });
  const image = buildAcpiTables(cfg, 0xf0000, 0xe0000);
  installAcpiTables(phys, image);
  const bytes = (addr: number, len: number) => phys.ram.subarray(addr, addr + len);
  const dv = (addr: number, len: number) => new DataView(phys.ram.buffer, addr, len);
  /** A table at `addr`: signature, length, checksum checked. */
  const tableAt = (addr: number) => {
    const sig = String.fromCharCode(...bytes(addr, 4));
    const len = dv(addr, 8).getUint32(4, true);
    expect(sum(bytes(addr, len)), `${sig} checksum`).toBe(0);
    return { sig, len, addr, v: dv(addr, len), b: bytes(addr, len) };
  };
  /** Linux's acpi_find_root_pointer: 16-byte steps through 0xE0000-0xFFFFF. */
  let rsdp = -1;
  for (let a = 0xe0000; a < 0x100000; a += 16) {
    if (String.fromCharCode(...bytes(a, 8)) === 'RSD PTR ' && sum(bytes(a, 20)) === 0) { rsdp = a; break; }
  }
  return { phys, cfg, image, bytes, dv, tableAt, rsdp };
}

describe('ACPI tables', () => {
  it('has an RSDP in the BIOS area with both checksums, pointing at RSDT and XSDT with the same tables', () => {
    const { rsdp, dv, bytes, tableAt } = setup(true);
    expect(rsdp).toBe(0xf0000);
    expect(sum(bytes(rsdp, 36))).toBe(0);
    const v = dv(rsdp, 36);
    expect(v.getUint8(15)).toBe(2);
    expect(v.getUint32(20, true)).toBe(36);
    const rsdt = tableAt(v.getUint32(16, true));
    const xsdt = tableAt(Number(v.getBigUint64(24, true)));
    expect(rsdt.sig).toBe('RSDT');
    expect(xsdt.sig).toBe('XSDT');
    const r = Array.from({ length: (rsdt.len - 36) / 4 }, (_, i) => rsdt.v.getUint32(36 + 4 * i, true));
    const x = Array.from({ length: (xsdt.len - 36) / 8 }, (_, i) => Number(xsdt.v.getBigUint64(36 + 8 * i, true)));
    expect(x).toEqual(r);
    expect(r.map((a) => tableAt(a).sig)).toEqual(['FACP', 'APIC', 'HPET']);
    expect(String.fromCharCode(...bytes(rsdt.addr + 10, 6))).toBe('BT86  ');
  });

  it('describes the PIIX4 PM block, the SCI, ACPI mode, reset and boot flags in the FADT', () => {
    const { image, tableAt, bytes, dv } = setup();
    const f = tableAt(image.at.FACP!);
    expect(f.len).toBe(244);
    expect(f.v.getUint8(8)).toBe(3);
    const facs = f.v.getUint32(36, true);
    expect(facs % 64).toBe(0);
    expect(String.fromCharCode(...bytes(facs, 4))).toBe('FACS');
    expect(dv(facs, 8).getUint32(4, true)).toBe(64);
    expect(Number(f.v.getBigUint64(132, true))).toBe(0); // X_FIRMWARE_CTRL: zero when FIRMWARE_CTRL is used
    const dsdt = f.v.getUint32(40, true);
    expect(Number(f.v.getBigUint64(140, true))).toBe(dsdt);
    expect(tableAt(dsdt).sig).toBe('DSDT');
    expect(f.v.getUint16(46, true)).toBe(9);
    expect(f.v.getUint32(48, true)).toBe(0xb2);
    expect([f.v.getUint8(52), f.v.getUint8(53)]).toEqual([0xf1, 0xf0]);
    expect(f.v.getUint32(56, true)).toBe(DEFAULT_PM_BASE);
    expect(f.v.getUint32(64, true)).toBe(DEFAULT_PM_BASE + 4);
    expect(f.v.getUint32(76, true)).toBe(DEFAULT_PM_BASE + 8);
    expect(f.v.getUint32(80, true)).toBe(DEFAULT_PM_BASE + 12);
    expect([f.v.getUint8(88), f.v.getUint8(89), f.v.getUint8(91), f.v.getUint8(92)]).toEqual([4, 2, 4, 4]);
    expect(f.v.getUint8(108)).toBe(0x32);
    expect(f.v.getUint16(109, true)).toBe(3);
    const flags = f.v.getUint32(112, true);
    expect(flags & (1 << 10)).not.toBe(0); // RESET_REG_SUP
    expect(flags & (1 << 8)).toBe(0); // 24-bit PM timer
    expect(flags & (1 << 4)).toBe(0); // fixed-feature power button
    expect(Array.from(f.b.subarray(116, 120))).toEqual([1, 8, 0, 1]);
    expect(Number(f.v.getBigUint64(120, true))).toBe(0xcf9);
    expect(f.v.getUint8(128)).toBe(6);
    // X_PM1a_EVT_BLK: I/O, 32 bits; X_PM1a_CNT_BLK: 16 bits; X_PM_TMR_BLK: 32 bits.
    expect([f.v.getUint8(148), f.v.getUint8(149), Number(f.v.getBigUint64(152, true))]).toEqual([1, 32, DEFAULT_PM_BASE]);
    expect([f.v.getUint8(172), f.v.getUint8(173), Number(f.v.getBigUint64(176, true))]).toEqual([1, 16, DEFAULT_PM_BASE + 4]);
    expect([f.v.getUint8(208), f.v.getUint8(209), Number(f.v.getBigUint64(212, true))]).toEqual([1, 32, DEFAULT_PM_BASE + 8]);
  });

  it('lists the local APIC, the I/O APIC, the IRQ 0 and SCI overrides and LINT1 NMI in the MADT', () => {
    const { image, tableAt } = setup();
    const m = tableAt(image.at.APIC!);
    expect(m.v.getUint32(36, true)).toBe(0xfee00000);
    expect(m.v.getUint32(40, true) & 1).toBe(1);
    const entries: number[][] = [];
    for (let o = 44; o < m.len;) {
      const len = m.b[o + 1]!;
      expect(len).toBeGreaterThan(1);
      entries.push(Array.from(m.b.subarray(o, o + len)));
      o += len;
    }
    expect(entries.map((e) => e[0])).toEqual([0, 1, 2, 2, 4]);
    expect(entries[0]).toEqual([0, 8, 0, 0, 1, 0, 0, 0]);
    const io = new DataView(new Uint8Array(entries[1]!).buffer);
    expect([io.getUint8(2), io.getUint32(4, true), io.getUint32(8, true)]).toEqual([1, 0xfec00000, 0]);
    const iso = (e: number[]) => { const v = new DataView(new Uint8Array(e).buffer); return { bus: e[2], irq: e[3], gsi: v.getUint32(4, true), flags: v.getUint16(8, true) }; };
    expect(iso(entries[2]!)).toEqual({ bus: 0, irq: 0, gsi: 2, flags: 0 });
    expect(iso(entries[3]!)).toEqual({ bus: 0, irq: 9, gsi: 9, flags: 0x0d });
    expect(entries[4]).toEqual([4, 6, 0xff, 5, 0, 1]);
  });

  it('has an HPET table naming the block', () => {
    const { image, tableAt } = setup(true);
    const h = tableAt(image.at.HPET!);
    expect(h.len).toBe(56);
    expect(h.v.getUint32(36, true)).toBe(0x8086a201);
    expect(h.v.getUint8(40)).toBe(0);
    expect(Number(h.v.getBigUint64(44, true))).toBe(0xfed00000);
  });

  it('has a DSDT whose \\_S5 decodes to Package(4) {0, 0, 0, 0} and a processor device', () => {
    const { image, tableAt } = setup();
    const d = tableAt(image.at.DSDT!);
    const r = new AmlReader(d.b);
    r.at = 36;
    const terms = r.terms(d.len);
    expect(find(terms, '\\_S5')?.value).toEqual([0n, 0n, 0n, 0n]);
    const sb = find(terms, '\\_SB')!;
    const cpu = find(sb.body!, 'C000')!;
    expect(cpu.kind).toBe('device');
    expect(find(cpu.body!, '_HID')?.value).toBe('ACPI0007');
    expect(find(cpu.body!, '_UID')?.value).toBe(0n);
  });

  it('describes the PCI root bridge: PNP0A03, bus/I/O/memory windows in _CRS, and a _PRT matching the board swizzle', () => {
    const { image, tableAt } = setup();
    const d = tableAt(image.at.DSDT!);
    const r = new AmlReader(d.b);
    r.at = 36;
    const pci = find(find(r.terms(d.len), '\\_SB')!.body!, 'PCI0')!;
    expect(pci.kind).toBe('device');
    expect(find(pci.body!, '_HID')!.value).toBe(0x030ad041n);
    // Walk the resource template (ACPI 6.x §6.4: small items tag 0xxxxlll, large items 1xxxxxxx + 16-bit length).
    const crs = new Uint8Array((find(pci.body!, '_CRS')!.value as { buffer: number[] }).buffer);
    const items: { tag: number; body: Uint8Array }[] = [];
    for (let o = 0; o < crs.length;) {
      const t = crs[o]!;
      if (t & 0x80) {
        const len = crs[o + 1]! | (crs[o + 2]! << 8);
        items.push({ tag: t, body: crs.subarray(o + 3, o + 3 + len) });
        o += 3 + len;
      } else {
        const len = t & 7;
        items.push({ tag: t >> 3, body: crs.subarray(o + 1, o + 1 + len) });
        o += 1 + len;
      }
    }
    expect(items.map((i) => i.tag)).toEqual([0x88, 0x08, 0x88, 0x88, 0x87, 0x87, 0x0f]);
    const w = (i: number, at: number) => new DataView(items[i]!.body.buffer, items[i]!.body.byteOffset).getUint16(at, true);
    const dw = (i: number, at: number) => new DataView(items[i]!.body.buffer, items[i]!.body.byteOffset).getUint32(at, true);
    expect([items[0]!.body[0], w(0, 5), w(0, 7), w(0, 11)]).toEqual([2, 0, 0xff, 0x100]); // bus numbers 0-255
    expect([w(1, 1), w(1, 3), items[1]!.body[6]]).toEqual([0xcf8, 0xcf8, 8]);
    expect([items[2]!.body[0], w(2, 5), w(2, 7)]).toEqual([1, 0, 0xcf7]);
    expect([w(3, 5), w(3, 7)]).toEqual([0xd00, 0xffff]);
    expect([items[4]!.body[0], dw(4, 7), dw(4, 11)]).toEqual([0, 0xa0000, 0xbffff]);
    expect([dw(5, 7), dw(5, 11), dw(5, 19)]).toEqual([0x8000000, 0xfebfffff, 0xfebfffff - 0x8000000 + 1]);
    const prt = find(pci.body!, '_PRT')!.value as bigint[][];
    expect(prt.length).toBe(31 * 4);
    // Device 3 INTA: PIRQ D, GSI 19 (what PciBus.intxChanged drives).
    expect(prt.find((e) => e[0] === 0x3ffffn && e[1] === 0n)).toEqual([0x3ffffn, 0n, 0n, 19n]);
  });

  it('powers the machine off with the SLP_TYP the DSDT gives for S5', () => {
    const { image, tableAt } = setup();
    const d = tableAt(image.at.DSDT!);
    const r = new AmlReader(d.b);
    r.at = 36;
    const s5 = find(r.terms(d.len), '\\_S5')!.value as bigint[];
    const f = tableAt(image.at.FACP!);
    const pm1aCnt = f.v.getUint32(64, true);
    const b = new Bench();
    const pm = b.attach(new Piix4Pm());
    let off = false;
    pm.onPowerOff = () => { off = true; };
    pm.firmwareInit();
    b.out(f.v.getUint32(48, true), f.v.getUint8(52)); // ACPI enable
    const slpTyp = Number(s5[0]!);
    b.out(pm1aCnt, (b.in(pm1aCnt, 2) & ~0x1c00) | (slpTyp << 10), 2);
    expect(off).toBe(false);
    b.out(pm1aCnt, (b.in(pm1aCnt, 2) & ~0x1c00) | (slpTyp << 10) | 0x2000, 2);
    expect(off).toBe(true);
  });
});

describe('AML encoder', () => {
  it('encodes PkgLength in 1-4 bytes, counting its own bytes', () => {
    expect(Array.from(aml.pkgLength(0))).toEqual([1]);
    expect(Array.from(aml.pkgLength(62))).toEqual([63]);
    expect(Array.from(aml.pkgLength(63))).toEqual([0x40 | 1, 4]); // 65 = 0x41
    expect(Array.from(aml.pkgLength(4092))).toEqual([0x40 | 14, 0xff]); // 4094
    expect(Array.from(aml.pkgLength(4094))).toEqual([0x81, 0x00, 0x01]); // 4097 = 0x1001
    for (const n of [0, 10, 62, 63, 100, 4093, 4094, 70000, 1_100_000]) {
      const enc = aml.pkgLength(n);
      const bytes = new Uint8Array(enc.length + n);
      bytes.set(enc);
      const r = new AmlReader(bytes);
      expect(r.pkgLength()).toBe(enc.length + n);
    }
  });

  it('encodes names, integers, strings and EISA IDs', () => {
    expect(Array.from(aml.nameString('_S5'))).toEqual([0x5f, 0x53, 0x35, 0x5f]);
    expect(Array.from(aml.nameString('\\_SB.PCI0'))).toEqual([0x5c, 0x2e, ...'_SB_PCI0'].map((c) => (typeof c === 'string' ? c.charCodeAt(0) : c)));
    const multi = new AmlReader(aml.nameString('\\_SB.PCI0.ISA.KBD'));
    expect(multi.name()).toBe('\\_SB.PCI0.ISA.KBD');
    expect(new AmlReader(aml.nameString('^^FOO')).name()).toBe('^^FOO');
    expect(() => aml.nameString('TOOLONG')).toThrow();
    for (const n of [0n, 1n, 2n, 0xffn, 0x100n, 0xffffn, 0x10000n, 0xffffffffn, 0x100000000n, 0xffffffffffffffffn]) {
      expect(new AmlReader(aml.integer(n)).data()).toBe(n);
    }
    expect(Array.from(aml.integer(0x1234))).toEqual([0x0b, 0x34, 0x12]);
    expect(new AmlReader(aml.string('PNP0A03')).data()).toBe('PNP0A03');
    expect(new AmlReader(aml.eisaId('PNP0A03')).data()).toBe(0x030ad041n);
    expect(new AmlReader(aml.eisaId('PNP0103')).data()).toBe(0x0301d041n);
  });

  it('nests scopes, devices, methods, packages and buffers that a reader walks back', () => {
    const big = aml.pkg(Array.from({ length: 40 }, (_, i) => aml.integer(i * 1000)));
    const block = aml.amlConcat([
      aml.scope('\\_SB', [
        aml.device('PCI0', [
          aml.name('_HID', aml.eisaId('PNP0A03')),
          aml.name('_CRS', aml.buffer(new Uint8Array([0x79, 0x00]))),
          aml.method('_STA', 0, false, [aml.ret(aml.integer(0x0f))]),
        ]),
      ]),
      aml.name('BIG', big),
    ]);
    const r = new AmlReader(block);
    const terms = r.terms(block.length);
    const pci = find(find(terms, '\\_SB')!.body!, 'PCI0')!;
    expect(find(pci.body!, '_HID')!.value).toBe(0x030ad041n);
    expect(find(pci.body!, '_CRS')!.value).toEqual({ buffer: [0x79, 0] });
    expect(find(pci.body!, '_STA')).toMatchObject({ kind: 'method', flags: 0, code: [0xa4, 0x0a, 0x0f] });
    expect((find(terms, 'BIG')!.value as bigint[]).length).toBe(40);
  });
});
