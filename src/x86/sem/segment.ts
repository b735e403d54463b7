/**
 * Semantics: segment instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const segmentSemantics: Record<string, SemFn> = {};
