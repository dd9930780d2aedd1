// What a memray_capture handle holds: the reader whose tables resolve every stack id the
// handle hands out, and, for an analysis, its result as rows ready for Python to copy.
#pragma once

#include "memray_reader_api.h"

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"
#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct memray_capture
{
    // ctypes calls release the GIL, so two Python threads may use one handle at once.
    std::mutex mutex;
    std::unique_ptr<memray::reader::CaptureReader> reader;
    bool analysed = false;  // a pass has read the whole capture (figures below are known)
    std::vector<memray_row> rows;
    std::vector<memray_memory_point> memory;
    uint64_t total_allocations = 0;
    uint64_t peak_memory = 0;
    bool merge_threads = true;
    // Created on the first native or hybrid stack asked for (symbolizing opens every object).
    std::unique_ptr<memray::reader::NativeSymbolizer> symbolizer;
    std::unique_ptr<memray::reader::HybridStackBuilder> hybrid;
};

namespace memray::reader_api {

// memray's AllocatorType numbers, which differ from the capture format's ids.
uint32_t memrayAllocatorType(format::Allocator allocator);
uint32_t memrayDeallocatorType(format::Deallocator deallocator);

// An analysis' locations as memray groups them: one row per (Python stack, native stack,
// thread), the allocators of one location summed into a row that names the largest part's.
std::vector<memray_row> groupedRows(const reader::AllocationSnapshot& snapshot, bool merge_threads);

// A raw allocation or deallocation record as a row.
memray_row recordRow(const format::Record& record);

}  // namespace memray::reader_api
