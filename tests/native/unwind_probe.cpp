// The C++ side of tests/native/test_incremental_unwind.py: allocations from native call chains
// that change between consecutive allocations in the ways that could fool an unwinder reusing
// the previous allocation's frames. Built by the test (g++ -O2 -g -shared); every entry point is
// extern "C", for ctypes. Each scenario allocates and frees through malloc, which the capture
// intercepts; the capture's verification mode (MEMRAY_NATIVE_UNWIND_VERIFY=1) compares every
// stack with a whole libunwind unwind.
#include <alloca.h>
#include <csetjmp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE extern "C" __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
// Frames whose CFA is rbp-based (the walk from them depends on rbp).
#define FRAME_POINTER __attribute__((optimize("no-omit-frame-pointer")))

namespace {

volatile int g_sink;

NOINLINE void allocate_here(size_t size)
{
    void* block = malloc(size);
    if (block) {
        memset(block, 3, size);
        g_sink = static_cast<char*>(block)[size / 2];
    }
    free(block);
    asm volatile("" ::: "memory");
}

// A chain whose depth varies: leaves at every depth, one allocation per level on the way
// back up, so consecutive allocations share more or fewer outer frames.
NOINLINE void climb(int depth)
{
    allocate_here(64 + static_cast<size_t>(depth));
    if (depth > 0) {
        climb(depth - 1);
    }
    allocate_here(32);
    asm volatile("" ::: "memory");
}

NOINLINE FRAME_POINTER void climb_with_frame_pointer(int depth)
{
    allocate_here(48);
    if (depth > 0) {
        climb_with_frame_pointer(depth - 1);
    }
    allocate_here(40);
    asm volatile("" ::: "memory");
}

// A variable-size frame: the same call sites at different stack depths, and (by `pad`) the
// callee's frames at stack addresses a previous call with another pad also used.
NOINLINE void with_alloca(size_t pad, int depth)
{
    char* space = static_cast<char*>(alloca(pad + 16));
    space[0] = 1;
    g_sink = space[pad / 2];
    climb(depth);
    allocate_here(24);
    asm volatile("" ::: "memory");
}

NOINLINE void branch_a(int depth);
NOINLINE void branch_b(int depth);

NOINLINE void branch_a(int depth)
{
    allocate_here(16);
    if (depth > 0) {
        branch_b(depth - 1);
    }
    asm volatile("" ::: "memory");
}

NOINLINE void branch_b(int depth)
{
    allocate_here(17);
    if (depth > 0) {
        (depth % 3 ? branch_a : branch_b)(depth - 1);
    }
    asm volatile("" ::: "memory");
}

// Signals: the handler allocates, interrupting a thread that allocates too.
volatile sig_atomic_t g_handled;

void allocating_handler(int)
{
    climb(2);
    ++g_handled;
}

NOINLINE void raise_from(int depth)
{
    if (depth > 0) {
        raise_from(depth - 1);
        allocate_here(20);
        return;
    }
    allocate_here(21);
    raise(SIGUSR1);
    allocate_here(22);
}

// longjmp: abandon a deep chain from its leaf, then allocate at the same depth again.
std::jmp_buf g_jump;

NOINLINE void jump_from(int depth)
{
    allocate_here(80);
    if (depth == 0) {
        std::longjmp(g_jump, 1);
    }
    jump_from(depth - 1);
    asm volatile("" ::: "memory");
}

NOINLINE void throw_from(int depth)
{
    allocate_here(90);
    if (depth == 0) {
        throw std::runtime_error("probe");
    }
    throw_from(depth - 1);
    asm volatile("" ::: "memory");
}

void* threaded(void* argument)
{
    const int rounds = *static_cast<int*>(argument);
    for (int i = 0; i < rounds; ++i) {
        climb(i % 7);
        branch_a(i % 5);
    }
    return nullptr;
}

}  // namespace

PROBE void probe_chains(int rounds)
{
    for (int i = 0; i < rounds; ++i) {
        climb(i % 9);
        climb_with_frame_pointer(i % 4);
        branch_a(i % 11);
        with_alloca(static_cast<size_t>(16 * (i % 13)), i % 3);
    }
}

PROBE int probe_signals(int rounds, int alternate_stack)
{
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = allocating_handler;
    action.sa_flags = alternate_stack ? SA_ONSTACK : 0;
    stack_t stack;
    std::memset(&stack, 0, sizeof stack);
    if (alternate_stack) {
        stack.ss_size = 1 << 16;
        stack.ss_sp = std::malloc(stack.ss_size);
        if (stack.ss_sp == nullptr || sigaltstack(&stack, nullptr) != 0) {
            return -1;
        }
    }
    sigaction(SIGUSR1, &action, nullptr);
    g_handled = 0;
    for (int i = 0; i < rounds; ++i) {
        raise_from(i % 5);
        climb(i % 4);
    }
    signal(SIGUSR1, SIG_DFL);
    if (alternate_stack) {
        stack_t off;
        std::memset(&off, 0, sizeof off);
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
        std::free(stack.ss_sp);
    }
    return g_handled;
}

PROBE int probe_longjmp(int rounds)
{
    int jumps = 0;
    for (int i = 0; i < rounds; ++i) {
        if (setjmp(g_jump) == 0) {
            jump_from(i % 6);
        } else {
            ++jumps;
            climb(i % 6);
        }
    }
    return jumps;
}

PROBE int probe_exceptions(int rounds)
{
    int caught = 0;
    for (int i = 0; i < rounds; ++i) {
        try {
            throw_from(i % 6);
        } catch (const std::runtime_error&) {
            ++caught;
        }
        climb(i % 6);
    }
    return caught;
}

PROBE int probe_threads(int threads, int rounds)
{
    pthread_t ids[16];
    if (threads > 16) {
        return -1;
    }
    for (int i = 0; i < threads; ++i) {
        if (pthread_create(&ids[i], nullptr, threaded, &rounds) != 0) {
            return -1;
        }
    }
    for (int i = 0; i < threads; ++i) {
        pthread_join(ids[i], nullptr);
    }
    return threads;
}
