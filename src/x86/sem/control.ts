/**
 * Semantics: control instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const controlSemantics: Record<string, SemFn> = {};
