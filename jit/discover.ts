/**
 * Block and region discovery: which guest instructions one translation covers.
 *
 * A *block* is a straight run of instructions from an EIP, decoded with the one
 * instruction table, that ends
 *   - after an instruction whose row says `ends` (a control transfer, or a
 *     runtime call that can change the mode, the address space or the flags
 *     that gate interrupts), or after one the translator treats the same way
 *     (`endsRegion`: segment-register loads, because the translation is keyed by
 *     the flatness of DS/ES/SS; port I/O, because a device may flip the A20 gate
 *     or start DMA into the code);
 *   - before an instruction that cannot run translated: one that faults in the
 *     decoder (#UD, #GP length), has an illegal LOCK, has no semantics function,
 *     would cross the CS limit, or crosses a page boundary (its bytes would come
 *     from two physical pages; the cold tier runs it);
 *   - at the end of the page, or after MAX_BLOCK_INSNS instructions.
 *
 * A *region* is the unit of compilation: the entry block plus the blocks that
 * its direct transfers (Jcc, JMP rel, CALL rel, LOOP, JCXZ, and falling through)
 * reach on the same linear page, up to MAX_REGION_BLOCKS / MAX_REGION_INSNS.
 * A region compiles to one JavaScript function in which jumps between its
 * blocks are local, so a loop whose body stays on one page runs as one
 * function that V8 optimizes as a whole. Everything on one linear page is on
 * one physical page, so a region needs one translation of its entry address
 * and one code-page watch.
 *
 * Discovery fetches through cpu.mem (the same path as the cold tier's fetch)
 * after the engine has translated the entry address, so it cannot fault: the
 * page is present and executable.
 */
import { decode, newInsn, type Insn } from '../src/x86/decoder.js';
import type { Row } from '../src/x86/rows.js';
import type { Cpu } from '../src/x86/cpu.js';
import { SREG } from '../src/x86/state.js';

export const MAX_BLOCK_INSNS = 48;
export const MAX_REGION_BLOCKS = 32;
export const MAX_REGION_INSNS = 256;

/** One guest instruction in a translation. */
export interface TInsn {
  insn: Insn;
  /** Offset in CS of the instruction and of the one after it (wrapped by the code size). */
  eip: number;
  next: number;
  /** Index in the region's flat instruction list (also the fault-point number). */
  g: number;
  /** Index in its block. */
  j: number;
}

export interface TBlock {
  /** Index in the region's block list (0 is the entry). */
  index: number;
  eip: number;
  insns: TInsn[];
  /**
   * 'insn': the last instruction ends the block (its own code decides where to go);
   * 'fall': discovery stopped before the next instruction, which is at `fallthrough`.
   */
  end: 'insn' | 'fall';
  fallthrough: number;
  /** Static successor EIPs: direct targets and fall-throughs. */
  succ: number[];
}

export interface RegionPlan {
  eip: number;
  csBase: number;
  code32: boolean;
  /** Physical address of the entry instruction. */
  phys: number;
  blocks: TBlock[];
  /** All instructions, in block order. */
  insns: TInsn[];
  /** The highest CS offset any instruction occupies (the CS limit must cover it). */
  needLimit: number;
  /** Bitmask of the 128-byte chunks of the physical page the instructions occupy. */
  chunks: number;
  bytes: number;
  /** Blocks that start at the return address of a CALL in the region (RET checks for them). */
  returns: number[];
}

export const CHUNK_SHIFT = 7;

/** Sems after which the translator returns to the run loop although the row does not say `ends`. */
const SEGMENT_LOADS = new Set(['pop_seg', 'mov_to_seg', 'load_far_ptr']);

/** Whether the instruction must be the last one of its block (and of the region's straight-line code). */
export function endsRegion(row: Row): boolean {
  return row.ends || SEGMENT_LOADS.has(row.sem) || (row.cls === 'sys' && row.priv === 'iopl');
}

/** Target of a relative transfer, wrapped to the operand size (as the semantics do). */
export function relTarget(ti: TInsn): number {
  const t = ti.next + ti.insn.imm;
  return ti.insn.opsize === 16 ? t & 0xffff : t >>> 0;
}

/** Static successors of a block's last instruction (none for indirect or mode-changing ones). */
function successors(ti: TInsn): number[] {
  const i = ti.insn;
  switch (i.row.sem) {
    case 'jcc': case 'loop': case 'jcxz':
      return [relTarget(ti), ti.next];
    case 'jmp':
      return i.opcode === 0xff ? [] : [relTarget(ti)];
    case 'call':
      return i.opcode === 0xff ? [] : [relTarget(ti)];
    default:
      return [];
  }
}

export class Discoverer {
  private readonly buf = new Uint8Array(16);

