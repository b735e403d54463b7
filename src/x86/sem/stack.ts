/**
 * Semantics: stack instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const stackSemantics: Record<string, SemFn> = {};
