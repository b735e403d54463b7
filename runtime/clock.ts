/**
 * Virtual time. Devices read time only from here (never Date.now()), so a run
 * can be deterministic or follow the host.
 *
 * - 'virtual': time is derived from the instructions executed (a fixed nominal
 *   rate), and a halted CPU jumps straight to the next timer deadline, so runs
 *   are reproducible and idle time costs nothing.
 * - 'realtime': time follows the host's monotonic clock; a halted CPU waits.
 *
 * Timers are one-shot callbacks at an absolute time in nanoseconds, kept in a
 * binary heap; devices re-arm periodic timers from their callbacks.
 */

export type ClockMode = 'virtual' | 'realtime';

/** Nominal speed used to turn instructions into virtual time: 100 MIPS, 10 ns each. */
export const NS_PER_INSTRUCTION = 10;

export interface Timer {
  deadline: number;
  callback: () => void;
  /** Position in the heap, or -1 when not armed. */
  index: number;
}

export class Clock {
  private readonly heap: Timer[] = [];
  /** Virtual mode: ns at the last sync, and the instruction count then. */
  private baseNs = 0;
  private baseInstructions = 0;
  private hostStart: number;

  constructor(readonly mode: ClockMode, private readonly instructions: () => number, private readonly hostNow: () => number = () => performance.now()) {
    this.hostStart = hostNow();
  }

  /** Current time in nanoseconds since power-on. */
  now(): number {
    if (this.mode === 'realtime') return (this.hostNow() - this.hostStart) * 1e6;
    return this.baseNs + (this.instructions() - this.baseInstructions) * NS_PER_INSTRUCTION;
  }

  /** Virtual mode: move time forward to `ns` without executing (a halted CPU). */
  skipTo(ns: number): void {
    if (this.mode === 'realtime') return;
    const now = this.now();
    if (ns <= now) return;
    this.baseNs = ns;
    this.baseInstructions = this.instructions();
  }

  createTimer(callback: () => void): Timer {
    return { deadline: Infinity, callback, index: -1 };
  }

  /** Arm (or re-arm) a timer at absolute time `deadline` ns. */
  arm(t: Timer, deadline: number): void {
    if (t.index >= 0) this.remove(t);
    t.deadline = deadline;
    t.index = this.heap.length;
    this.heap.push(t);
    this.up(t.index);
  }

  cancel(t: Timer): void {
    if (t.index >= 0) this.remove(t);
  }

  /** The earliest deadline, or Infinity. */
  nextDeadline(): number {
    return this.heap.length ? this.heap[0]!.deadline : Infinity;
  }

  /** Run every timer whose deadline has passed. Returns how many ran. */
  runDue(): number {
    let n = 0;
    const now = this.now();
    while (this.heap.length && this.heap[0]!.deadline <= now) {
      const t = this.heap[0]!;
      this.remove(t);
      t.callback();
      if (++n > 10000) break; // a device re-arming in the past cannot stall the machine
    }
    return n;
  }

  private remove(t: Timer): void {
    const i = t.index;
    const last = this.heap.pop()!;
    t.index = -1;
    if (last !== t) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(i);
    }
  }
  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.deadline <= h[i]!.deadline) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      h[p]!.index = p;
      h[i]!.index = i;
      i = p;
    }
  }
  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.deadline < h[m]!.deadline) m = l;
      if (r < h.length && h[r]!.deadline < h[m]!.deadline) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      h[m]!.index = m;
      h[i]!.index = i;
      i = m;
    }
  }
}
