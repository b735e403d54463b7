/**
 * A bare CPU on flat RAM with a port bus that reads as open bus (0xFF...): what
 * the instruction-level tests (conformance vectors, differential runs, micro
 * benchmarks) need, without the PC's devices.
 */
import { Cpu, type PortBus } from '../x86/cpu.js';
import { SEMANTICS } from '../x86/sem/index.js';
import { FlatMemory, PhysicalMemory } from '../../runtime/memory.js';

export class OpenBus implements PortBus {
  portIn(_port: number, size: 1 | 2 | 4): number {
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }
  portOut(): void {}
}

export interface BareMachine {
  cpu: Cpu;
  phys: PhysicalMemory;
}

export function createBareMachine(memSize = 16 << 20, ports: PortBus = new OpenBus()): BareMachine {
  const phys = new PhysicalMemory(memSize);
  const cpu = new Cpu(new FlatMemory(phys), ports, SEMANTICS);
  return { cpu, phys };
}
