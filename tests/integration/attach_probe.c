/* TEST FIXTURE: C helpers for the attach tests (tests/integration/test_attach*.py), loaded into
 * target processes with ctypes. ctypes releases the GIL around calls, so while one of these
 * runs in the main thread, that thread is "idle in a C call" as far as Python is concerned.
 *
 *  - Blocking calls made once, without retrying on EINTR: they report -errno, so a call that an
 *    attach interrupted instead of restarting is seen (Python itself would retry, PEP 475).
 *  - Register canaries: hand-written loops that keep known values in every general-purpose
 *    register, every xmm/ymm register, DF, MXCSR and the x87 control word, and check them
 *    continuously (or across a raw nanosleep system call), while the test attaches.
 *  - A malloc/free hammer on N threads, for the stress test. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- blocking calls, once each ---------------------------------------------------------- */

EXPORT int probe_read_byte(int fd)
{
    unsigned char byte;
    ssize_t count = read(fd, &byte, 1);
    return count == 1 ? byte : (count < 0 ? -errno : -1000);
}

EXPORT int probe_nanosleep_ms(long ms)
{
    struct timespec request = {ms / 1000, (ms % 1000) * 1000000L};
    return nanosleep(&request, NULL) == 0 ? 0 : -errno;
}

EXPORT int probe_poll_ms(int ms)
{
    return poll(NULL, 0, ms) == 0 ? 0 : -errno;
}

EXPORT int probe_select_ms(long ms)
{
    struct timeval timeout = {ms / 1000, (ms % 1000) * 1000};
    return select(0, NULL, NULL, NULL, &timeout) == 0 ? 0 : -errno;
}

EXPORT int probe_epoll_ms(int ms)
{
    int epoll = epoll_create1(0);
    struct epoll_event event;
    int result = epoll_wait(epoll, &event, 1, ms);
    int saved = errno;
    close(epoll);
    return result == 0 ? 0 : -saved;
}

/* ---- malloc/free hammer ------------------------------------------------------------------ */

static volatile int hammer_stop;
static pthread_t hammer_threads[64];
static int hammer_count;
static unsigned long hammer_iterations[64];

static void* hammer(void* argument)
{
    long index = (long)argument;
    unsigned seed = (unsigned)index * 2654435761u + 1;
    void* kept[16] = {0};
    unsigned long iterations = 0;
    while (!hammer_stop) {
        seed = seed * 1103515245u + 12345u;
        size_t size = 16 + (seed >> 8) % 65536;
        unsigned slot = (seed >> 4) % 16;
        free(kept[slot]);
        kept[slot] = malloc(size);
        if (kept[slot]) {
            memset(kept[slot], (int)iterations, size < 256 ? size : 256);
        }
        if ((iterations & 7) == 0) {
            void* other = realloc(NULL, size / 2 + 1);
            free(other);
        }
        ++iterations;
        if ((iterations & 31) == 0) {
            /* Short breathers, so that ten of these on two cores leave the scheduler some room:
             * the point is allocator traffic, not CPU starvation. */
            struct timespec pause = {0, 100000};
            nanosleep(&pause, NULL);
        }
    }
    for (int i = 0; i < 16; ++i) {
        free(kept[i]);
    }
    hammer_iterations[index] = iterations;
    return NULL;
}

EXPORT int probe_hammer_start(int threads)
{
    hammer_stop = 0;
    hammer_count = threads > 64 ? 64 : threads;
    for (long i = 0; i < hammer_count; ++i) {
        if (pthread_create(&hammer_threads[i], NULL, hammer, (void*)i) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Hammers on the calling thread until probe_hammer_stop(), e.g. the main thread in a ctypes call. */
EXPORT unsigned long probe_hammer_here(void)
{
    hammer((void*)63);
    return hammer_iterations[63];
}

static void stop_hammering(int signal)
{
    (void)signal;
    hammer_stop = 1;
}

/* SIGUSR1 makes probe_hammer_here() return (so a target needs no thread waiting for a command). */
EXPORT void probe_hammer_stop_on_sigusr1(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = stop_hammering;
    sigaction(SIGUSR1, &action, NULL);
}

/* Stops the threads; returns how many of them ran at least one iteration. */
EXPORT int probe_hammer_stop(void)
{
    hammer_stop = 1;
    int ran = 0;
    for (int i = 0; i < hammer_count; ++i) {
        pthread_join(hammer_threads[i], NULL);
        ran += hammer_iterations[i] > 0;
    }
    return ran;
}

/* ---- register canaries --------------------------------------------------------------------
 * probe_canary_spin_avx(): loads the canaries, then loops until probe_canary_stop_flag is set,
 * checking all of them on every iteration. Returns 0, or the number of the first check that
 * failed. The loop has full CFI so that the injector's unwinder can walk through it.
 * probe_canary_nanosleep_avx(req): the same canaries around one raw nanosleep system call;
 * returns the check that failed (> 0), or the system call's result (0, or -errno). */

volatile int probe_canary_stop_flag;
uint64_t probe_canary_gpr[16] __attribute__((aligned(32))) = {
    0x0101010101010101ull, 0x1212121212121212ull, 0x2323232323232323ull, 0x3434343434343434ull,
    0x4545454545454545ull, 0x5656565656565656ull, 0x6767676767676767ull, 0x7878787878787878ull,
    0x8989898989898989ull, 0x9a9a9a9a9a9a9a9aull, 0xababababababababull, 0xbcbcbcbcbcbcbcbcull,
    0xcdcdcdcdcdcdcdcdull, 0xdedededededededeull, 0xefefefefefefefefull, 0xf0f0f0f0f0f0f0f0ull};
uint8_t probe_canary_vec[16][32] __attribute__((aligned(32)));
uint32_t probe_canary_mxcsr = 0x7f80 | 0x6000; /* all exceptions masked, round toward zero */
uint16_t probe_canary_fpucw = 0x0f7f;          /* round toward zero, 64-bit precision */
uint32_t probe_canary_saved_mxcsr;
uint16_t probe_canary_saved_fpucw;
uint32_t probe_canary_scratch;
uint64_t probe_canary_rsp;
int64_t probe_canary_syscall_result;

EXPORT void probe_canary_stop(void)
{
    probe_canary_stop_flag = 1;
}

static void fill_vectors(void)
{
    for (int i = 0; i < 16; ++i) {
        for (int j = 0; j < 32; ++j) {
            probe_canary_vec[i][j] = (uint8_t)(i * 37 + j * 11 + 5);
        }
    }
}

/* Register pushes with their CFI, so the frame stays unwindable. */
#define SAVE_CALLEE_SAVED \
    "push %rbx\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %rbx, 0\n" \
    "push %rbp\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %rbp, 0\n" \
    "push %r12\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r12, 0\n" \
    "push %r13\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r13, 0\n" \
    "push %r14\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r14, 0\n" \
    "push %r15\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r15, 0\n"
#define RESTORE_CALLEE_SAVED \
    "pop %r15\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r15\n" \
    "pop %r14\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r14\n" \
    "pop %r13\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r13\n" \
    "pop %r12\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r12\n" \
    "pop %rbp\n .cfi_adjust_cfa_offset -8\n .cfi_restore %rbp\n" \
    "pop %rbx\n .cfi_adjust_cfa_offset -8\n .cfi_restore %rbx\n"

#define LOAD_GPR(index, reg) "mov probe_canary_gpr+" #index "*8(%rip), %" #reg "\n"
#define CHECK_GPR(index, reg, fail) \
    "mov probe_canary_gpr+" #index "*8(%rip), %rax\n cmp %rax, %" #reg "\n jne " fail "\n"
#define LOAD_VEC(index) "vmovdqa probe_canary_vec+" #index "*32(%rip), %ymm" #index "\n"
#define CHECK_VEC(index, scratch, fail) \
    "vpcmpeqq probe_canary_vec+" #index "*32(%rip), %ymm" #index ", %ymm" #scratch "\n" \
    "vpmovmskb %ymm" #scratch ", %eax\n cmp $-1, %eax\n jne " fail "\n"

#define LOAD_ALL_CANARIES \
    "stmxcsr probe_canary_saved_mxcsr(%rip)\n fnstcw probe_canary_saved_fpucw(%rip)\n" \
    "ldmxcsr probe_canary_mxcsr(%rip)\n fldcw probe_canary_fpucw(%rip)\n" \
    "mov %rsp, probe_canary_rsp(%rip)\n" \
    LOAD_VEC(0) LOAD_VEC(1) LOAD_VEC(2) LOAD_VEC(3) LOAD_VEC(4) LOAD_VEC(5) LOAD_VEC(6) LOAD_VEC(7) \
    LOAD_VEC(8) LOAD_VEC(9) LOAD_VEC(10) LOAD_VEC(11) LOAD_VEC(12) LOAD_VEC(13) LOAD_VEC(14) LOAD_VEC(15) \
    LOAD_GPR(1, rbx) LOAD_GPR(2, rcx) LOAD_GPR(3, rdx) LOAD_GPR(4, rsi) LOAD_GPR(5, rdi) LOAD_GPR(6, rbp) \
    LOAD_GPR(8, r8) LOAD_GPR(9, r9) LOAD_GPR(10, r10) LOAD_GPR(11, r11) LOAD_GPR(12, r12) LOAD_GPR(13, r13) \
    LOAD_GPR(14, r14) LOAD_GPR(15, r15)

/* rcx and r11 are not checked after a system call: the `syscall` instruction overwrites them. */
#define CHECK_COMMON_CANARIES(fail_prefix) \
    CHECK_GPR(1, rbx, fail_prefix "1") CHECK_GPR(3, rdx, fail_prefix "3") CHECK_GPR(4, rsi, fail_prefix "4") \
    CHECK_GPR(6, rbp, fail_prefix "6") CHECK_GPR(8, r8, fail_prefix "8") \
    CHECK_GPR(9, r9, fail_prefix "9") CHECK_GPR(10, r10, fail_prefix "10") CHECK_GPR(12, r12, fail_prefix "12") \
    CHECK_GPR(13, r13, fail_prefix "13") CHECK_GPR(14, r14, fail_prefix "14") CHECK_GPR(15, r15, fail_prefix "15") \
    "cmp probe_canary_rsp(%rip), %rsp\n jne " fail_prefix "20\n" \
    "pushfq\n .cfi_adjust_cfa_offset 8\n pop %rax\n .cfi_adjust_cfa_offset -8\n bt $10, %rax\n jnc " fail_prefix "21\n" \
    "stmxcsr probe_canary_scratch(%rip)\n mov probe_canary_scratch(%rip), %eax\n cmp probe_canary_mxcsr(%rip), %eax\n jne " fail_prefix "22\n" \
    "fnstcw probe_canary_scratch(%rip)\n movzwl probe_canary_scratch(%rip), %eax\n cmpw probe_canary_fpucw(%rip), %ax\n jne " fail_prefix "23\n" \
    CHECK_VEC(15, 14, fail_prefix "45") "vmovdqa probe_canary_vec+14*32(%rip), %ymm14\n" \
    CHECK_VEC(0, 15, fail_prefix "30") CHECK_VEC(1, 15, fail_prefix "31") CHECK_VEC(2, 15, fail_prefix "32") \
    CHECK_VEC(3, 15, fail_prefix "33") CHECK_VEC(4, 15, fail_prefix "34") CHECK_VEC(5, 15, fail_prefix "35") \
    CHECK_VEC(6, 15, fail_prefix "36") CHECK_VEC(7, 15, fail_prefix "37") CHECK_VEC(8, 15, fail_prefix "38") \
    CHECK_VEC(9, 15, fail_prefix "39") CHECK_VEC(10, 15, fail_prefix "40") CHECK_VEC(11, 15, fail_prefix "41") \
    CHECK_VEC(12, 15, fail_prefix "42") CHECK_VEC(13, 15, fail_prefix "43") CHECK_VEC(14, 15, fail_prefix "44") \
    "vmovdqa probe_canary_vec+15*32(%rip), %ymm15\n"

#define FAIL_LABEL(prefix, n) prefix #n ": mov $" #n ", %eax\n jmp " prefix "out\n"
#define FAIL_LABELS(prefix) \
    FAIL_LABEL(prefix, 1) FAIL_LABEL(prefix, 2) FAIL_LABEL(prefix, 3) FAIL_LABEL(prefix, 4) FAIL_LABEL(prefix, 5) \
    FAIL_LABEL(prefix, 6) FAIL_LABEL(prefix, 8) FAIL_LABEL(prefix, 9) FAIL_LABEL(prefix, 10) FAIL_LABEL(prefix, 11) \
    FAIL_LABEL(prefix, 12) FAIL_LABEL(prefix, 13) FAIL_LABEL(prefix, 14) FAIL_LABEL(prefix, 15) \
    FAIL_LABEL(prefix, 20) FAIL_LABEL(prefix, 21) FAIL_LABEL(prefix, 22) FAIL_LABEL(prefix, 23) \
    FAIL_LABEL(prefix, 30) FAIL_LABEL(prefix, 31) FAIL_LABEL(prefix, 32) FAIL_LABEL(prefix, 33) FAIL_LABEL(prefix, 34) \
    FAIL_LABEL(prefix, 35) FAIL_LABEL(prefix, 36) FAIL_LABEL(prefix, 37) FAIL_LABEL(prefix, 38) FAIL_LABEL(prefix, 39) \
    FAIL_LABEL(prefix, 40) FAIL_LABEL(prefix, 41) FAIL_LABEL(prefix, 42) FAIL_LABEL(prefix, 43) FAIL_LABEL(prefix, 44) \
    FAIL_LABEL(prefix, 45)

#define EPILOGUE(prefix) \
    prefix "out:\n cld\n ldmxcsr probe_canary_saved_mxcsr(%rip)\n fldcw probe_canary_saved_fpucw(%rip)\n vzeroupper\n" \
    RESTORE_CALLEE_SAVED "ret\n"

__asm__(
    ".text\n"
    ".p2align 4\n"
    ".type probe_canary_spin_avx_impl, @function\n"
    "probe_canary_spin_avx_impl:\n"
    ".cfi_startproc\n"
    SAVE_CALLEE_SAVED
    LOAD_ALL_CANARIES
    "std\n"
    ".Lspin_loop:\n"
    "cmpl $0, probe_canary_stop_flag(%rip)\n jne .Lspin_done\n"
    CHECK_COMMON_CANARIES(".Lspin_fail")
    CHECK_GPR(2, rcx, ".Lspin_fail2") CHECK_GPR(5, rdi, ".Lspin_fail5") CHECK_GPR(11, r11, ".Lspin_fail11")
    "jmp .Lspin_loop\n"
    ".Lspin_done:\n xor %eax, %eax\n jmp .Lspin_failout\n"
    FAIL_LABELS(".Lspin_fail")
    EPILOGUE(".Lspin_fail")
    ".cfi_endproc\n"
    ".size probe_canary_spin_avx_impl, .-probe_canary_spin_avx_impl\n");

__asm__(
    ".text\n"
    ".p2align 4\n"
    ".type probe_canary_nanosleep_avx_impl, @function\n"
    "probe_canary_nanosleep_avx_impl:\n"
    ".cfi_startproc\n"
    SAVE_CALLEE_SAVED
    "push %rdi\n .cfi_adjust_cfa_offset 8\n"
    LOAD_ALL_CANARIES
    "mov (%rsp), %rdi\n"           /* the timespec: nanosleep's first argument */
    "xor %esi, %esi\n"
    "mov %rsi, probe_canary_gpr+4*8(%rip)\n"
    "mov %rdi, probe_canary_gpr+5*8(%rip)\n"
    "std\n"
    "mov $35, %eax\n syscall\n"   /* SYS_nanosleep(req, NULL) */
    "mov %rax, probe_canary_syscall_result(%rip)\n"
    CHECK_COMMON_CANARIES(".Lsleep_fail")
    CHECK_GPR(5, rdi, ".Lsleep_fail5")
    "xor %eax, %eax\n jmp .Lsleep_failout\n"
    FAIL_LABELS(".Lsleep_fail")
    ".Lsleep_failout:\n cld\n ldmxcsr probe_canary_saved_mxcsr(%rip)\n fldcw probe_canary_saved_fpucw(%rip)\n vzeroupper\n"
    "add $8, %rsp\n .cfi_adjust_cfa_offset -8\n"
    RESTORE_CALLEE_SAVED "ret\n"
    ".cfi_endproc\n"
    ".size probe_canary_nanosleep_avx_impl, .-probe_canary_nanosleep_avx_impl\n");

int probe_canary_spin_avx_impl(void);
int probe_canary_nanosleep_avx_impl(const struct timespec* request);

EXPORT int probe_canary_supported(void)
{
    return __builtin_cpu_supports("avx2");
}

static void stop_spinning(int signal)
{
    (void)signal;
    probe_canary_stop_flag = 1;
}

/* The canaries' own test: SIGUSR2 changes rbx and xmm3 in the interrupted context, so the loop
 * must report them (check 1 or 33) -- the checks can fail. */
static void corrupt_registers(int signal, siginfo_t* info, void* context)
{
    (void)signal;
    (void)info;
    ucontext_t* interrupted = context;
    interrupted->uc_mcontext.gregs[REG_RBX] ^= 1;
    interrupted->uc_mcontext.fpregs->_xmm[3].element[0] ^= 1;
}

/* Spins for `ms` milliseconds: a SIGALRM handler of ours ends it, so the process needs no other
 * thread (which the injector might prefer to borrow). The handler runs on top of the canary
 * loop, and the kernel restores every register after it: a check of the signal path too. */
EXPORT int probe_canary_spin_ms(long ms)
{
    struct sigaction action, previous;
    memset(&action, 0, sizeof(action));
    action.sa_handler = stop_spinning;
    sigaction(SIGALRM, &action, &previous);
    struct sigaction corrupt, previous_usr2;
    memset(&corrupt, 0, sizeof(corrupt));
    corrupt.sa_sigaction = corrupt_registers;
    corrupt.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &corrupt, &previous_usr2);
    struct itimerval timer;
    memset(&timer, 0, sizeof(timer));
    timer.it_value.tv_sec = ms / 1000;
    timer.it_value.tv_usec = (ms % 1000) * 1000;
    fill_vectors();
    probe_canary_stop_flag = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    int result = probe_canary_spin_avx_impl();
    sigaction(SIGALRM, &previous, NULL);
    sigaction(SIGUSR2, &previous_usr2, NULL);
    return result;
}

EXPORT long probe_canary_nanosleep_ms(long ms)
{
    static struct timespec request;
    request.tv_sec = ms / 1000;
    request.tv_nsec = (ms % 1000) * 1000000L;
    fill_vectors();
    int failed = probe_canary_nanosleep_avx_impl(&request);
    return failed != 0 ? failed : (long)probe_canary_syscall_result;
}
