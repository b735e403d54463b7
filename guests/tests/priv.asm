; priv.asm: privilege levels. CPL 3 through IRET and back through gates with
; the TSS stack switch; the privileged and IOPL-sensitive instructions at CPL 3
; (#GP(0)), the TSS I/O permission bitmap, POPF's IF/IOPL rules; segment
; registers nulled by IRET and far RET to an outer level; call gates (32- and
; 16-bit, with parameter copying, to rings 0 and 1) and their checks;
; conforming code; SYSENTER/SYSEXIT and their MSRs; the MSRs, control and
; debug registers; CPUID.

%include "lib.inc"

%define S_CG32    0x40          ; 32-bit call gate, DPL 3, 2 parameters -> KCODE:cg32
%define S_CG16    0x48          ; 16-bit call gate, DPL 3, 2 parameters -> KCODE16:cg16
%define S_CG0     0x50          ; 32-bit call gate, DPL 0
%define S_CGNP    0x58          ; 32-bit call gate, DPL 3, not present
%define S_UCODE16 0x60          ; 16-bit code, DPL 3, base = the image
%define S_USTK16  0x68          ; 16-bit stack, DPL 3, base 0x60000
%define S_CONF    0x70          ; conforming code, DPL 0, flat
%define S_CODE1   0x78          ; code DPL 1, flat
%define S_DATA1   0x80          ; data DPL 1, flat
%define S_CG1     0x88          ; 32-bit call gate DPL 3 -> S_CODE1:ring1
%define S_CGJ     0x90          ; 32-bit call gate DPL 3 -> KCODE:cg32 (for JMP)
%define S_CGC     0x98          ; 32-bit call gate DPL 3 -> S_CONF:conforming

%define LOG (scratch + 0x200)
%define FRAME_VEC 0x60          ; a DPL 3 interrupt gate that logs its frame

main:
        mov edi, LOG
        xor eax, eax
        mov ecx, 0x100
        rep stosd
        mov eax, FRAME_VEC
        mov ebx, frame_handler
        mov ecx, KCODE
        mov edx, 0xee
        call set_gate
        mov dword [TSS_MAIN + 12], 0x7d000      ; ESP1
        mov dword [TSS_MAIN + 16], S_DATA1 | 1  ; SS1

; ---- CPL 3 ---------------------------------------------------------------------------
        USER EFL_IF
        mov eax, cs
        CHECK "priv.cpl3_cs", eax, UCODE
        mov eax, ss
        CHECK "priv.cpl3_ss", eax, UDATA
        ; An interrupt from CPL 3: the stack switches to SS0:ESP0 from the TSS.
        mov [LOG + 0x10], esp
        int FRAME_VEC
.after_int:
        mov eax, esp
        CHECK "priv.iret_esp", eax, [LOG + 0x10]
        mov eax, cs
        CHECK "priv.iret_cs", eax, UCODE
        CHECK "priv.int_ss0", [LOG + 0x04], KDATA
        mov eax, [kernel_esp]
        sub eax, 20
        CHECK "priv.int_stack_switch", [LOG + 0x00], eax
        CHECK "priv.int_frame_eip", [LOG + 0x20], .after_int
        CHECK "priv.int_frame_cs", [LOG + 0x24], UCODE
        CHECK "priv.int_frame_esp", [LOG + 0x2c], [LOG + 0x10]
        CHECK "priv.int_frame_ss", [LOG + 0x30], UDATA
        mov eax, [LOG + 0x08]
        CHECK "priv.int_handler_cs", eax, KCODE

        ; Privileged instructions: #GP(0) at CPL 3.
%macro PRIVGP 2+
        TRY
        %2
        CATCH %1, 13, 0
%endmacro
        PRIVGP "priv.hlt", hlt
        PRIVGP "priv.cli", cli
        PRIVGP "priv.sti", sti
        PRIVGP "priv.mov_to_cr0", mov cr0, eax
        PRIVGP "priv.mov_from_cr0", mov eax, cr0
        PRIVGP "priv.mov_from_cr3", mov eax, cr3
        PRIVGP "priv.mov_dr", mov eax, dr7
        PRIVGP "priv.lgdt", lgdt [scratch]
        PRIVGP "priv.lidt", lidt [scratch]
        PRIVGP "priv.lldt", lldt ax
        PRIVGP "priv.ltr", ltr ax
        PRIVGP "priv.lmsw", lmsw ax
        PRIVGP "priv.clts", clts
        PRIVGP "priv.invlpg", invlpg [0]
        PRIVGP "priv.wbinvd", wbinvd
        PRIVGP "priv.invd", invd
        PRIVGP "priv.rdmsr", rdmsr
        PRIVGP "priv.wrmsr", wrmsr
        PRIVGP "priv.rdpmc", rdpmc
        PRIVGP "priv.sysexit", sysexit
        PRIVGP "priv.in_denied", in al, 0x81
        PRIVGP "priv.out_denied", out 0x81, al
        mov dx, 0x81
        mov edi, scratch
        PRIVGP "priv.ins_denied", insb
        mov esi, scratch
        PRIVGP "priv.outs_denied", outsb
        ; ... and what CPL 3 may do.
        TRY
        sgdt [scratch]
        sidt [scratch]
        smsw eax
        str ax
        sldt ax
        cpuid
        rdtsc
        CATCH "priv.unprivileged", -1, -1
        TRY
        in al, 0x80
        out 0x80, al
        CATCH "priv.io_bitmap_allow", -1, -1
        TRY
        in ax, 0x80                             ; 0x81 is denied
        CATCH "priv.io_bitmap_word", 13, 0
        mov dx, DEBUGCON
        TRY
        in eax, dx                              ; 0xEA-0xEC are denied
        CATCH "priv.io_bitmap_dword", 13, 0
        mov dx, 0x400
        TRY
        in al, dx                               ; beyond the bitmap
        CATCH "priv.io_beyond_map", 13, 0
        mov esi, dot
        mov dx, DEBUGCON
        TRY
        outsb                                   ; prints a newline on the console
        CATCH "priv.outs_allowed", -1, -1
        ; POPF at CPL 3 with IOPL 0: IF and IOPL stay, silently.
        pushfd
        and dword [esp], ~EFL_IF
        or dword [esp], EFL_IOPL3
        popfd
        pushfd
        pop eax
        and eax, EFL_IF | EFL_IOPL3
        CHECK "priv.popf_cpl3", eax, EFL_IF
        ; A data segment with DPL 0 cannot be loaded at CPL 3.
        TRY
        mov ax, KDATA
        mov es, ax
        CATCH "priv.ds_dpl", 13, KDATA
        CHECK "priv.exc_ss0", [exc_ss], KDATA
        TRY
        mov ax, UDATA & ~3
        mov es, ax                              ; RPL 0 at CPL 3 is fine for data
        CATCH "priv.ds_rpl0", -1, -1
        mov ax, UDATA
        mov es, ax
        ; Far transfers to more privileged code without a gate.
        TRY
        jmp KCODE:0
        CATCH "priv.jmp_inner", 13, KCODE
        TRY
        call KCODE:0
        CATCH "priv.call_inner", 13, KCODE
        TRY
        push dword KCODE
        push dword nowhere
        retf
        ENDTRY
        mov esp, [LOG + 0x10]
        EXPECT_EXC "priv.retf_inner", 13, KCODE
        TRY
        pushfd
        push dword KCODE
        push dword nowhere
        iret
        ENDTRY
        mov esp, [LOG + 0x10]
        EXPECT_EXC "priv.iret_inner", 13, KCODE
        ; Conforming code runs at the caller's CPL.
        TRY
        call S_CONF:conforming
        mov ebx, cs
        CATCH "priv.conf_call", -1, -1
        CHECK "priv.conf_cpl", eax, S_CONF | 3
        CHECK "priv.conf_back", ebx, UCODE
        mov [LOG + 0x10], esp
        call S_CGC:0                            ; a gate to conforming code: no stack switch
        mov ebx, esp
        CHECK "priv.cg_conforming_cpl", eax, S_CONF | 3
        CHECK "priv.cg_conforming_stack", ebx, [LOG + 0x10]
        ; IRET at CPL 3: IF and VM in the popped image are ignored.
        pushfd
        and dword [esp], ~EFL_IF
        or dword [esp], EFL_VM
        push dword UCODE
        push dword .after_iret3
        iret
.after_iret3:
        pushfd
        pop eax
        and eax, EFL_IF | EFL_VM
        CHECK "priv.iret_cpl3_flags", eax, EFL_IF
        mov eax, cs
        CHECK "priv.iret_cpl3_cs", eax, UCODE
        ; Descriptor queries see what CPL 3 may see.
        mov eax, KDATA
        lsl ebx, eax
        GETZF
        CHECK "priv.lsl_cpl3_dpl0", eax, 0
        mov eax, UDATA
        verw ax
        GETZF
        CHECK "priv.verw_cpl3", eax, 1
        mov eax, KDATA
        verr ax
        GETZF
        CHECK "priv.verr_cpl3_dpl0", eax, 0
        mov eax, S_CG32
        lar ebx, eax
        GETZF
        CHECK "priv.lar_cpl3_gate", eax, 1
        KERNEL

; ---- IOPL 3 ---------------------------------------------------------------------------
        USER EFL_IOPL3
        TRY
        cli
        sti
        cli
        CATCH "priv.cli_iopl3", -1, -1
        TRY
        in al, 0x81
        CATCH "priv.io_iopl3", -1, -1
        pushfd
        or dword [esp], EFL_IF
        and dword [esp], ~EFL_IOPL3
        popfd
        pushfd
        pop eax
        and eax, EFL_IF | EFL_IOPL3
        CHECK "priv.popf_iopl3", eax, EFL_IF | EFL_IOPL3
        KERNEL

; ---- IRET to CPL 3 nulls the data segment registers CPL 3 may not use ------------------
        mov ax, KDATA
        mov ds, ax
        mov ax, UDATA
        mov es, ax
        mov ax, KCODE
        mov fs, ax
        mov ax, S_CONF
        mov gs, ax
        mov [kernel_esp], esp
        mov [TSS_MAIN + 4], esp
        push dword UDATA
        push dword USTACK_TOP
        pushfd
        push dword UCODE
        push dword .ring3_segs
        iret
.ring3_segs:
        mov eax, ds
        mov ebx, es
        mov ecx, fs
        mov edx, gs
        push dword UDATA
        pop ds
        CHECK "priv.iret_null_ds", eax, 0
        CHECK "priv.iret_keep_es", ebx, UDATA
        CHECK "priv.iret_null_code", ecx, 0
        CHECK "priv.iret_keep_conforming", edx, S_CONF

; ---- call gates ----------------------------------------------------------------------------
        mov [LOG + 0x10], esp
        push dword 0x1111
        push dword 0x2222
        call S_CG32:0
.after_cg32:
        mov eax, esp
        mov ebx, es
        mov ecx, fs
        mov edx, cs
        CHECK "priv.cg32_retf_esp", eax, [LOG + 0x10]
        CHECK "priv.cg32_retf_null_es", ebx, 0
        CHECK "priv.cg32_retf_keep_fs", ecx, UDATA
        CHECK "priv.cg32_retf_cs", edx, UCODE
        CHECK "priv.cg32_cs", [LOG + 0x48], KCODE
        CHECK "priv.cg32_ret_eip", [LOG + 0x50], .after_cg32
        CHECK "priv.cg32_ret_cs", [LOG + 0x54], UCODE
        CHECK "priv.cg32_param1", [LOG + 0x58], 0x2222
        CHECK "priv.cg32_param2", [LOG + 0x5c], 0x1111
        mov eax, [LOG + 0x10]
        sub eax, 8
        CHECK "priv.cg32_old_esp", [LOG + 0x60], eax
        CHECK "priv.cg32_old_ss", [LOG + 0x64], UDATA
        mov eax, [kernel_esp]
        sub eax, 24
        CHECK "priv.cg32_stack", [LOG + 0x40], eax
        mov ax, UDATA
        mov es, ax
        ; To ring 1: the stack comes from SS1:ESP1.
        call S_CG1:0
        CHECK "priv.ring1_cs", [LOG + 0x70], S_CODE1 | 1
        CHECK "priv.ring1_ss", [LOG + 0x74], S_DATA1 | 1
        mov eax, 0x7d000 - 16
        CHECK "priv.ring1_esp", [LOG + 0x78], eax
        ; Gate checks.
        TRY
        call S_CG0:0
        CATCH "priv.cg_dpl", 13, S_CG0
        TRY
        call S_CGNP:0
        CATCH "priv.cg_np", 11, S_CGNP
        TRY
        jmp S_CGJ:0
        CATCH "priv.cg_jmp_inner", 13, KCODE
        ; 16-bit code at CPL 3 through a 16-bit call gate.
        jmp S_UCODE16 | 3:code16 - $$
back_from16:
        mov ax, UDATA
        mov ss, ax
        mov esp, USTACK_TOP
        movzx eax, word [LOG + 0x80]
        CHECK "priv.cg16_retf_sp", eax, 0x1000
        CHECK "priv.cg16_retf_cs", [LOG + 0x84], S_UCODE16 | 3
        movzx eax, word [LOG + 0x90]
        CHECK "priv.cg16_ret_ip", eax, code16.after - $$
        movzx eax, word [LOG + 0x92]
        CHECK "priv.cg16_ret_cs", eax, S_UCODE16 | 3
        movzx eax, word [LOG + 0x94]
        CHECK "priv.cg16_param1", eax, 0xbbbb
        movzx eax, word [LOG + 0x96]
        CHECK "priv.cg16_param2", eax, 0xaaaa
        movzx eax, word [LOG + 0x98]
        CHECK "priv.cg16_old_sp", eax, 0x1000 - 4
        movzx eax, word [LOG + 0x9a]
        CHECK "priv.cg16_old_ss", eax, S_USTK16 | 3
        mov eax, [kernel_esp]
        sub eax, 12
        CHECK "priv.cg16_stack", [LOG + 0x9c], eax
        KERNEL

; ---- far RET from CPL 0 to CPL 3 ------------------------------------------------------------
        mov ax, KDATA
        mov fs, ax
        mov [kernel_esp], esp
        push dword UDATA
        push dword USTACK_TOP - 64
        push dword UCODE
        push dword .ring3_retf
        retf
.ring3_retf:
        mov eax, esp
        mov ebx, fs
        CHECK "priv.retf_outer_esp", eax, USTACK_TOP - 64
        CHECK "priv.retf_outer_null_fs", ebx, 0
        KERNEL

; ---- SYSENTER / SYSEXIT --------------------------------------------------------------------
        mov ecx, 0x174
        xor edx, edx
        mov eax, KCODE
        wrmsr
        mov ecx, 0x175
        mov eax, 0x7e000
        wrmsr
        mov ecx, 0x176
        mov eax, sysenter_entry
        wrmsr
        mov ecx, 0x176
        rdmsr
        CHECK "priv.sysenter_msr", eax, sysenter_entry
        mov [kernel_esp], esp
        mov ax, UDATA                           ; SYSEXIT loads only CS and SS
        mov ds, ax
        mov es, ax
        sti
        mov ecx, USTACK_TOP - 32
        mov edx, .ring3_sysexit
        sysexit
.ring3_sysexit:
        mov eax, cs
        mov ebx, ss
        mov ecx, esp
        CHECK "priv.sysexit_cs", eax, UCODE
        CHECK "priv.sysexit_ss", ebx, UDATA
        CHECK "priv.sysexit_esp", ecx, USTACK_TOP - 32
        sysenter
sysenter_back:
        mov esp, [kernel_esp]
        mov ax, KDATA
        mov ds, ax
        mov es, ax
        CHECK "priv.sysenter_cs", [LOG + 0xa0], KCODE
        CHECK "priv.sysenter_ss", [LOG + 0xa4], KDATA
        CHECK "priv.sysenter_esp", [LOG + 0xa8], 0x7e000
        mov eax, [LOG + 0xac]
        and eax, EFL_IF
        CHECK "priv.sysenter_if", eax, 0
        mov ecx, 0x174
        xor eax, eax
        xor edx, edx
        wrmsr
        TRY
        sysenter
        CATCH "priv.sysenter_null", 13, 0

; ---- MSRs --------------------------------------------------------------------------------------
        mov ecx, 0x277
        rdmsr
        CHECK "priv.pat_default_lo", eax, 0x00070406
        CHECK "priv.pat_default_hi", edx, 0x00070406
        mov eax, 0x01040506
        mov edx, 0x00070106
        wrmsr
        rdmsr
        CHECK "priv.pat_rw", eax, 0x01040506
        mov ecx, 0x2ff
        mov eax, 0xc06
        xor edx, edx
        wrmsr
        rdmsr
        CHECK "priv.mtrr_def_type", eax, 0xc06
        mov ecx, 0x200
        mov eax, 0x100006
        wrmsr
        rdmsr
        CHECK "priv.mtrr_phys_base", eax, 0x100006
        mov ecx, 0xfe
        rdmsr
        and eax, 0xff
        CHECK "priv.mtrrcap_vcnt", eax, 8
        TRY
        mov ecx, 0x12345
        rdmsr
        CATCH "priv.msr_unknown", 13, 0
        TRY
        mov ecx, 0xc0000080
        rdmsr
        or eax, 0x100                           ; LME: no long mode here
        wrmsr
        CATCH "priv.efer_lme", 13, 0
        mov ecx, 0x10
        xor eax, eax
        mov edx, 0x100
        wrmsr
        rdtsc
        CHECK "priv.tsc_msr", edx, 0x100

; ---- control and debug registers -----------------------------------------------------------------
        mov eax, cr4
        or eax, 4                               ; TSD
        mov cr4, eax
        USER
        TRY
        rdtsc
        CATCH "priv.rdtsc_tsd", 13, 0
        KERNEL
        mov eax, cr4
        and eax, ~4
        mov cr4, eax
        USER
        rdtsc
        mov ebx, edx
        CHECK "priv.rdtsc_user", ebx, 0x100
        KERNEL
        TRY
        mov eax, cr4
        or eax, 1                               ; VME: not implemented
        mov cr4, eax
        CATCH "priv.cr4_vme", 13, 0
        TRY
        db 0x0f, 0x20, 0xc8                     ; mov eax, cr1
        CATCH "priv.cr1_ud", 6, -1
        TRY
        db 0x0f, 0x22, 0xe8                     ; mov cr5, eax
        CATCH "priv.cr5_ud", 6, -1
        mov eax, cr0
        mov ebx, eax
        TRY
        and eax, ~1
        or eax, 0x80000000
        mov cr0, eax
        CATCH "priv.cr0_pg_no_pe", 13, 0
        TRY
        mov eax, ebx
        and eax, ~0x40000000
        or eax, 0x20000000
        mov cr0, eax
        CATCH "priv.cr0_nw_no_cd", 13, 0
        mov eax, ebx
        and eax, ~0x10
        mov cr0, eax
        mov eax, cr0
        and eax, 0x10
        CHECK "priv.cr0_et", eax, 0x10
        xor eax, eax
        lmsw ax
        mov eax, cr0
        and eax, 1
        CHECK "priv.lmsw_keeps_pe", eax, 1
        mov eax, 8
        lmsw ax
        mov eax, cr0
        and eax, 8
        CHECK "priv.lmsw_ts", eax, 8
        clts
        mov eax, 0x12345678
        mov dr0, eax
        mov eax, dr0
        CHECK "priv.dr0", eax, 0x12345678
        mov eax, dr7
        CHECK "priv.dr7", eax, 0x400
        xor eax, eax
        mov dr6, eax
        mov eax, dr6
        CHECK "priv.dr6", eax, 0xffff0ff0
        mov eax, dr4
        CHECK "priv.dr4_alias", eax, 0xffff0ff0
        TRY
        mov eax, cr4
        or eax, 8                               ; DE: not claimed by CPUID, so reserved
        mov cr4, eax
        CATCH "priv.cr4_de", 13, 0
        TRY
        mov eax, cr4
        or eax, 0x40                            ; MCE: not claimed either
        mov cr4, eax
        CATCH "priv.cr4_mce", 13, 0
        TRY
        wbinvd
        invd
        CATCH "priv.wbinvd", -1, -1

; ---- CPUID ------------------------------------------------------------------------------------
        USER
        xor eax, eax
        cpuid
        CHECK "priv.cpuid_vendor", ebx, 0x756e6547
        mov eax, 1
        cpuid
        mov ebx, edx
        and ebx, 0x2978                         ; PSE TSC MSR PAE CX8 SEP PGE
        CHECK "priv.cpuid_features", ebx, 0x2978
        mov ebx, edx
        and ebx, 0x8000
        CHECK "priv.cpuid_cmov", ebx, 0x8000
        mov ebx, edx
        and ebx, 0x0e800000                     ; MMX SSE SSE2 (and HTT)
        CHECK "priv.cpuid_no_simd", ebx, 0
        mov ebx, edx
        and ebx, 0x1a                           ; VME DE PSE... VME and DE not claimed
        and ebx, 0x2 | 0x4                      ; VME, DE
        CHECK "priv.cpuid_no_vme", ebx, 0
        mov eax, 0x80000000
        cpuid
        CHECK "priv.cpuid_ext_max", eax, 0x80000004
        mov eax, 0x80000001
        cpuid
        and edx, 1 << 20
        CHECK "priv.cpuid_nx", edx, 1 << 20
        mov eax, 0x80000002
        cpuid
        CHECK "priv.cpuid_brand", eax, 'bt86'
        CHECK "priv.cpuid_brand2", ebx, ' vir'
        KERNEL

        jmp lib_exit

nowhere:
        FAILED "priv.unreachable", 0
        jmp lib_exit
dot:   db 10

; INT FRAME_VEC from CPL 3: log ESP, SS, CS and the frame.
frame_handler:
        mov [LOG + 0x00], esp
        mov [LOG + 0x04], ss
        mov [LOG + 0x08], cs
        push eax
        mov eax, [esp + 4]
        mov [LOG + 0x20], eax
        mov eax, [esp + 8]
        mov [LOG + 0x24], eax
        mov eax, [esp + 12]
        mov [LOG + 0x28], eax
        mov eax, [esp + 16]
        mov [LOG + 0x2c], eax
        mov eax, [esp + 20]
        mov [LOG + 0x30], eax
        pop eax
        iret

conforming:
        mov eax, cs
        retf

; The 32-bit call gate's target (CPL 0).
cg32:
        mov [LOG + 0x40], esp
        mov [LOG + 0x48], cs
        push eax
        mov eax, [esp + 4]
        mov [LOG + 0x50], eax
        mov eax, [esp + 8]
        mov [LOG + 0x54], eax
        mov eax, [esp + 12]
        mov [LOG + 0x58], eax
        mov eax, [esp + 16]
        mov [LOG + 0x5c], eax
        mov eax, [esp + 20]
        mov [LOG + 0x60], eax
        mov eax, [esp + 24]
        mov [LOG + 0x64], eax
        mov ax, KDATA
        mov es, ax                              ; nulled by the RET to CPL 3
        mov ax, UDATA
        mov fs, ax                              ; kept
        pop eax
        retf 8

ring1:
        mov [LOG + 0x70], cs
        mov [LOG + 0x74], ss
        mov [LOG + 0x78], esp
        retf

sysenter_entry:
        mov [LOG + 0xa0], cs
        mov [LOG + 0xa4], ss
        mov [LOG + 0xa8], esp
        pushfd
        pop dword [LOG + 0xac]
        jmp sysenter_back

; ---- 16-bit code ------------------------------------------------------------------------------
        bits 16
code16:                                 ; CPL 3, S_UCODE16
        mov ax, S_USTK16 | 3
        mov ss, ax
        mov sp, 0x1000
        push word 0xaaaa
        push word 0xbbbb
        call S_CG16:0
.after:
        mov [LOG + 0x80], esp
        mov [LOG + 0x84], cs
        jmp dword UCODE:back_from16

cg16:                                   ; CPL 0, KCODE16, called through the 16-bit gate
        mov [LOG + 0x9c], esp
        push ax
        mov ax, [esp + 2]
        mov [LOG + 0x90], ax
        mov ax, [esp + 4]
        mov [LOG + 0x92], ax
        mov ax, [esp + 6]
        mov [LOG + 0x94], ax
        mov ax, [esp + 8]
        mov [LOG + 0x96], ax
        mov ax, [esp + 10]
        mov [LOG + 0x98], ax
        mov ax, [esp + 12]
        mov [LOG + 0x9a], ax
        pop ax
        retf 4
        bits 32

        align 8
gdt:
        STD_GDT
        GATE KCODE, ABS(cg32), 0xec, 2          ; 0x40 S_CG32
        GATE KCODE16, cg16 - $$, 0xe4, 2        ; 0x48 S_CG16
        GATE KCODE, ABS(cg32), 0x8c, 0          ; 0x50 S_CG0
        GATE KCODE, ABS(cg32), 0x6c, 0          ; 0x58 S_CGNP
        DESC IMAGE_BASE, 0xffff, 0xfb, 0x0      ; 0x60 S_UCODE16
        DESC 0x60000, 0xffff, 0xf3, 0x0         ; 0x68 S_USTK16
        DESC 0, 0xfffff, 0x9f, 0xc              ; 0x70 S_CONF
        DESC 0, 0xfffff, 0xbb, 0xc              ; 0x78 S_CODE1
        DESC 0, 0xfffff, 0xb3, 0xc              ; 0x80 S_DATA1
        GATE S_CODE1, ABS(ring1), 0xec, 0       ; 0x88 S_CG1
        GATE KCODE, ABS(cg32), 0xec, 0          ; 0x90 S_CGJ
        GATE S_CONF, ABS(conforming), 0xec, 0   ; 0x98 S_CGC
gdt_end:
