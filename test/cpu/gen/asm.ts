/**
 * A tiny assembler for generated test code: bytes, labels, and fixups for
 * relative branch displacements (8, 16 and 32 bits) and absolute 32-bit
 * addresses, plus "data fixups" that put a label's address into the data
 * window (return addresses and indirect branch targets the code reads from
 * memory). Displacements are relative to the end of the field, which is the
 * end of the instruction for every branch encoding (the displacement is last).
 */
type FixKind = 'rel8' | 'rel16' | 'rel32' | 'abs32';

interface Fixup {
  at: number;
  kind: FixKind;
  label: string;
  add: number;
}

export class Asm {
  readonly bytes: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];
  /** Window addresses that must hold a label's absolute address (little-endian dword). */
  readonly dataFixups: { addr: number; label: string; add: number }[] = [];
  private next = 0;

  get pos(): number {
    return this.bytes.length;
  }

  /** A fresh label name. */
  newLabel(hint = 'L'): string {
    return `${hint}${this.next++}`;
  }

  /** Define `name` at the current position. */
  label(name: string): void {
    if (this.labels.has(name)) throw new Error(`asm: label ${name} defined twice`);
    this.labels.set(name, this.bytes.length);
  }

  emit(...b: number[]): void {
    for (const x of b) this.bytes.push(x & 0xff);
  }

  u16(v: number): void {
    this.emit(v, v >>> 8);
  }

  u32(v: number): void {
    this.emit(v, v >>> 8, v >>> 16, v >>> 24);
  }

  private fix(kind: FixKind, label: string, size: number, add = 0): void {
    this.fixups.push({ at: this.bytes.length, kind, label, add });
    for (let i = 0; i < size; i++) this.bytes.push(0);
  }

  rel8(label: string): void {
    this.fix('rel8', label, 1);
  }
  rel16(label: string): void {
    this.fix('rel16', label, 2);
  }
  rel32(label: string): void {
    this.fix('rel32', label, 4);
  }
  /** The absolute address of `label` (+ add) once the code is placed at its base. */
  abs32(label: string, add = 0): void {
    this.fix('abs32', label, 4, add);
  }

  /** Resolve every fixup for code placed at `base`; returns the bytes. */
  finish(base: number): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    const dv = new DataView(out.buffer);
    const where = (l: string): number => {
      const p = this.labels.get(l);
      if (p === undefined) throw new Error(`asm: undefined label ${l}`);
      return p;
    };
    for (const f of this.fixups) {
      const target = where(f.label);
      switch (f.kind) {
        case 'rel8': {
          const d = target - (f.at + 1);
          if (d < -128 || d > 127) throw new Error(`asm: rel8 to ${f.label} out of range (${d})`);
          out[f.at] = d & 0xff;
          break;
        }
        case 'rel16':
          dv.setUint16(f.at, (target - (f.at + 2)) & 0xffff, true);
          break;
        case 'rel32':
          dv.setInt32(f.at, target - (f.at + 4), true);
          break;
        case 'abs32':
          dv.setUint32(f.at, (base + target + f.add) >>> 0, true);
          break;
      }
    }
    return out;
  }

  /** The absolute address of a label for code placed at `base`. */
  address(label: string, base: number): number {
    const p = this.labels.get(label);
    if (p === undefined) throw new Error(`asm: undefined label ${label}`);
    return (base + p) >>> 0;
  }
}
