/**
 * Conversions between nanoseconds of virtual time and the cycles of a device's
 * own oscillator (the PIT's 1.193182 MHz, the RTC's 32.768 kHz), exact for
 * any machine lifetime: a product like `ns * hz` passes 2^53 after a few weeks,
 * so both directions split the time into whole seconds and a remainder.
 *
 * Cycle n of an oscillator of `hz` starts at ns = n * 1e9 / hz; the cycle count at
 * time t is the number of cycle starts in (0, t], i.e. floor(t * hz / 1e9).
 */

/** Whole cycles of a `hz` oscillator elapsed after `ns` nanoseconds (ns >= 0). */
export function cyclesAt(ns: number, hz: number): number {
  if (ns <= 0) return 0;
  const s = Math.floor(ns / 1e9);
  const r = ns - s * 1e9;
  return s * hz + Math.floor((r * hz) / 1e9);
}

/** The first nanosecond (an integer) at which cyclesAt() reaches `n`. */
export function nsOfCycle(n: number, hz: number): number {
  if (n <= 0) return 0;
  const s = Math.floor(n / hz);
  const r = n - s * hz;
  let ns = Math.ceil((r * 1e9) / hz);
  // Guard the rounding of the division: the smallest integer ns with ns*hz >= r*1e9.
  while (ns * hz < r * 1e9) ns++;
  while (ns > 0 && (ns - 1) * hz >= r * 1e9) ns--;
  return s * 1e9 + ns;
}
