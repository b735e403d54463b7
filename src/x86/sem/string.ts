/**
 * Semantics: string instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const stringSemantics: Record<string, SemFn> = {};
