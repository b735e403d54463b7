/**
 * The PIIX4 power-management function (82371AB datasheet, 290562), PCI 00:01.3:
 * vendor 8086, device 7113, class 068000. It is the ACPI hardware of this PC:
 * the PM1a event and control registers, the PM timer, GPE0, and the SCI.
 *
 * Configuration space: PMBA (0x40, bits 15:6 the base of a 64-byte I/O block,
 * bit 0 reads 1), PMREGMISC (0x80, bit 0 PMIOSE enables that block), SMBBA
 * (0x90) and SMBHSTCFG (0xD2, bit 0 host enable): the SMBus is never enabled
 * (no SMBus devices). CNTA/CNTB, GPICTL and DEVACTA-DEVRESJ (0x44-0x7F) are kept
 * as scratch registers for firmware.
 *
 * The I/O block at PMBA:
 *   +00 PMSTS  (16, RW1C)  0 TMROF_STS, 5 GBL_STS, 8 PWRBTN_STS, 10 RTC_STS,
 *                          11 PWRBTNOR_STS, 15 WAK_STS
 *   +02 PMEN   (16)        0 TMROF_EN, 5 GBL_EN, 8 PWRBTN_EN, 10 RTC_EN
 *   +04 PMCNTRL (16)       0 SCI_EN, 1 BRLD_EN_BM, 2 GBL_RLS (write-only),
 *                          12:10 SUS_TYP, 13 SUS_EN (write-only)
 *   +08 PMTMR  (32, RO)    the 24-bit ACPI PM timer at 3.579545 MHz
 *   +0C GPSTS  (16, RW1C)  +0E GPEN (16)      (GPE0: no event sources yet)
 *   +10 PCNTRL (32)  +14 PLVL2 / +15 PLVL3 (reads enter C2/C3: return 0)
 *   +18 GLBSTS (16, RW1C)  +1C DEVSTS (32, RW1C)  +20 GLBEN (16)
 *   +28 GLBCTL (32)  +2C DEVCTL (32)  +30 GPIREG (RO)  +34 GPOREG (32)
 *
 * The PM timer is computed from virtual time, as every other clock here; its
 * bit 23 toggling sets TMROF_STS (counted lazily, and by a clock timer only while
 * TMROF_EN asks for an SCI). The SCI (IRQ 9, level, active high: the FADT's
 * SCI_INT and the MADT's override) is high while SCI_EN is set and an enabled
 * PM1 status or GPE0 status bit is. pressPowerButton() sets PWRBTN_STS.
 *
 * Sleep: writing PMCNTRL with SUS_EN set enters the state SUS_TYP names. SUS_TYP
 * 000 is soft off (S5: the DSDT's \_S5 says 0): onPowerOff. The suspend types
 * (001 STR, 010-100 POS variants) are not offered by the DSDT and are ignored
 * here (the write wakes at once with WAK_STS set); 101 is working (S0).
 *
 * ACPI mode: the FADT names the PIIX4's APM control port 0xB2 as SMI_CMD. With
 * no SMM firmware behind it, this device does what a BIOS's SMI handler would for
 * the two ACPI commands: ACPI_ENABLE (0xF1) sets SCI_EN, ACPI_DISABLE (0xF0)
 * clears it. APMC (0xB2) and APMS (0xB3) otherwise just hold their values.
 */
import type { Device, DeviceHost } from './device.js';
import type { Timer } from '../clock.js';
import type { PortHandler } from '../ports.js';
import { PciFunction } from './pci.js';
import { cyclesAt, nsOfCycle } from './timebase.js';

const STATE_VERSION = 1;

export const PM_TIMER_HZ = 3579545;
/** Where firmware puts the PM block on this machine (PMBA), and the SCI's ISA IRQ. */
export const DEFAULT_PM_BASE = 0xb000;
export const SCI_IRQ = 9;
/** The APM control port (the FADT's SMI_CMD) and the ACPI commands its handler takes. */
export const APM_CNT_PORT = 0xb2;
export const ACPI_ENABLE = 0xf1;
export const ACPI_DISABLE = 0xf0;

/** Offsets in the PM I/O block, and its length. */
export const PM = { STS: 0x00, EN: 0x02, CNT: 0x04, TMR: 0x08, GPSTS: 0x0c, GPEN: 0x0e, LEN: 0x40 } as const;

const STS = { TMROF: 1, GBL: 1 << 5, PWRBTN: 1 << 8, RTC: 1 << 10, PWRBTNOR: 1 << 11, WAK: 1 << 15 } as const;
const STS_W1C = 0x8d31;
const EN_WRITABLE = 0x0521;
const CNT = { SCI_EN: 1, BRLD_EN_BM: 2, GBL_RLS: 4, SUS_EN: 1 << 13 } as const;
const CNT_WRITABLE = 0x1c03;
export const SUS_TYP_SOFT_OFF = 0;
const SUS_TYP_WORKING = 5;

/** Other word/dword registers of the block: offset -> [size, writable mask, write-1-to-clear mask]. */
const OTHER: Record<number, [number, number, number]> = {
  0x10: [4, 0x0003fe1e, 0], // PCNTRL
  0x18: [2, 0, 0x0d25], // GLBSTS
  0x1c: [4, 0, 0x3fffffff], // DEVSTS
  0x20: [2, 0x8f03, 0], // GLBEN
  0x28: [4, 0x071f0601, 0], // GLBCTL
  0x2c: [4, 0x3fffffff, 0], // DEVCTL
  0x34: [4, 0x7fffffff, 0], // GPOREG
};

interface PmRegister {
  off: number;
  size: number;
  get(): number;
  /** Write the bits of `mask` with those of `v` (both aligned to the register). */
  set(v: number, mask: number): void;
}

export interface Piix4PmState {
  version: number;
  pci: unknown;
  sts: number;
  en: number;
  cnt: number;
  gpsts: number;
  gpen: number;
  other: Record<string, number>;
  tmrEpoch: number;
  apmc: number;
  apms: number;
  sci: boolean;
}

export class Piix4Pm extends PciFunction implements Device {
  /** The guest entered S5 (soft off): the machine stops with 'poweroff'. */
  onPowerOff: (() => void) | null = null;
  private host: DeviceHost | null = null;
  private timer: Timer | null = null;
  private mappedBase = -1;
  private sts = 0;
  private en = 0;
  private cnt = 0;
  private gpsts = 0;
  private gpen = 0;
  private other: Record<number, number> = {};
  /** The PM timer's bit-23 epoch (ticks >> 23) when TMROF_STS was last brought up to date. */
  private tmrEpoch = 0;
  private apmc = 0;
  private apms = 0;
  private sci = false;

  private readonly block: PortHandler = {
    read: (port, size) => this.blockRead(port - this.mappedBase, size),
    write: (port, size, v) => { this.blockWrite(port - this.mappedBase, size, v); },
  };

  constructor() {
    super('piix4-pm', { vendor: 0x8086, device: 0x7113, classCode: 0x068000, revision: 0x03 });
    this.resetConfig();
  }

  attach(host: DeviceHost): void {
    this.host = host;
    this.timer = host.clock.createTimer(() => this.timerFired());
    host.ports.register(APM_CNT_PORT, 2, {
      read: (port, size) => (size !== 1 ? undefined : port === APM_CNT_PORT ? this.apmc : this.apms),
      write: (port, size, v) => {
        if (size !== 1) return false;
        if (port === APM_CNT_PORT) this.apmCommand(v & 0xff);
        else this.apms = v & 0xff;
      },
    });
    this.tmrEpoch = this.epoch();
    this.remapBlock();
  }

  reset(): void {
    this.resetConfig();
    this.sts = this.en = this.cnt = this.gpsts = this.gpen = 0;
    this.other = {};
    this.apmc = this.apms = 0;
    this.tmrEpoch = this.epoch();
    this.remapBlock();
    this.updateSci();
  }

  private resetConfig(): void {
    this.config.fill(0, 0x40);
    this.writable.fill(0, 0x40);
    this.set16(0x04, 0x0000);
    this.set16(0x06, 0x0280);
    this.writable[0x04] = 0x01; // I/O space (the SMBus block)
    this.writable[0x05] = 0;
    this.set32(0x40, 1); // PMBA: I/O
    this.writable[0x41] = 0xff;
    this.writable[0x40] = 0xc0;
    for (let i = 0x44; i < 0x80; i++) this.writable[i] = 0xff;
    this.writable[0x80] = 0x01; // PMREGMISC.PMIOSE
    this.set32(0x90, 1); // SMBBA: I/O
    this.writable[0x90] = 0xf0;
    this.writable[0x91] = 0xff;
    this.writable[0xd2] = 0x0e; // SMBHSTCFG: the host-enable bit stays 0
  }

  /** What firmware does on this machine: PMBA = base, PM I/O enabled. */
  firmwareInit(base = DEFAULT_PM_BASE): void {
    this.writeConfig(0x40, 4, base | 1);
    this.writeConfig(0x80, 1, 1);
  }

  /** The PM block's base, or -1 while disabled. */
  get pmBase(): number {
    return this.mappedBase;
  }

  /** Press the power button: PWRBTN_STS, an SCI if enabled (the OS then shuts down). */
  pressPowerButton(): void {
    this.sts |= STS.PWRBTN;
    this.updateSci();
  }

  protected override configChanged(off: number, size: number): void {
    if ((off < 0x44 && off + size > 0x40) || (off <= 0x80 && off + size > 0x80)) this.remapBlock();
  }

  private remapBlock(): void {
    const host = this.host;
    if (!host) return;
    const want = this.config[0x80]! & 1 ? this.get32(0x40) & 0xffc0 : -1;
    if (want === this.mappedBase) return;
    if (this.mappedBase >= 0) host.ports.unregister(this.mappedBase, PM.LEN, this.block);
    this.mappedBase = want >= 0 && host.ports.tryRegister(want, PM.LEN, this.block) ? want : -1;
  }

  // ---- the PM timer -----------------------------------------------------------------------

  private ticks(): number {
    return cyclesAt(this.host ? this.host.clock.now() : 0, PM_TIMER_HZ);
  }

  private epoch(): number {
    return Math.floor(this.ticks() / 0x800000);
  }

  /** The 24-bit PM timer. */
  pmTimer(): number {
    return this.ticks() % 0x1000000;
  }

  /** TMROF_STS catches up with bit-23 toggles since it was last looked at. */
  private catchUpTimer(): void {
    const e = this.epoch();
    if (e !== this.tmrEpoch) {
      this.tmrEpoch = e;
      this.sts |= STS.TMROF;
    }
  }

  private armTimer(): void {
    if (!this.timer || !this.host) return;
    if (!(this.en & STS.TMROF)) {
      this.host.clock.cancel(this.timer);
      return;
    }
    this.host.clock.arm(this.timer, nsOfCycle((this.tmrEpoch + 1) * 0x800000, PM_TIMER_HZ));
  }

  private timerFired(): void {
    this.catchUpTimer();
    this.updateSci();
    this.armTimer();
  }

  // ---- the I/O block -----------------------------------------------------------------------

  /** The registers of the block; accesses of any width are assembled from and spread over them. */
  private readonly regs: PmRegister[] = [
    { off: PM.STS, size: 2, get: () => { this.catchUpTimer(); return this.sts; }, set: (v, m) => { this.catchUpTimer(); this.sts &= ~(v & m & STS_W1C); } },
    { off: PM.EN, size: 2, get: () => this.en, set: (v, m) => { this.en = (this.en & ~m) | (v & m & EN_WRITABLE); if (this.en & STS.TMROF) this.catchUpTimer(); this.armTimer(); } },
    {
      off: PM.CNT, size: 2, get: () => this.cnt,
      set: (v, m) => {
        this.cnt = (this.cnt & ~(m & CNT_WRITABLE)) | (v & m & CNT_WRITABLE);
        if (v & m & CNT.SUS_EN) this.sleep((this.cnt >> 10) & 7);
      },
    },
    { off: PM.TMR, size: 4, get: () => this.pmTimer(), set: () => {} },
    { off: PM.GPSTS, size: 2, get: () => this.gpsts, set: (v, m) => { this.gpsts &= ~(v & m); } },
    { off: PM.GPEN, size: 2, get: () => this.gpen, set: (v, m) => { this.gpen = (this.gpen & ~m) | (v & m); } },
    ...Object.entries(OTHER).map(([o, [size, writable, w1c]]): PmRegister => {
      const off = Number(o);
      return {
        off, size,
        get: () => this.other[off] ?? 0,
        set: (v, m) => {
          const old = this.other[off] ?? 0;
          this.other[off] = (((old & ~(m & writable)) | (v & m & writable)) & ~(v & m & w1c)) >>> 0;
        },
      };
    }),
  ];
  private readonly regAt: (PmRegister | undefined)[] = (() => {
    const at: (PmRegister | undefined)[] = new Array(PM.LEN);
    for (const r of this.regs) for (let i = 0; i < r.size; i++) at[r.off + i] = r;
    return at;
  })();

  private blockRead(off: number, size: 1 | 2 | 4): number {
    let v = 0;
    let last: PmRegister | undefined;
    let lastValue = 0;
    for (let i = 0; i < size; i++) {
      const o = off + i;
      const r = this.regAt[o];
      if (!r) continue; // PLVL2/PLVL3 (entering C2/C3 takes no time here) and unused bytes read 0
      if (r !== last) {
        last = r;
        lastValue = r.get();
      }
      v |= ((lastValue >>> (8 * (o - r.off))) & 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  private blockWrite(off: number, size: 1 | 2 | 4, value: number): void {
    let i = 0;
    while (i < size) {
      const r = this.regAt[off + i];
      if (!r) {
        i++;
        continue;
      }
      let data = 0;
      let mask = 0;
      while (i < size && this.regAt[off + i] === r) {
        const sh = 8 * (off + i - r.off);
        data |= ((value >>> (8 * i)) & 0xff) << sh;
        mask |= 0xff << sh;
        i++;
      }
      r.set(data >>> 0, mask >>> 0);
    }
    this.updateSci();
  }

  private sleep(type: number): void {
    if (type === SUS_TYP_SOFT_OFF) {
      this.onPowerOff?.();
      return;
    }
    if (type === SUS_TYP_WORKING) return;
    // A sleep state the DSDT does not offer: wake at once.
    this.sts |= STS.WAK;
  }

  private apmCommand(v: number): void {
    this.apmc = v;
    if (v === ACPI_ENABLE) this.cnt |= CNT.SCI_EN;
    else if (v === ACPI_DISABLE) this.cnt &= ~CNT.SCI_EN;
    this.updateSci();
  }

  private updateSci(): void {
    const level = (this.cnt & CNT.SCI_EN) !== 0 && ((this.sts & this.en & EN_WRITABLE) !== 0 || (this.gpsts & this.gpen) !== 0);
    if (level === this.sci) return;
    this.sci = level;
    this.host?.irq.setIrq(SCI_IRQ, level);
  }

  // ---- snapshots -------------------------------------------------------------------------------

  override save(): Piix4PmState {
    return {
      version: STATE_VERSION, pci: super.save(), sts: this.sts, en: this.en, cnt: this.cnt, gpsts: this.gpsts, gpen: this.gpen,
      other: { ...this.other }, tmrEpoch: this.tmrEpoch, apmc: this.apmc, apms: this.apms, sci: this.sci,
    };
  }

  override restore(state: unknown): void {
    const s = state as Piix4PmState;
    if (!s || s.version !== STATE_VERSION) throw new Error(`PIIX4 PM state version ${s?.version} is not ${STATE_VERSION}`);
    super.restore(s.pci);
    this.sts = s.sts; this.en = s.en; this.cnt = s.cnt; this.gpsts = s.gpsts; this.gpen = s.gpen;
    this.other = Object.fromEntries(Object.entries(s.other).map(([k, v]) => [Number(k), v]));
    this.tmrEpoch = s.tmrEpoch; this.apmc = s.apmc; this.apms = s.apms;
    this.sci = s.sci;
    this.host?.irq.setIrq(SCI_IRQ, this.sci);
    this.remapBlock();
    this.armTimer();
  }
}
