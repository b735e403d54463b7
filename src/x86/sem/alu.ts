/**
 * Semantics: alu instructions. (To be written.)
 */
import type { SemFn } from '../cpu.js';

export const aluSemantics: Record<string, SemFn> = {};
