; paging.asm: two-level 32-bit paging (4 KiB pages and PSE 4 MiB pages), then
; PAE paging with NX. Accessed and dirty bits, CR0.WP, user/supervisor and
; read/write protection from CPL 0 and CPL 3, #PF error codes and CR2 for
; not-present, protection, reserved-bit and no-execute faults, faults on
; instruction fetch and on accesses that cross into a missing page, and the
; TLB: stale until INVLPG, flushed by CR3 writes except global pages, flushed
; by CR0/CR4 changes.

%include "lib.inc"

%define PD      0x200000        ; 32-bit paging: page directory
%define PT0     0x201000        ; identity map of 0-4 MiB (user, writable)
%define PT1     0x202000        ; the test pages at linear 4 MiB
%define FRAME(n) (0x300000 + (n) * 0x1000)      ; test frames; first dword = 0xF0000000 + n
%define PDPT    0x210000        ; PAE
%define PAE_PD  0x211000
%define PAE_PT0 0x212000        ; identity map of 0-2 MiB
%define PAE_PT1 0x213000        ; the test pages at linear 4 MiB
%define PDPT_BAD 0x214000       ; a PDPT with a reserved bit set

%define P  1
%define W  2
%define U  4
%define A  0x20
%define D  0x40
%define PS 0x80
%define G  0x100

%define T(n) (0x400000 + (n) * 0x1000)          ; test linear pages

; PTE n of PT1: frame, flags
%macro PTE1 2
        mov dword [PT1 + (%1) * 4], (%2)
%endmacro

main:
        ; Frames: a marker in each.
        xor ecx, ecx
.frames:
        mov eax, ecx
        shl eax, 12
        lea edi, [FRAME(0) + eax]
        lea eax, [ecx + 0xf0000000]
        mov [edi], eax
        inc ecx
        cmp ecx, 16
        jb .frames
        ; Page directory and the identity map.
        mov edi, PD
        xor eax, eax
        mov ecx, 3 * 1024
        rep stosd                               ; PD, PT0, PT1 cleared
        mov edi, PT0
        mov eax, P | W | U
        mov ecx, 1024
.ident:
        stosd
        add eax, 0x1000
        loop .ident
        mov dword [PD + 0 * 4], PT0 | P | W | U
        mov dword [PD + 1 * 4], PT1 | P | W | U
        mov dword [PD + 2 * 4], 0x00000000 | P | W | U | PS | 0x2000   ; bit 13: reserved without PSE-36
        mov dword [PD + 3 * 4], 0x00000000 | P | W | U | PS            ; 4 MiB at 12 MiB -> 0
        PTE1 0, FRAME(0) | P | W | U
        PTE1 2, FRAME(2) | P | U                ; user read-only
        PTE1 3, FRAME(3) | P | W                ; supervisor read/write
        PTE1 4, FRAME(4) | P                    ; supervisor read-only
        PTE1 5, FRAME(5) | P | W | U            ; INVLPG
        PTE1 6, FRAME(6) | P | W | U | G        ; global
        PTE1 7, FRAME(7) | P | W | U            ; not global
        PTE1 8, FRAME(8) | P | W | U            ; followed by a missing page
        mov eax, PD
        mov cr3, eax
        mov eax, cr4
        or eax, 0x10                            ; PSE
        mov cr4, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .paged
.paged:
        mov eax, cr0
        shr eax, 31
        CHECK "pg.enabled", eax, 1
        mov eax, cr3
        CHECK "pg.cr3", eax, PD

; ---- accessed and dirty bits ---------------------------------------------------------
        mov eax, [PT1 + 0]
        and eax, A | D
        CHECK "pg.ad_clear", eax, 0
        CHECK "pg.read_mapped", [T(0)], 0xf0000000
        mov eax, [PT1 + 0]
        and eax, A | D
        CHECK "pg.accessed", eax, A
        mov eax, [PD + 4]
        and eax, A | D
        CHECK "pg.pde_accessed", eax, A
        mov dword [T(0) + 4], 0x12345678
        mov eax, [PT1 + 0]
        and eax, A | D
        CHECK "pg.dirty", eax, A | D
        CHECK "pg.write_mapped", [FRAME(0) + 4], 0x12345678

; ---- not present ---------------------------------------------------------------------
        TRY
        mov eax, [T(1) + 4]
        CATCH "pg.np_read", 14, 0
        CHECK "pg.np_read_cr2", [exc_cr2], T(1) + 4
        TRY
        mov dword [T(1) + 8], 0
        CATCH "pg.np_write", 14, 2
        CHECK "pg.np_write_cr2", [exc_cr2], T(1) + 8
        TRY
        mov eax, [0x1000000]
        CATCH "pg.pde_np", 14, 0
        CHECK "pg.pde_np_cr2", [exc_cr2], 0x1000000
        TRY
        call T(1)
        ENDTRY
        mov ebx, [exc_vec]
        cmp ebx, 14
        jne .no_pop
        add esp, 4                              ; the CALL completed; the fetch faulted
