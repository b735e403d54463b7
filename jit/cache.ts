/**
 * The translation cache: compiled regions by key, the code-page index that
 * makes invalidation exact, and the links between regions.
 *
 * Key. A region is found by (physical address of its entry, mode bits), and
 * confirmed by its linear EIP and CS base: the same physical bytes reached
 * through another segment base or another virtual mapping are a different
 * translation (the code pushes and jumps to different addresses). The mode
 * bits are those that change decoding or the checks compiled in (engine.ts
 * `modeKey`): CS.D, SS.B, CPL, PE, VM, paging, and whether DS/ES/SS are flat.
 * Regions with equal (phys, mode) but different EIP/CS base chain through
 * `nextAlias`.
 *
 * Code pages. Every region lies on one physical page and covers a set of its
 * 128-byte chunks (discover.ts). The cache keeps, per page, the regions on it
 * and the union of their chunk masks. A write to a watched page reports the
 * byte range (runtime/memory.ts); only regions whose chunks it touches are
 * invalidated, so data that shares a page with code (a global next to a
 * function, a stack in the same page as a loop) costs a slow-path store but no
 * retranslation. The engine re-arms the page watch while regions remain.
 *
 * Links. A region's static exit (a direct jump or fall-through out of it) has a
 * slot; once the run loop has found the successor, the slot holds it and the
 * region returns it directly (chaining). Every region remembers who links to it,
 * and invalidating it cuts those slots, so a link never reaches stale code.
 *
 * Eviction: when the generated code or the number of regions passes its cap,
 * everything is dropped at once (as QEMU flushes its code buffer): simple,
 * bounded, and cheap next to the recompilation that follows.
 */
import type { Insn } from '../src/x86/decoder.js';
import type { SemFn } from '../src/x86/cpu.js';
import { CHUNK_SHIFT } from './discover.js';

export type InvalidationCause = 'write' | 'evict' | 'flush';

export interface BlockInfo {
  eip: number;
  insns: number;
  bytes: number;
}

export interface Region {
  id: number;
  key: number;
  eip: number;
  csBase: number;
  phys: number;
  mode: number;
  page: number;
  chunks: number;
  /** Highest CS offset the region's instructions occupy. */
  needLimit: number;
  /** Instructions of the entry block (the budget needed to enter). */
  entryLen: number;
  fn: () => Region | null;
  links: (Region | null)[];
  /**
   * Exit targets by slot, two entries per exit: a static exit's EIP and -3 (unused),
   * or -1/-2 for the two ways of an indirect exit's inline cache.
   */
  slots: number[];
  /** The EIPs the inline-cache slots were linked for. */
  icEip: Float64Array;
  incoming: { from: Region; slot: number }[];
  insns: Insn[];
  sems: SemFn[];
  /** Executions of each block. */
  counts: Float64Array;
  /** Restore points of the generated code: EIP and budget refund. */
  pointEip: Float64Array;
  pointRefund: Int32Array;
  valid: boolean;
  nextAlias: Region | null;
  // statistics
  blocks: BlockInfo[];
  insnCount: number;
  bytes: number;
  inlineInsns: number;
  genericInsns: number;
  sourceBytes: number;
  source: string;
  /** Milliseconds per stage: discover, generate (analysis + AST), print, compile (V8 parse + factory). */
  times: { discover: number; generate: number; print: number; compile: number };
  entries: number;
  invalidatedBy: InvalidationCause | null;
}

interface PageInfo {
  regions: Set<Region>;
  chunks: number;
  /** Regions of this page invalidated by writes (drives the SMC back-off). */
  writeInvalidations: number;
}

export class TranslationCache {
  private readonly byKey = new Map<number, Region>();
  private readonly pages = new Map<number, PageInfo>();
  regionCount = 0;
  codeBytes = 0;
  onInvalidate: ((r: Region, cause: InvalidationCause) => void) | null = null;

  constructor(public maxRegions = 16384, public maxCodeBytes = 64 << 20) {}

  lookup(key: number, eip: number, csBase: number): Region | null {
    for (let r = this.byKey.get(key) ?? null; r; r = r.nextAlias) {
      if (r.eip === eip && r.csBase === csBase) return r;
    }
    return null;
  }

