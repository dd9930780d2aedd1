// Streams a capture's heap events to an analysis, decoding on a second thread.
//
// Decoding a record and applying it to a heap model take similar time, and both are mostly
// waiting on memory, so running them on two cores in a pipeline nearly halves an analysis's
// wall time on large captures. The decoding thread copies what analyses need of each heap
// record (and of each memory sample, for timelines) into batches handed over through a
// HandoffQueue; the reader's own tables are only touched by that thread until the stream ends.
// An analysis that needs less of each record can stream events of its own type instead
// (streamEvents): every byte of an event is written on one core and read on the other.
#pragma once

#include "handoff_queue.h"
#include "memray/format/prefetch.h"
#include "memray/reader/capture_reader.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

namespace memray::reader {

struct HeapEvent
{
    enum class Kind : uint8_t {
        Allocation,
        Deallocation,
        MemorySample,
        ThreadExit,
    };

    Kind kind{};
    uint8_t allocator = 0;    // Allocation: format::Allocator; Deallocation: format::Deallocator
    uint32_t tid = 0;         // capture thread ids are small counters
    uint64_t address = 0;     // MemorySample: time in ms since the start
    uint64_t size = 0;        // Allocation, Munmap; MemorySample: RSS in bytes
    uint64_t stack_id = 0;
    uint64_t native_stack_id = 0;

