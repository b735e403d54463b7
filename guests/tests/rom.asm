; rom.asm: a 64 KiB ROM run from the reset vector (F000:FFF0, linear FFFFFFF0).
; It checks the reset state in real mode, enters protected mode itself (LGDT,
; CR0.PE, far JMP), runs 32-bit code from the ROM's alias below 4 GiB, returns
; to real mode through a 16-bit protected-mode segment with a 4 GiB FS left in
; its descriptor cache ("unreal mode"), takes a real-mode interrupt and a
; real-mode #GP through the IVT, and goes back to protected mode to report.

%define ROM_GUEST
        bits 16
        org 0xffff0000
rom_base:
%include "lib.inc"

%define R(x) ((x) - rom_base)           ; offset in the F000 segment
%define SAVE 0x1100                     ; real-mode results, read in protected mode
%define ROM16 0x40                      ; 16-bit code at the ROM's low alias

        bits 16
real_entry:
        mov ebp, edx                    ; the reset signature
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ds, ax
        mov [SAVE + 0], ebp
        smsw ax
        mov [SAVE + 4], ax
        mov ax, cs
        mov [SAVE + 8], ax
        call .here
.here:  pop ax
        mov [SAVE + 12], ax
        mov ax, 0xf000
        mov es, ax
        mov eax, [es:R(signature)]      ; the ROM through its low alias
        mov [SAVE + 16], eax
        o32 lgdt [cs:R(rom_gdtr)]       ; a 32-bit base: the high alias
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword KCODE:pm_entry

        bits 32
pm_entry:
        mov ax, KDATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, KSTACK_TOP
        call lib_init32
        OK "rom.protected_mode"
        mov eax, 1
        cpuid
        CHECK "rom.reset_edx", [SAVE + 0], eax
        movzx eax, word [SAVE + 4]
        CHECK "rom.reset_msw", eax, 0x0010
        movzx eax, word [SAVE + 8]
        CHECK "rom.reset_cs", eax, 0xf000
        movzx eax, word [SAVE + 12]
        CHECK "rom.reset_ip", eax, R(real_entry.here)
        CHECK "rom.low_alias", [SAVE + 16], 0x6d6f7262
        CHECK "rom.high_alias", [signature], 0x6d6f7262
        mov eax, cs
        CHECK "rom.cs", eax, KCODE
        call .eip
.eip:   pop eax
        CHECK "rom.eip_high", eax, .eip
        mov eax, cr0
        and eax, 0x80000001
        CHECK "rom.cr0_pe", eax, 1
        ; The ROM is read-only in both places; RAM is not.
        mov dword [0xf0000 + R(signature)], 0x12345678
        CHECK "rom.low_readonly", [0xf0000 + R(signature)], 0x6d6f7262
        mov dword [signature], 0x12345678
        CHECK "rom.high_readonly", [signature], 0x6d6f7262
        mov dword [0x200000], 0xcafef00d
        CHECK "rom.ram_above_1m", [0x200000], 0xcafef00d

        ; Back to real mode: a 16-bit segment first (base F0000), FS keeps a 4 GiB limit.
        mov ax, KDATA16
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov gs, ax
        mov ax, KDATA
        mov fs, ax
        jmp ROM16:R(pm16)

        bits 16
pm16:
        mov eax, cr0
        and al, ~1
        mov cr0, eax
        jmp 0xf000:R(real_again)
real_again:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov fs, ax                      ; base 0, the 4 GiB limit stays in the cache
        mov sp, 0x7000
        lidt [cs:R(real_idtr)]
        mov eax, [fs:dword 0x200000]    ; unreal mode
        mov [SAVE + 20], eax
        ; A real-mode software interrupt through the IVT.
        mov word [0x40 * 4], R(int40)
        mov word [0x40 * 4 + 2], 0xf000
        mov word [SAVE + 24], 0
        stc
        int 0x40
        mov [SAVE + 28], ax             ; flags seen by the handler
        ; A real-mode #GP: DS has a 64 KiB limit.
        mov word [13 * 4], R(gp_handler)
        mov word [13 * 4 + 2], 0xf000
        mov dword [SAVE + 32], 0
        mov ebx, 0x10000
gp_fault_insn:
        mov eax, [ebx]                  ; #GP (int 13), the handler skips its 4 bytes
        nop
        ; Protected mode again, to report.
        o32 lgdt [cs:R(rom_gdtr)]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword KCODE:pm_again

int40:  ; returns in AX the FLAGS it was entered with (IF and TF cleared by delivery)
        push bp
        mov bp, sp
        mov ax, [bp + 6]                ; pushed FLAGS
        mov word [SAVE + 24], 1
        pop bp
        iret

gp_handler:
        push bp
        mov bp, sp
        mov ax, [bp + 2]                ; pushed IP: the faulting instruction
        mov [SAVE + 32], ax
        add word [bp + 2], 4            ; skip "mov eax, [ebx]" (67 66 8B 03)
        pop bp
        iret

        bits 32
pm_again:
        mov ax, KDATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, KSTACK_TOP
        lidt [pm_idtr]
        OK "rom.protected_again"
        CHECK "rom.unreal_fs", [SAVE + 20], 0xcafef00d
        movzx eax, word [SAVE + 24]
        CHECK "rom.real_int", eax, 1
        movzx eax, word [SAVE + 28]
        and eax, 0x0301                 ; CF, TF, IF as pushed
        CHECK "rom.real_int_flags", eax, 0x0001
        movzx eax, word [SAVE + 32]
        CHECK "rom.real_gp", eax, R(gp_fault_insn)
        jmp lib_exit

        align 8
rom_gdt:
        STD_GDT
        DESC 0xf0000, 0xffff, 0x9b, 0x0 ; 0x40 code16 DPL0 at the ROM's low alias
rom_gdt_end:
rom_gdtr:
        dw rom_gdt_end - rom_gdt - 1
        dd rom_gdt
real_idtr:
        dw 0x3ff
        dd 0
pm_idtr:
        dw 256 * 8 - 1
        dd IDT_BASE
signature:
        db "brom"

        times 0x10000 - 16 - ($ - $$) db 0xff
        bits 16
reset_vector:                           ; F000:FFF0
        jmp real_entry
        times 0x10000 - ($ - $$) db 0xff
