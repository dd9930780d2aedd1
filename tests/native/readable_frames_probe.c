// A C library that Python calls through ctypes, for the readable native frames tests
// (test_readable_frames.py). Each allocating line is marked LINE:<name>; sizes come from Python.
#include <stddef.h>
#include <stdlib.h>

// The empty asm after each call keeps the call a call (no tail call): the frame stays on the stack.
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

// The program's own C function: its frame must show with this file and line.
__attribute__((noinline)) void* make_buffer(size_t size)
{
    void* buffer = malloc(size);  // LINE:make_buffer
    KEEP_FRAME();
    return buffer;
}

// Calls back into Python: a C function with a source location between two Python frames.
typedef void* (*python_callback)(size_t);

__attribute__((noinline)) void* visit_with(python_callback callback, size_t size)
{
    void* result = callback(size);  // LINE:visit_with
    KEEP_FRAME();
    return result;
}

// Local: not in the dynamic symbol table, so once the full symbol table and the debug info are
// stripped only MiniDebugInfo (.gnu_debugdata) can name it.
static __attribute__((noinline)) void* local_allocator(size_t size)
{
    void* buffer = malloc(size);
    KEEP_FRAME();
    return buffer;
}

__attribute__((noinline)) void* through_local_function(size_t size)
{
    void* buffer = local_allocator(size);
    KEEP_FRAME();
    return buffer;
}