.no_pop:
        EXPECT_EXC "pg.fetch_np", 14, 0
        CHECK "pg.fetch_cr2", [exc_cr2], T(1)
        CHECK "pg.fetch_eip", [exc_eip], T(1)

; ---- write protection at CPL 0 ---------------------------------------------------------
        TRY
        mov dword [T(2) + 4], 0x22
        CATCH "pg.wp0_user_ro", -1, -1
        TRY
        mov dword [T(4) + 4], 0x44
        CATCH "pg.wp0_super_ro", -1, -1
        mov eax, [PT1 + 4 * 4]
        and eax, A | D
        CHECK "pg.wp0_dirty", eax, A | D
        mov eax, cr0
        or eax, 0x10000                         ; WP
        mov cr0, eax
        TRY
        mov dword [T(2) + 4], 0x23
        CATCH "pg.wp1_user_ro", 14, 3
        CHECK "pg.wp1_cr2", [exc_cr2], T(2) + 4
        TRY
        mov dword [T(4) + 4], 0x45
        CATCH "pg.wp1_super_ro", 14, 3
        CHECK "pg.wp1_unchanged", [FRAME(4) + 4], 0x44
        TRY
        mov eax, [T(4)]
        CATCH "pg.wp1_read", -1, -1
        ; A straddling write with the second page missing writes nothing.
        mov dword [T(8) + 0xffc], 0x88888888
        TRY
        mov dword [T(8) + 0xffe], 0xdeadbeef
        CATCH "pg.split_write", 14, 2
        CHECK "pg.split_cr2", [exc_cr2], T(9)
        CHECK "pg.split_atomic", [FRAME(8) + 0xffc], 0x88888888

; ---- CPL 3 --------------------------------------------------------------------------------
        USER
        TRY
        mov eax, [T(3)]
        CATCH "pg.user_super_read", 14, 5
        TRY
        mov dword [T(2)], 0
        CATCH "pg.user_ro_write", 14, 7
        TRY
        mov eax, [T(1)]
        CATCH "pg.user_np_read", 14, 4
        TRY
        mov dword [T(1)], 0
        CATCH "pg.user_np_write", 14, 6
        TRY
        mov eax, [T(2)]
        CATCH "pg.user_read", -1, -1
        TRY
        mov dword [T(0) + 8], 0x55
        CATCH "pg.user_write", -1, -1
        KERNEL
        CHECK "pg.back_in_ring0", [FRAME(0) + 8], 0x55

; ---- reserved bits and PSE ------------------------------------------------------------------
        TRY
        mov eax, [0x800000]
        CATCH "pg.rsvd_pse", 14, 9
        TRY
        mov dword [0x800004], 0
        CATCH "pg.rsvd_pse_write", 14, 11
        CHECK "pg.pse_read", [0xc00000 + FRAME(1)], 0xf0000001
        mov dword [0xc00000 + FRAME(1) + 4], 0x11223344
        CHECK "pg.pse_write", [FRAME(1) + 4], 0x11223344
        mov eax, [PD + 3 * 4]
        and eax, A | D
        CHECK "pg.pse_dirty", eax, A | D

; ---- the TLB -----------------------------------------------------------------------------------
        CHECK "pg.tlb_fill", [T(5)], 0xf0000005
        mov dword [PT1 + 5 * 4], FRAME(10) | P | W | U
        CHECK "pg.tlb_stale", [T(5)], 0xf0000005
        invlpg [T(5)]
        CHECK "pg.invlpg", [T(5)], 0xf000000a

        mov eax, cr4
        or eax, 0x80                            ; PGE
        mov cr4, eax
        CHECK "pg.global_fill", [T(6)], 0xf0000006
        CHECK "pg.nonglobal_fill", [T(7)], 0xf0000007
        mov dword [PT1 + 6 * 4], FRAME(11) | P | W | U | G
        mov dword [PT1 + 7 * 4], FRAME(12) | P | W | U
        mov eax, cr3
        mov cr3, eax
        CHECK "pg.global_kept", [T(6)], 0xf0000006
        CHECK "pg.nonglobal_flushed", [T(7)], 0xf000000c
        mov eax, cr4
        and eax, ~0x80
        mov cr4, eax
        or eax, 0x80
        mov cr4, eax
        CHECK "pg.pge_toggle_flush", [T(6)], 0xf000000b
        mov dword [PT1 + 6 * 4], FRAME(6) | P | W | U | G
        CHECK "pg.global_stale", [T(6)], 0xf000000b
        invlpg [T(6)]
        CHECK "pg.global_invlpg", [T(6)], 0xf0000006
        ; Turning paging off and on flushes everything.
        CHECK "pg.cr0_fill", [T(5)], 0xf000000a
        mov dword [PT1 + 5 * 4], FRAME(5) | P | W | U
        mov eax, cr0
        and eax, ~0x80000000
        mov cr0, eax
        or eax, 0x80000000
        mov cr0, eax
        CHECK "pg.cr0_flush", [T(5)], 0xf0000005

