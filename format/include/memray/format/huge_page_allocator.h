// A std::allocator that asks for transparent huge pages for large arrays.
//
// The live-allocation table and the size counters are hit at random addresses once per
// record. Spread over 4 KiB pages, a multi-megabyte table costs a TLB miss (a page walk, which
// is dearer still in a virtual machine) on most accesses; on 2 MiB pages the whole table needs a
// handful of TLB entries. Kernels in THP "madvise" mode (the common default) only give huge
// pages to memory that asks, hence the madvise. Small arrays use the ordinary heap.
#pragma once

#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <new>

namespace memray::format {

template <typename T>
struct HugePageAllocator
{
    using value_type = T;
    static constexpr size_t kHugePage = size_t{2} << 20;

    HugePageAllocator() = default;
    template <typename U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept
    {
    }

    T* allocate(size_t n)
    {
        const size_t bytes = n * sizeof(T);
        if (bytes < kHugePage) {
            return std::allocator<T>().allocate(n);
        }
        const size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
        void* memory = nullptr;
        if (::posix_memalign(&memory, kHugePage, rounded) != 0) {
            throw std::bad_alloc();
        }
        ::madvise(memory, rounded, MADV_HUGEPAGE);  // a hint: failure only costs speed
        return static_cast<T*>(memory);
    }

    void deallocate(T* p, size_t n)
    {
        if (n * sizeof(T) < kHugePage) {
            std::allocator<T>().deallocate(p, n);
        } else {
            std::free(p);
        }
    }

    template <typename U>
    bool operator==(const HugePageAllocator<U>&) const noexcept
    {
        return true;
    }
};

}  // namespace memray::format
