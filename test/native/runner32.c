/*
 * runner32.c -- runs short x86 instruction sequences on the host CPU, in a
 * 32-bit process, for bt86's differential CPU tests.
 *
 * Build: gcc -m32 -O2 -static -fno-pie -no-pie -fno-stack-protector
 *        (test/native/native.ts does this on demand into .cache/native/).
 *
 * How one case runs
 * -----------------
 * The runner maps four regions at fixed linear addresses:
 *
 *   DATA_BASE 0x20000000  64 KiB   RW   the data window the code may use
 *   CODE_BASE 0x30000000   4 KiB   RWX  case bytes, then the epilogue; the rest
 *                                       of the page is 0xCC (int3)
 *   CTL_BASE  0x30010000 192 KiB   RW   the initial state (INIT), a small stack
 *                                       for the prologue/epilogue and an
 *                                       alternate signal stack
 *   RES_BASE  0x30040000   4 KiB   RW   the result page
 *
 * All four are MAP_SHARED: the parent rewrites them before every case, and a
 * shared mapping stays writable across fork, so neither side takes
 * copy-on-write faults on them.  The parent's own buffers are MADV_DONTFORK.
 *
 * For each case the parent writes the initial window, the code page and INIT,
 * clears the result page, and forks.  The child installs handlers for the fault
 * signals (SIGSEGV SIGBUS SIGILL SIGFPE SIGTRAP, on the alternate stack, all
 * signals blocked while one runs), sets PR_SET_NO_NEW_PRIVS, installs a
 * one-instruction seccomp-BPF filter that answers SECCOMP_RET_KILL_PROCESS to
 * every system call, and jumps to the prologue.  The prologue does FRSTOR (or
 * FNINIT), POPFD, loads the eight registers (ESP last) and jumps to CODE_BASE.
 *
 * The epilogue, copied right behind the case bytes, stores the eight registers,
 * PUSHFD's EFLAGS and FNSAVEs the x87 state into the result page, writes the
 * per-case nonce as the "done" mark, and ends the child (see child_die(): a
 * fault inside the handler, not a system call, so that the kernel's seccomp
 * audit log sees only system calls made by the cases themselves).  A fault in
 * the case's code reaches the handler, which stores the same state from the
 * signal's ucontext (registers, EIP, EFLAGS and the x87 state at the fault,
 * plus si_code, si_addr, the trap number and the error code), writes the
 * "fault" mark and ends the child the same way; it never returns, since
 * sigreturn is a system call.  A system call in the case's code (int 0x80,
 * sysenter) is killed by seccomp before the kernel acts on it; the parent
 * reports "syscall" when the child died of SIGSYS without a mark.  The parent
 * waits with a time limit and SIGKILLs the child when it expires.  Core dumps
 * are off (RLIMIT_CORE 0, not dumpable).
 *
 * Protocol (stdin -> stdout, all integers u32 little-endian)
 * --------------------------------------------------------
 * Request, one per case, until EOF:
 *   u32 magic       0x51433638 ("86CQ")
 *   u32 flags       bit 0: a 108-byte FRSTOR image follows (else FNINIT state)
 *   u32 timeout_ms  0 = default (250 ms), capped at 60000
 *   u32 regs[8]     EAX ECX EDX EBX ESP EBP ESI EDI
 *   u32 eflags      only CF PF AF ZF SF DF OF (mask 0xCD5) are taken; the rest is
 *                   forced to 0x202 (bit 1 and IF)
 *   u32 code_len    at most MAX_CODE (3840)
 *   u32 nchunks     initial window contents; the rest of the window is zero
 *   [u8 fpu[108]]   if flags bit 0
 *   u8  code[code_len]
 *   nchunks x { u32 offset; u32 len; u8 bytes[len] }   offset + len <= 0x10000,
 *                   offsets relative to DATA_BASE; later chunks overwrite earlier
 *
 * Response, one per request, in order:
 *   u32 magic       0x52433638 ("86CR")
 *   u32 status      0 ok        the epilogue ran
 *                   1 signal    a signal ended the code; info valid if flag bit 0
 *                   2 syscall   the code made a system call (killed by seccomp)
 *                   3 timeout   killed after timeout_ms
 *                   4 error     the runner could not run the case (detail in errno)
 *   u32 info        bit 0: regs/eflags/fpu and the fault fields below are valid
 *   u32 signo       signal number (0 for ok/timeout/error; 31 SIGSYS for syscall)
 *   u32 si_code
 *   u32 fault_addr  si_addr
 *   u32 trapno      the CPU exception vector from the ucontext (14 = #PF ...)
 *   u32 err         the exception error code from the ucontext
 *   u32 eip         final EIP: CODE_BASE + code_len for ok, the faulting EIP for
 *                   a signal with info, else 0
 *   u32 regs[8]     EAX ECX EDX EBX ESP EBP ESI EDI
 *   u32 eflags      as PUSHFD saw it (or the ucontext's EFLAGS at a fault)
 *   u8  fpu[108]    FNSAVE image (at a fault: the kernel's FNSAVE-format copy)
 *   u32 errno_info  for status 4: (step << 16) | errno
 *   u32 nruns       the bytes of the window that differ from the initial contents:
 *   nruns x { u32 offset; u32 len; u8 bytes[len] }     (final values)
 *
 * A malformed request (bad magic, code or chunk out of range) is fatal: the
 * runner writes a message to stderr and exits with status 2.  Output is
 * flushed whenever the runner is about to wait for more input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if !defined(__i386__)
#error "runner32.c must be built with gcc -m32"
#endif

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

/* Addresses are written without a suffix so that they can be stringified into
   the assembly below. */
#define DATA_BASE 0x20000000
#define DATA_SIZE 0x10000
#define CODE_BASE 0x30000000
#define CODE_SIZE 0x1000
#define CTL_BASE 0x30010000
#define CTL_SIZE 0x30000
#define INIT_BASE 0x30010000 /* struct init */
#define PSTACK_TOP 0x30012000 /* prologue/epilogue stack: 0x30011000..0x30012000 */
#define ALT_BASE 0x30020000 /* alternate signal stack, 128 KiB */
#define ALT_SIZE 0x20000
#define RES_BASE 0x30040000 /* struct result */
#define RES_SIZE 0x1000

#define EPI_MAX 256
#define MAX_CODE (CODE_SIZE - EPI_MAX)
#define FPU_SIZE 108
#define MAX_CHUNKS 0x10000

#define REQ_MAGIC 0x51433638u
#define RSP_MAGIC 0x52433638u
#define FLAG_FPU 1u
#define EFLAGS_SETTABLE 0xCD5u /* CF PF AF ZF SF DF OF */
#define EFLAGS_FIXED 0x202u /* bit 1, IF */
#define DEFAULT_TIMEOUT_MS 250u

enum { ST_OK = 0, ST_SIGNAL = 1, ST_SYSCALL = 2, ST_TIMEOUT = 3, ST_ERROR = 4 };

#define S_(x) #x
#define S(x) S_(x)

struct init {          /* at INIT_BASE; offsets are used by the prologue */
    uint32_t flags;    /* +0 */
    uint32_t regs[8];  /* +4: EAX ECX EDX EBX ESP EBP ESI EDI */
    uint32_t eflags;   /* +36 */
    uint32_t target;   /* +40 */
    uint32_t nonce;    /* +44 */
    uint8_t fpu[FPU_SIZE]; /* +48 */
};

struct result {        /* at RES_BASE; offsets are used by the epilogue */
    uint32_t state;    /* +0: nonce (done), nonce ^ MARK_FAULT, nonce ^ MARK_SETUP */
    uint32_t regs[8];  /* +4 */
    uint32_t eflags;   /* +36 */
    uint32_t signo, code, addr, eip, trapno, err; /* +40 .. +60 */
    uint8_t fpu[FPU_SIZE]; /* +64 */
    uint32_t setup_err;
};
#define MARK_FAULT 0x80000000u
#define MARK_SETUP 0x40000000u

_Static_assert(offsetof(struct init, eflags) == 36, "init layout");
_Static_assert(offsetof(struct init, target) == 40, "init layout");
_Static_assert(offsetof(struct init, nonce) == 44, "init layout");
_Static_assert(offsetof(struct init, fpu) == 48, "init layout");
_Static_assert(offsetof(struct result, eflags) == 36, "result layout");
_Static_assert(offsetof(struct result, fpu) == 64, "result layout");

#define INIT ((volatile struct init *)INIT_BASE)
#define RES ((volatile struct result *)RES_BASE)

/* The prologue runs in the child, after seccomp: no calls, no stack of the
   caller's.  Every memory operand is an absolute address. */
