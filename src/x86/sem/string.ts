/**
 * Semantics: the string instructions MOVS CMPS STOS LODS SCAS INS OUTS, with
 * and without REP/REPE/REPNE, in both address sizes.
 *
 * Addressing: the source is seg:(E)SI with seg = DS or the segment override; the
 * destination is always ES:(E)DI (no override applies to it). With a 16-bit
 * address size the registers are SI, DI and CX: they wrap at 64 KiB and the
 * upper halves of ESI, EDI and ECX are untouched. Each element moves the index
 * registers by its size, down when EFLAGS.DF = 1.
 *
 * REP: while (E)CX != 0 do one element, decrement (E)CX, and for CMPS/SCAS stop
 * when ZF says so (F3 REPE: stop on "not equal"; F2 REPNE: stop on "equal").
 * (E)CX = 0 does nothing at all (no access, flags unchanged). For the other five
 * F2 acts as F3. The cold tier runs every iteration in one call (external
 * interrupts are not taken between iterations; SDM vol. 2 REP says a processor
 * may take them, and would resume with the registers as they are). The loop
 * keeps (E)SI, (E)DI and (E)CX in locals, advanced only after an element has
 * completed, and writes them back on the way out, normal or not: a fault in
 * the middle leaves them at the failing element's values, with EIP still at the
 * instruction (the executor restores it), so the instruction restarts there.
 * CMPS/SCAS flags are those of the last completed comparison; when an element
 * faults, EFLAGS keeps its value from before the instruction (SDM vol. 2 REP:
 * "the EFLAGS value is restored to the state prior to the execution of the
 * instruction"). CMPS reads ES:(E)DI before the source, as Intel processors do
 * (it decides which address a fault reports when both are bad).
 *
 * INS/OUTS check I/O permission (priv.ts) once, when at least one element runs.
 * INS checks the destination's segment limit before it reads the port.
 *
 * Yielding: a REP instruction runs at most cpu.repLimit elements per
 * execution; when (E)CX is not yet exhausted it leaves EIP at itself with the
 * registers advanced, exactly as if an interrupt had been taken between
 * iterations, and the next execution continues. So one guest instruction
 * (REP STOSB with ECX = FFFFFFFF takes minutes) cannot hold the host. The
 * limit is Infinity unless the machine lowers it: the translator must first
 * follow cpu.nextEip after a REP string instruction.
 *
 * Speed: the first element of a REP goes through cpu.readSized/writeSized with
 * every check (limit, and in protected mode the segment type, which cannot
 * change during the instruction); the following elements of an expand-up
 * segment check the limit inline and go straight to cpu.mem. Expand-down
 * segments always take the full path.
 */
import type { Cpu, LinearMemory, SemFn } from '../cpu.js';
import type { Insn } from '../decoder.js';
import { OP, setLazy } from '../flags.js';
import { FLAG } from '../rows.js';
import { REG, SREG } from '../state.js';
import { checkIo } from './priv.js';

const ES = SREG.ES;

/** Index register (E)SI/(E)DI/(E)CX by address size, unsigned. */
function idx(cpu: Cpu, a16: boolean, r: number): number {
  return a16 ? cpu.r16[r << 1]! : cpu.r32[r]! >>> 0;
}

/** Store an index register by address size (the typed arrays wrap the value). */
function setIdx(cpu: Cpu, a16: boolean, r: number, v: number): void {
  if (a16) cpu.r16[r << 1] = v;
  else cpu.r32[r] = v;
}

/** Element size: a byte for the even opcodes, else the operand size. */
function elemSize(i: Insn): number {
  return i.opcode & 1 ? i.opsize >> 3 : 1;
}

function srcSeg(i: Insn): number {
  return i.segOverride >= 0 ? i.segOverride : SREG.DS;
}

function step(cpu: Cpu, size: number): number {
  return cpu.flagsBits & FLAG.DF ? -size : size;
}

/** Expand-down data segments need the full limit check on every access. */
function expandDown(cpu: Cpu, seg: number): boolean {
  const a = cpu.segAttr[seg]!;
  return (a & 0xc00) === 0x400;
}

function memRead(mem: LinearMemory, lin: number, size: number): number {
  return size === 1 ? mem.read8(lin) : size === 2 ? mem.read16(lin) : mem.read32(lin);
}

function memWrite(mem: LinearMemory, lin: number, size: number, v: number): void {
  if (size === 1) mem.write8(lin, v);
  else if (size === 2) mem.write16(lin, v);
  else mem.write32(lin, v);
}

function movs(cpu: Cpu, i: Insn): void {
  const size = elemSize(i);
  const src = srcSeg(i);
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  let si = idx(cpu, a16, REG.ESI);
  let di = idx(cpu, a16, REG.EDI);
  if (!i.rep) {
    cpu.writeSized(ES, di, size, cpu.readSized(src, si, size));
    setIdx(cpu, a16, REG.ESI, si + d);
    setIdx(cpu, a16, REG.EDI, di + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  const mask = a16 ? 0xffff : -1;
  const mem = cpu.mem;
  const sSlow = expandDown(cpu, src);
  const dSlow = expandDown(cpu, ES);
  const sBase = cpu.segBase[src]!;
  const dBase = cpu.segBase[ES]!;
  const sLast = cpu.segLimit[src]! - size + 1;
  const dLast = cpu.segLimit[ES]! - size + 1;
  let first = true;
  let budget = cpu.repLimit;
  try {
    do {
      const v = first || sSlow || si > sLast ? cpu.readSized(src, si, size) : memRead(mem, (sBase + si) | 0, size);
      if (first || dSlow || di > dLast) cpu.writeSized(ES, di, size, v);
      else memWrite(mem, (dBase + di) | 0, size, v);
      first = false;
      si = ((si + d) & mask) >>> 0;
      di = ((di + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.ESI, si);
    setIdx(cpu, a16, REG.EDI, di);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0) cpu.nextEip = cpu.eip; // yielded after cpu.repLimit elements: the rest next time
}

function stos(cpu: Cpu, i: Insn): void {
  const size = elemSize(i);
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  const v = cpu.getReg(REG.EAX, size);
  let di = idx(cpu, a16, REG.EDI);
  if (!i.rep) {
    cpu.writeSized(ES, di, size, v);
    setIdx(cpu, a16, REG.EDI, di + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  const mask = a16 ? 0xffff : -1;
  const mem = cpu.mem;
  const dSlow = expandDown(cpu, ES);
  const dBase = cpu.segBase[ES]!;
  const dLast = cpu.segLimit[ES]! - size + 1;
  let first = true;
  let budget = cpu.repLimit;
  try {
    do {
      if (first || dSlow || di > dLast) cpu.writeSized(ES, di, size, v);
      else memWrite(mem, (dBase + di) | 0, size, v);
      first = false;
      di = ((di + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.EDI, di);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0) cpu.nextEip = cpu.eip; // yielded after cpu.repLimit elements: the rest next time
}

function lods(cpu: Cpu, i: Insn): void {
  const size = elemSize(i);
  const src = srcSeg(i);
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  let si = idx(cpu, a16, REG.ESI);
  if (!i.rep) {
    cpu.setReg(REG.EAX, size, cpu.readSized(src, si, size));
    setIdx(cpu, a16, REG.ESI, si + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  const mask = a16 ? 0xffff : -1;
  const mem = cpu.mem;
  const sSlow = expandDown(cpu, src);
  const sBase = cpu.segBase[src]!;
  const sLast = cpu.segLimit[src]! - size + 1;
  let first = true;
  let budget = cpu.repLimit;
  try {
    do {
      cpu.setReg(REG.EAX, size, first || sSlow || si > sLast ? cpu.readSized(src, si, size) : memRead(mem, (sBase + si) | 0, size));
      first = false;
      si = ((si + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.ESI, si);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0) cpu.nextEip = cpu.eip; // yielded after cpu.repLimit elements: the rest next time
}

/** CMPS: flags of [src:(E)SI] - [ES:(E)DI]. */
function cmps(cpu: Cpu, i: Insn): void {
  const size = elemSize(i);
  const src = srcSeg(i);
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  let si = idx(cpu, a16, REG.ESI);
  let di = idx(cpu, a16, REG.EDI);
  if (!i.rep) {
    const b = cpu.readSized(ES, di, size); // the destination first, as Intel processors read them
    const a = cpu.readSized(src, si, size);
    setLazy(cpu, OP.SUB, a, b, a - b, size);
    setIdx(cpu, a16, REG.ESI, si + d);
    setIdx(cpu, a16, REG.EDI, di + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  const mask = a16 ? 0xffff : -1;
  const untilEqual = i.rep === 0xf2;
  const mem = cpu.mem;
  const sSlow = expandDown(cpu, src);
  const dSlow = expandDown(cpu, ES);
  const sBase = cpu.segBase[src]!;
  const dBase = cpu.segBase[ES]!;
  const sLast = cpu.segLimit[src]! - size + 1;
  const dLast = cpu.segLimit[ES]! - size + 1;
  let a = 0;
  let b = 0;
  let done = false;
  let budget = cpu.repLimit;
  try {
    do {
      const y = !done || dSlow || di > dLast ? cpu.readSized(ES, di, size) : memRead(mem, (dBase + di) | 0, size);
      const x = !done || sSlow || si > sLast ? cpu.readSized(src, si, size) : memRead(mem, (sBase + si) | 0, size);
      a = x;
      b = y;
      done = true;
      si = ((si + d) & mask) >>> 0;
      di = ((di + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && ((a ^ b) === 0) !== untilEqual && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.ESI, si);
    setIdx(cpu, a16, REG.EDI, di);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0 && ((a ^ b) === 0) !== untilEqual) cpu.nextEip = cpu.eip; // yielded: the rest next time
  // Not on a fault: EFLAGS is then restored to its value before the instruction (SDM vol. 2 REP).
  if (done) setLazy(cpu, OP.SUB, a, b, a - b, size);
}

/** SCAS: flags of AL/AX/EAX - [ES:(E)DI]. */
function scas(cpu: Cpu, i: Insn): void {
  const size = elemSize(i);
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  const a = cpu.getReg(REG.EAX, size);
  let di = idx(cpu, a16, REG.EDI);
  if (!i.rep) {
    const b = cpu.readSized(ES, di, size);
    setLazy(cpu, OP.SUB, a, b, a - b, size);
    setIdx(cpu, a16, REG.EDI, di + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  const mask = a16 ? 0xffff : -1;
  const untilEqual = i.rep === 0xf2;
  const mem = cpu.mem;
  const dSlow = expandDown(cpu, ES);
  const dBase = cpu.segBase[ES]!;
  const dLast = cpu.segLimit[ES]! - size + 1;
  let b = 0;
  let done = false;
  let budget = cpu.repLimit;
  try {
    do {
      b = !done || dSlow || di > dLast ? cpu.readSized(ES, di, size) : memRead(mem, (dBase + di) | 0, size);
      done = true;
      di = ((di + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && ((a ^ b) === 0) !== untilEqual && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.EDI, di);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0 && ((a ^ b) === 0) !== untilEqual) cpu.nextEip = cpu.eip; // yielded: the rest next time
  // Not on a fault: EFLAGS is then restored to its value before the instruction (SDM vol. 2 REP).
  if (done) setLazy(cpu, OP.SUB, a, b, a - b, size);
}

/** INS: port DX -> ES:(E)DI. */
function ins(cpu: Cpu, i: Insn): void {
  const size = elemSize(i) as 1 | 2 | 4;
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  const port = cpu.r16[REG.EDX << 1]!;
  let di = idx(cpu, a16, REG.EDI);
  if (!i.rep) {
    checkIo(cpu, port, size);
    cpu.linear(ES, di, size, true);
    cpu.writeSized(ES, di, size, cpu.ports.portIn(port, size));
    setIdx(cpu, a16, REG.EDI, di + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  checkIo(cpu, port, size);
  const mask = a16 ? 0xffff : -1;
  let budget = cpu.repLimit;
  try {
    do {
      cpu.linear(ES, di, size, true);
      cpu.writeSized(ES, di, size, cpu.ports.portIn(port, size));
      di = ((di + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.EDI, di);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0) cpu.nextEip = cpu.eip; // yielded after cpu.repLimit elements: the rest next time
}

/** OUTS: src:(E)SI -> port DX. */
function outs(cpu: Cpu, i: Insn): void {
  const size = elemSize(i) as 1 | 2 | 4;
  const src = srcSeg(i);
  const a16 = i.adsize === 16;
  const d = step(cpu, size);
  const port = cpu.r16[REG.EDX << 1]!;
  let si = idx(cpu, a16, REG.ESI);
  if (!i.rep) {
    checkIo(cpu, port, size);
    cpu.ports.portOut(port, size, cpu.readSized(src, si, size));
    setIdx(cpu, a16, REG.ESI, si + d);
    return;
  }
  let n = idx(cpu, a16, REG.ECX);
  if (n === 0) return;
  checkIo(cpu, port, size);
  const mask = a16 ? 0xffff : -1;
  let budget = cpu.repLimit;
  try {
    do {
      cpu.ports.portOut(port, size, cpu.readSized(src, si, size));
      si = ((si + d) & mask) >>> 0;
      n--;
    } while (n !== 0 && --budget > 0);
  } finally {
    setIdx(cpu, a16, REG.ESI, si);
    setIdx(cpu, a16, REG.ECX, n);
  }
  if (n !== 0) cpu.nextEip = cpu.eip; // yielded after cpu.repLimit elements: the rest next time
}

export const stringSemantics: Record<string, SemFn> = { movs, cmps, stos, lods, scas, ins, outs };
