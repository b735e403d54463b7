/**
 * ISA interrupt routing: each device drives its own level on its IRQ lines;
 * a line is high when any of its sources drives it high (COM1 and COM3 share IRQ
 * 4), and every change is passed to the interrupt controllers (the PIC, and the
 * I/O APIC when present) and reported so the CPU looks for an interrupt at the
 * next instruction boundary.
 */
import type { InterruptLines } from './devices/device.js';

export class IrqRouter {
  /** Per line, the sources currently driving it high. */
  private readonly drivers: Set<object>[] = [];
  private readonly sinks: InterruptLines[] = [];

  constructor(private readonly onChange: () => void) {}

  addSink(sink: InterruptLines): void {
    this.sinks.push(sink);
  }

  /** The InterruptLines a device drives (one per device, so levels are kept apart). */
  linesFor(source: object): InterruptLines {
    return { setIrq: (line, high) => this.set(source, line, high) };
  }

  private set(source: object, line: number, high: boolean): void {
    const d = (this.drivers[line] ??= new Set());
    const before = d.size > 0;
    if (high) d.add(source);
    else d.delete(source);
    const after = d.size > 0;
    if (before !== after) for (const s of this.sinks) s.setIrq(line, after);
    this.onChange();
  }

  level(line: number): boolean {
    return (this.drivers[line]?.size ?? 0) > 0;
  }
}
