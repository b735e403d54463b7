/**
 * Semantics: flagops instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const flagopsSemantics: Record<string, SemFn> = {};
