#include "capture_handle.h"

#include <tuple>
#include <unordered_map>

namespace memray::reader_api {

uint32_t memrayAllocatorType(format::Allocator allocator)
{
    using format::Allocator;
    switch (allocator) {
        case Allocator::PymallocMalloc: return 2;
        case Allocator::PymallocCalloc: return 3;
        case Allocator::PymallocRealloc: return 4;
        case Allocator::Malloc: return 6;
        case Allocator::Realloc: return 7;
        case Allocator::Calloc: return 8;
        case Allocator::PosixMemalign: return 9;
        case Allocator::AlignedAlloc: return 10;
        case Allocator::Memalign: return 11;
        case Allocator::Valloc: return 12;
        case Allocator::Pvalloc: return 13;
        case Allocator::Mmap: return 14;
    }
    return 0;
}

uint32_t memrayDeallocatorType(format::Deallocator deallocator)
{
    using format::Deallocator;
    switch (deallocator) {
        case Deallocator::PymallocFree: return 1;
        case Deallocator::Free: return 5;
        case Deallocator::Munmap: return 15;
    }
    return 0;
}

namespace {

struct GroupKey
{
    uint64_t stack_id;
    uint64_t native_stack_id;
    uint64_t thread_id;
    bool operator==(const GroupKey&) const = default;
};

struct GroupKeyHash
{
    size_t operator()(const GroupKey& key) const
    {
        uint64_t h = key.stack_id * 0x9e3779b97f4a7c15ull;
        h ^= key.native_stack_id + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
        h ^= key.thread_id + 0x85ebca6bull + (h << 6) + (h >> 2);
        return static_cast<size_t>(h);
    }
};

}  // namespace

std::vector<memray_row> groupedRows(const reader::AllocationSnapshot& snapshot, bool merge_threads)
{
    std::vector<memray_row> rows;
    rows.reserve(snapshot.locations.size());
    // Locations come largest first, so the first part of a group seen is its largest: the row
    // keeps that part's allocator and the group keeps the place of its largest part.
    std::unordered_map<GroupKey, size_t, GroupKeyHash> index;
    index.reserve(snapshot.locations.size());
    for (const reader::LocationUsage& usage : snapshot.locations) {
        const GroupKey key{usage.key.stack_id, usage.key.native_stack_id, usage.key.thread_id};
        auto [it, inserted] = index.try_emplace(key, rows.size());
        if (inserted) {
            memray_row row{};
            row.tid = merge_threads ? -1 : static_cast<int64_t>(usage.key.thread_id);
            row.stack_id = usage.key.stack_id;
            row.native_stack_id = usage.key.native_stack_id;
            row.allocator = memrayAllocatorType(usage.key.allocator);
            rows.push_back(row);
        }
        memray_row& row = rows[it->second];
        row.size += usage.bytes;
        row.n_allocations += usage.count;
    }
    return rows;
}

memray_row recordRow(const format::Record& record)
{
    memray_row row{};
    row.tid = static_cast<int64_t>(record.tid);
    row.address = record.address;
    row.n_allocations = 1;
    if (record.kind == format::Record::Kind::Allocation) {
        row.size = record.size;
        row.stack_id = record.stack_id;
        row.native_stack_id = record.native_stack_id;
        row.allocator = memrayAllocatorType(record.allocator);
    } else {
        row.size = record.size;  // munmap's length; 0 for the others
        row.allocator = memrayDeallocatorType(record.deallocator);
        row.is_deallocation = 1;
    }
    return row;
}

}  // namespace memray::reader_api
