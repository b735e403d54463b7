/**
 * The PIIX3 PCI-to-ISA bridge, function 0 of PCI device 1 (82371SB datasheet,
 * 290550): vendor 8086, device 7000, class 060100, a multi-function device
 * (its IDE function 1 and the PIIX4's power management function 3 sit beside
 * it). The legacy devices behind it (PIC, PIT, DMA, RTC, keyboard controller)
 * are their own devices; this function carries the registers that steer them.
 *
 * PCI interrupt routing: PIRQRC[A-D] (0x60-0x63) route each PIRQ line to an ISA
 * IRQ of the 8259 pair: bits 3:0 the IRQ (3-7, 9-12, 14, 15; others reserved),
 * bit 7 set disables the route (the reset value 0x80). A routed IRQ is driven
 * high while any PIRQ routed to it is asserted (the lines are wired-OR, active
 * low on the board; the OS sets their ELCR bits to level). Independently of the
 * routing, PIRQ A-D reach I/O APIC inputs 16-19, as on boards with an I/O APIC
 * (lines 16-19 of the machine's InterruptLines).
 *
 * Kept registers: 0x4C IORT (0x4D), 0x4E-0x4F XBCS (0x0003), 0x60-0x63 PIRQRC,
 * 0x69 TOM (0x02), 0x6A-0x6B MSTAT, 0x70-0x71 MBIRQ0/1 (0x80), 0x76-0x77 MBDMA
 * (0x0C), 0x78-0x79 PCSC, 0x80 APICBASE, 0x82 DLC, 0xA0-0xAF the SMI/clock
 * registers (stored; there is no SMM).
 */
import type { Device, DeviceHost } from './device.js';
import { PciFunction, type PciBus } from './pci.js';

const STATE_VERSION = 1;

const PIRQ_FIRST = 0x60;
const ROUTABLE = new Set([3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15]);

export class Piix3 extends PciFunction implements Device {
  private host: DeviceHost | null = null;
  /** PIRQ A-D levels, as the bus reports them. */
  private pirq = [false, false, false, false];
  /** The ISA IRQs this bridge currently drives high. */
  private driven = 0;

  constructor() {
    super('piix3', { vendor: 0x8086, device: 0x7000, classCode: 0x060100, headerType: 0x80 });
    this.reset();
  }

  attach(host: DeviceHost): void {
    this.host = host;
  }

  /** Listen to the bus's PIRQ lines (the machine calls this once both exist). */
  connect(bus: PciBus): void {
    bus.onPirq = (n, level) => this.setPirq(n, level);
  }

  reset(): void {
    this.config.fill(0, 0x40);
    this.writable.fill(0, 0x40);
    this.set16(0x04, 0x0007);
    this.set16(0x06, 0x0200);
    this.writable[0x04] = 0x08; // special cycles; I/O, memory and master are always on
    this.writable[0x05] = 0;
    const init: [number, number, number][] = [
      [0x4c, 0x4d, 0x7f], [0x4e, 0x03, 0xff], [0x4f, 0x00, 0x03], [0x69, 0x02, 0xff], [0x6a, 0x00, 0xff], [0x6b, 0x00, 0xff],
      [0x70, 0x80, 0xcf], [0x71, 0x80, 0xcf], [0x76, 0x0c, 0x8f], [0x77, 0x0c, 0x8f], [0x78, 0x02, 0xff], [0x79, 0x00, 0xff],
      [0x80, 0x00, 0x3f], [0x82, 0x00, 0x0f],
    ];
    for (const [off, v, mask] of init) {
      this.config[off] = v;
      this.writable[off] = mask;
    }
    for (let i = 0; i < 4; i++) {
      this.config[PIRQ_FIRST + i] = 0x80;
      this.writable[PIRQ_FIRST + i] = 0x8f;
    }
    for (let i = 0xa0; i <= 0xaf; i++) this.writable[i] = 0xff;
    this.config[0xa8] = 0x0f;
    this.update();
  }

  /** A PIRQ line (0-3 for A-D) changed level. */
  setPirq(n: number, level: boolean): void {
    this.pirq[n] = level;
    this.host?.irq.setIrq(16 + n, level);
    this.update();
  }

  /** The ISA IRQ PIRQ `n` is routed to, or -1. */
  route(n: number): number {
    const v = this.config[PIRQ_FIRST + n]!;
    if (v & 0x80) return -1;
    return ROUTABLE.has(v & 0x0f) ? v & 0x0f : -1;
  }

  protected override configChanged(off: number, size: number): void {
    if (off < PIRQ_FIRST + 4 && off + size > PIRQ_FIRST) this.update();
  }

  /** Drive each routed ISA IRQ to the OR of its PIRQs. */
  private update(): void {
    let want = 0;
    for (let n = 0; n < 4; n++) {
      const irq = this.route(n);
      if (irq >= 0 && this.pirq[n]) want |= 1 << irq;
    }
    const changed = want ^ this.driven;
    this.driven = want;
    if (!changed || !this.host) return;
    for (let irq = 0; irq < 16; irq++) if (changed & (1 << irq)) this.host.irq.setIrq(irq, (want & (1 << irq)) !== 0);
  }

  override save(): unknown {
    return { version: STATE_VERSION, pci: super.save(), pirq: [...this.pirq], driven: this.driven };
  }

  override restore(state: unknown): void {
    const s = state as { version: number; pci: unknown; pirq: boolean[]; driven: number };
    if (!s || s.version !== STATE_VERSION) throw new Error(`PIIX3 state version ${s?.version} is not ${STATE_VERSION}`);
    super.restore(s.pci);
    this.pirq = [...s.pirq];
    this.driven = s.driven;
  }
}
