; Call-heavy kernel (32-bit flat code at 0x1000, stack below 0x80000): the
; naive recursive Fibonacci of ECX (host sets it), result in EAX.
        bits 32
        org 0x1000
        mov esp, 0x80000
        push ecx
        call fib
        add esp, 4
        hlt
fib:
        push ebp
        mov ebp, esp
        push ebx
        mov eax, [ebp + 8]
        cmp eax, 2
        jb .done
        dec eax
        push eax
        call fib
        mov ebx, eax
        mov eax, [ebp + 8]
        sub eax, 2
        push eax
        call fib
        add esp, 8
        add eax, ebx
.done:
        pop ebx
        pop ebp
        ret
