// The extern "C" layer of libmemray_reader_api.so (memray_reader_api.h): turns C++ exceptions
// into error codes and one-line messages, and hands out texts Python copies at once.
#include "memray_reader_api.h"

#include "capture_handle.h"
#include "stack_text.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

using memray::reader::AggregatedCaptureError;
using memray::reader::CaptureReader;

namespace {

// Per thread: a call's result text lives until the same thread's next call.
thread_local std::string t_last_error;
thread_local std::string t_text;

memray::reader::SnapshotOptions optionsFor(int query, int merge_threads, uint64_t threshold)
{
    memray::reader::SnapshotOptions options;
    options.kind = query == MEMRAY_QUERY_LEAKS       ? memray::reader::ReportKind::Leaks
                   : query == MEMRAY_QUERY_TEMPORARY ? memray::reader::ReportKind::Temporary
                                                     : memray::reader::ReportKind::Peak;
    options.split_threads = merge_threads == 0;
    options.temporary_threshold = std::max<uint64_t>(threshold, 1);  // the analysis' smallest window
    return options;
}

void analyse(memray_capture& capture, const char* path, int query, uint64_t threshold, uint64_t max_memory_points)
{
    memray::reader::AnalysedCapture analysed =
            memray::reader::analyseCapture(path, optionsFor(query, capture.merge_threads, threshold), max_memory_points);
    capture.reader = std::move(analysed.capture);
    const memray::reader::AllocationSnapshot& snapshot = analysed.snapshot;
    capture.rows = memray::reader_api::groupedRows(snapshot, capture.merge_threads);
    const uint64_t start_ms = capture.reader->metadata().start_time_us / 1000;
    capture.memory.reserve(snapshot.memory.size());
    for (const memray::reader::MemoryPoint& point : snapshot.memory) {
        capture.memory.push_back(memray_memory_point{start_ms + point.time_ms, point.rss, point.heap});
    }
    capture.total_allocations = snapshot.total_allocations;
    capture.peak_memory = snapshot.peak_bytes;
    capture.analysed = true;
}

}  // namespace

