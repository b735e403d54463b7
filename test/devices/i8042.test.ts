import { describe, expect, it } from 'vitest';
import { Clock, NS_PER_INSTRUCTION } from '../../runtime/clock.js';
import { PortRegistry } from '../../runtime/ports.js';
import { PhysicalMemory } from '../../runtime/memory.js';
import { I8042, KBD_BYTE_NS } from '../../runtime/devices/i8042.js';
import { KEY_PAIRS, SET2_TO_SET1, asciiToSet1, set1ToSet2 } from '../../runtime/devices/scancodes.js';

const OBF = 0x01, IBF = 0x02, AUXDATA = 0x20, TIMEOUT = 0x40;
const CTR_KBDINT = 0x01, CTR_AUXINT = 0x02, CTR_KBDDIS = 0x10, CTR_AUXDIS = 0x20, CTR_XLATE = 0x40;

function setup() {
  let instructions = 0;
  const clock = new Clock('virtual', () => instructions);
  const ports = new PortRegistry();
  const irq = new Map<number, boolean>();
  const edges: number[] = [];
  const events: string[] = [];
  const kbc = new I8042({ onReset: () => events.push('reset'), onA20: (on) => events.push(`a20 ${on}`) });
  kbc.attach({
    ports,
    clock,
    irq: { setIrq: (line, high) => { if (high && !irq.get(line)) edges.push(line); irq.set(line, high); } },
    memory: new PhysicalMemory(1 << 20),
  });
  kbc.reset();
  const t = {
    kbc, clock, ports, irq, edges, events,
    status: () => ports.portIn(0x64, 1),
    data: () => ports.portIn(0x60, 1),
    advance(ns: number) {
      instructions += Math.ceil(ns / NS_PER_INSTRUCTION);
      clock.runDue();
    },
    /** i8042_wait_write + outb, as Linux does it. */
    command(cmd: number) {
      expect(t.status() & IBF).toBe(0);
      ports.portOut(0x64, 1, cmd);
    },
    write(v: number) {
      expect(t.status() & IBF).toBe(0);
      ports.portOut(0x60, 1, v);
    },
    /** i8042_wait_read: poll OBF every 50 us for up to 500 ms, then read. */
    read(): number | undefined {
      for (let i = 0; i < 10000; i++) {
        if (t.status() & OBF) return t.data();
        t.advance(50_000);
      }
      return undefined;
    },
    /** Everything the guest's IRQ handler would read within `ns`, one byte per IRQ 1/12 edge. */
    drain(ns = 50 * KBD_BYTE_NS): number[] {
      const got: number[] = [];
      const end = clock.now() + ns;
      while (clock.now() < end) {
        if (irq.get(1) || irq.get(12)) got.push(t.data());
        else t.advance(10_000);
      }
      return got;
    },
    /** __i8042_command: send the command, its parameters, read `nrecv` replies. */
    i8042Command(cmd: number, params: number[], nrecv: number): number[] {
      t.command(cmd);
      for (const p of params) t.write(p);
      const out: number[] = [];
      for (let i = 0; i < nrecv; i++) {
        const v = t.read();
        if (v === undefined) throw new Error(`i8042 command ${cmd.toString(16)}: timeout`);
        out.push(v);
      }
      return out;
    },
    flush(): number {
      let n = 0;
      while (t.status() & OBF && n < 16) {
        t.data();
        n++;
      }
      return n;
    },
  };
  return t;
}

type T = ReturnType<typeof setup>;

describe('8042 controller', () => {
  it('passes the self-test and interface tests', () => {
    const t = setup();
    expect(t.status() & (OBF | IBF)).toBe(0);
    expect(t.i8042Command(0xaa, [], 1)).toEqual([0x55]);
    expect(t.status() & 0x04).toBe(0x04); // system flag
    expect(t.i8042Command(0xab, [], 1)).toEqual([0x00]);
    expect(t.i8042Command(0xa9, [], 1)).toEqual([0x00]);
    expect(t.status() & 0x08).toBe(0x08); // last write was a command
    t.write(0xee);
    expect(t.status() & 0x08).toBe(0);
  });

  it('reads and writes the command byte (translation on by default)', () => {
    const t = setup();
    const [ctr] = t.i8042Command(0x20, [], 1);
    expect(ctr! & CTR_XLATE).toBe(CTR_XLATE);
    expect(ctr! & CTR_KBDINT).toBe(CTR_KBDINT);
    t.i8042Command(0x60, [0x00], 0);
    expect(t.i8042Command(0x20, [], 1)).toEqual([0x00]);
    expect(t.status() & 0x04).toBe(0); // SYS follows the command byte
    t.i8042Command(0x60, [0x47], 0);
    expect(t.i8042Command(0x20, [], 1)).toEqual([0x47]);
    expect(t.status() & 0x04).toBe(0x04);
    // The other RAM bytes.
    t.i8042Command(0x65, [0x12], 0);
    expect(t.i8042Command(0x25, [], 1)).toEqual([0x12]);
    expect(t.kbc.commandByte).toBe(0x47);
  });

  it('is probed by the Linux i8042 driver without errors, AUX port included', () => {
    const t = setup();
    t.kbc.typeText('x'); // keys typed before the driver: they must not confuse the probe
    t.advance(5 * KBD_BYTE_NS);
    // i8042_controller_check / selftest
    expect(t.flush()).toBeLessThan(16);
    expect(t.i8042Command(0xaa, [], 1)).toEqual([0x55]);
    // i8042_controller_init: read the CTR until stable, disable the keyboard and its IRQ.
    let ctr: number;
    let prev = -1;
    for (;;) {
      ctr = t.i8042Command(0x20, [], 1)[0]!;
      if (ctr === prev) break;
      prev = ctr;
    }
    expect(ctr & CTR_XLATE).toBeTruthy(); // not "direct": atkbd will rely on translation
    ctr = (ctr | CTR_KBDDIS) & ~CTR_KBDINT;
    t.i8042Command(0x60, [ctr], 0);
    t.flush();
    // i8042_check_aux: loopback, then the aux enable/disable bits.
    t.flush();
    t.command(0xd3);
    t.write(0x5a);
    expect(t.read()).toBe(0x5a);
    t.command(0xd3);
    t.write(0x5a);
    t.advance(1000);
    expect(t.status() & AUXDATA).toBe(AUXDATA);
    t.data();
    t.i8042Command(0xa7, [], 0);
    expect(t.i8042Command(0x20, [], 1)[0]! & CTR_AUXDIS).toBe(CTR_AUXDIS);
    t.i8042Command(0xa8, [], 0);
    expect(t.i8042Command(0x20, [], 1)[0]! & CTR_AUXDIS).toBe(0);
    ctr = (ctr | CTR_AUXDIS) & ~CTR_AUXINT;
    t.i8042Command(0x60, [ctr], 0);
    // i8042_check_aux_irq: D3 A5 must arrive through IRQ 12.
    ctr = (ctr & ~CTR_AUXDIS) | CTR_AUXINT;
    t.i8042Command(0x60, [ctr], 0);
    t.edges.length = 0;
    t.command(0xd3);
    t.write(0xa5);
    expect(t.edges).toEqual([12]);
    expect(t.status() & (OBF | AUXDATA)).toBe(OBF | AUXDATA);
    expect(t.data()).toBe(0xa5);
    expect(t.irq.get(12)).toBe(false);
    ctr = (ctr | CTR_AUXDIS) & ~CTR_AUXINT;
    t.i8042Command(0x60, [ctr], 0);
    // i8042_check_mux: the third loopback byte comes back unchanged, so no multiplexer.
    expect(t.i8042Command(0xd3, [0xf0], 1)).toEqual([0xf0]);
    expect(t.i8042Command(0xd3, [0x56], 1)).toEqual([0x56]);
    expect(t.i8042Command(0xd3, [0xa4], 1)).toEqual([0xa4]);
    // i8042_enable_kbd_port
    ctr = (ctr & ~CTR_KBDDIS) | CTR_KBDINT;
    t.i8042Command(0x60, [ctr], 0);
    // atkbd_probe: GETID through IRQ 1; the controller translates 83 to 41.
    t.edges.length = 0;
    // The early 'x': its make was flushed, its break waited for the port to be enabled.
    expect(t.drain()).toEqual([0xad]);
    t.write(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x41]);
    expect(t.edges).toEqual([1, 1, 1, 1]);
    // atkbd_deactivate, atkbd_set_repeat_rate, atkbd_set_leds, atkbd_activate
    t.write(0xf5);
    expect(t.drain()).toEqual([0xfa]);
    t.write(0xf3);
    expect(t.drain()).toEqual([0xfa]);
    t.write(0x00);
    expect(t.drain()).toEqual([0xfa]);
    t.write(0xed);
    expect(t.drain()).toEqual([0xfa]);
    t.write(0x02);
    expect(t.drain()).toEqual([0xfa]);
    t.write(0xf4);
    expect(t.drain()).toEqual([0xfa]);
    expect(t.kbc.keyboard.ledState).toBe(2);
    expect(t.kbc.keyboard.typematicRate).toBe(0);
    // psmouse on the empty AUX port: the byte times out, 0xFE with the timeout bit, through IRQ 12.
    ctr = (ctr & ~CTR_AUXDIS) | CTR_AUXINT;
    t.i8042Command(0x60, [ctr], 0);
    t.edges.length = 0;
    t.command(0xd4);
    t.write(0xf2);
    expect(t.edges).toEqual([12]);
    expect(t.status() & (OBF | AUXDATA | TIMEOUT)).toBe(OBF | AUXDATA | TIMEOUT);
    expect(t.data()).toBe(0xfe);
    expect(t.status() & (OBF | TIMEOUT)).toBe(0);
  });
});

describe('PS/2 keyboard behind the 8042', () => {
  it('resets with FA AA and identifies as AB 83 (AB 41 translated)', () => {
    const t = setup();
    t.write(0xff);
    expect(t.drain()).toEqual([0xfa, 0xaa]);
    t.write(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x41]);
    t.i8042Command(0x60, [t.kbc.commandByte & ~CTR_XLATE], 0);
    t.write(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x83]);
  });

  it('takes one byte time per byte from the keyboard, with an IRQ 1 for each', () => {
    const t = setup();
    t.write(0xff);
    t.advance(KBD_BYTE_NS - 20_000);
    expect(t.status() & OBF).toBe(0);
    t.advance(40_000);
    expect(t.status() & OBF).toBe(OBF);
    expect(t.irq.get(1)).toBe(true);
    expect(t.data()).toBe(0xfa);
    expect(t.irq.get(1)).toBe(false);
    // The next byte waits for the wire and for the buffer to be read.
    t.advance(5 * KBD_BYTE_NS);
    expect(t.irq.get(1)).toBe(true);
    expect(t.data()).toBe(0xaa);
    expect(t.edges).toEqual([1, 1]);
  });

  it('raises no IRQ 1 when the command byte disables it', () => {
    const t = setup();
    t.i8042Command(0x60, [CTR_XLATE], 0);
    t.write(0xee);
    t.advance(2 * KBD_BYTE_NS);
    expect(t.status() & OBF).toBe(OBF);
    expect(t.edges).toEqual([]);
    expect(t.data()).toBe(0xee);
  });

  it('gets and sets the scan code set', () => {
    const t = setup();
    t.i8042Command(0x60, [CTR_KBDINT], 0); // no translation
    t.write(0xf0);
    t.write(0x00);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0x02]);
    t.write(0xf0);
    t.write(0x03);
    expect(t.drain()).toEqual([0xfa, 0xfa]);
    expect(t.kbc.keyboard.scanCodeSet).toBe(3);
    t.write(0xf0);
    t.write(0x01);
    t.write(0xf0);
    t.write(0x00);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0x01]);
    t.kbc.pressKey([0x1e, 0x9e]); // set 1 goes out unchanged
    expect(t.drain()).toEqual([0x1e, 0x9e]);
    t.write(0xf0);
    t.write(0x07);
    expect(t.drain()).toEqual([0xfa, 0xfe]);
    // With translation, the set numbers read as set 1 codes 43/41/3F.
    t.write(0xf0);
    t.write(0x02);
    t.i8042Command(0x60, [CTR_KBDINT | CTR_XLATE], 0);
    t.write(0xf0);
    t.write(0x00);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0x41]);
  });

  it('answers echo, LEDs, typematic, resend, and FE for unknown commands', () => {
    const t = setup();
    t.write(0xee);
    expect(t.drain()).toEqual([0xee]);
    t.write(0xed);
    t.write(0x07);
    expect(t.drain()).toEqual([0xfa, 0xfa]);
    expect(t.kbc.keyboard.ledState).toBe(7);
    t.write(0xf3);
    t.write(0x7f);
    expect(t.drain()).toEqual([0xfa, 0xfa]);
    expect(t.kbc.keyboard.typematicRate).toBe(0x7f);
    t.write(0xfe);
    expect(t.drain()).toEqual([0xfa]);
    t.write(0x12);
    expect(t.drain()).toEqual([0xfe]);
    t.write(0xfe);
    expect(t.drain()).toEqual([0xfa]); // resend repeats the last byte, not the FE
    // A command where a parameter was expected starts over.
    t.write(0xed);
    t.write(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xfa, 0xab, 0x41]);
  });

  it('stops and resumes scanning with F5/F4, holding host keystrokes meanwhile', () => {
    const t = setup();
    t.write(0xf5);
    expect(t.drain()).toEqual([0xfa]);
    t.kbc.pressKey([0x10, 0x90]);
    expect(t.drain()).toEqual([]);
    expect(t.kbc.keyboard.pendingKeys).toBe(1);
    t.write(0xf4);
    expect(t.drain()).toEqual([0xfa, 0x10, 0x90]);
  });

  it('delivers set 1 key codes through translation and set 2 without it', () => {
    const t = setup();
    // a, right Ctrl (E0), Pause (E1 sequence)
    const keys = [0x1e, 0x9e, 0xe0, 0x1d, 0xe0, 0x9d, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5];
    t.kbc.pressKey(keys);
    expect(t.drain()).toEqual(keys);
    t.i8042Command(0x60, [CTR_KBDINT], 0);
    t.kbc.pressKey(keys);
    expect(t.drain()).toEqual([0x1c, 0xf0, 0x1c, 0xe0, 0x14, 0xe0, 0xf0, 0x14, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77]);
  });

  it('types ASCII text on a US layout', () => {
    const t = setup();
    t.kbc.typeText('Hi!\n');
    expect(t.drain(200 * KBD_BYTE_NS)).toEqual([
      0x2a, 0x23, 0xa3, 0xaa, // Shift h
      0x17, 0x97, // i
      0x2a, 0x02, 0x82, 0xaa, // Shift 1
      0x1c, 0x9c, // Enter
    ]);
    expect(asciiToSet1('\x03')).toEqual([[0x1d], [0x2e], [0xae], [0x9d]]); // Ctrl-C
    expect(() => asciiToSet1('é')).toThrow(RangeError);
  });

  it('holds keyboard bytes while the interface is disabled (0xAD) and releases them on 0xAE', () => {
    const t = setup();
    t.i8042Command(0xad, [], 0);
    t.kbc.pressKey([0x39, 0xb9]);
    t.advance(10 * KBD_BYTE_NS);
    expect(t.status() & OBF).toBe(0);
    expect(t.kbc.commandByte & CTR_KBDDIS).toBe(CTR_KBDDIS);
    // Controller replies still come through.
    expect(t.i8042Command(0x20, [], 1)[0]! & CTR_KBDDIS).toBe(CTR_KBDDIS);
    t.i8042Command(0xae, [], 0);
    expect(t.drain()).toEqual([0x39, 0xb9]);
  });

  it('gives each queued controller byte its own IRQ 1 edge', () => {
    const t = setup();
    t.command(0x20);
    t.command(0xaa);
    expect(t.edges).toEqual([1]);
    expect(t.data()).toBe(0x65);
    expect(t.edges).toEqual([1, 1]);
    expect(t.data()).toBe(0x55);
    expect(t.irq.get(1)).toBe(false);
  });

  it('writes the keyboard output buffer with 0xD2', () => {
    const t = setup();
    t.command(0xd2);
    t.write(0x5b);
    expect(t.irq.get(1)).toBe(true);
    expect(t.status() & (OBF | AUXDATA)).toBe(OBF);
    expect(t.data()).toBe(0x5b);
  });
});

