/**
 * A writer for the cpio "newc" format (the SVR4 portable format with ASCII
 * headers that the Linux kernel unpacks as an initramfs; see the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst).
 */

export interface CpioEntry {
  path: string;
  /** File type and permissions, e.g. 0o100755 for an executable, 0o040755 for a directory. */
  mode: number;
  data?: Uint8Array;
  /** Symlink target (mode must be 0o120777). */
  target?: string;
  /** Character device numbers (mode 0o020xxx). */
  rdevMajor?: number;
  rdevMinor?: number;
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

const enc = new TextEncoder();

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Serialise entries (parents before children) and the TRAILER!!! record. */
export function writeCpio(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array) => { parts.push(b); size += b.length; };
  let ino = 1;
  const record = (path: string, mode: number, body: Uint8Array, major = 0, minor = 0) => {
    const name = enc.encode(path + '\0');
    const header = '070701' + [ino++, mode, 0, 0, 1, 0, body.length, 0, 0, major, minor, name.length, 0].map(hex8).join('');
    push(enc.encode(header));
    push(name);
    push(new Uint8Array(pad4(110 + name.length)));
    push(body);
    push(new Uint8Array(pad4(body.length)));
  };
  for (const e of entries) {
    const body = e.target !== undefined ? enc.encode(e.target) : e.data ?? new Uint8Array(0);
    record(e.path.replace(/^\/+/, ''), e.mode, body, e.rdevMajor ?? 0, e.rdevMinor ?? 0);
  }
  record('TRAILER!!!', 0, new Uint8Array(0));
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
