; intr.asm: interrupts and exceptions through the IDT. Every exception this
; CPU can raise from a simple program (#DE #DB #BP #OF #BR #UD #NM #TS #NP #SS
; #GP #AC #DF) with its error code and saved EIP (fault or trap); IDT checks
; (limit, gate type, gate DPL, target segment); 16- and 32-bit interrupt and
; trap gates and IF; #DF from a fault during delivery, and serial delivery
; when the first event is benign; single-step traps and the MOV SS shadow;
; NMI (blocked until IRET) and external interrupts placed by the host after
; STI and MOV SS (run-guest.ts HOST_PORT).

%include "lib.inc"

%define HOST 0x5ff0             ; host actions (test/system/run-guest.ts): 1 NMI now, 2 step then NMI, 3 step then IRQ 0x50, 4 IRQ now
%define IRQ_VEC 0x50

%define S_TSSSMALL 0x40         ; a TSS descriptor with a limit below 0x67
%define S_SS_SMALL 0x48         ; data, base 0x80000, limit 0xFFF
%define S_DATA_NP  0x50         ; data, not present
%define S_CODE_NP  0x58         ; code, not present
%define S_CODE16_3 0x60         ; not used

%define LOG (scratch + 0x200)   ; handler logs

; install VECTOR, handler, access
%macro GATE_AT 3
        push eax
        push ebx
        push ecx
        push edx
        mov eax, %1
        mov ebx, %2
        mov ecx, KCODE
        mov edx, %3
        call set_gate
        pop edx
        pop ecx
        pop ebx
        pop eax
%endmacro

main:
        mov edi, LOG
        xor eax, eax
        mov ecx, 0x100
        rep stosd
; ---- faults and traps ----------------------------------------------------------------
        TRY
        xor edx, edx
        mov eax, 1
        xor ecx, ecx
.de:    div ecx
        CATCH "int.de", 0, -1
        CHECK "int.de_eip", [exc_eip], .de
        TRY
        mov edx, 0xffffffff
        mov eax, 0x80000000
        mov ecx, -1
        idiv ecx
        CATCH "int.de_overflow", 0, -1
        TRY
        db 0xf1                                 ; INT1 (ICEBP)
.int1:
        CATCH "int.int1", 1, -1
        CHECK "int.int1_eip", [exc_eip], .int1
        TRY
        int3
.bp:
        CATCH "int.bp", 3, -1
        CHECK "int.bp_eip", [exc_eip], .bp
        TRY
        int 3
.bp2:
        CATCH "int.int_3", 3, -1
        CHECK "int.int_3_eip", [exc_eip], .bp2
        TRY
        mov al, 0x7f
        add al, 1                               ; OF = 1
        into
.of:
        CATCH "int.of", 4, -1
        CHECK "int.of_eip", [exc_eip], .of
        TRY
        xor eax, eax
        into
        CATCH "int.no_of", -1, -1
        TRY
        mov eax, 11
.br:    bound eax, [bounds]
        CATCH "int.br", 5, -1
        CHECK "int.br_eip", [exc_eip], .br
        TRY
        mov eax, 10
        bound eax, [bounds]
        CATCH "int.br_in_range", -1, -1
        TRY
.ud:    ud2
        CATCH "int.ud", 6, -1
        CHECK "int.ud_eip", [exc_eip], .ud
        TRY
        db 0xf0, 0x01, 0xd8                     ; lock add eax, ebx: LOCK needs a memory destination
        CATCH "int.ud_lock", 6, -1
        mov eax, cr0
        or eax, 0x0a                            ; MP, TS
        mov cr0, eax
        TRY
.nm:    fwait
        CATCH "int.nm", 7, -1
        CHECK "int.nm_eip", [exc_eip], .nm
        clts
        TRY
        fwait
        CATCH "int.nm_clts", -1, -1
        mov eax, cr0
        and eax, ~2
        mov cr0, eax
        TRY
        jmp S_TSSSMALL:0
        CATCH "int.ts", 10, S_TSSSMALL
        TRY
        mov ax, S_DATA_NP
        mov fs, ax
        CATCH "int.np", 11, S_DATA_NP
        mov [scratch], esp
        TRY
        mov ax, S_SS_SMALL
        mov ss, ax
        mov esp, 0x800
        mov eax, [esp + 0x1000]
        ENDTRY
        mov ax, KDATA
        mov ss, ax
        mov esp, [scratch]
        EXPECT_EXC "int.ss", 12, 0
        TRY
        xor eax, eax
        mov ds, ax
        mov eax, [eax]
        ENDTRY
        mov ax, KDATA
        mov ds, ax
        EXPECT_EXC "int.gp", 13, 0

; ---- the IDT's own checks -------------------------------------------------------------
        GATE_AT 0x41, nowhere, 0x0e            ; not present
        TRY
        int 0x41
        CATCH "int.np_gate", 11, 0x41 * 8 + 2
        GATE_AT 0x42, nowhere, 0x8c            ; a call gate type in the IDT
        TRY
        int 0x42
        CATCH "int.idt_type", 13, 0x42 * 8 + 2
        lidt [short_idtr]
        TRY
        int 0x41
        ENDTRY
        lidt [idtr_full]
        EXPECT_EXC "int.idt_limit", 13, 0x41 * 8 + 2
        ; Gate targets.
        mov eax, 0x43
        mov ebx, nowhere
        xor ecx, ecx
        mov edx, 0x8e
        call set_gate
        TRY
        int 0x43
        CATCH "int.gate_null_cs", 13, 0
        mov ecx, KDATA
        call set_gate
        TRY
        int 0x43
        CATCH "int.gate_data_cs", 13, KDATA
        mov ecx, S_CODE_NP
        call set_gate
        TRY
        int 0x43
        CATCH "int.gate_cs_np", 11, S_CODE_NP
        mov ebx, 0x10000                        ; beyond the 16-bit CS limit
        mov ecx, KCODE16
        call set_gate
        TRY
        int 0x43
        CATCH "int.gate_limit", 13, 0
        ; Gate DPL: INT n from CPL 3 needs DPL 3; exceptions do not.
        GATE_AT 0x44, nowhere, 0x8e
        USER
        TRY
        int 0x44
        CATCH "int.gate_dpl", 13, 0x44 * 8 + 2
        TRY
        int3                                    ; vector 3's gate is DPL 0 too
        CATCH "int.gate_dpl_int3", 13, 3 * 8 + 2
        TRY
        ud2
        CATCH "int.exception_ignores_dpl", 6, -1
        KERNEL

; ---- #DF ---------------------------------------------------------------------------------
        and byte [IDT_BASE + 13 * 8 + 5], 0x7f  ; #GP's gate not present
        TRY
        xor eax, eax
        mov ds, ax
.df:    mov eax, [eax]
        ENDTRY
        or byte [ss:IDT_BASE + 13 * 8 + 5], 0x80
        mov ax, KDATA
        mov ds, ax
        EXPECT_EXC "int.df", 8, 0
        CHECK "int.df_eip", [exc_eip], .df
        and byte [IDT_BASE + 0 * 8 + 5], 0x7f   ; #DE's gate not present
        TRY
        xor edx, edx
        xor ecx, ecx
        div ecx
        ENDTRY
        or byte [IDT_BASE + 0 * 8 + 5], 0x80
        EXPECT_EXC "int.df_de", 8, 0
        and byte [IDT_BASE + 3 * 8 + 5], 0x7f   ; #BP's gate not present: INT3 is benign
        TRY
        int3
        ENDTRY
        or byte [IDT_BASE + 3 * 8 + 5], 0x80
        EXPECT_EXC "int.serial_np", 11, 3 * 8 + 2
        and byte [IDT_BASE + 6 * 8 + 5], 0x7f   ; #UD's gate not present: benign, so #NP with EXT
        TRY
        ud2
        ENDTRY
        or byte [IDT_BASE + 6 * 8 + 5], 0x80
        EXPECT_EXC "int.serial_np_ext", 11, 6 * 8 + 3

; ---- 32-bit interrupt and trap gates ------------------------------------------------------
        GATE_AT 0x45, h32, 0x8e
        GATE_AT 0x46, h32, 0x8f
        sti
        mov [scratch], esp
        int 0x45
        cli
        mov eax, [scratch]
        sub eax, [LOG]
        CHECK "int.gate32_frame", eax, 12
        mov eax, [LOG + 4]
        and eax, EFL_IF
        CHECK "int.gate32_if", eax, 0
        mov eax, [LOG + 8]
        and eax, EFL_IF
        CHECK "int.gate32_saved_if", eax, EFL_IF
        sti
        int 0x46
        pushfd
        pop ebx
        cli
        mov eax, [LOG + 4]
        and eax, EFL_IF
        CHECK "int.trap32_if", eax, EFL_IF
        and ebx, EFL_IF
        CHECK "int.iret_if", ebx, EFL_IF

; ---- 16-bit gates, from 16-bit code --------------------------------------------------------
        GATE_AT 0x47, h16 - $$, 0x86
        GATE_AT 0x48, h16 - $$, 0x87
        mov word [IDT_BASE + 0x47 * 8 + 2], KCODE16
        mov word [IDT_BASE + 0x48 * 8 + 2], KCODE16
        GATE_AT 0x49, h32, 0x8e                 ; a 32-bit gate used from 16-bit code
        GATE_AT 11, h16gp - $$, 0x86            ; #NP through a 16-bit gate
        mov word [IDT_BASE + 11 * 8 + 2], KCODE16
        jmp KCODE16:code16 - $$
back32:
        GATE_AT 11, exc_stubs + 11 * 16, 0x8e
        mov eax, [scratch + 0x10]
        sub eax, [LOG + 0x20]
        CHECK "int.gate16_frame", eax, 6
        movzx eax, word [LOG + 0x24]
        CHECK "int.gate16_ip", eax, code16.ret48 - $$
        movzx eax, word [LOG + 0x26]
        CHECK "int.gate16_cs", eax, KCODE16
        movzx eax, word [LOG + 0x28]
        and eax, EFL_IF
        CHECK "int.gate16_saved_if", eax, EFL_IF
        movzx eax, word [LOG + 0x2c]
        and eax, EFL_IF
        CHECK "int.gate16_if", eax, 0
        movzx eax, word [LOG + 0x3c]
        and eax, EFL_IF
        CHECK "int.trap16_if", eax, EFL_IF
        mov eax, [scratch + 0x14]
        sub eax, [LOG]
        CHECK "int.gate32_from16_frame", eax, 12
        mov eax, [LOG + 0x40]
        CHECK "int.gate32_from16_eip", eax, code16.ret49 - $$
        movzx eax, word [LOG + 0x44]
        CHECK "int.gate16_errcode", eax, S_DATA_NP
        movzx eax, word [LOG + 0x46]
        CHECK "int.gate16_errcode_ip", eax, code16.gp16 - $$
        movzx eax, word [LOG + 0x48]
        CHECK "int.gate16_errcode_cs", eax, KCODE16

; ---- alignment check -------------------------------------------------------------------------
        mov eax, cr0
        or eax, 0x40000                         ; AM
        mov cr0, eax
        pushfd
        or dword [esp], EFL_AC
        popfd
        TRY
        mov eax, [scratch + 1]
        CATCH "int.ac_ring0", -1, -1
        USER
        TRY
        mov eax, [scratch + 1]
        CATCH "int.ac", 17, 0
        TRY
        mov eax, [scratch + 4]
        CATCH "int.ac_aligned", -1, -1
        TRY
        mov ax, [scratch + 2]
        CATCH "int.ac_word", -1, -1
        pushfd
        and dword [esp], ~EFL_AC
        popfd
        TRY
        mov eax, [scratch + 1]
        CATCH "int.ac_off", -1, -1
        KERNEL
        pushfd
        and dword [esp], ~EFL_AC
        popfd

; ---- single step and the MOV SS shadow ---------------------------------------------------------
        GATE_AT 1, step_handler, 0x8e
        mov dword [LOG + 0x80], 0
        xor eax, eax
        mov dr6, eax
        mov ax, KDATA
        pushfd
        or dword [esp], EFL_TF
        popfd                                   ; no trap after the POPF that sets TF
.s1:    nop
.s2:    mov ss, ax                              ; its trap is suppressed
.s3:    nop
.s4:    nop
.s5:    nop                                     ; the handler clears TF after the third trap
.s6:    nop
        CHECK "int.step_count", [LOG + 0x80], 3
        CHECK "int.step_first", [LOG + 0x84], .s2
        CHECK "int.step_mov_ss", [LOG + 0x88], .s4
        CHECK "int.step_third", [LOG + 0x8c], .s5
        mov eax, [LOG + 0x90]
        and eax, 0x4000
        CHECK "int.step_dr6_bs", eax, 0x4000
        mov eax, [LOG + 0x94]
        and eax, EFL_TF
        CHECK "int.step_handler_tf", eax, 0
        ; Single-stepping INT n: one trap at the handler's first instruction, whose
        ; IRET brings TF back for the instructions after the INT.
        GATE_AT 0x4a, int4a_handler, 0x8e
        mov dword [LOG + 0x80], 0
        pushfd
        or dword [esp], EFL_TF
        popfd
        int 0x4a
.i1:    nop
.i2:    nop
.i3:    nop
        CHECK "int.step_into_int", [LOG + 0x84], int4a_handler
        CHECK "int.step_after_int", [LOG + 0x88], .i2
        CHECK "int.step_after_int2", [LOG + 0x8c], .i3
        mov eax, 1
        mov ebx, exc_stubs + 16
        mov ecx, KCODE
        mov edx, 0x8e
        call set_gate

; ---- NMI and external interrupts from the host ----------------------------------------------------
        GATE_AT 2, nmi_handler, 0x8e
        GATE_AT IRQ_VEC, irq_handler, 0x8e
        mov dword [LOG + 0xa0], 0
        mov dword [LOG + 0xc0], 0
        mov dx, HOST
        mov al, 1
        out dx, al                              ; NMI now
.nmi1:  nop
        CHECK "int.nmi", [LOG + 0xa0], 2
        CHECK "int.nmi_eip", [LOG + 0xa4], .nmi1
        CHECK "int.nmi_blocked", [LOG + 0xac], 1
        CHECK "int.nmi_after_iret", [LOG + 0xa8], .nmi1
        ; An NMI raised right after MOV SS waits one more instruction.
        mov dword [LOG + 0xa0], 0
        mov bx, KDATA
        mov al, 2
        out dx, al                              ; the host runs MOV SS, then raises NMI
        mov ss, bx
.ss1:   nop
.ss2:   nop
        CHECK "int.nmi_mov_ss_shadow", [LOG + 0xa4], .ss2
        mov dword [LOG + 0xa0], 0
        mov al, 2
        out dx, al
        nop
.ns1:   nop
        CHECK "int.nmi_no_shadow", [LOG + 0xa4], .ns1
        ; An interrupt raised right after STI waits one more instruction.
        cli
        mov al, 3
        out dx, al                              ; the host runs STI, then raises IRQ 0x50
        sti
.st1:   nop
.st2:   nop
        cli
        CHECK "int.sti_shadow", [LOG + 0xc4], .st2
        CHECK "int.irq_count", [LOG + 0xc0], 1
        ; With IF = 0 it waits for STI (and its shadow).
        mov al, 4
        out dx, al                              ; IRQ 0x50 now
        nop
        nop
        CHECK "int.irq_masked", [LOG + 0xc0], 1
        sti
.st3:   nop
.st4:   nop
        cli
        CHECK "int.irq_unmasked", [LOG + 0xc4], .st4
        ; With IF = 1 it comes at once.
        sti
        nop
        out dx, al
.st5:   nop
        cli
        CHECK "int.irq_now", [LOG + 0xc4], .st5
        ; STI; HLT: the interrupt wakes the CPU after HLT.
        cli
        out dx, al                              ; pending while IF = 0
        sti
        hlt
.woke:  cli
        CHECK "int.hlt_wakes", [LOG + 0xc4], .woke
        ; An external interrupt whose gate is not present: #NP with EXT set.
        and byte [IDT_BASE + IRQ_VEC * 8 + 5], 0x7f
        TRY
        sti
        nop
        out dx, al
        nop
        ENDTRY
        cli
        or byte [IDT_BASE + IRQ_VEC * 8 + 5], 0x80
        EXPECT_EXC "int.irq_np_ext", 11, IRQ_VEC * 8 + 3

        jmp lib_exit

nowhere:
        FAILED "int.unreachable", 0
        jmp lib_exit

bounds: dd 0, 10
short_idtr:
        dw 0x41 * 8 - 1
        dd IDT_BASE
idtr_full:
        dw 0x7ff
        dd IDT_BASE

; h32: a 32-bit handler that logs ESP, EFLAGS inside, and the pushed EIP/EFLAGS.
h32:
        mov [LOG], esp
        push eax
        pushfd
        pop eax
        mov [LOG + 4], eax
        mov eax, [esp + 12]
        mov [LOG + 8], eax
        mov eax, [esp + 4]
        mov [LOG + 0x40], eax
        pop eax
        iret

int4a_handler:
        iret

step_handler:
        push eax
        push ebx
        mov ebx, [LOG + 0x80]
        mov eax, [esp + 8]
        mov [LOG + 0x84 + ebx * 4], eax
        inc ebx
        mov [LOG + 0x80], ebx
        mov eax, dr6
        mov [LOG + 0x90], eax
        pushfd
        pop eax
        mov [LOG + 0x94], eax
        cmp ebx, 3
        jb .more
        and dword [esp + 16], ~EFL_TF
.more:
        pop ebx
        pop eax
        iret

nmi_handler:
        push eax
        inc dword [LOG + 0xa0]
        mov eax, [esp + 4]
        cmp dword [LOG + 0xa0], 1
        jne .second
        mov [LOG + 0xa4], eax
        mov dword [LOG + 0xac], 0
        push edx
        mov dx, HOST
        mov al, 1
        out dx, al                              ; another NMI: blocked until IRET
        pop edx
        nop
        nop
        cmp dword [LOG + 0xa0], 1
        sete al
        movzx eax, al
        mov [LOG + 0xac], eax
        pop eax
        iret
.second:
        mov [LOG + 0xa8], eax
        pop eax
        iret

irq_handler:
        push eax
        inc dword [LOG + 0xc0]
        mov eax, [esp + 4]
        mov [LOG + 0xc4], eax
        pop eax
        iret

; ---- 16-bit code (KCODE16, base = the image) ----------------------------------------------------
        bits 16
code16:
        sti
        mov [scratch + 0x10], esp
        int 0x47
.ret47:
        mov [scratch + 0x10], esp
        int 0x48
.ret48:
        mov [scratch + 0x14], esp
        int 0x49
.ret49:
        ; An exception through a 16-bit interrupt gate pushes a 16-bit error code.
        mov ax, S_DATA_NP
.gp16:  mov fs, ax                              ; #NP
        cli
        jmp dword KCODE:back32

h16:    ; 16-bit interrupt/trap gate handler: logs SP, the frame and FLAGS inside
        mov [LOG + 0x20], esp
        push ax
        mov ax, [esp + 2]
        mov [LOG + 0x24], ax
        mov ax, [esp + 4]
        mov [LOG + 0x26], ax
        mov ax, [esp + 6]
        mov [LOG + 0x28], ax
        pushf
        pop ax
        cmp word [LOG + 0x2c], 0
        jne .trap
        mov [LOG + 0x2c], ax
        pop ax
        iret
.trap:
        mov [LOG + 0x3c], ax
        pop ax
        iret

h16gp:  ; #NP through a 16-bit gate: error code, IP, CS, FLAGS (16 bits each)
        push ax
        mov ax, [esp + 2]
        mov [LOG + 0x44], ax
        mov ax, [esp + 4]
        mov [LOG + 0x46], ax
        mov ax, [esp + 6]
        mov [LOG + 0x48], ax
        pop ax
        add esp, 2                              ; drop the error code
        add word [esp], 2                       ; skip "mov fs, ax"
        iret
        bits 32

        align 8
gdt:
        STD_GDT
        DESC 0x3500, 0x50, 0x89, 0x0            ; 0x40 S_TSSSMALL
        DESC 0x80000, 0xfff, 0x93, 0x4          ; 0x48 S_SS_SMALL
        DESC 0, 0xfffff, 0x13, 0xc              ; 0x50 S_DATA_NP
        DESC 0, 0xfffff, 0x1b, 0xc              ; 0x58 S_CODE_NP
gdt_end:
