; seg.asm: protected-mode segmentation at CPL 0. Segment-register loads that
; must fault (#GP, #NP, #SS with the selector as error code), limits with
; byte and page granularity, expand-down segments (16- and 32-bit), accessed
; bits, the hidden descriptor caches, conforming and execute-only code, the CS
; limit, the LDT, and the descriptor instructions LAR LSL VERR VERW ARPL SGDT
; SIDT SLDT STR SMSW LLDT LTR.

%include "lib.inc"

%define S_NP      0x40          ; data, not present
%define S_RO      0x48          ; read-only data, base 2 MiB, limit 0xFFF
%define S_XO      0x50          ; execute-only code
%define S_RX      0x58          ; readable code, base 2 MiB, limit 0xFFF
%define S_D3      0x60          ; data DPL 3
%define S_SMALL   0x68          ; data, base 2 MiB, limit 0xFFF
%define S_ED32    0x70          ; expand-down data, B = 1, base 3 MiB, limit 0xFFF
%define S_ED16    0x78          ; expand-down data, B = 0, base 3 MiB, limit 0xFFF
%define S_GRAN    0x80          ; data, G = 1, limit 1 (0x1FFF), base 2 MiB
%define S_NOTACC  0x88          ; data, accessed bit clear
%define S_CONF    0x90          ; conforming readable code, DPL 0, flat
%define S_LDT     0x98          ; the LDT
%define S_GATE    0xa0          ; a call gate (DPL 0)
%define S_C3      0xa8          ; code DPL 3
%define S_D1      0xb0          ; data DPL 1
%define S_CNP     0xb8          ; code, not present
%define S_CACHE   0xc0          ; data, base 2 MiB (the test rewrites it)
%define S_TSS2    0xc8          ; an available 32-bit TSS
%define S_TSSBUSY 0xd0          ; a busy 32-bit TSS
%define S_TSSNP   0xd8          ; a TSS, not present
%define S_LIM64K  0xe0          ; data, base 0, limit 0xFFFF

%define L_DATA    0x04          ; LDT 0: data, base 4 MiB
%define L_NP      0x0c          ; LDT 1: data, not present

%define BASE2M 0x200000
%define BASE3M 0x300000
%define BASE4M 0x400000

main:
        ; Known memory behind the test segments.
        mov dword [BASE2M], 0x11111111
        mov dword [BASE2M + 0xffc], 0x2222ffc0
        mov dword [BASE3M + 0x1000], 0x33331000
        mov dword [BASE3M - 4], 0x3333fffc
        mov dword [BASE3M + 0xfffe], 0x3333fffe
        mov dword [BASE4M], 0x44444444

; ---- null selectors, table limits, descriptor types -------------------------------
        TRY
        xor eax, eax
        mov ds, ax
        CATCH "seg.null_ds_load", -1, -1
        TRY
        mov eax, [0]
        ENDTRY
        mov ax, KDATA
        mov ds, ax
        EXPECT_EXC "seg.null_ds_use", 13, 0

        TRY
        mov ax, 0xfff8
        mov ds, ax
        CATCH "seg.gdt_limit", 13, 0xfff8
        TRY
        mov ax, L_DATA
        mov es, ax
        CATCH "seg.ldt_null", 13, L_DATA
        TRY
        mov ax, TSS_SEL
        mov es, ax
        CATCH "seg.system_ds", 13, TSS_SEL
        TRY
        mov ax, S_XO
        mov es, ax
        CATCH "seg.execonly_ds", 13, S_XO
        TRY
        mov ax, S_NP
        mov es, ax
        CATCH "seg.np_ds", 11, S_NP
        TRY
        mov ax, S_D1 | 3
        mov es, ax
        CATCH "seg.rpl_ds", 13, S_D1
        TRY
        mov ax, S_D1 | 1
        mov es, ax
        CATCH "seg.dpl1_ds", -1, -1

        ; Readable code through a data segment register: read yes, write no.
        mov ax, S_RX
        mov es, ax
        TRY
        mov eax, [es:0]
        CATCH "seg.code_read_ok", -1, -1
        CHECK "seg.code_read", eax, 0x11111111
        TRY
        mov [es:0], eax
        CATCH "seg.code_write", 13, 0
        ; Read-only data.
        mov ax, S_RO
        mov es, ax
        TRY
        mov dword [es:0], 0
        CATCH "seg.readonly_write", 13, 0
        CHECK "seg.readonly_read", [es:0xffc], 0x2222ffc0

; ---- stack segment loads -----------------------------------------------------------
        TRY
        xor eax, eax
        mov ss, ax
        CATCH "seg.ss_null", 13, 0
        TRY
        mov ax, S_RO
        mov ss, ax
        CATCH "seg.ss_readonly", 13, S_RO
        TRY
        mov ax, S_D3
        mov ss, ax
        CATCH "seg.ss_dpl", 13, S_D3
        TRY
        mov ax, KDATA | 3
        mov ss, ax
        CATCH "seg.ss_rpl", 13, KDATA
        TRY
        mov ax, S_RX
        mov ss, ax
        CATCH "seg.ss_code", 13, S_RX
        TRY
        mov ax, S_NP
        mov ss, ax
        CATCH "seg.ss_np", 12, S_NP

; ---- limits ------------------------------------------------------------------------
        mov ax, S_SMALL
        mov es, ax
        TRY
        mov al, [es:0xfff]
        CATCH "seg.limit_byte", -1, -1
        TRY
        mov eax, [es:0xffc]
        CATCH "seg.limit_dword_ok", -1, -1
        CHECK "seg.limit_value", eax, 0x2222ffc0
        TRY
        mov eax, [es:0xffd]
        CATCH "seg.limit_dword", 13, 0
        ; The stack segment's limit gives #SS(0).
        mov [scratch], esp
        TRY
        mov ax, S_SMALL
        mov ss, ax
        mov esp, 0xf00
        mov eax, [esp + 0x100]
        ENDTRY
        mov ax, KDATA
        mov ss, ax
        mov esp, [scratch]
        EXPECT_EXC "seg.ss_limit", 12, 0
        ; Page granularity: limit 1 means 0x1FFF.
        mov ax, S_GRAN
        mov es, ax
        TRY
        mov al, [es:0x1fff]
        CATCH "seg.gran_ok", -1, -1
        TRY
        mov al, [es:0x2000]
        CATCH "seg.gran_limit", 13, 0
        lsl eax, [.sel_gran]
        CHECK "seg.lsl_gran", eax, 0x1fff

; ---- expand-down segments --------------------------------------------------------------
        mov ax, S_ED32
        mov es, ax
        TRY
        mov eax, [es:0xfff]
        CATCH "seg.expdown_low", 13, 0
        TRY
        mov eax, [es:0x1000]
        CATCH "seg.expdown_ok", -1, -1
        CHECK "seg.expdown_value", eax, 0x33331000
        TRY
        mov eax, [es:0xfffffffc]
        CATCH "seg.expdown_top", -1, -1
        CHECK "seg.expdown_top_value", eax, 0x3333fffc
        mov ax, S_ED16
        mov es, ax
        TRY
        movzx eax, word [es:0xfffe]
        CATCH "seg.expdown16_ok", -1, -1
        CHECK "seg.expdown16_value", eax, 0x0000fffe
        TRY
        mov ax, [es:0xffff]
        CATCH "seg.expdown16_top", 13, 0
        TRY
        mov al, [es:0x10000]
        CATCH "seg.expdown16_beyond", 13, 0
        ; An expand-down stack: below limit + 1 is #SS.
        mov [scratch], esp
        TRY
        mov ax, S_ED32
        mov ss, ax
        mov esp, 0x1100
        push eax
        mov eax, [ss:0x800]
        ENDTRY
        mov ax, KDATA
        mov ss, ax
        mov esp, [scratch]
        EXPECT_EXC "seg.ss_expdown", 12, 0

; ---- accessed bits and the hidden descriptor caches --------------------------------------
        movzx eax, byte [gdt + S_NOTACC + 5]
        CHECK "seg.accessed_clear", eax, 0x92
        mov ax, S_NOTACC
        mov es, ax
        movzx eax, byte [gdt + S_NOTACC + 5]
        CHECK "seg.accessed_set", eax, 0x93

        mov ax, S_CACHE
        mov fs, ax
        mov byte [gdt + S_CACHE + 4], 0x40      ; base 2 MiB -> 4 MiB, in memory only
        CHECK "seg.hidden_cache", [fs:0], 0x11111111
        mov ax, S_CACHE
        mov fs, ax
        CHECK "seg.cache_reload", [fs:0], 0x44444444
        mov ax, KDATA
        mov es, ax
        mov fs, ax

; ---- LAR, LSL, VERR, VERW, ARPL ------------------------------------------------------------
        lar eax, [.sel_rx]
        mov ebx, eax
        GETZF
        CHECK "seg.lar_code_zf", eax, 1
        CHECK "seg.lar_code", ebx, 0x00409b00
        mov eax, S_TSS2
        lar ebx, eax
        CHECK "seg.lar_tss", ebx, 0x00008900
        mov eax, S_GATE
        lar ebx, eax
        GETZF
        CHECK "seg.lar_gate_zf", eax, 1
        CHECK "seg.lar_gate", ebx, 0x00008c00
        mov ebx, 0x12345678
        xor eax, eax
        lar ebx, eax
        GETZF
        CHECK "seg.lar_null", eax, 0
        CHECK "seg.lar_keep", ebx, 0x12345678
        mov eax, KDATA | 3
        lar ebx, eax
        GETZF
        CHECK "seg.lar_rpl", eax, 0
        mov eax, S_CONF | 3
        lar ebx, eax
        GETZF
        CHECK "seg.lar_conforming", eax, 1
        mov eax, 0xfff8
        lar ebx, eax
        GETZF
        CHECK "seg.lar_limit", eax, 0
        mov eax, S_GATE
        lsl ebx, eax
        GETZF
        CHECK "seg.lsl_gate", eax, 0
        mov eax, S_SMALL
        lsl ebx, eax
        CHECK "seg.lsl_byte", ebx, 0xfff
        mov eax, S_LDT
        lsl ebx, eax
        CHECK "seg.lsl_ldt", ebx, ldt_end - ldt - 1
        mov eax, S_TSS2
        lsl ebx, eax
        CHECK "seg.lsl_tss", ebx, 0x67

        mov eax, S_XO
        verr ax
        GETZF
        CHECK "seg.verr_execonly", eax, 0
        mov eax, S_RX
        verr ax
        GETZF
        CHECK "seg.verr_code", eax, 1
        mov eax, S_RO
        verw ax
        GETZF
        CHECK "seg.verw_readonly", eax, 0
        mov eax, KDATA
        verw ax
        GETZF
        CHECK "seg.verw_data", eax, 1
        mov eax, S_RX
        verw ax
        GETZF
        CHECK "seg.verw_code", eax, 0
        mov eax, TSS_SEL
        verr ax
        GETZF
        CHECK "seg.verr_system", eax, 0
        mov eax, S_CONF | 3
        verr ax
        GETZF
        CHECK "seg.verr_conforming", eax, 1
        mov eax, S_NP
        verw ax
        GETZF
        CHECK "seg.verw_not_present", eax, 1
        mov eax, KDATA | 3
        verw ax
        GETZF
        CHECK "seg.verw_rpl", eax, 0

        mov eax, 0x10
        mov ebx, 3
        arpl ax, bx
        mov ecx, eax
        GETZF
        CHECK "seg.arpl_zf", eax, 1
        CHECK "seg.arpl_adjust", ecx, 0x13
        mov word [scratch], 0x2b
        mov ebx, 1
        arpl [scratch], bx
        GETZF
        CHECK "seg.arpl_keep_zf", eax, 0
        movzx eax, word [scratch]
        CHECK "seg.arpl_keep", eax, 0x2b

; ---- SGDT SIDT SLDT STR SMSW LLDT LTR ---------------------------------------------------------
        mov dword [scratch], 0xffffffff
        mov dword [scratch + 4], 0xffffffff
        sgdt [scratch]
        movzx eax, word [scratch]
        CHECK "seg.sgdt_limit", eax, gdt_end - gdt - 1
        CHECK "seg.sgdt_base", [scratch + 2], gdt
        sidt [scratch]
        movzx eax, word [scratch]
        CHECK "seg.sidt_limit", eax, 0x7ff
        CHECK "seg.sidt_base", [scratch + 2], IDT_BASE
        mov eax, -1
        sldt eax
        CHECK "seg.sldt_null", eax, 0
        mov eax, -1
        str eax
        CHECK "seg.str", eax, TSS_SEL
        mov eax, cr0
        mov ebx, eax
        mov eax, 0x12345678
        smsw eax                                ; the high half is undefined (SDM): compare MSW only
        movzx eax, ax
        and ebx, 0xffff
        CHECK "seg.smsw_reg", eax, ebx
        mov ebx, cr0
        mov dword [scratch], 0xffffffff
        smsw [scratch]
        and ebx, 0xffff
        or ebx, 0xffff0000
        CHECK "seg.smsw_mem", [scratch], ebx

        TRY
        mov ax, KDATA
        lldt ax
        CATCH "seg.lldt_type", 13, KDATA
        TRY
        mov ax, L_DATA
        lldt ax
        CATCH "seg.lldt_ti", 13, L_DATA
        mov ax, S_LDT
        lldt ax
        sldt ax
        movzx eax, ax
        CHECK "seg.sldt", eax, S_LDT
        TRY
        mov ax, L_DATA
        mov es, ax
        CATCH "seg.ldt_load", -1, -1
        CHECK "seg.ldt_base", [es:0], 0x44444444
        TRY
        mov ax, L_NP
        mov es, ax
        CATCH "seg.ldt_np", 11, L_NP
        TRY
        mov ax, 0x14
        mov es, ax
        CATCH "seg.ldt_limit", 13, 0x14
        mov ax, KDATA
        mov es, ax
        xor eax, eax
        lldt ax
        TRY
        mov ax, L_DATA
        mov es, ax
        CATCH "seg.lldt_null", 13, L_DATA

        TRY
        mov ax, S_TSSBUSY
        ltr ax
        CATCH "seg.ltr_busy", 13, S_TSSBUSY
        TRY
        mov ax, S_TSSNP
        ltr ax
        CATCH "seg.ltr_np", 11, S_TSSNP
        TRY
        mov ax, KDATA
        ltr ax
        CATCH "seg.ltr_type", 13, KDATA
        TRY
        mov ax, S_TSS2
        ltr ax
        CATCH "seg.ltr", -1, -1
        movzx eax, byte [gdt + S_TSS2 + 5]
        CHECK "seg.ltr_busy_bit", eax, 0x8b
        str ax
        movzx eax, ax
        CHECK "seg.str_new", eax, S_TSS2

; ---- far transfers at CPL 0 -------------------------------------------------------------------
        TRY
        jmp S_CNP:0
        CATCH "seg.jmp_np", 11, S_CNP
        TRY
        jmp S_C3:0
        CATCH "seg.jmp_dpl", 13, S_C3
        TRY
        jmp KDATA:0
        CATCH "seg.jmp_data", 13, KDATA
        TRY
        jmp S_RX:0x1000
        CATCH "seg.jmp_limit", 13, 0
        TRY
        jmp S_CONF:.in_conforming
.in_conforming:
        mov eax, cs
        mov [scratch], eax
        jmp KCODE:.back
.back:
        CATCH "seg.jmp_conforming", -1, -1
        CHECK "seg.conforming_cs", [scratch], S_CONF
        ; Running off the end of a code segment: #GP(0) at the limit.
        mov word [BASE2M + 0xffe], 0x9090       ; nop, nop at the end of S_RX
        TRY
        mov dword [ss:resume_cs], KCODE
        jmp S_RX:0xffe
        CATCH "seg.cs_limit", 13, 0
        CHECK "seg.cs_limit_eip", [exc_eip], 0x1000
        CHECK "seg.cs_limit_cs", [exc_cs], S_RX

; ---- faulting loads change nothing -------------------------------------------------------------
        mov word [scratch], S_NP
        push dword S_NP
        mov ebx, esp
        TRY
        pop es
        CATCH "seg.pop_es_np", 11, S_NP
        mov eax, esp
        CHECK "seg.pop_precise", eax, ebx
        add esp, 4
        mov dword [scratch], 0x1234
        mov word [scratch + 4], S_NP
        mov esi, 0x5678
        TRY
        les esi, [scratch]
        CATCH "seg.les_np", 11, S_NP
        CHECK "seg.les_precise", esi, 0x5678
        TRY
        db 0x8e, 0xc8                   ; mov cs, ax
        CATCH "seg.mov_cs", 6, -1

        jmp lib_exit

.sel_gran: dw S_GRAN
.sel_rx:   dw S_RX

        align 8
gdt:
        STD_GDT
        DESC BASE2M, 0xfff, 0x13, 0x4           ; 0x40 S_NP
        DESC BASE2M, 0xfff, 0x91, 0x4           ; 0x48 S_RO
        DESC 0, 0xfffff, 0x99, 0xc              ; 0x50 S_XO
        DESC BASE2M, 0xfff, 0x9b, 0x4           ; 0x58 S_RX
        DESC 0, 0xfffff, 0xf3, 0xc              ; 0x60 S_D3
        DESC BASE2M, 0xfff, 0x93, 0x4           ; 0x68 S_SMALL
        DESC BASE3M, 0xfff, 0x97, 0x4           ; 0x70 S_ED32
        DESC BASE3M, 0xfff, 0x97, 0x0           ; 0x78 S_ED16
        DESC BASE2M, 0x1, 0x93, 0xc             ; 0x80 S_GRAN
        DESC BASE2M, 0xfff, 0x92, 0x4           ; 0x88 S_NOTACC
        DESC 0, 0xfffff, 0x9f, 0xc              ; 0x90 S_CONF
        DESC ABS(ldt), ldt_end - ldt - 1, 0x82, 0x0 ; 0x98 S_LDT
        GATE KCODE, 0, 0x8c, 0                  ; 0xa0 S_GATE
        DESC 0, 0xfffff, 0xfb, 0xc              ; 0xa8 S_C3
        DESC 0, 0xfffff, 0xb3, 0xc              ; 0xb0 S_D1
        DESC 0, 0xfffff, 0x1b, 0xc              ; 0xb8 S_CNP
        DESC BASE2M, 0xffff, 0x93, 0x4          ; 0xc0 S_CACHE
        DESC 0x3200, 0x67, 0x89, 0x0            ; 0xc8 S_TSS2
        DESC 0x3300, 0x67, 0x8b, 0x0            ; 0xd0 S_TSSBUSY
        DESC 0x3400, 0x67, 0x09, 0x0            ; 0xd8 S_TSSNP
        DESC 0, 0xffff, 0x93, 0x0               ; 0xe0 S_LIM64K
gdt_end:

        align 8
ldt:
        DESC BASE4M, 0xfff, 0x93, 0x4           ; 0x04 L_DATA
        DESC BASE4M, 0xfff, 0x13, 0x4           ; 0x0c L_NP
ldt_end:
