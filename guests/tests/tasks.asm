; tasks.asm: hardware task switching. JMP and CALL to a TSS, CALL through a
; task gate in the GDT, INT n through a task gate in the IDT (also from CPL 3),
; exceptions through task gates with their error code on the new task's stack
; (#GP, and #DF when the current stack cannot take the frame), IRET with NT
; back to the caller, busy bits, NT and the back link, CR0.TS, CR3 and LDTR
; from the TSS, a 16-bit TSS, and the faults: busy, not present, DPL, IRET to
; a task that is not busy, and a bad segment in the new TSS (#TS taken in the
; new task's context).

%include "lib.inc"

%define TSS_A     0x40          ; 32-bit TSSs, DPL 0
%define TSS_B     0x48
%define TSS_16    0x50          ; 16-bit TSS
%define TSS_DF    0x58
%define TSS_C     0x60
%define TGATE_B   0x68          ; task gate -> TSS_B, DPL 0
%define TSS_NP    0x70          ; not present
%define TSS_BAD   0x78          ; its DS selector is outside the GDT
%define S_LDTA    0x80          ; task A's LDT
%define S_SSSMALL 0x88          ; data, base 0x90000, limit 0xFFF
%define TSS_GP    0x90
%define TSS_SS    0x98          ; takes #SS through a task gate

%define A_BASE   0x3100
%define B_BASE   0x3200
%define T16_BASE 0x3300
%define DF_BASE  0x3400
%define C_BASE   0x3500
%define NP_BASE  0x3600
%define BAD_BASE 0x3700
%define GP_BASE  0x3800
%define SS_BASE  0x3900

%define PD1 0x200000            ; identity 0-12 MiB in 4 MiB pages
%define PD2 0x201000            ; the same, but 8 MiB -> 4 MiB

%define LOG (scratch + 0x200)
%define EFL_NT_BIT 0x4000

; INIT32 base, eip, esp, ldt
%macro INIT32 4
        mov edi, %1
        mov eax, %2
        mov ebx, %3
        mov ecx, %4
        call init_tss
%endmacro

main:
        mov edi, LOG
        xor eax, eax
        mov ecx, 0x100
        rep stosd
        ; Paging with two address spaces.
        mov dword [0x400000], 0x44444444
        mov dword [0x500000], 0x55555555
        mov dword [0x800000], 0x88888888
        mov edi, PD1
        xor eax, eax
        mov ecx, 2048
        rep stosd
        mov dword [PD1 + 0], 0x000000 | 0x87
        mov dword [PD1 + 4], 0x400000 | 0x87
        mov dword [PD1 + 8], 0x800000 | 0x87
        mov dword [PD2 + 0], 0x000000 | 0x87
        mov dword [PD2 + 4], 0x400000 | 0x87
        mov dword [PD2 + 8], 0x400000 | 0x87
        mov eax, PD1
        mov cr3, eax
        mov [TSS_MAIN + 28], eax                ; CR3 is read from the TSS when switching back
        mov eax, cr4
        or eax, 0x10
        mov cr4, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .paged
.paged:
        INIT32 A_BASE, task_a, 0x60000, S_LDTA
        mov dword [A_BASE + 28], PD2
        INIT32 B_BASE, task_b, 0x5f000, 0
        INIT32 C_BASE, task_c, 0x5e000, 0
        INIT32 DF_BASE, task_df, 0x5d000, 0
        INIT32 GP_BASE, task_gp, 0x5c000, 0
        INIT32 BAD_BASE, task_bad, 0x5b000, 0
        INIT32 SS_BASE, task_ss, 0x5a000, 0
        mov dword [BAD_BASE + 84], 0xfff8       ; DS outside the GDT
        ; The 16-bit TSS.
        mov edi, T16_BASE
        xor eax, eax
        mov ecx, 0x2c / 4
        rep stosd
        mov word [T16_BASE + 14], task16 - $$
        mov word [T16_BASE + 16], 2
        mov word [T16_BASE + 26], 0x9000        ; SP
        mov word [T16_BASE + 34], KDATA16       ; ES
        mov word [T16_BASE + 36], KCODE16       ; CS
        mov word [T16_BASE + 38], KDATA16       ; SS
        mov word [T16_BASE + 40], KDATA16       ; DS

; ---- JMP to a TSS and back -----------------------------------------------------------
        mov ebx, 0x1234
        jmp TSS_A:0
        CHECK "tasks.jmp_regs_restored", ebx, 0x1234
        CHECK "tasks.jmp_tr", [LOG + 0x00], TSS_A
        CHECK "tasks.jmp_old_not_busy", [LOG + 0x04], 0x89
        CHECK "tasks.jmp_new_busy", [LOG + 0x08], 0x8b
        mov eax, [LOG + 0x0c]
        and eax, 8
        CHECK "tasks.cr0_ts", eax, 8
        mov eax, [LOG + 0x10]
        and eax, EFL_NT_BIT
        CHECK "tasks.jmp_no_nt", eax, 0
        CHECK "tasks.ldtr", [LOG + 0x14], S_LDTA
        CHECK "tasks.ldt_segment", [LOG + 0x18], 0x55555555
        CHECK "tasks.cr3_loaded", [LOG + 0x1c], PD2
        CHECK "tasks.cr3_mapping", [LOG + 0x20], 0x44444444
        mov eax, cr3
        CHECK "tasks.cr3_back", eax, PD1
        CHECK "tasks.main_mapping", [0x800000], 0x88888888
        sldt ax
        movzx eax, ax
        CHECK "tasks.ldtr_back", eax, 0
        CHECK "tasks.a_saved_ebx", [A_BASE + 52], 0xaaaa
        CHECK "tasks.a_saved_eip", [A_BASE + 32], task_a.resume
        movzx eax, byte [gdt + TSS_SEL + 5]
        CHECK "tasks.jmp_back_busy", eax, 0x8b
        movzx eax, byte [gdt + TSS_A + 5]
        CHECK "tasks.jmp_back_not_busy", eax, 0x89
        str ax
        movzx eax, ax
        CHECK "tasks.str_back", eax, TSS_SEL
        clts

; ---- CALL (nested) and IRET back ------------------------------------------------------
        mov ebx, 0x4321
        call TSS_B:0
        CHECK "tasks.call_regs_restored", ebx, 0x4321
        mov eax, [LOG + 0x40]
        and eax, EFL_NT_BIT
        CHECK "tasks.call_nt", eax, EFL_NT_BIT
        CHECK "tasks.call_link", [LOG + 0x44], TSS_SEL
        CHECK "tasks.call_old_busy", [LOG + 0x48], 0x8b
        CHECK "tasks.call_new_busy", [LOG + 0x4c], 0x8b
        movzx eax, byte [gdt + TSS_B + 5]
        CHECK "tasks.iret_not_busy", eax, 0x89
        movzx eax, byte [gdt + TSS_SEL + 5]
        CHECK "tasks.iret_caller_busy", eax, 0x8b
        mov eax, [B_BASE + 36]
        and eax, EFL_NT_BIT
        CHECK "tasks.iret_saved_nt_clear", eax, 0
        pushfd
        pop eax
        and eax, EFL_NT_BIT
        CHECK "tasks.caller_nt_clear", eax, 0
        call TGATE_B:0
        CHECK "tasks.gdt_task_gate", [LOG + 0x50], 2
        TRY
        call TSS_SEL:0
        CATCH "tasks.call_busy", 13, TSS_SEL
        TRY
        jmp TSS_SEL:0
        CATCH "tasks.jmp_busy", 13, TSS_SEL
        TRY
        jmp TSS_NP:0
        CATCH "tasks.not_present", 11, TSS_NP
        USER
        TRY
        jmp TSS_A:0
        CATCH "tasks.tss_dpl", 13, TSS_A
        TRY
        call TGATE_B:0
        CATCH "tasks.gate_dpl", 13, TGATE_B
        KERNEL

; ---- task gates in the IDT ---------------------------------------------------------------
        mov eax, 0x60
        xor ebx, ebx
        mov ecx, TSS_C
        mov edx, 0x85
        call set_gate
        mov eax, 0x61
        mov edx, 0xe5                           ; DPL 3
        call set_gate
        int 0x60
        CHECK "tasks.idt_gate", [LOG + 0x60], 1
        CHECK "tasks.idt_gate_link", [LOG + 0x64], TSS_SEL
        mov eax, [LOG + 0x68]
        and eax, EFL_NT_BIT
        CHECK "tasks.idt_gate_nt", eax, EFL_NT_BIT
        USER
        TRY
        int 0x60
        CATCH "tasks.idt_gate_dpl", 13, 0x60 * 8 + 2
        int 0x61
        mov eax, cs
        CHECK "tasks.idt_gate_from_cpl3", [LOG + 0x60], 2
        CHECK "tasks.idt_gate_back_to_cpl3", eax, UCODE
        KERNEL
        ; #GP through a task gate: the error code is on the new task's stack.
        mov eax, 13
        xor ebx, ebx
        mov ecx, TSS_GP
        mov edx, 0x85
        call set_gate
        mov ax, 0xfff8
.gp_site:
        mov fs, ax
        mov ebx, 13
        xchg eax, ebx
        mov ebx, exc_stubs + 13 * 16
        mov ecx, KCODE
        mov edx, 0x8e
        call set_gate
        CHECK "tasks.gp_task_errcode", [LOG + 0x70], 0xfff8
        CHECK "tasks.gp_task_link", [LOG + 0x74], TSS_SEL
        CHECK "tasks.gp_task_eip", [LOG + 0x78], .gp_site
        CHECK "tasks.gp_task_esp", [LOG + 0x7c], 0x5c000 - 4
        ; #DF through a task gate when the stack cannot take the #GP frame.
        mov eax, 8
        xor ebx, ebx
        mov ecx, TSS_DF
        mov edx, 0x85
        call set_gate
        mov [scratch], esp
        mov dword [LOG + 0x90], .after_df
        mov ax, S_SSSMALL
        mov ss, ax
        mov esp, 8
        mov ax, 0xfff8
        mov fs, ax                              ; #GP, whose frame does not fit: #SS, so #DF
.after_df:
        CHECK "tasks.df_task", [LOG + 0x80], 1
        CHECK "tasks.df_errcode", [LOG + 0x84], 0
        CHECK "tasks.df_link", [LOG + 0x88], TSS_SEL
        CHECK "tasks.df_saved_ss", [LOG + 0x8c], S_SSSMALL
        mov eax, ss
        CHECK "tasks.df_resumed_ss", eax, KDATA

; ---- #SS with the new stack's selector, through a task gate ----------------------------------
        ; An interrupt from CPL 3 whose ring-0 stack (SS0:ESP0) cannot take the frame.
        mov eax, 12
        xor ebx, ebx
        mov ecx, TSS_SS
        mov edx, 0x85
        call set_gate
        mov eax, 0x62
        mov ebx, nowhere
        mov ecx, KCODE
        mov edx, 0xee
        call set_gate
        mov dword [LOG + 0xd0], .after_ss
        USER
        mov dword [TSS_MAIN + 4], 8
        mov dword [TSS_MAIN + 8], S_SSSMALL
        int 0x62
.after_ss:
        KERNEL
        mov eax, 12
        mov ebx, exc_stubs + 12 * 16
        mov ecx, KCODE
        mov edx, 0x8e
        call set_gate
        CHECK "tasks.ss_new_stack_errcode", [LOG + 0xd4], S_SSSMALL
        CHECK "tasks.ss_saved_cs", [LOG + 0xd8], UCODE

; ---- a 16-bit TSS ---------------------------------------------------------------------------
        mov ebx, 0x7777
        call TSS_16:0
        CHECK "tasks.tss16_regs", ebx, 0x7777
        movzx eax, word [LOG + 0xa0]
        CHECK "tasks.tss16_tr", eax, TSS_16
        movzx eax, word [LOG + 0xa2]
        and eax, EFL_NT_BIT
        CHECK "tasks.tss16_nt", eax, EFL_NT_BIT
        movzx eax, word [LOG + 0xa4]
        CHECK "tasks.tss16_link", eax, TSS_SEL
        movzx eax, word [LOG + 0xa6]
        CHECK "tasks.tss16_cs", eax, KCODE16
        movzx eax, word [LOG + 0xa8]
        CHECK "tasks.tss16_sp", eax, 0x9000
        movzx eax, byte [gdt + TSS_16 + 5]
        CHECK "tasks.tss16_not_busy", eax, 0x81
        movzx eax, word [T16_BASE + 14]
        CHECK "tasks.tss16_saved_ip", eax, task16.resume - $$
        movzx eax, word [T16_BASE + 24]
        CHECK "tasks.tss16_saved_bx", eax, 0x1616

; ---- IRET with NT to a task that is not busy ---------------------------------------------------
        mov word [TSS_MAIN], TSS_A
        pushfd
        or dword [esp], EFL_NT_BIT
        popfd
        TRY
        iret
        ENDTRY
        pushfd
        and dword [esp], ~EFL_NT_BIT
        popfd
        EXPECT_EXC "tasks.iret_target_not_busy", 10, TSS_A

; ---- a bad segment in the new TSS: #TS in the new task's context ------------------------------
        mov eax, 10
        mov ebx, ts_handler
        mov ecx, KCODE
        mov edx, 0x8e
        call set_gate
        jmp TSS_BAD:0
        FAILED "tasks.bad_tss_returned", 0
after_bad:
        CHECK "tasks.ts_new_task", [LOG + 0xb0], 10
        CHECK "tasks.ts_new_task_err", [LOG + 0xb4], 0xfff8
        CHECK "tasks.ts_new_task_eip", [LOG + 0xb8], task_bad
        CHECK "tasks.ts_new_task_tr", [LOG + 0xbc], TSS_BAD
        CHECK "tasks.ts_new_task_esp", [LOG + 0xc0], 0x5b000 - 12
        jmp lib_exit

; init_tss: EDI = TSS, EAX = EIP, EBX = ESP, ECX = LDT; flat ring-0 segments, CR3 as now.
init_tss:
        pushad
        push eax
        push edi
        xor eax, eax
        push ecx
        mov ecx, 0x68 / 4
        rep stosd
        pop ecx
        pop edi
        pop eax
        mov edx, cr3
        mov [edi + 28], edx
        mov [edi + 32], eax
        mov dword [edi + 36], 2
        mov [edi + 56], ebx
        mov dword [edi + 72], KDATA
        mov dword [edi + 76], KCODE
        mov dword [edi + 80], KDATA
        mov dword [edi + 84], KDATA
        mov dword [edi + 88], KDATA
        mov dword [edi + 92], KDATA
        mov [edi + 96], ecx
        mov word [edi + 102], 0x68
        popad
        ret

task_a:
        str ax
        movzx eax, ax
        mov [LOG + 0x00], eax
        movzx eax, byte [gdt + TSS_SEL + 5]
        mov [LOG + 0x04], eax
        movzx eax, byte [gdt + TSS_A + 5]
        mov [LOG + 0x08], eax
        mov eax, cr0
        mov [LOG + 0x0c], eax
        pushfd
        pop dword [LOG + 0x10]
        sldt ax
        movzx eax, ax
        mov [LOG + 0x14], eax
        mov ax, 0x04                            ; LDT entry 0
        mov fs, ax
        mov eax, [fs:0]
        mov [LOG + 0x18], eax
        mov eax, cr3
        mov [LOG + 0x1c], eax
        mov eax, [0x800000]
        mov [LOG + 0x20], eax
        mov ebx, 0xaaaa
        jmp TSS_SEL:0
.resume:
        jmp task_a

task_b:
        pushfd
        pop dword [LOG + 0x40]
        movzx eax, word [B_BASE]
        mov [LOG + 0x44], eax
        movzx eax, byte [gdt + TSS_SEL + 5]
        mov [LOG + 0x48], eax
        movzx eax, byte [gdt + TSS_B + 5]
        mov [LOG + 0x4c], eax
        inc dword [LOG + 0x50]
        mov ebx, 0xbbbb
        iret
        jmp task_b

task_c:
        inc dword [LOG + 0x60]
        movzx eax, word [C_BASE]
        mov [LOG + 0x64], eax
        pushfd
        pop dword [LOG + 0x68]
        iret
        jmp task_c

task_gp:
        pop eax                                 ; the error code
        mov [LOG + 0x70], eax
        mov [LOG + 0x7c], esp
        add dword [LOG + 0x7c], -4
        movzx eax, word [GP_BASE]
        mov [LOG + 0x74], eax
        mov eax, [TSS_MAIN + 32]                ; the caller's saved EIP: the faulting MOV
        mov [LOG + 0x78], eax
        add dword [TSS_MAIN + 32], 2            ; skip it
        mov esp, 0x5c000
        iret
        jmp task_gp

task_df:
        inc dword [LOG + 0x80]
        pop eax
        mov [LOG + 0x84], eax
        movzx eax, word [DF_BASE]
        mov [LOG + 0x88], eax
        mov eax, [TSS_MAIN + 80]
        mov [LOG + 0x8c], eax
        ; Repair the interrupted task: its stack and where it goes on.
        mov dword [TSS_MAIN + 80], KDATA
        mov eax, [scratch]
        mov [TSS_MAIN + 56], eax
        mov eax, [LOG + 0x90]
        mov [TSS_MAIN + 32], eax
        mov dword [TSS_MAIN + 88], KDATA        ; FS
        mov esp, 0x5d000
        iret
        jmp task_df

task_bad:
        FAILED "tasks.bad_task_ran", 0
        jmp lib_exit

nowhere:
        FAILED "tasks.unreachable", 0
        jmp lib_exit

task_ss:
        pop eax                                 ; the error code
        mov [LOG + 0xd4], eax
        mov eax, [TSS_MAIN + 76]
        mov [LOG + 0xd8], eax                   ; the interrupted task ran at CPL 3
        mov eax, [kernel_esp]
        mov [TSS_MAIN + 4], eax                 ; repair SS0:ESP0
        mov dword [TSS_MAIN + 8], KDATA
        mov eax, [LOG + 0xd0]
        mov [TSS_MAIN + 32], eax                ; resume after the INT
        mov esp, 0x5a000
        iret
        jmp task_ss

; #TS in the new task's context: its DS selector is bad, so do not return to it.
ts_handler:
        mov ax, KDATA
        mov ds, ax
        mov es, ax
        mov dword [LOG + 0xb0], 10
        mov eax, [esp]
        mov [LOG + 0xb4], eax
        mov eax, [esp + 4]
        mov [LOG + 0xb8], eax
        str ax
        movzx eax, ax
        mov [LOG + 0xbc], eax
        mov [LOG + 0xc0], esp
        add dword [LOG + 0xc0], 4
        mov esp, 0x5b000
        jmp after_bad

; ---- the 16-bit task (KCODE16, SS = KDATA16) ---------------------------------------------
        bits 16
task16:
        str ax
        mov [LOG + 0xa0], ax
        pushf
        pop ax
        mov [LOG + 0xa2], ax
        mov ax, [T16_BASE]
        mov [LOG + 0xa4], ax
        mov [LOG + 0xa6], cs
        mov [LOG + 0xa8], sp
        mov bx, 0x1616
        iret
.resume:
        jmp task16
        bits 32

        align 8
gdt:
        STD_GDT
        DESC A_BASE, 0x67, 0x89, 0x0            ; 0x40 TSS_A
        DESC B_BASE, 0x67, 0x89, 0x0            ; 0x48 TSS_B
        DESC T16_BASE, 0x2b, 0x81, 0x0          ; 0x50 TSS_16
        DESC DF_BASE, 0x67, 0x89, 0x0           ; 0x58 TSS_DF
        DESC C_BASE, 0x67, 0x89, 0x0            ; 0x60 TSS_C
        GATE TSS_B, 0, 0x85, 0                  ; 0x68 TGATE_B
        DESC NP_BASE, 0x67, 0x09, 0x0           ; 0x70 TSS_NP
        DESC BAD_BASE, 0x67, 0x89, 0x0          ; 0x78 TSS_BAD
        DESC ABS(ldt_a), ldt_a_end - ldt_a - 1, 0x82, 0x0       ; 0x80 S_LDTA
        DESC 0x90000, 0xfff, 0x93, 0x4          ; 0x88 S_SSSMALL
        DESC GP_BASE, 0x67, 0x89, 0x0           ; 0x90 TSS_GP
        DESC SS_BASE, 0x67, 0x89, 0x0           ; 0x98 TSS_SS
gdt_end:

        align 8
ldt_a:
        DESC 0x500000, 0xfff, 0x93, 0x4
ldt_a_end:
