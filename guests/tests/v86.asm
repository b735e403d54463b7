; v86.asm: virtual-8086 mode. Entered by IRET with VM set (and by a task
; switch to a TSS whose EFLAGS has VM); a ring-0 monitor takes its faults and
; interrupts through the IDT with the v8086 frame (GS FS DS ES SS ESP EFLAGS CS
; EIP) and null data segments. With IOPL 0: CLI STI PUSHF POPF INT n IRET #GP,
; INT3 and INTO do not; HLT, MOV CR, LGDT #GP; SLDT and LAR #UD; real-mode
; segment arithmetic and 64 KiB limits. With IOPL 3 the IOPL-sensitive
; instructions run, POPF cannot change IOPL, INT n goes through DPL 3 gates to
; ring 0 only. I/O always goes through the TSS bitmap.

%include "lib.inc"

%define V86_SEG  0x2000                 ; the v86 code and data segment
%define V86_BASE (V86_SEG * 16)
%define V86_DATA 0x8000                 ; results written by the v86 code (offset in V86_SEG)
%define V86_SS   0x3000
%define LOG (scratch + 0x200)           ; LOG + 4 * test id: (vector << 16) | error code, -1 if none
%define TSS_V    0x40                   ; a 32-bit TSS whose EFLAGS has VM
%define V_BASE   0x3400
%define v86_done (scratch + 0x10)

; MONITOR vector, dpl: route a vector to the v86 monitor
%macro MONITOR 2
        mov eax, %1
        mov ebx, v86_stubs + %1 * 16
        mov ecx, KCODE
        mov edx, 0x8e | ((%2) << 5)
        call set_gate
%endmacro

; ENTER_V86 ip, eflags: IRET to V86_SEG:ip
%macro ENTER_V86 2
        mov dword [v86_done], %%done
        mov [kernel_esp], esp
        mov [TSS_MAIN + 4], esp
        push dword 0                            ; GS
        push dword 0                            ; FS
        push dword V86_SEG                      ; DS
        push dword V86_SEG                      ; ES
        push dword V86_SS                       ; SS
        push dword 0xfffe                       ; ESP
        push dword (%2) | EFL_VM | 2            ; EFLAGS
        push dword V86_SEG                      ; CS
        push dword %1                           ; EIP
        iret
%%done:
%endmacro

; EXPECT_V86 "name", id, vector, error: what the monitor logged for test id
%macro EXPECT_V86 4
        CHECK %1, [LOG + (%2) * 4], (((%3) & 0xffff) << 16) | ((%4) & 0xffff)
%endmacro
%define NONE 0xffff, 0xffff

main:
        mov edi, LOG
        mov eax, -1
        mov ecx, 0x100
        rep stosd
        mov esi, section..v86.start
        mov edi, V86_BASE
        mov ecx, v86_end - v86_begin
        rep movsb
        mov dword [0x50000], 0x5005
        MONITOR 0, 0
        MONITOR 3, 3
        MONITOR 4, 3
        MONITOR 6, 0
        MONITOR 13, 0
        MONITOR 0x21, 3
        mov eax, 0x22                           ; a DPL 3 gate to a DPL 3 code segment
        mov ebx, v86_stubs
        mov ecx, UCODE
        mov edx, 0xee
        call set_gate
        MONITOR 0x23, 0                         ; a DPL 0 gate

; ---- IOPL 0 ---------------------------------------------------------------------------------
        ENTER_V86 v86_phase1, 0
        mov eax, cs
        CHECK "v86.back_in_ring0", eax, KCODE
        EXPECT_V86 "v86.cli", 1, 13, 0
        EXPECT_V86 "v86.sti", 2, 13, 0
        EXPECT_V86 "v86.pushf", 3, 13, 0
        EXPECT_V86 "v86.popf", 4, 13, 0
        EXPECT_V86 "v86.int_n", 5, 13, 0
        EXPECT_V86 "v86.iret", 6, 13, 0
        EXPECT_V86 "v86.in_allowed", 7, NONE
        EXPECT_V86 "v86.in_denied", 8, 13, 0
        EXPECT_V86 "v86.out_allowed", 9, NONE
        EXPECT_V86 "v86.in_word_denied", 10, 13, 0
        EXPECT_V86 "v86.hlt", 11, 13, 0
        EXPECT_V86 "v86.mov_cr0", 12, 13, 0
        EXPECT_V86 "v86.lgdt", 13, 13, 0
        EXPECT_V86 "v86.sldt", 14, 6, 0xffff
        EXPECT_V86 "v86.lar", 15, 6, 0xffff
        EXPECT_V86 "v86.int3", 16, 3, 0xffff
        EXPECT_V86 "v86.de", 17, 0, 0xffff
        EXPECT_V86 "v86.smsw", 18, NONE
        EXPECT_V86 "v86.limit", 19, 13, 0
        EXPECT_V86 "v86.ins_denied", 20, 13, 0
        EXPECT_V86 "v86.outs_allowed", 21, NONE
        EXPECT_V86 "v86.seg_load", 22, NONE
        EXPECT_V86 "v86.cpuid", 23, NONE
        EXPECT_V86 "v86.into", 24, 4, 0xffff
        EXPECT_V86 "v86.pushfd", 25, 13, 0
        EXPECT_V86 "v86.wbinvd", 26, 13, 0
        EXPECT_V86 "v86.addr32_limit", 27, 13, 0
        movzx eax, word [V86_BASE + V86_DATA]
        CHECK "v86.smsw_value", eax, 0x0011     ; PE and ET
        movzx eax, word [V86_BASE + V86_DATA + 2]
        CHECK "v86.seg_base", eax, 0x5005
        CHECK "v86.handler_ds_null", [LOG + 0x300], 0
        mov eax, [LOG + 0x304]
        and eax, EFL_VM
        CHECK "v86.frame_vm", eax, EFL_VM
        CHECK "v86.frame_ds", [LOG + 0x308], V86_SEG
        CHECK "v86.frame_ss", [LOG + 0x30c], V86_SS

; ---- IOPL 3 ---------------------------------------------------------------------------------
        ENTER_V86 v86_phase2, EFL_IOPL3
        EXPECT_V86 "v86.iopl3_cli_sti", 30, NONE
        EXPECT_V86 "v86.iopl3_pushf_popf", 31, NONE
        EXPECT_V86 "v86.iopl3_int_n", 32, 0x21, 0xffff
        EXPECT_V86 "v86.iopl3_io_bitmap", 33, 13, 0
        EXPECT_V86 "v86.iopl3_iret", 34, NONE
        EXPECT_V86 "v86.gate_target_dpl3", 35, 13, UCODE & 0xfffc
        EXPECT_V86 "v86.gate_dpl0", 36, 13, 0x23 * 8 + 2
        movzx eax, word [V86_BASE + V86_DATA + 4]
        and eax, 0x3000
        CHECK "v86.popf_keeps_iopl", eax, 0x3000
        movzx eax, word [V86_BASE + V86_DATA + 6]
        CHECK "v86.iret_landed", eax, 0x1234

; ---- a task switch into v8086 mode --------------------------------------------------------
        mov edi, V_BASE
        xor eax, eax
        mov ecx, 0x68 / 4
        rep stosd
        mov dword [V_BASE + 4], KSTACK_TOP - 0x1000     ; ESP0
        mov dword [V_BASE + 8], KDATA                   ; SS0
        mov eax, cr3
        mov [V_BASE + 28], eax
        mov dword [V_BASE + 32], v86_task
        mov dword [V_BASE + 36], EFL_VM | 2
        mov dword [V_BASE + 56], 0xf000                 ; ESP
        mov dword [V_BASE + 72], V86_SEG                ; ES
        mov dword [V_BASE + 76], V86_SEG                ; CS
        mov dword [V_BASE + 80], V86_SS                 ; SS
        mov dword [V_BASE + 84], V86_SEG                ; DS
        mov word [V_BASE + 102], 0x68
        mov eax, 3                                      ; INT3 in the v86 task: back to this task
        xor ebx, ebx
        mov ecx, TSS_SEL
        mov edx, 0xe5
        call set_gate
        jmp TSS_V:0
        pushfd
        and dword [esp], ~EFL_NT
        popfd
        mov eax, cs
        CHECK "v86.task_back", eax, KCODE
        movzx eax, word [V86_BASE + V86_DATA + 8]
        CHECK "v86.task_ran", eax, 0x8686
        mov eax, [V_BASE + 36]
        and eax, EFL_VM
        CHECK "v86.task_saved_vm", eax, EFL_VM
        CHECK "v86.task_saved_cs", [V_BASE + 76], V86_SEG
        CHECK "v86.task_saved_ds", [V_BASE + 84], 0x1234
        movzx eax, word [TSS_MAIN]
        CHECK "v86.task_link", eax, TSS_V
        jmp lib_exit

; ---- the v86 monitor -------------------------------------------------------------------------
        align 16
v86_stubs:
%assign v 0
%rep 0x24
%if v == 8 || (v >= 10 && v <= 14) || v == 17
        push byte v
%else
        push byte -1
        push strict dword v
%endif
        jmp near v86_common
        times v86_stubs + (v + 1) * 16 - $ db 0xcc
%assign v v + 1
%endrep

; [esp]: vector, error code, EIP CS EFLAGS ESP SS ES DS FS GS. EBP = the test id, DI = where to resume.
v86_common:
        push eax
        push ds
        mov ax, KDATA
        mov ds, ax
        movzx eax, word [esp]
        mov [LOG + 0x300], eax                  ; DS on entry: null from v8086 mode
        mov eax, [esp + 24]
        mov [LOG + 0x304], eax                  ; the frame's EFLAGS
        mov eax, [esp + 40]
        mov [LOG + 0x308], eax                  ; the frame's DS
        mov eax, [esp + 32]
        mov [LOG + 0x30c], eax                  ; the frame's SS
        cmp ebp, 0xff
        je .finish
        mov eax, [esp + 8]
        shl eax, 16
        mov ax, [esp + 12]
        mov [LOG + ebp * 4], eax
        movzx eax, di
        mov [esp + 16], eax
        pop ds
        pop eax
        add esp, 8
        iret
.finish:
        mov esp, [kernel_esp]
        mov ax, KDATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        jmp [v86_done]

        align 8
gdt:
        STD_GDT
        DESC V_BASE, 0x67, 0x89, 0x0            ; 0x40 TSS_V
gdt_end:

; ---- v8086 code: copied to V86_SEG:0 ---------------------------------------------------------
        section .v86 vstart=0 follows=.text align=16
        bits 16
v86_begin:

; T id, instruction: run it with EBP = id and DI = the next instruction.
%macro T 2+
        mov ebp, %1
        mov di, %%next
        %2
%%next:
%endmacro

v86_phase1:
        T 1, cli
        T 2, sti
        T 3, pushf
        T 4, popf
        T 5, int 0x21
        T 6, iret
        T 7, in al, 0x80
        mov al, 10
        T 9, out 0xe9, al
        T 8, in al, 0x81
        T 10, in ax, 0x80
        T 11, hlt
        T 12, mov eax, cr0
        T 13, lgdt [0]
        T 14, sldt ax
        T 15, lar ax, bx
        T 16, int3
        xor dx, dx
        xor cx, cx
        T 17, div cx
        T 18, smsw ax
        mov [V86_DATA], ax
        T 19, mov ax, [0xffff]
        mov dx, 0x81
        mov di, V86_DATA + 16
        mov ebp, 20
        mov di, .after20
        insb
.after20:
        mov byte [V86_DATA + 16], 10
        mov si, V86_DATA + 16
        mov dx, 0xe9
        mov di, .after21
        mov ebp, 21
        outsb
.after21:
        mov ax, 0x5000
        T 22, mov ds, ax
        mov ax, [0]
        push cs
        pop ds
        mov [V86_DATA + 2], ax
        T 23, cpuid
        mov al, 0x7f
        add al, 1
        T 24, into
        T 25, pushfd
        T 26, wbinvd
        mov ebx, 0x10000
        T 27, mov ax, [ebx]
        mov ebp, 0xff
        int3

v86_phase2:                             ; IOPL 3
        mov ebp, 30
        cli
        sti
        mov ebp, 31
        pushf
        pop ax
        and ax, ~0x3000                         ; try to clear IOPL
        push ax
        popf
        pushf
        pop ax
        mov [V86_DATA + 4], ax
        T 32, int 0x21
        T 33, in al, 0x81
        mov ebp, 34
        pushf
        push cs
        push word .landed
        iret
        mov word [V86_DATA + 6], 0xdead
        jmp .next
.landed:
        mov word [V86_DATA + 6], 0x1234
.next:
        T 35, int 0x22
        T 36, int 0x23
        mov ebp, 0xff
        int3

v86_task:                               ; entered by a task switch; IOPL 0
        mov word [V86_DATA + 8], 0x8686
        mov ax, 0x1234
        mov ds, ax
        int3                                    ; a task gate back to the main task
        jmp v86_task
v86_end:
