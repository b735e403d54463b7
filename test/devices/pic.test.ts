import { describe, expect, it } from 'vitest';
import { Pic } from '../../runtime/devices/pic.js';
import { Bench } from './bench.js';

function setup() {
  const pic = new Pic();
  const b = new Bench(pic);
  b.attach(pic);
  return { pic, b };
}

/** SeaBIOS's pic_setup: vectors 08h/70h, everything masked but the cascade. */
function seabiosInit(b: Bench) {
  b.out(0x20, 0x11); b.out(0x21, 0x08); b.out(0x21, 0x04); b.out(0x21, 0x01);
  b.out(0xa0, 0x11); b.out(0xa1, 0x70); b.out(0xa1, 0x02); b.out(0xa1, 0x01);
  b.out(0x21, 0xfb); b.out(0xa1, 0xff);
}

/** Linux's init_8259A (auto_eoi = 0): mask all, ICWs with vectors 30h/38h, restore the masks. */
function linuxInit(b: Bench, masterMask = 0xfb, slaveMask = 0xff, autoEoi = false) {
  b.out(0x21, 0xff); b.out(0xa1, 0xff);
  b.out(0x20, 0x11); b.out(0x21, 0x30); b.out(0x21, 0x04); b.out(0x21, autoEoi ? 0x03 : 0x01);
  b.out(0xa0, 0x11); b.out(0xa1, 0x38); b.out(0xa1, 0x02); b.out(0xa1, 0x01);
  b.out(0x21, masterMask); b.out(0xa1, slaveMask);
}

/** OCW3 reads of IRR and ISR, as Linux's i8259A_irq_real does them. */
function isr(b: Bench, port: number): number {
  b.out(port, 0x0b);
  const v = b.in(port);
  b.out(port, 0x0a);
  return v;
}
const irr = (b: Bench, port: number) => b.in(port);

describe('8259A initialisation', () => {
  it('takes the SeaBIOS sequence and delivers IRQ 0 at vector 08h', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    expect(b.in(0x21)).toBe(0xfb);
    expect(b.in(0xa1)).toBe(0xff);
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false); // masked
    b.out(0x21, 0xfa);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    expect(isr(b, 0x20)).toBe(0x01);
    b.out(0x20, 0x20); // non-specific EOI
    expect(isr(b, 0x20)).toBe(0);
  });

  it('takes the Linux sequence: vectors 30h/38h, specific EOIs, mask probe', () => {
    const { pic, b } = setup();
    linuxInit(b, 0xf0, 0xfe);
    // probe_8259A writes a mask and reads it back
    b.out(0x21, 0xfb);
    expect(b.in(0x21)).toBe(0xfb);
    b.out(0x21, 0xf0);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x33);
    b.out(0x20, 0x60 + 3);
    expect(isr(b, 0x20)).toBe(0);
    pic.setIrq(8, true);
    expect(pic.acknowledge()).toBe(0x38);
    expect(isr(b, 0xa0)).toBe(0x01);
    expect(isr(b, 0x20)).toBe(0x04);
    b.out(0xa0, 0x60 + 0);
    b.out(0x20, 0x60 + 2);
    expect(isr(b, 0xa0) | isr(b, 0x20)).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('ICW1 clears the mask and the edge detectors: a line already high must rise again', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    pic.setIrq(4, true);
    expect(irr(b, 0x20) & 0x10).toBe(0x10);
    b.out(0x20, 0x11); b.out(0x21, 0x08); b.out(0x21, 0x04); b.out(0x21, 0x01);
    expect(b.in(0x21)).toBe(0);
    expect(irr(b, 0x20) & 0x10).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, true); // still high: no edge
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x0c);
  });

  it('single mode without ICW3, and ICW4 absent', () => {
    const { pic, b } = setup();
    b.out(0x20, 0x13); // single, IC4
    b.out(0x21, 0x20);
    b.out(0x21, 0x01); // ICW4 directly
    b.out(0x21, 0x00); // OCW1
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x25);
    b.out(0x20, 0x12); // single, no ICW4
    b.out(0x21, 0x40);
    b.out(0x21, 0xfe); // this is OCW1 now
    expect(b.in(0x21)).toBe(0xfe);
  });
});

