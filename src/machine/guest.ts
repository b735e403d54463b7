/**
 * The default guest: Debian 12's own i386 kernels (686 and 686-pae) and a
 * busybox initramfs, built from distribution packages into the git-ignored
 * guests/cache/. guests/linux/fetch.sh downloads and extracts the packages;
 * this module compiles our guest programs (static i386 C) and writes the
 * initramfs. Every step is incremental: outputs newer than their inputs are kept.
 *
 * The initramfs's /init mounts proc, sysfs and devtmpfs, runs /etc/bt86/commands
 * when the image was built with a command list (and powers off after it), and
 * otherwise starts a shell on the serial console.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, writeCpio, type CpioEntry } from './cpio.js';

export type KernelFlavour = '686' | '686-pae';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'guests'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the bt86 repository root');
}

export function guestCache(): string {
  return process.env.BT86_GUEST_CACHE ?? join(repoRoot(), 'guests', 'cache');
}

export interface GuestFiles {
  kernel: string;
  initrd: string;
  kernelVersion: string;
}

const INIT = `#!/bin/sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
export PATH=/bin:/usr/bin HOME=/root PS1='bt86:\\w# '
cd /root
if [ -f /etc/bt86/commands ]; then
  sh /etc/bt86/commands </dev/ttyS0 >/dev/ttyS0 2>&1
  poweroff -f
fi
exec setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1'
`;

function newer(out: string, inputs: string[]): boolean {
  if (!existsSync(out)) return false;
  const t = statSync(out).mtimeMs;
  return inputs.every((i) => !existsSync(i) || statSync(i).mtimeMs <= t);
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

/** Download the packages if missing (guests/linux/fetch.sh). */
export function fetchPackages(): void {
  const c = guestCache();
  if (['vmlinuz-686', 'vmlinuz-686-pae', 'busybox'].every((f) => existsSync(join(c, f)))) return;
  run('bash', [join(repoRoot(), 'guests', 'linux', 'fetch.sh')], 'downloading the guest packages');
}

/** Compile guests/linux/programs/*.c statically for i386. Returns [name, path] pairs. */
export function buildPrograms(): [string, string][] {
  const src = join(repoRoot(), 'guests', 'linux', 'programs');
  const outDir = join(guestCache(), 'programs');
  mkdirSync(outDir, { recursive: true });
  const out: [string, string][] = [];
  for (const f of readdirSync(src).filter((n) => n.endsWith('.c')).sort()) {
    const name = f.slice(0, -2);
    const bin = join(outDir, name);
    if (!newer(bin, [join(src, f)])) {
      run('gcc', ['-m32', '-O2', '-static', '-o', bin, join(src, f), '-lm'], `compiling ${f} (needs gcc-multilib)`);
    }
    out.push([name, bin]);
  }
  return out;
}

/** Build (or reuse) the initramfs, optionally with a command list to run instead of a shell. */
export function buildInitramfs(commands?: string): string {
  const c = guestCache();
  const busybox = join(c, 'busybox');
  const programs = buildPrograms();
  const name = commands === undefined ? 'initramfs.cpio.gz' : `initramfs-${hash(commands)}.cpio.gz`;
  const out = join(c, name);
  const self = fileURLToPath(import.meta.url);
  if (newer(out, [busybox, self, ...programs.map((p) => p[1])])) return out;
  const dir = (path: string): CpioEntry => ({ path, mode: S_IFDIR | 0o755 });
  const entries: CpioEntry[] = [
    dir('bin'), dir('dev'), dir('etc'), dir('proc'), dir('sys'), dir('tmp'), dir('root'), dir('usr'), dir('usr/bin'),
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { path: 'dev/ttyS0', mode: S_IFCHR | 0o600, rdevMajor: 4, rdevMinor: 64 },
    { path: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busybox) },
    { path: 'bin/sh', mode: S_IFLNK | 0o777, target: 'busybox' },
    { path: 'init', mode: S_IFREG | 0o755, data: new TextEncoder().encode(INIT) },
    ...programs.map(([n, p]): CpioEntry => ({ path: `usr/bin/${n}`, mode: S_IFREG | 0o755, data: readFileSync(p) })),
  ];
  if (commands !== undefined) {
    entries.push(dir('etc/bt86'), { path: 'etc/bt86/commands', mode: S_IFREG | 0o644, data: new TextEncoder().encode(commands) });
  }
  writeFileSync(out, gzipSync(writeCpio(entries), { level: 6 }));
  return out;
}

function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

/** Everything the default guest needs, building what is missing. */
export function ensureGuest(flavour: KernelFlavour = '686', commands?: string): GuestFiles {
  fetchPackages();
  const c = guestCache();
  const kernel = join(c, `vmlinuz-${flavour}`);
  return { kernel, initrd: buildInitramfs(commands), kernelVersion: readFileSync(`${kernel}.version`, 'utf8').trim() };
}