extern "C" {

memray_capture* memray_capture_open(const char* path, int query, int merge_threads, uint64_t threshold,
                                    uint64_t max_memory_points, int* error)
{
    *error = MEMRAY_ERROR_NONE;
    if (path == nullptr || query < MEMRAY_QUERY_HIGH_WATERMARK || query > MEMRAY_QUERY_HEADER) {
        *error = MEMRAY_ERROR_CAPTURE;
        t_last_error = "memray_capture_open: no path, or an unknown query " + std::to_string(query);
        return nullptr;
    }
    try {
        auto capture = std::make_unique<memray_capture>();
        capture->merge_threads = merge_threads != 0;
        if (query == MEMRAY_QUERY_RECORDS || query == MEMRAY_QUERY_HEADER) {
            capture->reader = std::make_unique<CaptureReader>(path);
            if (query == MEMRAY_QUERY_RECORDS) {
                capture->reader->requireAllocationRecords("reading every allocation record");
            }
        } else {
            analyse(*capture, path, query, threshold, max_memory_points);
        }
        return capture.release();
    } catch (const AggregatedCaptureError& e) {
        *error = MEMRAY_ERROR_AGGREGATED;
        t_last_error = e.what();
    } catch (const std::exception& e) {
        *error = MEMRAY_ERROR_CAPTURE;
        t_last_error = e.what();
    }
    return nullptr;
}

void memray_capture_close(memray_capture* capture)
{
    delete capture;
}

const char* memray_last_error(void)
{
    return t_last_error.c_str();
}

void memray_capture_metadata(memray_capture* capture, memray_metadata* out)
{
    std::lock_guard lock(capture->mutex);
    const CaptureReader& reader = *capture->reader;
    const memray::format::Metadata& metadata = reader.metadata();
    *out = memray_metadata{};
    out->pid = metadata.pid;
    out->main_thread_id = reader.mainThreadId();
    out->start_time_us = metadata.start_time_us;
    out->end_time_us = capture->analysed ? reader.endTimeUs().value_or(0) : 0;
    out->total_allocations = capture->total_allocations;
    out->total_frames = reader.frameCount();
    out->peak_memory = capture->peak_memory;
    out->has_native_traces = reader.nativeTraces();
    out->trace_python_allocators = metadata.has(memray::format::kOptionTracePythonAllocators);
    out->aggregated = reader.isAggregated();
    out->has_allocation_records = reader.hasAllocationRecords();
    out->command_line = metadata.command_line.c_str();
    out->python_allocator = metadata.python_allocator.c_str();
    out->python_version = metadata.python_version.c_str();
}

size_t memray_capture_row_count(memray_capture* capture)
{
    std::lock_guard lock(capture->mutex);
    return capture->rows.size();
}

size_t memray_capture_rows(memray_capture* capture, size_t first, memray_row* out, size_t capacity)
{
    std::lock_guard lock(capture->mutex);
    if (first >= capture->rows.size()) {
        return 0;
    }
    const size_t count = std::min(capacity, capture->rows.size() - first);
    std::memcpy(out, capture->rows.data() + first, count * sizeof(memray_row));
    return count;
}

int64_t memray_capture_next_records(memray_capture* capture, memray_row* out, size_t capacity)
{
    std::lock_guard lock(capture->mutex);
    memray::format::Record record;
    size_t count = 0;
    while (count < capacity && capture->reader->next(record)) {
        if (record.kind == memray::format::Record::Kind::Allocation
            || record.kind == memray::format::Record::Kind::Deallocation) {
            out[count++] = memray::reader_api::recordRow(record);
        }
    }
    if (count == 0 && capture->reader->endState() == memray::reader::EndState::Corrupt) {
        t_last_error = capture->reader->error();
        return -1;
    }
    return static_cast<int64_t>(count);
}

size_t memray_capture_memory_point_count(memray_capture* capture)
{
    std::lock_guard lock(capture->mutex);
    return capture->memory.size();
}

size_t memray_capture_memory_points(memray_capture* capture, memray_memory_point* out, size_t capacity)
{
    std::lock_guard lock(capture->mutex);
    const size_t count = std::min(capacity, capture->memory.size());
    std::memcpy(out, capture->memory.data(), count * sizeof(memray_memory_point));
    return count;
}

const char* memray_capture_thread_name(memray_capture* capture, int64_t tid)
{
    std::lock_guard lock(capture->mutex);
    const memray::reader::ThreadInfo* thread = tid > 0 ? capture->reader->thread(static_cast<uint64_t>(tid)) : nullptr;
    t_text = thread ? std::string(thread->name()) : std::string();
    return t_text.c_str();
}

const char* memray_capture_python_stack(memray_capture* capture, uint64_t stack_id, size_t max_frames, size_t* size)
{
    std::lock_guard lock(capture->mutex);
    memray::reader_api::pythonStackText(*capture, stack_id, max_frames, &t_text);
    *size = t_text.size();
    return t_text.data();
}

const char* memray_capture_native_stack(memray_capture* capture, uint64_t native_stack_id, size_t max_frames,
                                        size_t* size)
{
    std::lock_guard lock(capture->mutex);
    try {
        memray::reader_api::nativeStackText(*capture, native_stack_id, max_frames, &t_text);
    } catch (const std::exception&) {
        t_text.clear();  // an object that cannot be read: no frames rather than no answer
    }
    *size = t_text.size();
    return t_text.data();
}

const char* memray_capture_hybrid_stack(memray_capture* capture, uint64_t stack_id, uint64_t native_stack_id,
                                        size_t max_frames, size_t* size)
{
    std::lock_guard lock(capture->mutex);
    try {
        memray::reader_api::hybridStackText(*capture, stack_id, native_stack_id, max_frames, &t_text);
    } catch (const std::exception&) {
        // Symbolization failed (an object that cannot be read): the Python frames still stand.
        memray::reader_api::pythonStackText(*capture, stack_id, max_frames, &t_text);
    }
    *size = t_text.size();
    return t_text.data();
}

}  // extern "C"
