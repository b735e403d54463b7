; String kernel (32-bit flat code at 0x1000): copies and fills a 4 KiB buffer
; with REP MOVSD / REP STOSD and scans it with REPNE SCASB, ECX times (host sets
; ECX). Halts with a checksum of the buffers in EAX.
        bits 32
        org 0x1000
        mov ebp, ecx
        cld
.outer:
        mov esi, 0x10000
        mov edi, 0x20000
        mov ecx, 1024
        rep movsd
        mov edi, 0x30000
        mov eax, ebp
        mov ecx, 1024
        rep stosd
        mov edi, 0x20000
        mov al, 0xff
        mov ecx, 4096
        repne scasb
        dec ebp
        jnz .outer
        mov eax, [0x20000 + 4092]
        add eax, [0x30000]
        add eax, ecx
        hlt
