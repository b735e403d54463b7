/**
 * Semantics: system instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const systemSemantics: Record<string, SemFn> = {};