void bt_prologue(void);
extern const uint8_t bt_epi_start[], bt_epi_end[];
__asm__(
    ".text\n"
    ".globl bt_prologue\n"
    "bt_prologue:\n"
    "  movl $" S(PSTACK_TOP) ", %esp\n"
    "  testl $1, " S(INIT_BASE) "\n"
    "  jz 1f\n"
    "  frstor " S(INIT_BASE) "+48\n"
    "  jmp 2f\n"
    "1: fninit\n"
    "2: pushl " S(INIT_BASE) "+36\n"
    "  popfl\n"
    "  movl " S(INIT_BASE) "+4, %eax\n"
    "  movl " S(INIT_BASE) "+8, %ecx\n"
    "  movl " S(INIT_BASE) "+12, %edx\n"
    "  movl " S(INIT_BASE) "+16, %ebx\n"
    "  movl " S(INIT_BASE) "+24, %ebp\n"
    "  movl " S(INIT_BASE) "+28, %esi\n"
    "  movl " S(INIT_BASE) "+32, %edi\n"
    "  movl " S(INIT_BASE) "+20, %esp\n"
    "  jmp *" S(INIT_BASE) "+40\n"
    /* The epilogue is copied behind the case bytes; it must stay position
       independent (absolute memory operands, no relative branch out of it). */
    ".globl bt_epi_start, bt_epi_end\n"
    "bt_epi_start:\n"
    "  movl %eax, " S(RES_BASE) "+4\n"
    "  movl %ecx, " S(RES_BASE) "+8\n"
    "  movl %edx, " S(RES_BASE) "+12\n"
    "  movl %ebx, " S(RES_BASE) "+16\n"
    "  movl %esp, " S(RES_BASE) "+20\n"
    "  movl %ebp, " S(RES_BASE) "+24\n"
    "  movl %esi, " S(RES_BASE) "+28\n"
    "  movl %edi, " S(RES_BASE) "+32\n"
    "  movl $" S(PSTACK_TOP) ", %esp\n"
    "  pushfl\n"
    "  popl " S(RES_BASE) "+36\n"
    "  fnsave " S(RES_BASE) "+64\n"
    "  movl " S(INIT_BASE) "+44, %eax\n"
    "  movl %eax, " S(RES_BASE) "\n"
    "  ud2\n"                 /* ends the child: see child_die() */
    "bt_epi_end:\n");

/* ---- the child ------------------------------------------------------------ */

/* Ends the child from inside the fault handler without a system call: the
   handler runs with every signal blocked, and a fault whose signal is blocked
   makes the kernel reset it to the default action and kill the process (here
   with SIGILL; no core dump, the runner is not dumpable).  Ending with a
   system call that seccomp kills would work as well, but the kernel audits
   every seccomp kill (one kernel log line per case); this way only a system
   call made by the case's own code is logged. */
static void child_die(void) {
    __asm__ volatile("1:\tud2\n\tjmp 1b" ::: "memory");
    __builtin_unreachable();
}

/* Runs on the alternate stack with every signal blocked.  DS/ES/SS are the
   user selectors again (the kernel reloads them), DF is clear; GS is not
   touched, so nothing here may use TLS (no errno, no stack protector). */
static void on_fault(int sig, siginfo_t *si, void *ucp) {
    ucontext_t *uc = (ucontext_t *)ucp;
    volatile struct result *r = RES;
    const greg_t *g = uc->uc_mcontext.gregs;
    if (r->state == INIT->nonce) child_die(); /* the epilogue's ud2: the case is done */
    r->signo = (uint32_t)sig;
    r->code = (uint32_t)si->si_code;
    r->addr = (uint32_t)(uintptr_t)si->si_addr;
    r->eip = (uint32_t)g[REG_EIP];
    r->trapno = (uint32_t)g[REG_TRAPNO];
    r->err = (uint32_t)g[REG_ERR];
    r->regs[0] = (uint32_t)g[REG_EAX];
    r->regs[1] = (uint32_t)g[REG_ECX];
    r->regs[2] = (uint32_t)g[REG_EDX];
    r->regs[3] = (uint32_t)g[REG_EBX];
    r->regs[4] = (uint32_t)g[REG_UESP];
    r->regs[5] = (uint32_t)g[REG_EBP];
    r->regs[6] = (uint32_t)g[REG_ESI];
    r->regs[7] = (uint32_t)g[REG_EDI];
    r->eflags = (uint32_t)g[REG_EFL];
    /* struct _libc_fpstate starts with the 108-byte FNSAVE layout. */
    const volatile uint8_t *fp = (const volatile uint8_t *)uc->uc_mcontext.fpregs;
    if (fp)
        for (int i = 0; i < FPU_SIZE; i++) r->fpu[i] = fp[i];
    r->state = INIT->nonce ^ MARK_FAULT;
    child_die();
}

