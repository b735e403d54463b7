/**
 * Semantics: bits instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const bitsSemantics: Record<string, SemFn> = {};
