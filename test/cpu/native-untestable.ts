/**
 * User-mode integer rows (class 'int' in src/x86/table.ts) that the native
 * differential test (native-diff.test.ts) does not run on the host CPU, and why.
 * Keyed by the row's encoding and syntax as the table writes them; the test
 * checks that every key names a row and that every other integer row ran.
 *
 * Rows of the other classes are outside the test: 'sys' (privileged, I/O and
 * system instructions: at CPL 3 they fault or are emulated by the host kernel,
 * e.g. UMIP's SGDT/SMSW emulation and CPUID faulting), 'x87' (x87-native.test.ts),
 * 'simd' and 'ud' (defined to #UD in bt86, SSE instructions on the host).
 *
 * How the remaining rows are covered elsewhere: the software interrupts and
 * far transfers by the system test guests (test/system: IDT delivery, gates,
 * privilege changes, IRET to outer levels and v8086) and the 80286 vectors.
 */
export const NATIVE_UNTESTABLE: Readonly<Record<string, string>> = {
  'CC int3':
    'software interrupt (excluded by the issue): #BP is delivered through the host kernel\'s IDT to a SIGTRAP; the guest-side delivery it would exercise is the IDT path, not the instruction',
  'CD int Ib':
    'software interrupt (excluded by the issue): INT n at CPL 3 through the host\'s IDT is #GP or a system call (int 0x80 is killed by the seccomp filter)',
  'CE into':
    'software interrupt (excluded by the issue): #OF through the host kernel\'s IDT',
  'F1 int1':
    'software interrupt (excluded by the issue): ICEBP raises #DB through the host kernel (SIGTRAP); its delivery is what matters and that is the kernel\'s',
  'CF iret/iretd':
    'far transfer (excluded by the issue): pops CS and EFLAGS; at CPL 3 on the host it needs the kernel\'s selectors and would return to the 64-bit or 32-bit code segment of the host\'s choosing',
  '9A call Ap':
    'far transfer (excluded by the issue): the only code selector the host process has is its own (23h); the result depends on the host\'s GDT layout',
  'EA jmp Ap':
    'far transfer (excluded by the issue): as CALL Ap',
  'FF /3 mem call Mp':
    'far transfer (excluded by the issue): as CALL Ap, through memory',
  'FF /5 mem jmp Mp':
    'far transfer (excluded by the issue): as JMP Ap, through memory',
  'CA retf Iw':
    'far transfer (excluded by the issue): pops CS; a return to the host\'s 64-bit code segment (33h) would leave compatibility mode',
  'CB retf':
    'far transfer (excluded by the issue): as RETF Iw',
};

/** The key of a row in NATIVE_UNTESTABLE. */
export function untestableKey(row: { spec: { enc: string; syntax: string } }): string {
  return `${row.spec.enc} ${row.spec.syntax}`;
}