; ---- PAE ----------------------------------------------------------------------------------------
        mov eax, cr0
        and eax, ~0x80000000
        mov cr0, eax                            ; paging off to switch modes
        mov edi, PDPT
        xor eax, eax
        mov ecx, 5 * 1024
        rep stosd                               ; PDPT, PAE_PD, PAE_PT0, PAE_PT1, PDPT_BAD
        mov dword [PDPT], PAE_PD | P
        mov dword [PAE_PD + 0 * 8], PAE_PT0 | P | W | U
        mov dword [PAE_PD + 1 * 8], 0x200000 | P | W | U | PS   ; 2-4 MiB identity
        mov dword [PAE_PD + 2 * 8], PAE_PT1 | P | W | U
        mov dword [PAE_PD + 3 * 8], 0x200000 | P | W | U | PS   ; 6 MiB -> 2 MiB, no-execute
        mov dword [PAE_PD + 3 * 8 + 4], 0x80000000
        mov edi, PAE_PT0
        mov eax, P | W | U
        mov ecx, 512
.ident_pae:
        mov [edi], eax
        add edi, 8
        add eax, 0x1000
        loop .ident_pae
        mov dword [PAE_PT1 + 0 * 8], FRAME(0) | P | W | U
        mov dword [PAE_PT1 + 0 * 8 + 4], 0x80000000             ; XD
        mov dword [PAE_PT1 + 1 * 8], FRAME(1) | P | W | U       ; executable
        mov dword [PAE_PT1 + 2 * 8], FRAME(2) | P | W | U
        mov dword [PAE_PT1 + 2 * 8 + 4], 0x100                  ; bit 40: beyond MAXPHYADDR
        mov byte [FRAME(0) + 16], 0xc3                          ; ret
        mov byte [FRAME(1) + 16], 0xc3
        mov dword [PDPT_BAD], PAE_PD | P | W                    ; R/W is reserved in a PDPTE
        mov eax, cr4
        or eax, 0x20                            ; PAE
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pae_on
.pae_on:
        OK "pae.enabled"
        CHECK "pae.read", [T(1)], 0xf0000001
        mov eax, [PAE_PT1 + 1 * 8]
        and eax, A | D
        CHECK "pae.accessed", eax, A
        mov dword [T(1) + 8], 0x77
        mov eax, [PAE_PT1 + 1 * 8]
        and eax, A | D
        CHECK "pae.dirty", eax, A | D
        TRY
        mov eax, [T(0)]
        CATCH "pae.xd_reserved", 14, 9          ; XD without EFER.NXE is a reserved bit
        TRY
        mov eax, [T(2)]
        CATCH "pae.rsvd", 14, 9
        TRY
        mov eax, [T(3)]
        CATCH "pae.np", 14, 0
        TRY
        call T(3)
        ENDTRY
        cmp dword [exc_vec], 14
        jne .no_pop1
        add esp, 4
.no_pop1:
        EXPECT_EXC "pae.np_fetch", 14, 0        ; no I/D bit without NXE
        ; EFER.NXE
        mov ecx, 0xc0000080
        rdmsr
        or eax, 0x800
        wrmsr
        rdmsr
        CHECK "pae.efer_nxe", eax, 0x800
        CHECK "pae.large_read", [0x600000 + FRAME(3) - 0x200000], 0xf0000003
        TRY
        mov eax, [T(0)]
        CATCH "pae.nx_read", -1, -1
        CHECK "pae.nx_value", eax, 0xf0000000
        TRY
        call T(0) + 16
        ENDTRY
        cmp dword [exc_vec], 14
        jne .no_pop2
        add esp, 4
.no_pop2:
        EXPECT_EXC "pae.nx_fetch", 14, 0x11
        CHECK "pae.nx_cr2", [exc_cr2], T(0) + 16
        TRY
        call T(1) + 16
        CATCH "pae.exec", -1, -1
        TRY
        call 0x600000 + FRAME(1) + 16 - 0x200000
        ENDTRY
        cmp dword [exc_vec], 14
        jne .no_pop3
        add esp, 4
.no_pop3:
        EXPECT_EXC "pae.nx_large", 14, 0x11
        TRY
        call T(3)
        ENDTRY
        cmp dword [exc_vec], 14
        jne .no_pop4
        add esp, 4
.no_pop4:
        EXPECT_EXC "pae.np_fetch_nxe", 14, 0x10
        USER
        TRY
        call T(0) + 16
        ENDTRY
        cmp dword [exc_vec], 14
        jne .no_pop5
        add esp, 4
.no_pop5:
        EXPECT_EXC "pae.nx_fetch_user", 14, 0x15
        KERNEL
        ; A PDPTE with a reserved bit: MOV CR3 faults and CR3 keeps its value.
        TRY
        mov eax, PDPT_BAD
        mov cr3, eax
        CATCH "pae.pdpte_rsvd", 13, 0
        mov eax, cr3
        CHECK "pae.cr3_kept", eax, PDPT
        CHECK "pae.still_mapped", [T(1)], 0xf0000001

        jmp lib_exit

        align 8
gdt:
        STD_GDT
gdt_end:
