; triple.asm: faults that cannot be delivered end in a triple fault. The #PF
; handler itself faults, so #PF nests until the stack runs into a page that is
; not present; the #PF during #PF delivery is a #DF, and the #DF cannot be
; pushed either: shutdown. With the command line "noidt" the IDT is empty
; instead (#UD, then #GP for the missing gate, #DF, shutdown).
; A marker in RAM survives the reset: booted again after a triple fault (no
; -no-reboot), the guest reports "triple.rebooted" and exits.

%include "lib.inc"

%define MARKER 0x700000
%define PD  0x200000
%define PT0 0x201000
%define STACK_TOP 0x90000               ; 32 KiB of stack, then a page that is not present

main:
        cmp dword [MARKER], 0x7121
        jne .first
        mov dword [MARKER], 0
        OK "triple.rebooted"
        jmp lib_exit
.first:
        mov dword [MARKER], 0x7121
        OK "triple.armed"
        mov esi, [0x9000 + 16]                  ; the multiboot command line
        cmp dword [esi], 'noid'
        je no_idt
        ; Identity-map 4 MiB, except the page below the stack.
        mov edi, PD
        xor eax, eax
        mov ecx, 2048
        rep stosd
        mov edi, PT0
        mov eax, 3
        mov ecx, 1024
.map:
        stosd
        add eax, 0x1000
        loop .map
        mov dword [PT0 + ((STACK_TOP - 0x9000) >> 12) * 4], 0
        mov dword [PD], PT0 | 3
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .paged
.paged:
        mov eax, 14
        mov ebx, pf_handler
        mov ecx, KCODE
        mov edx, 0x8e
        call set_gate
        mov eax, 8
        mov ebx, df_handler
        call set_gate
        mov esp, STACK_TOP
        mov eax, [0x1000000]                    ; not mapped
        FAILED "triple.survived", 0
        jmp lib_exit

pf_handler:
        mov eax, [0x1000000]                    ; faults again, one frame deeper
        iret

df_handler:
        FAILED "triple.df_delivered", 0
        jmp lib_exit

no_idt:
        lidt [.empty]
        ud2
        FAILED "triple.survived", 0
        jmp lib_exit
.empty: dw 0
        dd 0

        align 8
gdt:
        STD_GDT
gdt_end:
