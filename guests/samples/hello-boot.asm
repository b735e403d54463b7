; A tiny real-mode boot sector of our own: prints a greeting on COM1 and through
; the 0xE9 debug port, then powers the machine off through QEMU's isa-debug-exit.
; It is the sample that `bt86 disasm` lists until a guest boots.
        bits 16
        org 0x7c00
start:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        cld
        mov si, message
.next:
        lodsb
        test al, al
        jz .done
        mov dx, 0x3f8          ; COM1 data register
        out dx, al
        out 0xe9, al           ; debug console
        jmp .next
.done:
        mov al, 0
        out 0xf4, al           ; isa-debug-exit
        hlt
        jmp .done
message:
        db "Hello from bt86", 13, 10, 0
        times 510-($-$$) db 0
        dw 0xaa55
