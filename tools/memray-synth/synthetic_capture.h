// A generator of realistic-looking captures, deterministic for a given seed.
//
// It writes what a Python program's capture contains: several threads (with names, the main
// one's OS thread id equal to the pid), code objects from application, standard-library and
// site-packages files, a tree of distinct stacks defined lazily before first use, allocations
// from every allocator with a skewed size distribution, frees (mostly of young blocks, as in
// most programs; and a few frees of addresses never allocated, which readers must ignore), reallocs (a free of the old block, then a
// Realloc allocation), mmaps with whole, head, tail and middle (splitting) munmaps, memory
// samples, and a trailer. Addresses are reused the way a heap reuses freed blocks.
//
// The generator keeps its own account of the live heap, so the result carries the exact
// totals and peak a correct reader must compute.
#pragma once

#include "capture_builder.h"

#include <cstdint>

namespace memray::synth {

struct SynthOptions
{
    uint64_t allocations = 100000;  // allocation records (reallocs and mmaps included)
    uint64_t stacks = 1000;         // distinct Python stacks
    uint32_t threads = 4;
    uint64_t seed = 1;
    uint64_t max_live = 50000;      // live blocks beyond which every step frees
    bool trailer = true;            // false: end as a killed process would
    bool native_traces = false;     // set kOptionNativeTraces and write native stack ids
    size_t chunk_bytes = CaptureBuilder::kDefaultChunkBytes;
};

struct SynthResult
{
    uint64_t allocation_records = 0;
    uint64_t deallocation_records = 0;
    uint64_t records = 0;
    uint64_t chunks = 0;
    uint64_t total_bytes = 0;  // sum of allocation sizes
    uint64_t peak_bytes = 0;   // high-water mark of the live heap
    uint64_t final_bytes = 0;  // live at the end
    uint64_t reallocs = 0;
    uint64_t mmaps = 0;
    uint64_t munmaps = 0;
    uint64_t stacks_defined = 0;
};

SynthResult generateCapture(const SynthOptions& options, CaptureBuilder::Sink sink);

}  // namespace memray::synth