static void child_fail(int step, int err) {
    RES->setup_err = ((uint32_t)step << 16) | (uint32_t)(err & 0xffff);
    RES->state = INIT->nonce ^ MARK_SETUP;
    _exit(127);
}

static pid_t parent_pid;
static rlim_t cpu_limit_s;

static void child_main(void) {
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = (void *)ALT_BASE;
    ss.ss_size = ALT_SIZE;
    if (sigaltstack(&ss, NULL)) child_fail(1, errno);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL)) child_fail(2, errno);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL)) child_fail(3, errno);

    /* Never outlive the runner (a child spinning in "jmp $" can't end itself),
       and never use more than a few seconds of CPU time whatever happens. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) child_fail(6, errno);
    if (getppid() != parent_pid) child_fail(7, 0);
    struct rlimit cpu = {cpu_limit_s, cpu_limit_s};
    if (setrlimit(RLIMIT_CPU, &cpu)) child_fail(8, errno);

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) child_fail(4, errno);
    struct sock_filter filter[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)};
    struct sock_fprog prog = {.len = 1, .filter = filter};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) child_fail(5, errno);
    /* From here on, every system call kills the process. */
    bt_prologue();
    __builtin_unreachable();
}

/* ---- the parent: I/O --------------------------------------------------------- */

/* The parent's buffers are mapped MADV_DONTFORK: the child never sees them, so
   fork neither copies nor write-protects them (no copy-on-write faults in the
   parent after every fork). */
#define INBUF_SIZE (1u << 16)
#define OUTBUF_SIZE (1u << 18)
static uint8_t *inbuf, *outbuf, *init_img; /* init_img: the case's initial window, for the diff */
static size_t in_pos, in_len;
static size_t out_len;

static void fatal(const char *msg) {
    fprintf(stderr, "runner32: %s\n", msg);
    exit(2);
}

static void out_flush(void) {
    size_t off = 0;
    while (off < out_len) {
        ssize_t n = write(1, outbuf + off, out_len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            exit(3); /* the reader went away */
        }
        off += (size_t)n;
    }
    out_len = 0;
}

static void out_bytes(const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    while (n) {
        if (out_len == OUTBUF_SIZE) out_flush();
        size_t k = OUTBUF_SIZE - out_len;
        if (k > n) k = n;
        memcpy(outbuf + out_len, b, k);
        out_len += k;
        b += k;
        n -= k;
    }
}

static void out_u32(uint32_t v) { out_bytes(&v, 4); }

/* Reads exactly n bytes; returns 0 on EOF before the first byte if eof_ok. */
static int in_bytes(void *p, size_t n, int eof_ok) {
    uint8_t *b = (uint8_t *)p;
    size_t got = 0;
    while (got < n) {
        if (in_pos == in_len) {
            out_flush(); /* about to block: let the reader see what we have */
            ssize_t r = read(0, inbuf, INBUF_SIZE);
            if (r < 0) {
                if (errno == EINTR) continue;
                fatal("read error on stdin");
            }
            if (r == 0) {
                if (got == 0 && eof_ok) return 0;
                fatal("truncated request");
            }
            in_pos = 0;
            in_len = (size_t)r;
        }
        size_t k = in_len - in_pos;
        if (k > n - got) k = n - got;
        memcpy(b + got, inbuf + in_pos, k);
        in_pos += k;
        got += k;
    }
    return 1;
}

static uint32_t in_u32(void) {
    uint32_t v;
    in_bytes(&v, 4, 0);
    return v;
}

/* ---- the parent: running a case ------------------------------------------------ */

static uint32_t nonce_counter;
static sigset_t chld_set;

static void map_fixed(uint32_t addr, uint32_t size, int prot, int shared) {
    int fl = MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | (shared ? MAP_SHARED : MAP_PRIVATE);
    void *p = mmap((void *)(uintptr_t)addr, size, prot, fl, -1, 0);
    if (p == MAP_FAILED && prot == (PROT_READ | PROT_WRITE | PROT_EXEC)) {
        /* Some kernels refuse W+X; then the code page is RX (self-modifying
           code faults) and the parent flips it to RW while it writes. */
        p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_EXEC, fl, -1, 0);
    }
    if (p == MAP_FAILED || (uintptr_t)p != addr) {
        fprintf(stderr, "runner32: cannot map 0x%08x (%s)\n", addr, strerror(errno));
        exit(2);
    }
}

static int code_page_wx;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct outcome {
    uint32_t status, info, signo, code, addr, eip, trapno, err, errinfo;
};

static void run_case(uint32_t timeout_ms, uint32_t code_len, struct outcome *o) {
    memset(o, 0, sizeof *o);
    uint32_t nonce = (++nonce_counter * 0x9E3779B1u) & ~(MARK_FAULT | MARK_SETUP);
    if (nonce == 0) nonce = 1;
    INIT->nonce = nonce;
    memset((void *)RES_BASE, 0, RES_SIZE);

    parent_pid = getpid();
    cpu_limit_s = timeout_ms / 1000 + 2;
    pid_t pid = fork();
    if (pid < 0) {
        o->status = ST_ERROR;
        o->errinfo = (100u << 16) | (uint32_t)errno;
        return;
    }
    if (pid == 0) child_main();

    int st = 0, timed_out = 0;
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        uint64_t t = now_ns();
        if (t >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
            timed_out = 1;
            break;
        }
        uint64_t left = deadline - t;
        struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        sigtimedwait(&chld_set, NULL, &ts);
    }

    uint32_t state = RES->state;
    if (state == nonce) {
        o->status = ST_OK;
        o->info = 1;
        o->eip = CODE_BASE + code_len;
    } else if (state == (nonce ^ MARK_FAULT)) {
        o->status = ST_SIGNAL;
        o->info = 1;
        o->signo = RES->signo;
        o->code = RES->code;
        o->addr = RES->addr;
        o->eip = RES->eip;
        o->trapno = RES->trapno;
        o->err = RES->err;
    } else if (state == (nonce ^ MARK_SETUP)) {
        o->status = ST_ERROR;
        o->errinfo = RES->setup_err;
    } else if (timed_out) {
        o->status = ST_TIMEOUT;
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        o->status = ST_SYSCALL;
        o->signo = SIGSYS;
    } else if (WIFSIGNALED(st)) {
        o->status = ST_SIGNAL;
        o->signo = (uint32_t)WTERMSIG(st);
    } else {
        o->status = ST_ERROR;
        o->errinfo = (101u << 16) | (uint32_t)(WIFEXITED(st) ? WEXITSTATUS(st) : 0xffff);
    }
}

/* The runs of window bytes that differ from init_img: found by comparing
   blocks with memcmp, then bytes inside the blocks that differ. */
#define MAX_RUNS (DATA_SIZE / 2)
static uint32_t *run_off, *run_len, nruns;

static void find_diff(void) {
    const uint8_t *cur = (const uint8_t *)DATA_BASE;
    const uint32_t B = 256;
    nruns = 0;
    for (uint32_t blk = 0; blk < DATA_SIZE; blk += B) {
        if (memcmp(cur + blk, init_img + blk, B) == 0) continue;
        for (uint32_t i = blk; i < blk + B; i++) {
            if (cur[i] == init_img[i]) continue;
            if (nruns && run_off[nruns - 1] + run_len[nruns - 1] == i) {
                run_len[nruns - 1]++; /* a run continued from the previous block */
                continue;
            }
            uint32_t j = i + 1;
            while (j < blk + B && cur[j] != init_img[j]) j++;
            run_off[nruns] = i;
            run_len[nruns] = j - i;
            nruns++;
            i = j;
        }
    }
}

static void write_diff(void) {
    out_u32(nruns);
    for (uint32_t r = 0; r < nruns; r++) {
        out_u32(run_off[r]);
        out_u32(run_len[r]);
        out_bytes((const uint8_t *)DATA_BASE + run_off[r], run_len[r]);
    }
}

/* Between cases the window and init_img are equal and zero outside the ranges
   of the previous case's chunks, which are remembered here (or "all"). */
#define MAX_TRACKED 256
static uint32_t prev_off[MAX_TRACKED], prev_len[MAX_TRACKED], nprev, prev_all = 1;

static void *map_private_buffer(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fatal("out of memory");
    madvise(p, size, MADV_DONTFORK);
    return p;
}

