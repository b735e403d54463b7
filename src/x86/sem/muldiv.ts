/**
 * Semantics: muldiv instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const muldivSemantics: Record<string, SemFn> = {};
