/**
 * Small guest kernels of our own (guests/kernels/*.asm, committed assembled) run
 * on a bare CPU in 32-bit flat mode: the workloads of the cold-tier and
 * translator benchmarks and of their tests. Each kernel starts at 0x1000 with
 * its parameter in ECX and halts with its result in EAX.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ATTR, REG, SREG } from '../x86/state.js';
import { createBareMachine, type BareMachine } from './bare.js';

export const KERNEL_BASE = 0x1000;
export const KERNELS = ['intloop', 'string', 'calls'] as const;
export type KernelName = (typeof KERNELS)[number];

function repoRoot(): string {
  // This file is src/machine/kernels.ts, or dist/src/machine/kernels.js once built.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('cannot find the bt86 repository root');
}

export function kernelImage(name: KernelName): Uint8Array {
  return new Uint8Array(readFileSync(join(repoRoot(), 'guests', 'kernels', `${name}.bin`)));
}

/** Put the CPU in 32-bit flat mode through the hidden descriptor caches. */
export function enterFlat32(m: BareMachine): void {
  const { cpu } = m;
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = 0;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = ATTR.P | ATTR.S | ATTR.WRITABLE | ATTR.ACCESSED | ATTR.DB | ATTR.G;
  }
  cpu.segAttr[SREG.CS] = ATTR.P | ATTR.S | ATTR.CODE | ATTR.WRITABLE | ATTR.ACCESSED | ATTR.DB | ATTR.G;
}

/** Load a kernel into a machine, ready to run with parameter `ecx`. */
export function loadKernel(m: BareMachine, name: KernelName, ecx: number): void {
  m.phys.load(KERNEL_BASE, kernelImage(name));
  enterFlat32(m);
  m.cpu.r32.fill(0);
  m.cpu.r32[REG.ECX] = ecx;
  m.cpu.r32[REG.ESP] = 0x80000;
  m.cpu.eip = KERNEL_BASE;
  m.cpu.halted = false;
}

export interface KernelResult {
  eax: number;
  instructions: number;
}

/** Run a kernel to its HLT (or until `maxInstructions`, which is an error). */
export function runKernel(m: BareMachine, name: KernelName, ecx: number, maxInstructions = 1e10): KernelResult {
  loadKernel(m, name, ecx);
  const start = m.cpu.instructionCount;
  const reason = m.cpu.run(maxInstructions);
  if (reason !== 'halt') throw new Error(`kernel ${name} did not halt (${reason}) at eip ${m.cpu.eip.toString(16)}`);
  return { eax: m.cpu.r32[REG.EAX]! >>> 0, instructions: m.cpu.instructionCount - start };
}

export { createBareMachine };
