/**
 * `bt86 disasm FILE [--bits 16|32] [--org ADDR]`: an objdump-style listing of a raw
 * binary, from the same decoder and table the CPU uses.
 */
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { disassemble } from '../x86/disasm.js';

interface DisasmArgs { file: string; bits: number; org: string }

export function parseAddress(text: string): number {
  const v = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v) || v < 0 || v > 0xffffffff) throw new Error(`bad address '${text}' (want a number such as 0x7c00)`);
  return v;
}

export function formatListing(bytes: Uint8Array, bits: 16 | 32, org: number): string {
  const lines: string[] = [];
  for (const line of disassemble(bytes, bits, org)) {
    const hexBytes = [...line.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${line.address.toString(16).padStart(8, ' ')}:\t${hexBytes.padEnd(21)}\t${line.text}`);
  }
  return lines.join('\n') + '\n';
}

export function disasmCommand(setExit: (code: number) => void): CommandModule<object, DisasmArgs> {
  return {
    command: 'disasm <file>',
    describe: 'disassemble a raw binary (Intel syntax)',
    builder: (y) => y
      .positional('file', { type: 'string', demandOption: true, describe: 'raw binary file' })
      .option('bits', { type: 'number', default: 32, choices: [16, 32], describe: 'code size' })
      .option('org', { type: 'string', default: '0', describe: 'address of the first byte' }),
    handler: (args) => {
      let bytes: Uint8Array;
      let org: number;
      try {
        org = parseAddress(args.org);
        bytes = new Uint8Array(readFileSync(args.file));
      } catch (e) {
        process.stderr.write(`bt86: ${(e as Error).message}\n`);
        setExit(2);
        return;
      }
      process.stdout.write(formatListing(bytes, args.bits as 16 | 32, org));
    },
  };
}
