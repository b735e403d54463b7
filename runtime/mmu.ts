/**
 * The paging MMU and its TLB: the CPU's LinearMemory when paging may be on.
 *
 * Page walks follow SDM vol. 3 chapter 4: 32-bit paging (4 KiB pages, 4 MiB pages
 * with CR4.PSE) and PAE paging (PDPTEs loaded at CR3 write, 2 MiB and 4 KiB pages,
 * 64-bit entries, NX with EFER.NXE, reserved-bit checks with MAXPHYADDR = 36),
 * accessed and dirty bits set as the hardware sets them, CR0.WP, global pages,
 * page-fault error codes and CR2.
 *
 * The TLB is laid out for the translator's inline fast path: one flat Int32Array
 * per (privilege, access) pair, indexed by virtual page number, holding the
 * physical frame with bit 0 set when the entry is valid for that access. So a hit
 * is one load, one test and one OR, with no permission logic:
 *
 *     e = tlbWriteUser[lin >>> 12]; if (e & 1) ram[(e & ~0xfff) | (lin & 0xfff)] = v
 *
 * An entry is only filled for an access the page tables allow without a walk:
 * write entries only once the dirty bit is set, user entries only for user
 * pages. Bit 1 marks no-execute (fetch takes the read table). "Holds code" is not
 * a TLB bit: a write to a page with cached code is caught in PhysicalMemory by
 * its code-page watch, which every write path (fast or slow) consults.
 * Flushing walks the list of filled pages instead of clearing 4 MiB arrays;
 * entries of global pages survive CR3 writes.
 */
import { CpuException, EXC, type CpuState, type LinearMemory } from '../src/x86/state.js';
import { PAGE_SHIFT, type CodeWriteListener, type PhysicalMemory } from './memory.js';

const VALID = 1;
const NO_EXEC = 2;
const PAGES = 1 << 20;

/** Page-fault error code bits. */
export const PF_ERR = { P: 1, W: 2, U: 4, RSVD: 8, ID: 16 } as const;

const CR0_PG = 0x80000000 | 0;
const CR0_WP = 1 << 16;
const CR4_PSE = 1 << 4;
const CR4_PAE = 1 << 5;
const CR4_PGE = 1 << 7;
const EFER_NXE = 1 << 11;

/** Kinds of access, for translate(). */
export const Access = { Read: 0, Write: 1, Fetch: 2 } as const;
type Access = (typeof Access)[keyof typeof Access];

export class Mmu implements LinearMemory {
  readonly tlbReadSup = new Int32Array(PAGES);
  readonly tlbWriteSup = new Int32Array(PAGES);
  readonly tlbReadUser = new Int32Array(PAGES);
  readonly tlbWriteUser = new Int32Array(PAGES);
  private readonly filled: number[] = [];
  private readonly global = new Uint8Array(PAGES);
  /** PAE's four page-directory-pointer entries, loaded when CR3 is written. */
  readonly pdpte = new Float64Array(4);
  paging = false;
  walks = 0;

  constructor(readonly phys: PhysicalMemory, readonly cpu: CpuState) {}

  // ---- control --------------------------------------------------------------

  /**
   * CR0, CR3, CR4 or EFER changed: recompute the paging mode and flush. A CR3
   * write alone keeps global entries (`cr3Only`); mode changes flush everything.
   */
  controlChanged(cr3Only = false): void {
    const s = this.cpu;
    this.paging = (s.cr0 & CR0_PG) !== 0;
    if (this.paging && s.cr4 & CR4_PAE) this.loadPdptes();
    this.flush(cr3Only && (s.cr4 & CR4_PGE) !== 0);
  }

  /** Load PAE PDPTEs from CR3; reserved bits set in a present entry give #GP(0). */
  private loadPdptes(): void {
    const base = (this.cpu.cr3 & ~0x1f) >>> 0;
    for (let i = 0; i < 4; i++) {
      const lo = this.phys.read32(base + i * 8);
      const hi = this.phys.read32(base + i * 8 + 4);
      if (lo & 1 && ((lo & 0x1e6) !== 0 || (hi & 0xfffffff0) !== 0)) throw new CpuException(EXC.GP, 0);
      this.pdpte[i] = hi * 0x100000000 + lo;
    }
  }

  flush(keepGlobal: boolean): void {
    const kept: number[] = [];
    for (const vpn of this.filled) {
      if (keepGlobal && this.global[vpn]) { kept.push(vpn); continue; }
      this.tlbReadSup[vpn] = this.tlbWriteSup[vpn] = this.tlbReadUser[vpn] = this.tlbWriteUser[vpn] = 0;
      this.global[vpn] = 0;
    }
    this.filled.length = 0;
    for (const v of kept) this.filled.push(v);
  }

  invlpg(lin: number): void {
    const vpn = lin >>> PAGE_SHIFT;
    this.tlbReadSup[vpn] = this.tlbWriteSup[vpn] = this.tlbReadUser[vpn] = this.tlbWriteUser[vpn] = 0;
    this.global[vpn] = 0;
  }

