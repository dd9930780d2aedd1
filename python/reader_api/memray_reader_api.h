// The C interface of libmemray_reader_api.so: what the Python package's FileReader calls
// through ctypes (python/memray/_reader_library.py).
//
// Python never iterates raw records for a report: one call runs the C++ analysis
// (reader::analyseCapture) and Python copies its result rows, a few per distinct stack. Stacks
// are resolved on demand, from the tables the analysis kept.
//
// Plain C types only, so that ctypes needs no compiler and any CPython can use the library.
// Every function is safe to call from several threads on one handle (a handle serialises its
// own calls). Texts returned as `const char*` stay valid until the calling thread's next call
// into this library: Python copies them at once.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct memray_capture memray_capture;

// What a handle is opened for.
enum memray_query {
    MEMRAY_QUERY_HIGH_WATERMARK = 0,  // live at the peak of the tracked heap
    MEMRAY_QUERY_LEAKS = 1,           // live when the capture ended
    MEMRAY_QUERY_TEMPORARY = 2,       // freed after at most `threshold` other allocations
    MEMRAY_QUERY_RECORDS = 3,         // no analysis: memray_capture_next_records streams records
    MEMRAY_QUERY_HEADER = 4,          // no analysis, not even a pass: header and metadata only
};

// Why memray_capture_open failed.
enum memray_open_error {
    MEMRAY_ERROR_NONE = 0,
    MEMRAY_ERROR_CAPTURE = 1,     // missing, unreadable, not a capture, corrupted
    MEMRAY_ERROR_AGGREGATED = 2,  // the query needs allocation records an aggregated capture lacks
};

typedef struct memray_metadata {
    uint64_t pid;
    uint64_t main_thread_id;       // capture thread id (0 if unknown)
    uint64_t start_time_us;        // since the epoch
    uint64_t end_time_us;          // since the epoch; 0 when unknown (and for HEADER handles)
    uint64_t total_allocations;    // allocation records (0 for HEADER handles)
    uint64_t total_frames;         // distinct Python frames defined (after the pass)
    uint64_t peak_memory;          // tracked heap high-water mark, bytes (0 for HEADER handles)
    uint32_t has_native_traces;
    uint32_t trace_python_allocators;
    uint32_t aggregated;           // --aggregate / FileFormat.AGGREGATED_ALLOCATIONS
    uint32_t has_allocation_records;
    const char* command_line;      // valid as long as the handle
    const char* python_allocator;  // "pymalloc", "malloc", ...
    const char* python_version;
} memray_metadata;

// One grouped location (analysis handles) or one raw record (RECORDS handles). Fields are
// memray's: `allocator` uses memray's AllocatorType numbers (MALLOC 6, FREE 5, ...).
typedef struct memray_row {
    int64_t tid;               // capture thread id; -1 when threads are merged
    uint64_t address;          // raw records only (0 in grouped rows)
    uint64_t size;             // bytes
    uint64_t n_allocations;
    uint64_t stack_id;         // Python stack (0: none)
    uint64_t native_stack_id;  // native stack (0: none)
    uint32_t allocator;
    uint32_t is_deallocation;
} memray_row;

typedef struct memray_memory_point {
    uint64_t time_ms;  // since the epoch
    uint64_t rss;
    uint64_t heap;
} memray_memory_point;

// Opens `path` and runs `query` over it (HIGH_WATERMARK: two passes; LEAKS, TEMPORARY: one;
// RECORDS, HEADER: header only). `merge_threads` groups locations across threads;
// `threshold` is TEMPORARY's. NULL on failure, with *error set and memray_last_error() saying
// why in one line.
memray_capture* memray_capture_open(const char* path, int query, int merge_threads, uint64_t threshold,
                                    uint64_t max_memory_points, int* error);
void memray_capture_close(memray_capture* capture);

// The last failure of a call made by this thread.
const char* memray_last_error(void);

void memray_capture_metadata(memray_capture* capture, memray_metadata* out);

// Analysis handles: how many rows, and up to `capacity` of them from `first` on.
size_t memray_capture_row_count(memray_capture* capture);
size_t memray_capture_rows(memray_capture* capture, size_t first, memray_row* out, size_t capacity);

// RECORDS handles: the next up to `capacity` allocation and deallocation records, in capture
// order. 0 at the end; -1 if the capture turns out corrupted (memray_last_error() says where).
int64_t memray_capture_next_records(memray_capture* capture, memray_row* out, size_t capacity);

// Analysis handles: how many memory samples (at most max_memory_points), and up to `capacity`
// of them.
size_t memray_capture_memory_point_count(memray_capture* capture);
size_t memray_capture_memory_points(memray_capture* capture, memray_memory_point* out, size_t capacity);

// The name of a capture thread ("" if it never had one) at the end of what has been read.
const char* memray_capture_thread_name(memray_capture* capture, int64_t tid);

// Stacks, most recent call first, as "function\0file\0line\0" per frame, `*size` bytes in all;
// at most `max_frames` frames (0: all).
//   python: the Python frames of `stack_id`;
//   native: the symbolized frames of `native_stack_id` (file "" and line 0 when unknown);
//   hybrid: native frames with the interpreter's evaluation frames replaced by the Python frames
//           they ran (the Python stack alone for a capture without native traces).
const char* memray_capture_python_stack(memray_capture* capture, uint64_t stack_id, size_t max_frames, size_t* size);
const char* memray_capture_native_stack(memray_capture* capture, uint64_t native_stack_id, size_t max_frames,
                                        size_t* size);
const char* memray_capture_hybrid_stack(memray_capture* capture, uint64_t stack_id, uint64_t native_stack_id,
                                        size_t max_frames, size_t* size);

#ifdef __cplusplus
}
#endif
