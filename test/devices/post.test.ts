import { describe, expect, it } from 'vitest';
import { PostPort } from '../../runtime/devices/post.js';
import { Bench } from './bench.js';

describe('POST code port (0x80)', () => {
  it('keeps the last code and reads it back', () => {
    const b = new Bench();
    const post = b.attach(new PostPort());
    expect(b.in(0x80)).toBe(0);
    b.out(0x80, 0x55);
    b.out(0x80, 0xaa);
    expect(post.code).toBe(0xaa);
    expect(b.in(0x80)).toBe(0xaa);
  });

  it('splits wider accesses: the low byte is the code', () => {
    const b = new Bench();
    const post = b.attach(new PostPort());
    b.out(0x80, 0x1234, 2);
    expect(post.code).toBe(0x34);
    expect(b.in(0x80, 2)).toBe(0xff34); // 0x81 is nobody's here
  });

  it('is cheap enough for I/O delays', () => {
    const b = new Bench();
    b.attach(new PostPort());
    const start = performance.now();
    for (let i = 0; i < 1_000_000; i++) b.out(0x80, i & 0xff);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('save/restore and reset', () => {
    const b = new Bench();
    const post = b.attach(new PostPort());
    b.out(0x80, 0x42);
    const state = JSON.parse(JSON.stringify(post.save()));
    const b2 = new Bench();
    const post2 = b2.attach(new PostPort());
    post2.restore(state);
    expect(b2.in(0x80)).toBe(0x42);
    post2.reset();
    expect(b2.in(0x80)).toBe(0);
    expect(() => post2.restore({})).toThrow();
  });
});