describe('8259A priorities, masks and EOI', () => {
  it('serves the highest priority first and nests only higher priorities', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x21, 0x00);
    pic.setIrq(3, true);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09); // IRQ 1 before IRQ 3
    expect(pic.hasInterrupt()).toBe(false); // IRQ 3 is lower than the in-service IRQ 1
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(true); // IRQ 0 nests
    expect(pic.acknowledge()).toBe(0x08);
    expect(isr(b, 0x20)).toBe(0x03);
    b.out(0x20, 0x20); // clears IRQ 0 (highest in service)
    expect(isr(b, 0x20)).toBe(0x02);
    expect(pic.hasInterrupt()).toBe(false);
    b.out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x0b);
  });

  it('latches a masked edge in IRR and delivers it when unmasked', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    pic.setIrq(6, true);
    pic.setIrq(6, false);
    expect(irr(b, 0x20)).toBe(0x40);
    expect(pic.hasInterrupt()).toBe(false);
    b.out(0x21, 0xbb);
    expect(pic.acknowledge()).toBe(0x0e);
    expect(irr(b, 0x20)).toBe(0);
  });

  it('rotates on non-specific EOI and with set-priority', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x21, 0x00);
    pic.setIrq(0, true); pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x08);
    b.out(0x20, 0xa0); // rotate on non-specific EOI: IRQ 0 becomes the lowest
    pic.setIrq(0, false); pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x0c); // IRQ 4 now beats IRQ 0
    b.out(0x20, 0xe4); // rotate on specific EOI 4: IRQ 4 lowest, IRQ 5 highest
    expect(pic.acknowledge()).toBe(0x08);
    b.out(0x20, 0x60);
    b.out(0x20, 0xc5); // set priority: IRQ 5 lowest, IRQ 6 highest
    pic.setIrq(5, true); pic.setIrq(7, true);
    expect(pic.acknowledge()).toBe(0x0f);
    b.out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x0d);
  });

  it('special mask mode lets lower priorities in while the masked level is in service', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x21, 0x00);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(false);
    b.out(0x21, 0x02); // mask own level
    b.out(0x20, 0x68); // enter special mask mode
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x0d);
    b.out(0x20, 0x20); // non-specific EOI skips the masked IRQ 1
    expect(isr(b, 0x20)).toBe(0x02);
    b.out(0x20, 0x48); // leave special mask mode
    b.out(0x21, 0x00);
    b.out(0x20, 0x61);
    expect(isr(b, 0x20)).toBe(0);
  });

  it('poll mode returns the highest request and acknowledges it', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x21, 0x00);
    b.out(0x20, 0x0c);
    expect(b.in(0x20)).toBe(0x00);
    pic.setIrq(5, true);
    pic.setIrq(6, true);
    b.out(0x20, 0x0c);
    expect(b.in(0x20)).toBe(0x85);
    expect(isr(b, 0x20)).toBe(0x20);
    expect(b.in(0x20)).toBe(0x40); // back to IRR reads
  });

  it('auto-EOI leaves nothing in service, and can rotate', () => {
    const { pic, b } = setup();
    linuxInit(b, 0x00, 0xff, true);
    pic.setIrq(2 + 1, true);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x33);
    expect(isr(b, 0x20)).toBe(0);
    expect(pic.acknowledge()).toBe(0x35);
    b.out(0x20, 0x80); // rotate in auto-EOI
    pic.setIrq(0, true); pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x30);
    pic.setIrq(0, false); pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x31); // IRQ 0 went to the bottom
  });
});

describe('8259A cascade', () => {
  it('delivers slave IRQs through IR2, one at a time until both EOIs', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0xa1, 0x00);
    pic.setIrq(12, true);
    pic.setIrq(8, true);
    expect(irr(b, 0x20) & 0x04).toBe(0x04);
    expect(pic.acknowledge()).toBe(0x70);
    expect(pic.hasInterrupt()).toBe(false);
    b.out(0xa0, 0x20);
    expect(pic.hasInterrupt()).toBe(false); // master IR2 still in service
    b.out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x74);
    b.out(0xa0, 0x20); b.out(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('ranks the whole slave at IR2 of the master', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x21, 0x00); b.out(0xa1, 0x00);
    pic.setIrq(15, true);
    pic.setIrq(3, true);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x09);
    b.out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x77); // IRQ 15 (via IR2) before IRQ 3
    b.out(0xa0, 0x20); b.out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x0b);
  });

  it('ISA IRQ 2 is IRQ 9', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0xa1, 0x00);
    pic.setIrq(2, true);
    expect(pic.acknowledge()).toBe(0x71);
  });

  it('special fully nested mode lets a higher slave request nest', () => {
    const { pic, b } = setup();
    b.out(0x20, 0x11); b.out(0x21, 0x08); b.out(0x21, 0x04); b.out(0x21, 0x11); // SFNM
    b.out(0xa0, 0x11); b.out(0xa1, 0x70); b.out(0xa1, 0x02); b.out(0xa1, 0x01);
    pic.setIrq(12, true);
    expect(pic.acknowledge()).toBe(0x74);
    pic.setIrq(9, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x71);
  });
});

