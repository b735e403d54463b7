/**
 * Semantics: data instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const dataSemantics: Record<string, SemFn> = {};
