/**
 * The 80286 real-mode vectors (SingleStepTests/80286 v1.0.0, converted to gzipped
 * JSON lines; see the data directory's README.md): locating the data, reading
 * the files and metadata.json, and naming each test's form.
 *
 * The data stays where it is (../shared/testdata relative to the repository
 * root, or $BT86_TESTDATA); nothing is copied into the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decode286, type Insn286, type Regs16 } from './insn286.js';

export const SUITE = 'sst-80286-real';

export interface SstTest {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Regs16; ram: [number, number][] };
  final: { regs: Partial<Regs16>; ram: [number, number][] };
  /** Present when the instruction faulted (or trapped) on the 286. */
  exception?: { number: number; flagsAddress: number };
}

/** The repository root: the nearest directory above this file with package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('conformance: cannot find the repository root (package.json)');
    dir = up;
  }
}

/**
 * The vectors' directory: $BT86_TESTDATA (the testdata directory, or the suite
 * directory itself), else ../shared/testdata/sst-80286-real beside the repository.
 */
export function dataDir(override?: string): string {
  const candidates: string[] = [];
  const base = override ?? process.env.BT86_TESTDATA;
  if (base) candidates.push(join(resolve(base), SUITE), resolve(base));
  else candidates.push(join(repoRoot(), '..', 'shared', 'testdata', SUITE));
  for (const c of candidates) if (existsSync(join(c, 'metadata.json'))) return c;
  throw new Error(`conformance: no ${SUITE} vectors (metadata.json) in ${candidates.join(' or ')}`);
}

/** The vector files in the directory, by name without `.jsonl.gz`, in opcode order. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl.gz'))
    .map((f) => f.slice(0, -'.jsonl.gz'.length))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function loadFile(dir: string, name: string): SstTest[] {
  const text = gunzipSync(readFileSync(join(dir, `${name}.jsonl.gz`))).toString('utf8');
  const out: SstTest[] = [];
  for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line) as SstTest);
  return out;
}

interface OpcodeMeta {
  status?: string;
  'flags-mask'?: number;
  reg?: Record<string, OpcodeMeta>;
}

export interface FormInfo {
  status: string;
  /** AND-ed into expected and actual FLAGS: the flags the 286 leaves undefined are 0 here. */
  flagsMask: number;
}

/** metadata.json: each opcode's status and undefined-flags mask, per ModRM.reg for groups. */
export class Metadata {
  private readonly opcodes: Record<string, OpcodeMeta>;

  constructor(json: { opcodes: Record<string, OpcodeMeta> }) {
    this.opcodes = json.opcodes;
  }

  static load(dir: string): Metadata {
    return new Metadata(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')));
  }

  /** Whether ModRM.reg selects the instruction of this opcode (a group). */
  grouped(op: string): boolean {
    return this.opcodes[op]?.reg !== undefined;
  }

  /** Form key of a decoded instruction: `80.3` for a group, `00` otherwise (upper-case hex). */
  formKey(d: Insn286): string {
    const op = d.opcode.toString(16).toUpperCase().padStart(2, '0');
    return this.grouped(op) ? `${op}.${d.reg}` : op;
  }

  form(key: string): FormInfo | undefined {
    const [op, reg] = key.split('.');
    let m: OpcodeMeta | undefined = this.opcodes[op!];
    if (m && reg !== undefined) m = m.reg?.[reg];
    if (!m || m.status === undefined) return undefined;
    return { status: m.status, flagsMask: m['flags-mask'] ?? 0xffff };
  }
}

/** The form key of a test, classified from its own bytes (per test, by ModRM.reg for groups). */
export function formOf(meta: Metadata, t: SstTest): string {
  return meta.formKey(decode286(t.bytes));
}

/** Status values counted in the top-level totals; the others are reported per form only. */
export function isNormalStatus(status: string): boolean {
  return status === 'normal' || status === 'alias';
}
