/* Calls each allocator the payload intercepts through this library's own GOT, as a C
 * extension would. (ctypes calls libc functions through pointers from dlsym, which no GOT
 * patching can see, so integration tests call these instead.) */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>

void* probe_malloc(size_t size) { return malloc(size); }
void* probe_calloc(size_t count, size_t size) { return calloc(count, size); }
void* probe_realloc(void* ptr, size_t size) { return realloc(ptr, size); }
void* probe_aligned_alloc(size_t alignment, size_t size) { return aligned_alloc(alignment, size); }
void* probe_memalign(size_t alignment, size_t size) { return memalign(alignment, size); }
void* probe_valloc(size_t size) { return valloc(size); }
void* probe_pvalloc(size_t size) { return pvalloc(size); }
void probe_free(void* ptr) { free(ptr); }

void* probe_posix_memalign(size_t alignment, size_t size)
{
    void* ptr = NULL;
    return posix_memalign(&ptr, alignment, size) == 0 ? ptr : NULL;
}

void* probe_mmap(size_t length)
{
    void* ptr = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return ptr == MAP_FAILED ? NULL : ptr;
}

int probe_munmap(void* ptr, size_t length) { return munmap(ptr, length); }