describe('8042 output port: A20 and reset', () => {
  it('reads and writes the output port; A20 reaches the callback', () => {
    const t = setup();
    expect(t.kbc.a20).toBe(true);
    const [op] = t.i8042Command(0xd0, [], 1);
    expect(op! & 0x03).toBe(0x03);
    t.i8042Command(0xd1, [0xdd], 0);
    expect(t.kbc.a20).toBe(false);
    expect(t.i8042Command(0xd0, [], 1)[0]! & 0x02).toBe(0);
    t.i8042Command(0xd1, [0xdf], 0);
    t.i8042Command(0xd1, [0xdf], 0); // unchanged: no callback
    t.i8042Command(0xdd, [], 0);
    t.i8042Command(0xdf, [], 0);
    expect(t.events).toEqual(['a20 false', 'a20 true', 'a20 false', 'a20 true']);
  });

  it('resets the system on 0xFE and on output port bit 0 low, not on other pulses', () => {
    const t = setup();
    t.command(0xff);
    t.command(0xfd); // pulses A20 only
    expect(t.events).toEqual([]);
    // Linux's reboot through the keyboard controller: wait for IBF, write 0xFE.
    t.command(0xfe);
    expect(t.events).toEqual(['reset']);
    t.i8042Command(0xd1, [0xde], 0);
    expect(t.events).toEqual(['reset', 'reset']);
  });
});

describe('scan code tables', () => {
  it('translate set 2 key codes to set 1 and back', () => {
    // Every set 1 make code that a key produces maps to a set 2 code translating back to it.
    expect(new Set(KEY_PAIRS.map((k) => k[0])).size).toBe(KEY_PAIRS.length);
    expect(new Set(KEY_PAIRS.map((k) => k[1])).size).toBe(KEY_PAIRS.length);
    for (const [s1, s2] of KEY_PAIRS) {
      expect(SET2_TO_SET1[s2]).toBe(s1);
      expect(set1ToSet2([s1, s1 | 0x80])).toEqual([s2, 0xf0, s2]);
    }
    expect(SET2_TO_SET1[0x83]).toBe(0x41);
    expect(SET2_TO_SET1[0x84]).toBe(0x54);
    for (const b of [0xfa, 0xaa, 0xee, 0xfe, 0xab, 0xe0, 0xe1]) expect(SET2_TO_SET1[b]).toBe(b);
  });
});

describe('8042 snapshots', () => {
  it('restores controller and keyboard state mid-conversation', () => {
    const prepare = (t: T) => {
      t.i8042Command(0x60, [0x47], 0);
      t.write(0xf0);
      t.write(0x00);
      t.command(0xd1); // pending parameter
      t.kbc.typeText('ab');
      t.advance(KBD_BYTE_NS * 1.5);
    };
    const a = setup();
    prepare(a);
    const state = JSON.parse(JSON.stringify(a.kbc.save()));
    const b = setup();
    b.advance(7_777_777);
    b.kbc.restore(state);
    expect(b.irq.get(1)).toBe(true);
    expect(a.irq.get(1)).toBe(true);
    const rest = (t: T) => {
      t.write(0xdd); // completes the 0xD1
      return [t.kbc.a20, ...t.drain(100 * KBD_BYTE_NS), t.kbc.commandByte];
    };
    const ra = rest(a);
    expect(rest(b)).toEqual(ra);
    expect(ra).toEqual([false, 0xfa, 0xfa, 0x41, 0x1e, 0x9e, 0x30, 0xb0, 0x47]);
  });
});
