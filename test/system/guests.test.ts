/**
 * The system test guests (guests/tests/*.asm): each boots on a Machine (a ROM
 * at the reset vector, or a multiboot kernel), runs its checks of the IA-32
 * system architecture and reports each on the debug console. Every check named
 * here must report "ok", none may report "FAIL", and the guest must exit
 * through isa-debug-exit with status 0; so a guest that silently skips a check
 * fails too. Each run has an instruction budget, so a broken emulator cannot
 * hang the suite, and the triple-fault guest must end in a shutdown.
 *
 * The lists are kept equal to the checks in the sources (a test below), and
 * the committed binaries equal to what nasm makes of the sources when nasm is
 * installed (CI installs it; guests/tests/build.sh rebuilds them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_DIR, hostInterrupts, runGuest, type GuestOptions, type GuestRun } from './run-guest.js';

const CHECKS: Record<string, string[]> = {
  rom: [
    'rom.protected_mode', 'rom.reset_edx', 'rom.reset_msw', 'rom.reset_cs', 'rom.reset_ip', 'rom.low_alias',
    'rom.high_alias', 'rom.cs', 'rom.eip_high', 'rom.cr0_pe', 'rom.low_readonly', 'rom.high_readonly',
    'rom.ram_above_1m', 'rom.protected_again', 'rom.unreal_fs', 'rom.real_int', 'rom.real_int_flags', 'rom.real_gp',
  ],
  seg: [
    'seg.null_ds_load', 'seg.null_ds_use', 'seg.gdt_limit', 'seg.ldt_null', 'seg.system_ds', 'seg.execonly_ds',
    'seg.np_ds', 'seg.rpl_ds', 'seg.dpl1_ds', 'seg.code_read_ok', 'seg.code_read', 'seg.code_write',
    'seg.readonly_write', 'seg.readonly_read', 'seg.ss_null', 'seg.ss_readonly', 'seg.ss_dpl', 'seg.ss_rpl',
    'seg.ss_code', 'seg.ss_np', 'seg.limit_byte', 'seg.limit_dword_ok', 'seg.limit_value', 'seg.limit_dword',
    'seg.ss_limit', 'seg.gran_ok', 'seg.gran_limit', 'seg.lsl_gran', 'seg.expdown_low', 'seg.expdown_ok',
    'seg.expdown_value', 'seg.expdown_top', 'seg.expdown_top_value', 'seg.expdown16_ok', 'seg.expdown16_value',
    'seg.expdown16_top', 'seg.expdown16_beyond', 'seg.ss_expdown', 'seg.accessed_clear', 'seg.accessed_set',
    'seg.hidden_cache', 'seg.cache_reload', 'seg.lar_code_zf', 'seg.lar_code', 'seg.lar_tss', 'seg.lar_gate_zf',
    'seg.lar_gate', 'seg.lar_null', 'seg.lar_keep', 'seg.lar_rpl', 'seg.lar_conforming', 'seg.lar_limit',
    'seg.lsl_gate', 'seg.lsl_byte', 'seg.lsl_ldt', 'seg.lsl_tss', 'seg.verr_execonly', 'seg.verr_code',
    'seg.verw_readonly', 'seg.verw_data', 'seg.verw_code', 'seg.verr_system', 'seg.verr_conforming',
    'seg.verw_not_present', 'seg.verw_rpl', 'seg.arpl_zf', 'seg.arpl_adjust', 'seg.arpl_keep_zf', 'seg.arpl_keep',
    'seg.sgdt_limit', 'seg.sgdt_base', 'seg.sidt_limit', 'seg.sidt_base', 'seg.sldt_null', 'seg.str', 'seg.smsw_reg',
    'seg.smsw_mem', 'seg.lldt_type', 'seg.lldt_ti', 'seg.sldt', 'seg.ldt_load', 'seg.ldt_base', 'seg.ldt_np',
    'seg.ldt_limit', 'seg.lldt_null', 'seg.ltr_busy', 'seg.ltr_np', 'seg.ltr_type', 'seg.ltr', 'seg.ltr_busy_bit',
    'seg.str_new', 'seg.jmp_np', 'seg.jmp_dpl', 'seg.jmp_data', 'seg.jmp_limit', 'seg.jmp_conforming',
    'seg.conforming_cs', 'seg.cs_limit', 'seg.cs_limit_eip', 'seg.cs_limit_cs', 'seg.pop_es_np', 'seg.pop_precise',
    'seg.les_np', 'seg.les_precise', 'seg.mov_cs',
  ],
  paging: [
    'pg.enabled', 'pg.cr3', 'pg.ad_clear', 'pg.read_mapped', 'pg.accessed', 'pg.pde_accessed', 'pg.dirty',
    'pg.write_mapped', 'pg.np_read', 'pg.np_read_cr2', 'pg.np_write', 'pg.np_write_cr2', 'pg.pde_np', 'pg.pde_np_cr2',
    'pg.fetch_np', 'pg.fetch_cr2', 'pg.fetch_eip', 'pg.wp0_user_ro', 'pg.wp0_super_ro', 'pg.wp0_dirty',
    'pg.wp1_user_ro', 'pg.wp1_cr2', 'pg.wp1_super_ro', 'pg.wp1_unchanged', 'pg.wp1_read', 'pg.split_write',
    'pg.split_cr2', 'pg.split_atomic', 'pg.user_super_read', 'pg.user_ro_write', 'pg.user_np_read',
    'pg.user_np_write', 'pg.user_read', 'pg.user_write', 'pg.back_in_ring0', 'pg.rsvd_pse', 'pg.rsvd_pse_write',
    'pg.pse_read', 'pg.pse_write', 'pg.pse_dirty', 'pg.tlb_fill', 'pg.tlb_stale', 'pg.invlpg', 'pg.global_fill',
    'pg.nonglobal_fill', 'pg.global_kept', 'pg.nonglobal_flushed', 'pg.pge_toggle_flush', 'pg.global_stale',
    'pg.global_invlpg', 'pg.cr0_fill', 'pg.cr0_flush', 'pae.enabled', 'pae.read', 'pae.accessed', 'pae.dirty',
    'pae.xd_reserved', 'pae.rsvd', 'pae.np', 'pae.np_fetch', 'pae.efer_nxe', 'pae.large_read', 'pae.nx_read',
    'pae.nx_value', 'pae.nx_fetch', 'pae.nx_cr2', 'pae.exec', 'pae.nx_large', 'pae.np_fetch_nxe', 'pae.nx_fetch_user',
    'pae.pdpte_rsvd', 'pae.cr3_kept', 'pae.still_mapped',
  ],
  intr: [
    'int.de', 'int.de_eip', 'int.de_overflow', 'int.int1', 'int.int1_eip', 'int.bp', 'int.bp_eip', 'int.int_3',
    'int.int_3_eip', 'int.of', 'int.of_eip', 'int.no_of', 'int.br', 'int.br_eip', 'int.br_in_range', 'int.ud',
    'int.ud_eip', 'int.ud_lock', 'int.nm', 'int.nm_eip', 'int.nm_clts', 'int.ts', 'int.np', 'int.ss', 'int.gp',
    'int.np_gate', 'int.idt_type', 'int.idt_limit', 'int.gate_null_cs', 'int.gate_data_cs', 'int.gate_cs_np',
    'int.gate_limit', 'int.gate_dpl', 'int.gate_dpl_int3', 'int.exception_ignores_dpl', 'int.df', 'int.df_eip',
    'int.df_de', 'int.serial_np', 'int.serial_np_ext', 'int.gate32_frame', 'int.gate32_if', 'int.gate32_saved_if',
    'int.trap32_if', 'int.iret_if', 'int.gate16_frame', 'int.gate16_ip', 'int.gate16_cs', 'int.gate16_saved_if',
    'int.gate16_if', 'int.trap16_if', 'int.gate32_from16_frame', 'int.gate32_from16_eip', 'int.gate16_errcode',
    'int.gate16_errcode_ip', 'int.gate16_errcode_cs', 'int.ac_ring0', 'int.ac', 'int.ac_aligned', 'int.ac_word',
    'int.ac_off', 'int.step_count', 'int.step_first', 'int.step_mov_ss', 'int.step_third', 'int.step_dr6_bs',
    'int.step_handler_tf', 'int.step_into_int', 'int.step_after_int', 'int.step_after_int2', 'int.nmi', 'int.nmi_eip',
    'int.nmi_blocked', 'int.nmi_after_iret', 'int.nmi_mov_ss_shadow', 'int.nmi_no_shadow', 'int.sti_shadow',
    'int.irq_count', 'int.irq_masked', 'int.irq_unmasked', 'int.irq_now', 'int.hlt_wakes', 'int.irq_np_ext',
  ],
  priv: [
    'priv.cpl3_cs', 'priv.cpl3_ss', 'priv.iret_esp', 'priv.iret_cs', 'priv.int_ss0', 'priv.int_stack_switch',
    'priv.int_frame_eip', 'priv.int_frame_cs', 'priv.int_frame_esp', 'priv.int_frame_ss', 'priv.int_handler_cs',
    'priv.hlt', 'priv.cli', 'priv.sti', 'priv.mov_to_cr0', 'priv.mov_from_cr0', 'priv.mov_from_cr3', 'priv.mov_dr',
    'priv.lgdt', 'priv.lidt', 'priv.lldt', 'priv.ltr', 'priv.lmsw', 'priv.clts', 'priv.invlpg', 'priv.wbinvd',
    'priv.invd', 'priv.rdmsr', 'priv.wrmsr', 'priv.rdpmc', 'priv.sysexit', 'priv.in_denied', 'priv.out_denied',
    'priv.ins_denied', 'priv.outs_denied', 'priv.unprivileged', 'priv.io_bitmap_allow', 'priv.io_bitmap_word',
    'priv.io_bitmap_dword', 'priv.io_beyond_map', 'priv.outs_allowed', 'priv.popf_cpl3', 'priv.ds_dpl',
    'priv.exc_ss0', 'priv.ds_rpl0', 'priv.jmp_inner', 'priv.call_inner', 'priv.retf_inner', 'priv.iret_inner',
    'priv.conf_call', 'priv.conf_cpl', 'priv.conf_back', 'priv.cg_conforming_cpl', 'priv.cg_conforming_stack',
    'priv.iret_cpl3_flags', 'priv.iret_cpl3_cs', 'priv.lsl_cpl3_dpl0', 'priv.verw_cpl3', 'priv.verr_cpl3_dpl0',
    'priv.lar_cpl3_gate', 'priv.cli_iopl3', 'priv.io_iopl3', 'priv.popf_iopl3', 'priv.iret_null_ds',
    'priv.iret_keep_es', 'priv.iret_null_code', 'priv.iret_keep_conforming', 'priv.cg32_retf_esp',
    'priv.cg32_retf_null_es', 'priv.cg32_retf_keep_fs', 'priv.cg32_retf_cs', 'priv.cg32_cs', 'priv.cg32_ret_eip',
    'priv.cg32_ret_cs', 'priv.cg32_param1', 'priv.cg32_param2', 'priv.cg32_old_esp', 'priv.cg32_old_ss',
    'priv.cg32_stack', 'priv.ring1_cs', 'priv.ring1_ss', 'priv.ring1_esp', 'priv.cg_dpl', 'priv.cg_np',
    'priv.cg_jmp_inner', 'priv.cg16_retf_sp', 'priv.cg16_retf_cs', 'priv.cg16_ret_ip', 'priv.cg16_ret_cs',
    'priv.cg16_param1', 'priv.cg16_param2', 'priv.cg16_old_sp', 'priv.cg16_old_ss', 'priv.cg16_stack',
    'priv.retf_outer_esp', 'priv.retf_outer_null_fs', 'priv.sysenter_msr', 'priv.sysexit_cs', 'priv.sysexit_ss',
    'priv.sysexit_esp', 'priv.sysenter_cs', 'priv.sysenter_ss', 'priv.sysenter_esp', 'priv.sysenter_if',
    'priv.sysenter_null', 'priv.pat_default_lo', 'priv.pat_default_hi', 'priv.pat_rw', 'priv.mtrr_def_type',
    'priv.mtrr_phys_base', 'priv.mtrrcap_vcnt', 'priv.msr_unknown', 'priv.efer_lme', 'priv.tsc_msr', 'priv.rdtsc_tsd',
    'priv.rdtsc_user', 'priv.cr4_vme', 'priv.cr1_ud', 'priv.cr5_ud', 'priv.cr0_pg_no_pe', 'priv.cr0_nw_no_cd',
    'priv.cr0_et', 'priv.lmsw_keeps_pe', 'priv.lmsw_ts', 'priv.dr0', 'priv.dr7', 'priv.dr6', 'priv.dr4_alias',
    'priv.cr4_de', 'priv.cr4_mce', 'priv.wbinvd', 'priv.cpuid_vendor', 'priv.cpuid_features', 'priv.cpuid_cmov',
    'priv.cpuid_no_simd', 'priv.cpuid_no_vme', 'priv.cpuid_ext_max', 'priv.cpuid_nx', 'priv.cpuid_brand',
    'priv.cpuid_brand2',
  ],
  tasks: [
    'tasks.jmp_regs_restored', 'tasks.jmp_tr', 'tasks.jmp_old_not_busy', 'tasks.jmp_new_busy', 'tasks.cr0_ts',
    'tasks.jmp_no_nt', 'tasks.ldtr', 'tasks.ldt_segment', 'tasks.cr3_loaded', 'tasks.cr3_mapping', 'tasks.cr3_back',
    'tasks.main_mapping', 'tasks.ldtr_back', 'tasks.a_saved_ebx', 'tasks.a_saved_eip', 'tasks.jmp_back_busy',
    'tasks.jmp_back_not_busy', 'tasks.str_back', 'tasks.call_regs_restored', 'tasks.call_nt', 'tasks.call_link',
    'tasks.call_old_busy', 'tasks.call_new_busy', 'tasks.iret_not_busy', 'tasks.iret_caller_busy',
    'tasks.iret_saved_nt_clear', 'tasks.caller_nt_clear', 'tasks.gdt_task_gate', 'tasks.call_busy', 'tasks.jmp_busy',
    'tasks.not_present', 'tasks.tss_dpl', 'tasks.gate_dpl', 'tasks.idt_gate', 'tasks.idt_gate_link',
    'tasks.idt_gate_nt', 'tasks.idt_gate_dpl', 'tasks.idt_gate_from_cpl3', 'tasks.idt_gate_back_to_cpl3',
    'tasks.gp_task_errcode', 'tasks.gp_task_link', 'tasks.gp_task_eip', 'tasks.gp_task_esp', 'tasks.df_task',
    'tasks.df_errcode', 'tasks.df_link', 'tasks.df_saved_ss', 'tasks.df_resumed_ss', 'tasks.ss_new_stack_errcode',
    'tasks.ss_saved_cs', 'tasks.tss16_regs', 'tasks.tss16_tr', 'tasks.tss16_nt', 'tasks.tss16_link', 'tasks.tss16_cs',
    'tasks.tss16_sp', 'tasks.tss16_not_busy', 'tasks.tss16_saved_ip', 'tasks.tss16_saved_bx',
    'tasks.iret_target_not_busy', 'tasks.ts_new_task', 'tasks.ts_new_task_err', 'tasks.ts_new_task_eip',
    'tasks.ts_new_task_tr', 'tasks.ts_new_task_esp',
  ],
  v86: [
    'v86.back_in_ring0', 'v86.cli', 'v86.sti', 'v86.pushf', 'v86.popf', 'v86.int_n', 'v86.iret', 'v86.in_allowed',
    'v86.in_denied', 'v86.out_allowed', 'v86.in_word_denied', 'v86.hlt', 'v86.mov_cr0', 'v86.lgdt', 'v86.sldt',
    'v86.lar', 'v86.int3', 'v86.de', 'v86.smsw', 'v86.limit', 'v86.ins_denied', 'v86.outs_allowed', 'v86.seg_load',
    'v86.cpuid', 'v86.into', 'v86.pushfd', 'v86.wbinvd', 'v86.addr32_limit', 'v86.smsw_value', 'v86.seg_base',
    'v86.handler_ds_null', 'v86.frame_vm', 'v86.frame_ds', 'v86.frame_ss', 'v86.iopl3_cli_sti',
    'v86.iopl3_pushf_popf', 'v86.iopl3_int_n', 'v86.iopl3_io_bitmap', 'v86.iopl3_iret', 'v86.gate_target_dpl3',
    'v86.gate_dpl0', 'v86.popf_keeps_iopl', 'v86.iret_landed', 'v86.task_back', 'v86.task_ran', 'v86.task_saved_vm',
    'v86.task_saved_cs', 'v86.task_saved_ds', 'v86.task_link',
  ],
  triple: [
    'triple.rebooted', 'triple.armed',
  ],
};

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

function guest(name: string, opts: GuestOptions = {}): void {
  const names = CHECKS[name]!;
  it(`${name}: ${names.length} checks`, () => {
    expectChecks(runGuest(name, opts), names);
  });
}

describe('system test guests', () => {
  guest('rom', { rom: true });
  guest('seg');
  guest('paging');
  guest('intr', hostInterrupts());
  guest('priv');
  guest('tasks');
  guest('v86');

  for (const cmdline of ['', 'noidt']) {
    const what = cmdline ? 'an empty IDT' : 'a #PF handler that faults';
    it(`triple fault from ${what}: shutdown with -no-reboot`, () => {
      const run = runGuest('triple', { cmdline, noReboot: true, maxInstructions: 1_000_000 });
      expect(run.ok, run.output).toEqual(['triple.armed']);
      expect(run.result.kind).toBe('shutdown');
      expect(run.result.shutdownCause).toMatch(/^triple fault: #(PF|GP) while delivering #DF at 0008:[0-9a-f]{8}$/);
    });
    it(`triple fault from ${what}: the machine resets and boots again`, () => {
      const run = runGuest('triple', { cmdline, noReboot: false, maxInstructions: 1_000_000 });
      expect(run.fail, run.output).toEqual([]);
      expect(run.ok).toEqual(['triple.armed', 'triple.rebooted']);
      expect(run.result.kind).toBe('exit');
      expect(run.result.exitStatus).toBe(1);
    });
  }
});

describe('system test guest sources', () => {
  const sources = readdirSync(GUEST_DIR).filter((f) => f.endsWith('.asm'));

  it('every guest is run, and lists exactly the checks its source makes', () => {
    expect(sources.map((f) => f.replace(/\.asm$/, '')).sort()).toEqual(Object.keys(CHECKS).sort());
    const check = /^\s*(?:CHECK|OK|CATCH|EXPECT_EXC|EXPECT_V86|PRIVGP)\s+"([^"]+)"/gm;
    for (const f of sources) {
      const text = readFileSync(join(GUEST_DIR, f), 'latin1');
      const names = [...text.matchAll(check)].map((m) => m[1]!);
      expect(names, f).toEqual(CHECKS[f.replace(/\.asm$/, '')]);
    }
  });

  const nasm = spawnSync('nasm', ['-v'], { encoding: 'utf8' });
  it.skipIf(nasm.status !== 0)('the committed binaries are what nasm makes of the sources', () => {
    const out = mkdtempSync(join(tmpdir(), 'bt86-guests-'));
    try {
      const build = spawnSync('sh', [join(GUEST_DIR, 'build.sh'), out], { encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
      for (const f of sources) {
        const bin = f.replace(/\.asm$/, '.bin');
        const fresh = readFileSync(join(out, bin));
        const committed = readFileSync(join(GUEST_DIR, bin));
        expect(fresh.equals(committed), `${bin} is stale: run guests/tests/build.sh`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
