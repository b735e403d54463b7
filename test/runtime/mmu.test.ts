import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../runtime/memory.js';
import { Access, Mmu, PF_ERR } from '../../runtime/mmu.js';
import { CpuException, CpuState, EXC } from '../../src/x86/state.js';

const PG = 0x80000000 | 0, WP = 1 << 16, PSE = 1 << 4, PAE = 1 << 5, PGE = 1 << 7, NXE = 1 << 11;

function setup() {
  const phys = new PhysicalMemory(8 << 20);
  const cpu = new CpuState();
  const mmu = new Mmu(phys, cpu);
  return { phys, cpu, mmu };
}

function pageFault(fn: () => unknown): { code: number } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CpuException);
    expect((e as CpuException).vector).toBe(EXC.PF);
    return { code: (e as CpuException).errorCode };
  }
  throw new Error('expected a page fault');
}

describe('32-bit paging', () => {
  // Page directory at 0x1000, one page table at 0x2000 covering 0-4 MiB.
  function twoLevel(pteFlags = 7, pdeFlags = 7) {
    const t = setup();
    t.phys.write32(0x1000, 0x2000 | pdeFlags);
    // Map virtual page 5 -> physical 0x300000, page 6 -> not present.
    t.phys.write32(0x2000 + 5 * 4, 0x300000 | pteFlags);
    t.cpu.cr3 = 0x1000;
    t.cpu.cr0 |= PG;
    t.mmu.controlChanged();
    return t;
  }

  it('translates through two levels and sets accessed and dirty bits', () => {
    const { phys, mmu } = twoLevel();
    phys.write32(0x300010, 0xdeadbeef);
    expect(mmu.read32(0x5010)).toBe(0xdeadbeef);
    expect(phys.read32(0x1000) & 0x20).toBe(0x20);
    expect(phys.read32(0x2014) & 0x60).toBe(0x20);
    mmu.write8(0x5011, 0x11);
    expect(phys.read8(0x300011)).toBe(0x11);
    expect(phys.read32(0x2014) & 0x40).toBe(0x40);
  });

  it('reports not-present faults with CR2 and the error code', () => {
    const { cpu, mmu } = twoLevel();
    const f = pageFault(() => mmu.write32(0x6004, 1));
    expect(f.code).toBe(PF_ERR.W);
    expect(cpu.cr2).toBe(0x6004);
    cpu.cpl = 3;
    expect(pageFault(() => mmu.read8(0x6000)).code).toBe(PF_ERR.U);
  });

  it('checks user and write permission, with CR0.WP for supervisor writes', () => {
    const { cpu, mmu } = twoLevel(5); // present, user, read-only
    cpu.cpl = 3;
    expect(mmu.read8(0x5000)).toBe(0);
    expect(pageFault(() => mmu.write8(0x5000, 1)).code).toBe(PF_ERR.P | PF_ERR.W | PF_ERR.U);
    cpu.cpl = 0;
    mmu.write8(0x5000, 1); // WP clear: supervisor may write a read-only page
    cpu.cr0 |= WP;
    mmu.controlChanged();
    expect(pageFault(() => mmu.write8(0x5000, 2)).code).toBe(PF_ERR.P | PF_ERR.W);
  });

  it('denies user access to supervisor pages', () => {
    const { cpu, mmu } = twoLevel(3);
    cpu.cpl = 3;
    expect(pageFault(() => mmu.read8(0x5000)).code).toBe(PF_ERR.P | PF_ERR.U);
    cpu.cpl = 0;
    expect(mmu.read8(0x5000)).toBe(0);
  });

  it('keeps a cached translation until INVLPG or a CR3 write', () => {
    const { phys, cpu, mmu } = twoLevel();
    phys.write8(0x300000, 1);
    phys.write8(0x301000, 2);
    expect(mmu.read8(0x5000)).toBe(1);
    phys.write32(0x2014, 0x301007);
    expect(mmu.read8(0x5000)).toBe(1); // stale, as on hardware
    mmu.invlpg(0x5000);
    expect(mmu.read8(0x5000)).toBe(2);
    phys.write32(0x2014, 0x300007);
    mmu.controlChanged(true);
    expect(mmu.read8(0x5000)).toBe(1);
    expect(cpu.cr3).toBe(0x1000);
  });

  it('keeps global pages across CR3 writes when CR4.PGE is set', () => {
    const { phys, cpu, mmu } = twoLevel(0x107);
    cpu.cr4 |= PGE;
    mmu.controlChanged();
    phys.write8(0x300000, 1);
    phys.write8(0x301000, 2);
    expect(mmu.read8(0x5000)).toBe(1);
    phys.write32(0x2014, 0x301107);
    mmu.controlChanged(true);
    expect(mmu.read8(0x5000)).toBe(1);
    mmu.controlChanged(false);
    expect(mmu.read8(0x5000)).toBe(2);
  });

  it('maps 4 MiB pages with CR4.PSE', () => {
    const { phys, cpu, mmu } = setup();
    phys.write32(0x1000 + 1 * 4, 0x400000 | 0x87); // 4-8 MiB identity, large
    cpu.cr3 = 0x1000;
    cpu.cr4 |= PSE;
    cpu.cr0 |= PG;
    mmu.controlChanged();
    phys.write32(0x523456, 0x12345678);
    expect(mmu.read32(0x523456)).toBe(0x12345678);
    expect(mmu.translate(0x7fffff, Access.Read)).toBe(0x7fffff);
  });

  it('checks both pages of a write that crosses a page boundary before writing', () => {
    const { phys, mmu } = twoLevel();
    phys.write8(0x300fff, 0xaa);
    pageFault(() => mmu.write16(0x5fff, 0x1234));
    expect(phys.read8(0x300fff)).toBe(0xaa);
  });
});

describe('PAE paging', () => {
  function pae() {
    const t = setup();
    // PDPT at 0x1000 (entry 0 -> PD at 0x2000), PD entry 0 -> PT at 0x3000.
    t.phys.write32(0x1000, 0x2000 | 1);
    t.phys.write32(0x2000, 0x3000 | 7);
    t.phys.write32(0x3000 + 5 * 8, 0x300000 | 7);
    t.phys.write32(0x2000 + 8, 0x200000 | 0x87); // 2 MiB page at virtual 2 MiB
    t.cpu.cr3 = 0x1000;
    t.cpu.cr4 |= PAE;
    t.cpu.cr0 |= PG;
    t.mmu.controlChanged();
    return t;
  }

  it('walks three levels and 2 MiB pages', () => {
    const { phys, mmu } = pae();
    phys.write32(0x300008, 0xcafe);
    expect(mmu.read32(0x5008)).toBe(0xcafe);
    phys.write32(0x212345, 0xbeef);
    expect(mmu.read32(0x212345)).toBe(0xbeef);
  });

  it('faults on fetch from an NX page only with EFER.NXE', () => {
    const { phys, cpu, mmu } = pae();
    phys.write32(0x3000 + 5 * 8 + 4, 0x80000000);
    expect(pageFault(() => mmu.translateCode(0x5000)).code).toBe(PF_ERR.P | PF_ERR.RSVD);
    cpu.efer |= NXE;
    mmu.controlChanged();
    expect(mmu.read8(0x5000)).toBe(0);
    expect(pageFault(() => mmu.translateCode(0x5000)).code).toBe(PF_ERR.P | PF_ERR.ID);
  });

  it('rejects reserved bits in a PDPTE at CR3 load with #GP', () => {
    const { phys, mmu } = pae();
    phys.write32(0x1000, 0x2000 | 1 | 2);
    expect(() => mmu.controlChanged()).toThrow(CpuException);
  });
});
