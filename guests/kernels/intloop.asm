; Integer loop kernel (32-bit flat code at 0x1000): ALU work, an address
; computation and a counted loop. The host sets ECX to the iteration count;
; the kernel halts with the checksum in EAX. Seven instructions per iteration.
        bits 32
        org 0x1000
        xor eax, eax
        mov ebx, 0x12345678
.loop:
        add eax, ecx
        xor ebx, eax
        lea edx, [eax + ebx*2 + 7]
        sub eax, edx
        shr edx, 3
        add eax, edx
        dec ecx
        jnz .loop
        hlt