int main(void) {
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    inbuf = map_private_buffer(INBUF_SIZE);
    outbuf = map_private_buffer(OUTBUF_SIZE);
    init_img = map_private_buffer(DATA_SIZE);
    run_off = map_private_buffer(MAX_RUNS * sizeof *run_off);
    run_len = map_private_buffer(MAX_RUNS * sizeof *run_len);

    /* Everything the parent writes per case is shared, so that fork leaves it
       writable (no copy-on-write faults); the parent rewrites all of it before
       every case, so nothing a child does to it outlives the child. */
    map_fixed(DATA_BASE, DATA_SIZE, PROT_READ | PROT_WRITE, 1);
    map_fixed(CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, 1);
    code_page_wx = 1;
    {
        /* Was the RWX request honoured?  mprotect tells us. */
        if (mprotect((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC)) code_page_wx = 0;
    }
    map_fixed(CTL_BASE, CTL_SIZE, PROT_READ | PROT_WRITE, 1);
    map_fixed(RES_BASE, RES_SIZE, PROT_READ | PROT_WRITE, 1);

    size_t epi_len = (size_t)(bt_epi_end - bt_epi_start);
    if (epi_len > EPI_MAX) fatal("epilogue too long");

    sigemptyset(&chld_set);
    sigaddset(&chld_set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld_set, NULL);

    for (;;) {
        uint32_t magic;
        if (!in_bytes(&magic, 4, 1)) break;
        if (magic != REQ_MAGIC) fatal("bad request magic");
        uint32_t flags = in_u32();
        uint32_t timeout_ms = in_u32();
        uint32_t regs[8];
        in_bytes(regs, sizeof regs, 0);
        uint32_t eflags = in_u32();
        uint32_t code_len = in_u32();
        uint32_t nchunks = in_u32();
        if (code_len > MAX_CODE) fatal("code too long");
        if (nchunks > MAX_CHUNKS) fatal("too many chunks");
        if (timeout_ms == 0) timeout_ms = DEFAULT_TIMEOUT_MS;
        if (timeout_ms > 60000) timeout_ms = 60000;

        volatile struct init *ini = INIT;
        ini->flags = flags & FLAG_FPU;
        if (flags & FLAG_FPU) in_bytes((void *)ini->fpu, FPU_SIZE, 0);
        for (int r = 0; r < 8; r++) ini->regs[r] = regs[r];
        ini->eflags = (eflags & EFLAGS_SETTABLE) | EFLAGS_FIXED;
        ini->target = CODE_BASE;

        if (!code_page_wx) mprotect((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE);
        uint8_t *code = (uint8_t *)CODE_BASE;
        memset(code, 0xCC, CODE_SIZE);
        in_bytes(code, code_len, 0);
        memcpy(code + code_len, bt_epi_start, epi_len);
        if (!code_page_wx) mprotect((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_EXEC);

        uint8_t *win = (uint8_t *)DATA_BASE;
        if (prev_all) {
            memset(init_img, 0, DATA_SIZE);
            memset(win, 0, DATA_SIZE);
        } else {
            for (uint32_t c = 0; c < nprev; c++) {
                memset(init_img + prev_off[c], 0, prev_len[c]);
                memset(win + prev_off[c], 0, prev_len[c]);
            }
        }
        nprev = 0;
        prev_all = nchunks > MAX_TRACKED;
        for (uint32_t c = 0; c < nchunks; c++) {
            uint32_t off = in_u32();
            uint32_t len = in_u32();
            if (off > DATA_SIZE || len > DATA_SIZE - off) fatal("chunk outside the data window");
            in_bytes(init_img + off, len, 0);
            memcpy(win + off, init_img + off, len);
            if (!prev_all) {
                prev_off[nprev] = off;
                prev_len[nprev] = len;
                nprev++;
            }
        }

        struct outcome o;
        run_case(timeout_ms, code_len, &o);

        out_u32(RSP_MAGIC);
        out_u32(o.status);
        out_u32(o.info);
        out_u32(o.signo);
        out_u32(o.code);
        out_u32(o.addr);
        out_u32(o.trapno);
        out_u32(o.err);
        out_u32(o.eip);
        uint32_t rr[8] = {0};
        uint32_t efl = 0;
        uint8_t fpu[FPU_SIZE] = {0};
        if (o.info) {
            for (int r = 0; r < 8; r++) rr[r] = RES->regs[r];
            efl = RES->eflags;
            for (int i = 0; i < FPU_SIZE; i++) fpu[i] = RES->fpu[i];
        }
        out_bytes(rr, sizeof rr);
        out_u32(efl);
        out_bytes(fpu, FPU_SIZE);
        out_u32(o.errinfo);
        find_diff();
        write_diff();
        /* Undo the child's writes: the window equals init_img again. */
        for (uint32_t r = 0; r < nruns; r++) memcpy(win + run_off[r], init_img + run_off[r], run_len[r]);
    }
    out_flush();
    return 0;
}
