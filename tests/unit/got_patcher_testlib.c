/* A tiny library that allocates through its GOT, for tests/unit/got_patcher_test.cpp.
 *
 * tests/cmake/got_patcher.cmake builds it several times, each linked differently (lazy PLT,
 * full RELRO, -fno-plt) and each exporting its own GOT_TESTLIB_FUNCTION so the copies do not
 * interpose on one another. */
#include <stdlib.h>
#include <sys/mman.h>

#ifndef GOT_TESTLIB_FUNCTION
#error "define GOT_TESTLIB_FUNCTION to the name of the exported function"
#endif

/* Makes the compiler keep every allocation: without it GCC may drop a malloc/free pair whose
 * memory is never read. The test hooks attribute calls by return address, so the calls must
 * also not become tail jumps (the build adds -fno-optimize-sibling-calls). */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* Calls malloc, calloc, realloc, posix_memalign and mmap once each, free four times and munmap
 * once. Returns 1 if everything worked. */
__attribute__((visibility("default"))) int GOT_TESTLIB_FUNCTION(void)
{
    int ok = 1;

    char* a = malloc(64);
    ok &= a != NULL;
    ESCAPE(a);
    free(a);

    char* b = calloc(4, 16);
    ok &= b != NULL && b[63] == 0;
    ESCAPE(b);
    free(b);

    char* c = realloc(NULL, 64);
    ok &= c != NULL;
    ESCAPE(c);
    free(c);

    void* d = NULL;
    ok &= posix_memalign(&d, 64, 64) == 0;
    ESCAPE(d);
    free(d);

    char* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        ok = 0;
    } else {
        m[0] = 1;
        ESCAPE(m);
        ok &= munmap(m, 4096) == 0;
    }
    ESCAPE(&ok);
    return ok;
}