  /** Whether adding `bytes` of code would pass a cap. */
  full(bytes: number): boolean {
    return this.regionCount + 1 > this.maxRegions || this.codeBytes + bytes > this.maxCodeBytes;
  }

  insert(r: Region): void {
    const head = this.byKey.get(r.key) ?? null;
    r.nextAlias = head;
    this.byKey.set(r.key, r);
    let p = this.pages.get(r.page);
    if (!p) { p = { regions: new Set(), chunks: 0, writeInvalidations: 0 }; this.pages.set(r.page, p); }
    p.regions.add(r);
    p.chunks |= r.chunks;
    this.regionCount++;
    this.codeBytes += r.sourceBytes;
  }

  /** Make `from`'s exit `slot` continue directly into `to`. */
  link(from: Region, slot: number, to: Region): void {
    from.links[slot] = to;
    if (to.incoming.length >= 64) {
      // Inline caches relink often: drop the entries whose slot has moved on.
      const live = to.incoming.filter((l) => l.from.links[l.slot] === to && l.from.valid);
      to.incoming.length = 0;
      to.incoming.push(...live);
    }
    to.incoming.push({ from, slot });
  }

  private remove(r: Region, cause: InvalidationCause): void {
    if (!r.valid) return;
    r.valid = false;
    r.invalidatedBy = cause;
    // Unchain from the key's alias list.
    let head = this.byKey.get(r.key) ?? null;
    if (head === r) {
      if (r.nextAlias) this.byKey.set(r.key, r.nextAlias); else this.byKey.delete(r.key);
    } else {
      while (head && head.nextAlias !== r) head = head.nextAlias;
      if (head) head.nextAlias = r.nextAlias;
    }
    // Cut the links into it, and forget the ones out of it.
    for (const { from, slot } of r.incoming) {
      if (from.links[slot] === r) { from.links[slot] = null; from.icEip[slot] = -1; }
    }
    r.incoming.length = 0;
    for (let s = 0; s < r.links.length; s++) { r.links[s] = null; r.icEip[s] = -1; }
    this.regionCount--;
    this.codeBytes -= r.sourceBytes;
    this.onInvalidate?.(r, cause);
  }

  /**
   * A write of `len` bytes at physical `addr` on `page` is about to land:
   * invalidate the regions whose chunks it touches. Returns whether the page
   * still holds code (so the watch must stay armed).
   */
  written(page: number, addr: number, len: number): boolean {
    const p = this.pages.get(page);
    if (!p) return false;
    const lo = (addr & 0xfff) >>> CHUNK_SHIFT;
    const hi = Math.min(0xfff, (addr & 0xfff) + Math.max(1, len) - 1) >>> CHUNK_SHIFT;
    let hit = 0;
    for (let c = lo; c <= hi; c++) hit |= 1 << c;
    if (!(p.chunks & hit)) return true;
    let chunks = 0;
    for (const r of [...p.regions]) {
      if (r.chunks & hit) {
        p.regions.delete(r);
        p.writeInvalidations++;
        this.remove(r, 'write');
      } else {
        chunks |= r.chunks;
      }
    }
    p.chunks = chunks;
    if (p.regions.size === 0) {
      // Keep the count (the SMC back-off) while the page is empty.
      return false;
    }
    return true;
  }

  /** Writes that invalidated code on `page` so far. */
  writeInvalidations(page: number): number {
    return this.pages.get(page)?.writeInvalidations ?? 0;
  }

  /** Drop every region (eviction, or a change that affects all translations). */
  flush(cause: InvalidationCause): void {
    for (const p of this.pages.values()) {
      for (const r of p.regions) this.remove(r, cause);
      p.regions.clear();
      p.chunks = 0;
    }
    this.byKey.clear();
  }

  holdsCode(page: number): boolean {
    return (this.pages.get(page)?.regions.size ?? 0) > 0;
  }

  *regions(): IterableIterator<Region> {
    for (const p of this.pages.values()) yield* p.regions;
  }
}