    format::Allocator allocatorKind() const { return static_cast<format::Allocator>(allocator); }
    format::Deallocator deallocatorKind() const { return static_cast<format::Deallocator>(allocator); }
};

// How far ahead of the event being applied a consumer loading table slots for its heap events
// should start loading the events themselves. The decoding thread wrote them on the other core,
// so each line comes from that core's cache; the hardware prefetcher does not keep up with a
// loop that also misses on its own tables, and the events 16 ahead (whose slots are prefetched)
// were found stalling as often as the slots did.
constexpr size_t kEventPrefetchDistance = 64;

// Starts loading events[i + kEventPrefetchDistance] (if the batch has it).
template <typename Event>
void prefetchEventAhead(const Event* events, size_t i, size_t count)
{
    if (i + kEventPrefetchDistance < count) {
        format::prefetch(&events[i + kEventPrefetchDistance]);
    }
}

// A field of the record the decoder has just written, read as a whole register. Left to itself
// the compiler copies two neighbouring fields with one 16-byte load, which cannot be forwarded
// from the decoder's two 8-byte stores still in flight and waits for them to reach the cache:
// that stall was 70% of `memray stats`' conversion of records into events.
inline uint64_t freshField(const uint64_t& field)
{
    uint64_t value = field;
    asm("" : "+r"(value));
    return value;
}

namespace detail {

constexpr size_t kHeapEventsPerBatch = 8192;
// A waiting thread is woken once half of these are in (or out): every 4 batches, 32,768 events.
// (4 in flight, waking every 2, left about twice as many sleeps and wake-ups per run; the 4
// more batches cost 1.3 MB.)
constexpr size_t kHeapBatchesInFlight = 8;

inline bool toHeapEvent(const Record& record, HeapEvent* event)
{
    switch (record.kind) {
        case RecordKind::Allocation:
            *event = HeapEvent{HeapEvent::Kind::Allocation, static_cast<uint8_t>(record.allocator),
                               static_cast<uint32_t>(record.tid), record.address, record.size, record.stack_id,
                               record.native_stack_id};
            return true;
        case RecordKind::Deallocation:
            *event = HeapEvent{HeapEvent::Kind::Deallocation, static_cast<uint8_t>(record.deallocator),
                               static_cast<uint32_t>(record.tid), record.address, record.size, 0, 0};
            return true;
        case RecordKind::Memory:
            *event = HeapEvent{HeapEvent::Kind::MemorySample, 0, 0, record.time, record.rss, 0, 0};
            return true;
        case RecordKind::ThreadExit:
            *event = HeapEvent{HeapEvent::Kind::ThreadExit, 0, static_cast<uint32_t>(record.tid), 0, 0, 0, 0};
            return true;
        default:
            return false;
    }
}

// Fills batches with the events that convert makes of `reader`'s remaining records and hands
// each, once inspected, to handOver(batch), which leaves the batch empty and returns false to
// stop the decoding.
template <typename Event, typename Convert, typename Inspect, typename HandOver>
void decodeEvents(CaptureReader& reader, std::vector<Event> batch, Convert& convert, Inspect& inspect,
                  HandOver&& handOver)
{
    batch.reserve(kHeapEventsPerBatch);
    Record record;
    Event event;
    while (reader.next(record)) {
        if (!convert(record, &event)) {
            continue;
        }
        batch.push_back(event);
        if (batch.size() == kHeapEventsPerBatch) {
            inspect(batch.data(), batch.size());
            if (!handOver(batch)) {
                return;
            }
            batch.reserve(kHeapEventsPerBatch);
        }
    }
    if (!batch.empty()) {
        inspect(batch.data(), batch.size());
        handOver(batch);
    }
}

// Whether this thread may run on more than one CPU (taskset, cgroup cpusets).
inline bool hasSecondCpu()
{
    cpu_set_t cpus;
    return sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || CPU_COUNT(&cpus) > 1;
}

}  // namespace detail

// Calls consume(events, count) with consecutive batches of the events that convert(record,
// &event) makes of `reader`'s remaining records (a record it returns false for makes none),
// until the capture ends or consume returns false. convert and inspect(events, count) run on the
// decoding thread: inspect sees each batch first and may rewrite it. Work that needs none of the
// consumer's state can run there, balancing the two threads. (When this thread may only run on
// one CPU, everything runs on it, in the same order.) Rethrows what either thread threw; throws
// CaptureError if the capture is corrupted (when read to its end).
template <typename Event, typename Convert, typename Consume, typename Inspect>
void streamEvents(CaptureReader& reader, Convert&& convert, Consume&& consume, Inspect&& inspect)
{
    using Batch = std::vector<Event>;
    // consume's one call: both ways of running reach it here. With a call in each, the compiler
    // inlined consume into neither, nor (in `memray flamegraph`) the heap model's allocate into
    // consume's loop, which cost that report about 5%.
    auto consumeBatch = [&](const Batch& batch) __attribute__((noinline)) {
        return consume(static_cast<const Event*>(batch.data()), batch.size());
    };
    bool finished = true;
    if (!detail::hasSecondCpu()) {
        // Pinned to one CPU, a second thread only adds switches between the two, and each
        // thread's turn evicts the batches the other left in the cache: decode a batch, consume
        // it, and so on, in this thread.
        detail::decodeEvents(reader, Batch(), convert, inspect, [&](Batch& batch) {
            finished = consumeBatch(batch);
            batch.clear();
            return finished;
        });
        if (finished) {
            reader.throwIfCorrupt();
        }
        return;
    }
    HandoffQueue<Event> queue(detail::kHeapBatchesInFlight);
    std::exception_ptr decode_failure;
    std::thread decoder([&] {
        try {
            detail::decodeEvents(reader, queue.takeEmpty(), convert, inspect, [&](Batch& batch) {
                if (!queue.push(std::move(batch))) {
                    return false;  // the consumer has stopped
                }
                batch = queue.takeEmpty();
                return true;
            });
        } catch (...) {
            decode_failure = std::current_exception();
        }
        queue.close();
    });
    try {
        Batch batch;
        while (queue.pop(&batch)) {
            const bool more = consumeBatch(batch);
            queue.recycle(std::move(batch));
            if (!more) {
                finished = false;
                queue.abandon();
                break;
            }
        }
    } catch (...) {
        queue.abandon();
        decoder.join();
        throw;
    }
    decoder.join();
    if (decode_failure) {
        std::rethrow_exception(decode_failure);
    }
    if (finished) {
        reader.throwIfCorrupt();
    }
}

// streamEvents of HeapEvents: every analysis's events but those of `memray stats`.
template <typename Consume, typename Inspect>
void streamHeapEvents(CaptureReader& reader, Consume&& consume, Inspect&& inspect)
{
    // A lambda, not the function itself: a function pointer could stay an indirect call.
    auto convert = [](const Record& record, HeapEvent* event) { return detail::toHeapEvent(record, event); };
    streamEvents<HeapEvent>(reader, convert, std::forward<Consume>(consume), std::forward<Inspect>(inspect));
}

template <typename Consume>
void streamHeapEvents(CaptureReader& reader, Consume&& consume)
{
    streamHeapEvents(reader, std::forward<Consume>(consume), [](HeapEvent*, size_t) {});
}

}  // namespace memray::reader
