/**
 * Semantics: bcd instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const bcdSemantics: Record<string, SemFn> = {};