  // ---- translation ------------------------------------------------------------

  /** Physical address of `lin` for an access by the current privilege level. */
  translate(lin: number, access: Access, user = this.cpu.cpl === 3): number {
    if (!this.paging) return (lin & this.phys.a20Mask) >>> 0;
    const vpn = lin >>> PAGE_SHIFT;
    const e = access === Access.Write
      ? (user ? this.tlbWriteUser : this.tlbWriteSup)[vpn]!
      : (user ? this.tlbReadUser : this.tlbReadSup)[vpn]!;
    if (e & VALID && !(access === Access.Fetch && e & NO_EXEC)) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    return this.walk(lin, access, user);
  }

  /** Walk the page tables, check the access, set A/D bits, fill the TLB. */
  private walk(lin: number, access: Access, user: boolean): number {
    this.walks++;
    const s = this.cpu;
    const write = access === Access.Write;
    const pae = (s.cr4 & CR4_PAE) !== 0;
    const nxe = pae && (s.efer & EFER_NXE) !== 0;
    const errBase = (write ? PF_ERR.W : 0) | (user ? PF_ERR.U : 0) | (access === Access.Fetch && nxe ? PF_ERR.ID : 0);
    const fault = (bits: number): never => {
      s.cr2 = lin >>> 0;
      throw new CpuException(EXC.PF, errBase | bits);
    };
    let allowWrite = true;
    let allowUser = true;
    let noExec = false;
    let isGlobal = false;
    let frame: number;
    let leafAddr: number;
    let leafLo: number;
    let largeOffset = 0;

    if (!pae) {
      const pdeAddr = ((s.cr3 & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
      const pde = this.phys.read32(pdeAddr);
      if (!(pde & 1)) fault(0);
      allowWrite = (pde & 2) !== 0;
      allowUser = (pde & 4) !== 0;
      if (pde & 0x80 && s.cr4 & CR4_PSE) {
        // 4 MiB page (PSE-36 high address bits are not supported: MAXPHYADDR 32 here).
        if (pde & 0x3fe000) fault(PF_ERR.P | PF_ERR.RSVD);
        frame = (pde & 0xffc00000) >>> 0;
        largeOffset = lin & 0x3ff000;
        leafAddr = pdeAddr;
        leafLo = pde;
        isGlobal = (pde & 0x100) !== 0;
      } else {
        if (!(pde & 0x20)) this.phys.write32(pdeAddr, pde | 0x20);
        const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
        const pte = this.phys.read32(pteAddr);
        if (!(pte & 1)) fault(0);
        allowWrite &&= (pte & 2) !== 0;
        allowUser &&= (pte & 4) !== 0;
        frame = (pte & ~0xfff) >>> 0;
        leafAddr = pteAddr;
        leafLo = pte;
        isGlobal = (pte & 0x100) !== 0;
      }
    } else {
      const pdpte = this.pdpte[lin >>> 30]!;
      if (!(pdpte % 2)) fault(0);
      const pdBase = pdpte - (pdpte % 4096);
      const pdeAddr = (pdBase + ((lin >>> 21) & 0x1ff) * 8) >>> 0;
      const pdeLo = this.phys.read32(pdeAddr);
      const pdeHi = this.phys.read32(pdeAddr + 4);
      if (!(pdeLo & 1)) fault(0);
      if (this.reservedHigh(pdeHi, nxe)) fault(PF_ERR.P | PF_ERR.RSVD);
      allowWrite = (pdeLo & 2) !== 0;
      allowUser = (pdeLo & 4) !== 0;
      noExec = nxe && (pdeHi & 0x80000000) !== 0;
      if (pdeLo & 0x80) {
        if (pdeLo & 0x1fe000) fault(PF_ERR.P | PF_ERR.RSVD);
        frame = (pdeLo & 0xffe00000) >>> 0;
        largeOffset = lin & 0x1ff000;
        leafAddr = pdeAddr;
        leafLo = pdeLo;
        isGlobal = (pdeLo & 0x100) !== 0;
        if ((pdeHi & 0xf) !== 0) frame = -1; // above 4 GiB: nothing is there
      } else {
        if (!(pdeLo & 0x20)) this.phys.write32(pdeAddr, pdeLo | 0x20);
        const pteAddr = ((pdeLo & ~0xfff) + ((lin >>> 12) & 0x1ff) * 8) >>> 0;
        const pteLo = this.phys.read32(pteAddr);
        const pteHi = this.phys.read32(pteAddr + 4);
        if (!(pteLo & 1)) fault(0);
        if (this.reservedHigh(pteHi, nxe)) fault(PF_ERR.P | PF_ERR.RSVD);
        allowWrite &&= (pteLo & 2) !== 0;
        allowUser &&= (pteLo & 4) !== 0;
        noExec ||= nxe && (pteHi & 0x80000000) !== 0;
        frame = (pteLo & ~0xfff) >>> 0;
        if ((pteHi & 0xf) !== 0) frame = -1;
        leafAddr = pteAddr;
        leafLo = pteLo;
        isGlobal = (pteLo & 0x100) !== 0;
      }
    }
    // Permission checks (SDM vol. 3 §4.6).
    if (user && !allowUser) fault(PF_ERR.P);
    if (write && !allowWrite && (user || s.cr0 & CR0_WP)) fault(PF_ERR.P);
    if (access === Access.Fetch && noExec) fault(PF_ERR.P);
    // Accessed and dirty bits on the leaf entry.
    const want = leafLo | 0x20 | (write ? 0x40 : 0);
    if (want !== leafLo) this.phys.write32(leafAddr, want);
    const dirty = (want & 0x40) !== 0;
    if (frame < 0) return 0xffffffff; // reads float, writes drop (beyond MAXPHYADDR of our RAM)
    const pageFrame = (frame + largeOffset) >>> 0;
    // Fill the TLB for every access this walk proves allowed.
    const vpn = lin >>> PAGE_SHIFT;
    const entry = pageFrame | VALID | (noExec ? NO_EXEC : 0);
    this.tlbReadSup[vpn] = entry;
    if (allowUser) this.tlbReadUser[vpn] = entry;
    if (dirty) {
      if (allowWrite || !(s.cr0 & CR0_WP)) this.tlbWriteSup[vpn] = entry;
      if (allowUser && allowWrite) this.tlbWriteUser[vpn] = entry;
    }
    this.global[vpn] = isGlobal && (s.cr4 & CR4_PGE) !== 0 ? 1 : 0;
    this.filled.push(vpn);
    if (this.filled.length > 65536) this.flush(false);
    return (pageFrame | (lin & 0xfff)) >>> 0;
  }

  /** Reserved bits of the high dword of a PAE entry (MAXPHYADDR 36; bit 63 is NX when enabled). */
  private reservedHigh(hi: number, nxe: boolean): boolean {
    return (hi & (nxe ? 0x7ffffff0 : 0xfffffff0)) !== 0;
  }

  // ---- LinearMemory ---------------------------------------------------------------

  read8(lin: number): number {
    return this.phys.read8(this.translate(lin, Access.Read));
  }
  read16(lin: number): number {
    if ((lin & 0xfff) === 0xfff) return this.read8(lin) | (this.read8(lin + 1) << 8);
    return this.phys.read16(this.translate(lin, Access.Read));
  }
  read32(lin: number): number {
    if ((lin & 0xfff) > 0xffc) return (this.read16(lin) | (this.read16(lin + 2) << 16)) >>> 0;
    return this.phys.read32(this.translate(lin, Access.Read));
  }
  write8(lin: number, v: number): void {
    this.phys.write8(this.translate(lin, Access.Write), v);
  }
  write16(lin: number, v: number): void {
    if ((lin & 0xfff) === 0xfff) {
      // Both pages must be writable before either byte is written.
      const a = this.translate(lin, Access.Write);
      const b = this.translate(lin + 1, Access.Write);
      this.phys.write8(a, v);
      this.phys.write8(b, v >> 8);
      return;
    }
    this.phys.write16(this.translate(lin, Access.Write), v);
  }
  write32(lin: number, v: number): void {
    const off = lin & 0xfff;
    if (off > 0xffc) {
      const a = this.translate(lin, Access.Write);
      const b = this.translate((lin + 4) & ~0xfff, Access.Write);
      for (let i = 0; i < 4; i++) {
        const addr = off + i < 0x1000 ? a + i : b + (off + i - 0x1000);
        this.phys.write8(addr, v >> (8 * i));
      }
      return;
    }
    this.phys.write32(this.translate(lin, Access.Write), v);
  }
  probeWrite(lin: number, size: number): void {
    if (!this.paging) return;
    this.translate(lin, Access.Write);
    if ((lin & 0xfff) + size > 0x1000) this.translate((lin + size - 1) & ~0xfff, Access.Write); // CR2: the second page's first byte
  }
  fetch(lin: number, buf: Uint8Array, at: number, max: number): number {
    const p = this.translate(lin, Access.Fetch);
    const n = Math.min(max, 0x1000 - (lin & 0xfff));
    for (let i = 0; i < n; i++) buf[at + i] = this.phys.read8(p + i);
    return n;
  }
  translateCode(lin: number): number {
    return this.translate(lin, Access.Fetch);
  }
  watchCodePage(page: number): void {
    this.phys.watchPage(page);
  }
  onCodeWrite(listener: CodeWriteListener): void {
    this.phys.onCodeWrite(listener);
  }

  /** Supervisor-privilege accesses (descriptor tables, TSS, IDT) regardless of CPL. */
  readSystem(lin: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.phys.read8(this.translate(lin + i, Access.Read, false)) << (8 * i);
    return v >>> 0;
  }
  writeSystem(lin: number, size: 1 | 2 | 4, v: number): void {
    const addrs = [0, 0, 0, 0];
    for (let i = 0; i < size; i++) addrs[i] = this.translate(lin + i, Access.Write, false);
    for (let i = 0; i < size; i++) this.phys.write8(addrs[i]!, v >> (8 * i));
  }
}

