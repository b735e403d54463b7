/**
 * Semantics: segment-register moves. MOV Sreg,r/m (8E), MOV r/m,Sreg (8C) and
 * the far-pointer loads LES LDS LSS LFS LGS.
 *
 * Segment loads go through cpu.loadSegment, which does the real-mode (and v8086)
 * load itself and hands protected-mode loads, with their descriptor checks, to
 * cpu.sys. A load that faults leaves every register as it was.
 *
 * - Sreg numbers 6 and 7 do not exist: #UD (the 286 aliased them). MOV to CS is
 *   #UD on every processor since the 286.
 * - MOV SS (like POP SS) holds off interrupts, NMI and traps until the next
 *   instruction has run: cpu.interruptShadow. LSS does not.
 * - MOV from a segment register to a 32-bit register zero-extends the selector
 *   (P6 and later; older processors left the upper half undefined); to memory it
 *   always writes 16 bits, whatever the operand size.
 */
import type { Cpu, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { EXC, SREG } from '../state.js';

/** MOV Sreg, r/m16 (8E). */
function mov_to_seg(cpu: Cpu, i: Insn): void {
  const seg = i.reg;
  if (seg === SREG.CS || seg > SREG.GS) cpu.raise(EXC.UD);
  cpu.loadSegment(seg, cpu.readE(i, 2));
  if (seg === SREG.SS) cpu.interruptShadow = true;
}

/** MOV r/m, Sreg (8C). */
function mov_from_seg(cpu: Cpu, i: Insn): void {
  const seg = i.reg;
  if (seg > SREG.GS) cpu.raise(EXC.UD);
  const v = cpu.segSel[seg]!;
  if (i.mod === 3) cpu.setReg(i.rm, i.opsize >> 3, v);
  else cpu.write16(cpu.seg(i), cpu.ea(i), v);
}

/**
 * LES/LDS (C4, C5), LSS/LFS/LGS (0F B2, B4, B5) r, m16:16/32: the offset (operand
 * size) then the selector, checked as one access of 4 or 6 bytes; the segment is
 * loaded before the register is written, so a faulting load changes nothing.
 */
function load_far_ptr(cpu: Cpu, i: Insn): void {
  const op = i.opcode;
  const target = i.map === 0 ? (op === 0xc4 ? SREG.ES : SREG.DS) : op === 0xb2 ? SREG.SS : op === 0xb4 ? SREG.FS : SREG.GS;
  const size = i.opsize >> 3;
  const seg = cpu.seg(i);
  const ea = cpu.ea(i);
  // The whole pointer must be within the limit before anything is read. Its
  // first and last bytes are checked rather than one access of 4 or 6 bytes,
  // so that #AC follows the pointer's own alignment (2 bytes for m16:16, 4 for
  // m16:32: SDM vol. 3 §6.15), which the reads below apply.
  cpu.linear(seg, ea, 1, false);
  cpu.linear(seg, ea + size + 1, 1, false);
  const off = cpu.readSized(seg, ea, size);
  const sel = cpu.read16(seg, ea + size);
  cpu.loadSegment(target, sel);
  cpu.setReg(i.reg, size, off);
}

export const segmentSemantics: Record<string, SemFn> = { mov_to_seg, mov_from_seg, load_far_ptr };
