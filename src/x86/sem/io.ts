/**
 * Semantics: io instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const ioSemantics: Record<string, SemFn> = {};
