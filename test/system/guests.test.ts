/**
 * The system test guests (guests/tests/*.asm): each boots on a Machine (a ROM
 * at the reset vector, or a multiboot kernel), runs its checks of the IA-32
 * system architecture and reports each on the debug console. Every check named
 * here must report "ok", none may report "FAIL", and the guest must exit
 * through isa-debug-exit with status 0; so a guest that silently skips a check
 * fails too. Each run has an instruction budget, so a broken emulator cannot
 * hang the suite.
 */
import { describe, expect, it } from 'vitest';
import { runGuest, type GuestOptions, type GuestRun } from './run-guest.js';

function expectChecks(run: GuestRun, names: string[]): void {
  const context = `guest output:\n${run.output}`;
  expect(run.fail, context).toEqual([]);
  const missing = names.filter((n) => !run.ok.includes(n));
  expect(missing, context).toEqual([]);
  const unlisted = run.ok.filter((n) => !names.includes(n));
  expect(unlisted, `checks the test does not list\n${context}`).toEqual([]);
  expect(run.result.kind, context).toBe('exit');
  expect(run.result.exitStatus, context).toBe(1);
}

function guest(name: string, names: string[], opts: GuestOptions = {}): void {
  it(`${name}: ${names.length} checks`, () => {
    expectChecks(runGuest(name, opts), names);
  });
}

describe('system test guests', () => {
  guest('rom', [
    'rom.protected_mode', 'rom.reset_edx', 'rom.reset_msw', 'rom.reset_cs', 'rom.reset_ip', 'rom.low_alias',
    'rom.high_alias', 'rom.cs', 'rom.eip_high', 'rom.cr0_pe', 'rom.low_readonly', 'rom.high_readonly',
    'rom.ram_above_1m', 'rom.protected_again', 'rom.unreal_fs', 'rom.real_int', 'rom.real_int_flags', 'rom.real_gp',
  ], { rom: true });
});