describe('8259A triggering and spurious interrupts', () => {
  it('ELCR: reserved bits read 0, level lines request while high', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x4d0, 0xff); b.out(0x4d1, 0xff);
    expect(b.in(0x4d0)).toBe(0xf8);
    expect(b.in(0x4d1)).toBe(0xde);
    b.out(0x4d0, 0x00); b.out(0x4d1, 0x0c); // IRQ 10, 11 level
    b.out(0xa1, 0x00);
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x72);
    b.out(0xa0, 0x20); b.out(0x20, 0x20);
    // still asserted: requests again after EOI
    expect(pic.acknowledge()).toBe(0x72);
    pic.setIrq(10, false); // the device is serviced
    b.out(0xa0, 0x20); b.out(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false);
    expect(irr(b, 0xa0)).toBe(0);
    // an edge line keeps its latch when it falls
    pic.setIrq(9, true); pic.setIrq(9, false);
    expect(pic.acknowledge()).toBe(0x71);
  });

  it('a level request that goes away before INTA gives spurious IRQ 15 (master IR2 in service)', () => {
    const { pic, b } = setup();
    seabiosInit(b);
    b.out(0x4d1, 0x04);
    b.out(0xa1, 0x00);
    pic.setIrq(10, true);
    expect(irr(b, 0x20) & 0x04).toBe(0x04);
    // the CPU has IF=0 for a while; the device drops its request
    pic.setIrq(10, false);
    expect(pic.hasInterrupt()).toBe(true); // the master's IR2 edge is latched
    expect(pic.acknowledge()).toBe(0x77);
    expect(isr(b, 0xa0)).toBe(0);
    expect(isr(b, 0x20)).toBe(0x04); // Linux EOIs the master only
    b.out(0x20, 0x62);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('INTA with nothing pending answers IRQ 7 without setting ISR', () => {
    const { pic, b } = setup();
    linuxInit(b, 0x00);
    expect(pic.acknowledge()).toBe(0x37);
    expect(isr(b, 0x20)).toBe(0);
  });

  it('ICW1 LTIM makes every line of a chip level-triggered', () => {
    const { pic, b } = setup();
    b.out(0x20, 0x19); b.out(0x21, 0x08); b.out(0x21, 0x04); b.out(0x21, 0x01);
    pic.setIrq(4, true);
    pic.setIrq(4, false);
    expect(pic.hasInterrupt()).toBe(false);
  });
});

describe('8259A snapshots', () => {
  it('restores in-service, pending and masked state with behaviour', () => {
    const { pic, b } = setup();
    linuxInit(b, 0xe0, 0xf0);
    b.out(0x4d1, 0x08);
    pic.setIrq(1, true);
    pic.setIrq(3, true);
    pic.setIrq(11, true);
    pic.setIrq(6, true); // masked
    expect(pic.acknowledge()).toBe(0x31);
    const state = JSON.parse(JSON.stringify(pic.save()));

    const pic2 = new Pic();
    const b2 = new Bench(pic2);
    b2.attach(pic2);
    pic2.restore(state);
    expect(pic2.hasInterrupt()).toBe(false); // IRQ 1 in service blocks
    expect(pic2.registers()).toEqual(pic.registers());
    b2.out(0x20, 0x61);
    expect(pic2.acknowledge()).toBe(0x3b); // IRQ 11 via IR2 beats IRQ 3
    b2.out(0xa0, 0x63); b2.out(0x20, 0x62);
    expect(pic2.acknowledge()).toBe(0x3b); // level-triggered and still high
    pic2.setIrq(11, false);
    b2.out(0xa0, 0x63); b2.out(0x20, 0x62);
    expect(pic2.acknowledge()).toBe(0x33);
    b2.out(0x20, 0x63);
    b2.out(0x21, 0x00);
    expect(pic2.acknowledge()).toBe(0x36);
    expect(() => pic2.restore({ version: 99 })).toThrow();
  });

  it('reset returns to the BIOS state', () => {
    const { pic, b } = setup();
    linuxInit(b, 0x00, 0x00);
    pic.setIrq(5, true);
    pic.acknowledge();
    pic.reset();
    expect(b.in(0x21)).toBe(0xfb);
    expect(b.in(0xa1)).toBe(0xff);
    expect(isr(b, 0x20)).toBe(0);
    b.out(0x21, 0x00);
    pic.setIrq(5, false); pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x0d);
  });
});
