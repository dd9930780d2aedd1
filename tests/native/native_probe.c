/* The C side of the native-mode tests (tests/native/test_native.py): functions with known
 * names and lines, built with debug info by the test itself. The LINE: markers let the test
 * find each call's line without hard-coding numbers. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void* n3(size_t size)
{
    void* block = malloc(size); /* LINE:n3 */
    if (block) {
        memset(block, 1, size);
    }
    return block;
}

__attribute__((noinline)) void* n2(size_t size)
{
    void* block = n3(size); /* LINE:n2 */
    __asm__ volatile("" ::: "memory"); /* keeps the call from becoming a tail call */
    return block;
}

__attribute__((noinline)) void* n1(size_t size)
{
    void* block = n2(size); /* LINE:n1 */
    __asm__ volatile("" ::: "memory");
    return block;
}

/* Always inlined into with_inlined(): DWARF still knows it as a function of its own. */
static inline __attribute__((always_inline)) void* inlined_helper(size_t size)
{
    void* block = malloc(size); /* LINE:inlined_helper */
    if (block) {
        memset(block, 2, size);
    }
    return block;
}

__attribute__((noinline)) void* with_inlined(size_t size)
{
    void* block = inlined_helper(size); /* LINE:with_inlined */
    __asm__ volatile("" ::: "memory");
    return block;
}

/* C calls back into Python (ctypes CFUNCTYPE). */
typedef void (*callback_fn)(int);

__attribute__((noinline)) void call_back(callback_fn callback, int value)
{
    callback(value); /* LINE:call_back */
    __asm__ volatile("" ::: "memory");
}

void release(void* block)
{
    free(block);
}
