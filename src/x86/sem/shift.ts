/**
 * Semantics: shift instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const shiftSemantics: Record<string, SemFn> = {};