  constructor(private readonly cpu: Cpu, private readonly hasSem: (row: Row) => boolean) {}

  /**
   * Decode the instruction at CS:eip if it can be translated (see the essay), else null.
   * `linPage` is the linear page every instruction must lie in.
   */
  private decodeAt(eip: number, csBase: number, code32: boolean, linPage: number): Insn | null {
    const cpu = this.cpu;
    const limit = cpu.segLimit[SREG.CS]!;
    if (eip > limit) return null;
    const lin = (csBase + eip) | 0;
    if (lin >>> 12 !== linPage) return null;
    const toPage = 0x1000 - (lin & 0xfff);
    const avail = Math.min(15, toPage, limit - eip + 1);
    const n = cpu.mem.fetch(lin, this.buf, 0, avail);
    const insn = decode(this.buf, 0, code32, n, newInsn());
    if (insn.fault) return null; // #UD/#GP, or truncated: crosses the page or the CS limit
    if (insn.lock && !(insn.row.lock && insn.mod !== 3)) return null;
    if (!this.hasSem(insn.row)) return null;
    return insn;
  }

  private block(eip: number, csBase: number, code32: boolean, linPage: number, maxInsns: number): TBlock | null {
    const insns: TInsn[] = [];
    let at = eip;
    for (;;) {
      if (insns.length >= maxInsns) return this.finish(insns, eip, 'fall', at);
      const insn = this.decodeAt(at, csBase, code32, linPage);
      if (!insn) return insns.length ? this.finish(insns, eip, 'fall', at) : null;
      const sum = at + insn.length;
      const next = code32 ? sum >>> 0 : sum & 0xffff;
      insns.push({ insn, eip: at, next, g: 0, j: insns.length });
      if (endsRegion(insn.row)) return this.finish(insns, eip, 'insn', next);
      // A 16-bit EIP that wraps continues elsewhere: end the block there.
      if (next !== sum) return this.finish(insns, eip, 'fall', next);
      at = next;
    }
  }

  private finish(insns: TInsn[], eip: number, end: 'insn' | 'fall', after: number): TBlock {
    const last = insns[insns.length - 1]!;
    return { index: 0, eip, insns, end, fallthrough: after, succ: end === 'fall' ? [after] : successors(last) };
  }

  /**
   * Discover the region entered at CS:eip (physical address `phys`), or null
   * when its first instruction cannot be translated.
   */
  region(eip: number, phys: number, maxBlocks = MAX_REGION_BLOCKS): RegionPlan | null {
    const cpu = this.cpu;
    const csBase = cpu.segBase[SREG.CS]!;
    const code32 = cpu.code32;
    const linPage = ((csBase + eip) | 0) >>> 12;
    const blocks: TBlock[] = [];
    const seen = new Set<number>();
    const queue = [eip];
    const returnSites = new Set<number>();
    let total = 0;
    while (queue.length && blocks.length < maxBlocks && total < MAX_REGION_INSNS) {
      const at = queue.shift()!;
      if (seen.has(at)) continue;
      seen.add(at);
      const b = this.block(at, csBase, code32, linPage, Math.min(MAX_BLOCK_INSNS, MAX_REGION_INSNS - total));
      if (!b) {
        if (blocks.length === 0) return null;
        continue;
      }
      b.index = blocks.length;
      blocks.push(b);
      total += b.insns.length;
      for (const s of b.succ) if (!seen.has(s) && ((csBase + s) | 0) >>> 12 === linPage) queue.push(s);
      // The return address of a direct call: a RET in the region can continue there.
      const last = b.insns[b.insns.length - 1]!;
      if (b.end === 'insn' && last.insn.row.sem === 'call' && last.insn.opcode === 0xe8) {
        const s = last.next;
        returnSites.add(s);
        if (!seen.has(s) && ((csBase + s) | 0) >>> 12 === linPage) queue.push(s);
      }
    }
    const insns: TInsn[] = [];
    let needLimit = 0;
    let chunks = 0;
    let bytes = 0;
    const pageOff = (lin: number) => lin & 0xfff;
    for (const b of blocks) {
      for (const ti of b.insns) {
        ti.g = insns.length;
        insns.push(ti);
        const last = ti.eip + ti.insn.length - 1;
        if (last > needLimit) needLimit = last;
        const lo = pageOff((csBase + ti.eip) | 0);
        const hi = lo + ti.insn.length - 1;
        for (let c = lo >>> CHUNK_SHIFT; c <= hi >>> CHUNK_SHIFT; c++) chunks |= 1 << c;
        bytes += ti.insn.length;
      }
    }
    const returns = blocks.filter((b) => returnSites.has(b.eip)).map((b) => b.index);
    return { eip, csBase, code32, phys, blocks, insns, needLimit, chunks, bytes, returns };
  }
}
