/**
 * Running GNU objdump on a raw buffer and reading its listing back, for the
 * disassembler comparison and the fuzz test. objdump is called once per buffer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ObjdumpLine {
  address: number;
  length: number;
  /** The instruction text with runs of whitespace collapsed to one space. */
  text: string;
}

export function objdumpAvailable(): boolean {
  const r = spawnSync('objdump', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Collapse whitespace as the comparison does. */
export function normalise(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

/**
 * Disassemble `bytes` as `objdump -D -b binary -m i386|i8086 -M intel` and return its
 * lines keyed by address. Bytes that objdump wraps onto continuation lines (a line
 * with an address and bytes but no text) are added to the instruction before them.
 */
export function objdump(bytes: Uint8Array, bits: 16 | 32): Map<number, ObjdumpLine> {
  const dir = mkdtempSync(join(tmpdir(), 'bt86-objdump-'));
  try {
    const file = join(dir, 'code.bin');
    writeFileSync(file, bytes);
    const r = spawnSync('objdump', ['-D', '-b', 'binary', '-m', bits === 32 ? 'i386' : 'i8086', '-M', 'intel', '--insn-width=16', file], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`objdump failed: ${r.stderr}`);
    return parseListing(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LINE = /^\s*([0-9a-f]+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*) *(?:\t(.*))?$/;

export function parseListing(listing: string): Map<number, ObjdumpLine> {
  const out = new Map<number, ObjdumpLine>();
  let last: ObjdumpLine | undefined;
  for (const line of listing.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const count = m[2]!.split(' ').length;
    if (m[3] === undefined) {
      if (last) last.length += count; // continuation of a long instruction
      continue;
    }
    last = { address: parseInt(m[1]!, 16), length: count, text: normalise(m[3]) };
    out.set(last.address, last);
  }
  return out;
}
