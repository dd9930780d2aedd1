#include "tracker.h"

#include "aggregator.h"
#include "capture_writer.h"
#include "code_lifetime.h"
#include "exit_watched_codes.h"
#include "fork_window.h"
#include "got_patcher.h"
#include "hooks.h"
#include "image_map.h"
#include "native_trie.h"
#include "native_unwinder.h"
#include "profile_exit_hook.h"
#include "native_proof.h"
#include "python_frames.h"
#include "python_integration.h"
#include "python_stack.h"
#include "record_lock.h"
#include "stack_table.h"
#include "thread_state.h"

#include "memray/format/container.h"
#include "memray/format/record_codec.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <new>
#include <string_view>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace memray::payload {

constinit thread_local bool t_recursion_guard __attribute__((tls_model("initial-exec"))) = false;
std::atomic<bool> g_tracking{false};

namespace {

thread_local ThreadState* t_thread_state __attribute__((tls_model("initial-exec"))) = nullptr;

// The calling thread's state: the TLS load inline, the creation (currentThreadState) only on a
// thread's first event.
inline ThreadState* threadState()
{
    ThreadState* thread = t_thread_state;
    return thread ? thread : currentThreadState();
}

// How often the background thread writes an aggregate checkpoint (--aggregate).
constexpr unsigned kCheckpointIntervalMs = 1000;
// A thread's state is freed this long after its exit: its last frees (thread-local destructors
// of other libraries) may still be recording with it.
constexpr uint64_t kThreadStateGraceNs = 2'000'000'000;

// Lock order: the GIL, then control_mutex, then patch_mutex, then record_mutex. Nothing holding record_mutex
// waits for the GIL, so an allocating thread that holds the GIL never deadlocks with us.
struct Capture
{
    std::mutex control_mutex;  // start, stop, fork
    // GOT patching. The dlopen intercept takes it with the GIL often held (ctypes, imports), so
    // it is separate from control_mutex, which start() holds while it runs Python code that may
    // drop and retake the GIL: sharing one mutex deadlocked a dlopen in one thread against an
    // attach starting in another. Taken after control_mutex, never held while waiting for the
    // GIL or control_mutex.
    std::mutex patch_mutex;
    RecordLock record_mutex;   // the record stream and everything below (see record_lock.h)

    bool active = false;
    CaptureConfig config;
    format::Metadata metadata;
    CaptureWriter* writer = nullptr;

    // Stream state, replayed by the reader.
    uint64_t generation = 0;
    uint64_t next_tid = 1;
    uint64_t current_tid = 0;
    format::AddressHistory addresses;
    uint64_t allocation_records = 0;
    StackTable stacks;

    // Aggregated captures (config.aggregate): heap events go to `aggregator`, and reach the file
    // as checkpoints; with config.aggregate_verify (MEMRAY_AGGREGATE_VERIFY) as records too.
    Aggregator aggregator;
    uint64_t checkpoints = 0;

    // Native mode (--native). `native` is set before tracking starts and read without the lock.
    bool native = false;
    NativeTrie native_trie;
    std::vector<LoadedImage> images;  // the map last written (a forked child writes it again)

    // Threads.
    ThreadState* threads = nullptr;  // live threads, a doubly linked list
    std::vector<ThreadState*> exited_threads;
    std::unordered_map<unsigned long, std::string> pending_names;  // by pthread id
    pthread_key_t thread_key{};

    // Set by start(), read by the allocation path outside the lock.
    PythonApi api;
    PythonFrameWalker walker;
    const void* stop_code = nullptr;
    // memray.Tracker (CaptureConfig::entry_frame): on the thread that entered it, walks stop
    // before the code of the frame that called the entering one, so that the frames above the
    // `with` are left out of that thread's stacks; 0 / nullptr otherwise.
    pid_t entry_thread = 0;
    const void* entry_stop_code = nullptr;
    PythonIntegration python;
    // Frame-exit events reach onPythonFrameExit (3.12+): an allocation then re-reads only the
    // frames that may have changed since the thread's last one (ThreadState::
    // cached_frames_on_stack). Set only once the events are flowing.
    std::atomic<bool> frame_exits_watched{false};
    // Whose frames report their exits: every code's with --trace-python-allocators (where
    // allocations are many enough to pay a call per return), else those of the code objects
    // found deep in a stack (requestExitEvents).
    ExitWatchedCodes exit_watched_codes;
    bool exit_events_refused = false;  // set_local_events failed once: ask no more
    // Before 3.12, frame exits come from a profile function put in the slot of each thread
    // found deep (profile_exit_hook.h) instead of sys.monitoring.
    bool exits_via_profile = false;
    // How many profile events cost as much as walking one frame: a full walk reads a frame in
    // about 5 ns on 3.7-3.11, and a Python call (two events) under a profile function costs
    // about 17 ns more on 3.8, 40 ns on 3.10 (every instruction takes the tracing dispatch)
    // and 75 ns on 3.11 (deoptimized instructions, a frame object per call), where the
    // slower instructions between calls make it cost more still (measured with 20 calls
    // between allocations 300 frames deep: 0.13 per frame there kept it on at a loss).
    double profile_events_per_frame = 0;
    // MEMRAY_PARTIAL_WALK_VERIFY=1 (memray run): every partial walk is checked against a full
    // one, and the counts are printed when the capture stops. The tests' proof of the above.
    bool verify_partial_walks = false;
    // MEMRAY_NATIVE_UNWIND_VERIFY=1 (memray run --native): every incremental native unwind is
    // checked against a whole libunwind unwind, and the counts printed when the capture stops.
    bool verify_native_unwinds = false;
    uint64_t partial_walks = 0;
    uint64_t partial_walk_mismatches = 0;
    // Over every allocation's stack while verifying: the frames walks read, and the frames of
    // the stacks (read or kept from the cache). How much the shortcut saves, for the tests.
    uint64_t walked_frames_read = 0;
    uint64_t walked_frames = 0;
    GotPatcher* patcher = nullptr;
    std::string last_summary;
};

// Created on the first start and never destroyed: intercepts may run until the very end of
// the process, after static destructors.
Capture* g_capture = nullptr;

// Not a function-local static: its initialisation guard, half-taken by a thread that another
// thread's fork() interrupted, would make the child's first capture wait forever. A lost race
// only costs the loser's copy.
Capture& capture()
{
    std::atomic_ref<Capture*> shared(g_capture);
    if (Capture* existing = shared.load(std::memory_order_acquire)) {
        return *existing;
    }
    auto* fresh = new Capture;
    Capture* expected = nullptr;
    if (!shared.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
        delete fresh;
        return *expected;
    }
    return *fresh;
}

uint64_t wallClockUs()
{
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
}

// Writes the records StackTable creates into the stream. The caller holds record_mutex and
// has called waitForRoom, so reserve() never waits here.
class StreamEncoder final : public RecordSink, public NativeFrameSink
{
  public:
    explicit StreamEncoder(CaptureWriter* writer, bool native = false)
    : writer_(writer)
    , native_(native)
    {
    }

    void writeCode(const CodeText& code) override
    {
        if (uint8_t* out = writer_->reserve(2 * format::kMaxStringBytes + format::kMaxFixedRecordBytes)) {
            writer_->commit(format::encodeCode(out, code.name, code.filename, code.first_line));
        }
    }
    void writeFrame(uint32_t code_id, uint32_t line) override
    {
        if (uint8_t* out = writer_->reserve(format::kMaxFixedRecordBytes)) {
            writer_->commit(format::encodeFrame(out, code_id, line));
        }
    }
    void writeStack(uint32_t parent_id, uint32_t frame_id, uint64_t flags) override
    {
        if (uint8_t* out = writer_->reserve(format::kMaxFixedRecordBytes)) {
            writer_->commit(format::encodeStack(out, parent_id, frame_id, native_, flags));
        }
    }
    void writeNativeFrame(uint32_t parent_id, uintptr_t address) override
    {
        if (uint8_t* out = writer_->reserve(format::kMaxFixedRecordBytes)) {
            writer_->commit(format::encodeNativeFrame(out, parent_id, address));
        }
    }
    // A new generation of the loaded-object map.
    void writeImages(const std::vector<LoadedImage>& images)
    {
        if (uint8_t* out = writer_->reserve(format::kMaxFixedRecordBytes)) {
            writer_->commit(format::encodeImageMap(out, images.size()));
        }
        for (const LoadedImage& image : images) {
            if (uint8_t* out = writer_->reserve(format::kMaxFixedRecordBytes + 2 * format::kMaxStringBytes)) {
                writer_->commit(format::encodeImage(out, image.path, image.load_bias, image.build_id));
            }
            for (const LoadedSegment& segment : image.segments) {
                if (uint8_t* out = writer_->reserve(format::kMaxFixedRecordBytes)) {
                    writer_->commit(format::encodeImageSegment(out, segment.vaddr, segment.memsz));
                }
            }
        }
    }
    void writeThreadName(uint64_t tid, const std::string& name)
    {
        if (uint8_t* out = writer_->reserve(format::kMaxStringBytes + format::kMaxFixedRecordBytes)) {
            writer_->commit(format::encodeThreadName(out, tid, name));
        }
    }

  private:
    CaptureWriter* writer_;
    bool native_;
};

void sampleMemory(uint8_t** out, uint64_t ms_since_start, uint64_t rss_bytes)
{
    *out = format::encodeMemory(*out, ms_since_start, rss_bytes);
}

// Aggregated captures: the memory record carries the tracked heap too (record_mutex is held).
// Its heap is the highest since the previous sample, so that a block that lived between two
// samples still shows on the plot.
void sampleAggregatedMemory(uint8_t** out, uint64_t ms_since_start, uint64_t rss_bytes)
{
    *out = format::encodeAggregatedMemory(*out, ms_since_start, rss_bytes, g_capture->aggregator.takeSampleHighWater());
}

// With record_mutex held: one checkpoint, the totals and every location changed since the last
// one. Room is reserved record by record: a checkpoint can be larger than one buffer.
void writeCheckpoint(CaptureWriter& writer)
{
    Capture& c = *g_capture;
    uint8_t* out = writer.reserve(format::kMaxAggregateLocationBytes);
    if (!out) {
        return;
    }
    writer.commit(format::encodeAggregateBegin(out, c.aggregator.totals()));
    bool complete = true;
    c.aggregator.takeChanged([&](const format::AggregateLocation& location) {
        uint8_t* room = complete ? writer.reserve(format::kMaxAggregateLocationBytes) : nullptr;
        if (!room) {
            complete = false;  // the capture can no longer be written
            return;
        }
        writer.commit(format::encodeAggregateLocation(room, location));
    });
    if (complete && (out = writer.reserve(format::kMaxFixedRecordBytes))) {
        writer.commit(format::encodeAggregateEnd(out));
        ++c.checkpoints;
    }
}

// A writer for `c`'s capture (its config decides the kind of memory records and checkpoints).
CaptureWriter* openWriter(Capture& c, const CaptureConfig& config, const std::string& path, std::string* error)
{
    auto* writer = new CaptureWriter(c.record_mutex);
    if (config.aggregate) {
        writer->setCheckpointer(&writeCheckpoint, kCheckpointIntervalMs);
    }
    if (!writer->open(path, config.force, format::encodeFileStart(c.metadata), config.rss_interval_ms,
                      config.aggregate ? &sampleAggregatedMemory : &sampleMemory, error)) {
        delete writer;
        return nullptr;
    }
    return writer;
}

// With record_mutex held: the stream state of a new capture (or of a forked child's own).
void resetStreamState(Capture& c)
{
    ++c.generation;
    c.next_tid = 1;
    c.current_tid = 0;
    c.addresses = format::AddressHistory{};
    c.allocation_records = 0;
    c.stacks.reset();
    c.aggregator.reset();
    c.checkpoints = 0;
}

// With record_mutex held: the thread's first record in this capture announces it (and its
// name); a name that changed since it was last written is written again.
void announceThreadSlow(Capture& c, ThreadState* thread)
{
    if (thread->generation != c.generation) {
        thread->generation = c.generation;
        thread->tid = c.next_tid++;
        thread->last_stack_id = 0;
        thread->last_native_id = 0;
        thread->stack_cache.clear();
        thread->cached_frames_on_stack = 0;
        thread->every_exit_reported = false;
        thread->name_generation = 0;
        if (uint8_t* out = c.writer->reserve(format::kMaxFixedRecordBytes)) {
            c.writer->commit(format::encodeThreadStart(out, thread->tid, static_cast<uint64_t>(thread->os_tid)));
        }
    }
    if (thread->name_generation != c.generation && !thread->name.empty()) {
        StreamEncoder encoder(c.writer);
        encoder.writeThreadName(thread->tid, thread->name);
        thread->name_generation = c.generation;
    }
    thread->announced_generation = c.generation;
}

// The check inline: every event makes it, and almost every time there is nothing to write.
inline void announceThread(Capture& c, ThreadState* thread)
{
    if (thread->announced_generation != c.generation) {
        announceThreadSlow(c, thread);
    }
}

// With record_mutex held and the thread announced: makes `thread` the stream's current thread.
uint8_t* switchTo(Capture& c, ThreadState* thread, uint8_t* out)
{
    if (c.current_tid != thread->tid) {
        c.current_tid = thread->tid;
        out = format::encodeThreadSwitch(out, thread->tid);
    }
    return out;
}

void reapExitedThreads(Capture& c, uint64_t now_ns)
{
    auto& exited = c.exited_threads;
    for (size_t i = 0; i < exited.size();) {
        if (now_ns - exited[i]->exit_ns >= kThreadStateGraceNs) {
            delete exited[i];
            exited[i] = exited.back();
            exited.pop_back();
        } else {
            ++i;
        }
    }
}

void unlinkThread(Capture& c, ThreadState* thread)
{
    if (thread->previous) {
        thread->previous->next = thread->next;
    } else if (c.threads == thread) {
        c.threads = thread->next;
    }
    if (thread->next) {
        thread->next->previous = thread->previous;
    }
    thread->next = thread->previous = nullptr;
}

// pthread key destructor: the thread is exiting.
void onThreadExit(void* value)
{
    RecursionGuard guard;
    auto* thread = static_cast<ThreadState*>(value);
    Capture& c = capture();
    std::unique_lock lock(c.record_mutex);
    unlinkThread(c, thread);
    c.pending_names.erase(thread->self);
    if (c.active && thread->generation == c.generation) {
        if (uint8_t* out = c.writer->reserve(format::kMaxFixedRecordBytes)) {
            c.writer->commit(format::encodeThreadExit(out, thread->tid));
        }
    }
    uint64_t now = monotonicNs();
    thread->exited = true;
    thread->exit_ns = now;
    reapExitedThreads(c, now);
    c.exited_threads.push_back(thread);
}

std::string currentOsThreadName()
{
    char name[17] = {};
    if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0) {
        return {};
    }
    return name;
}

// The process's name as the first capture found it (what new threads inherit): read once, in
// the first start, before any thread can look at it.
char g_process_name[17];

void readProcessName()
{
    FILE* file = std::fopen("/proc/self/comm", "re");
    if (file) {
        if (std::fgets(g_process_name, sizeof(g_process_name), file)) {
            g_process_name[std::strcspn(g_process_name, "\n")] = '\0';
        }
        std::fclose(file);
    }
}

// A new thread inherits its creator's OS name; only a name set on purpose is worth showing.
bool isInheritedProcessName(const std::string& name)
{
    return name == g_process_name;
}

// ---------------------------------------------------------------------------------------------
// fork
//
// The handlers take the locks that guard what the child inherits (the GOT patches, the record
// stream), so the child gets them in a consistent state. Not control_mutex: start and stop hold
// it while they run Python code, which may drop the GIL and wait to take it back, and the
// forking thread holds the GIL: waiting for control_mutex here froze the process for good.
// Neither lock taken here is ever held while waiting for the GIL.

void forkPrepare()
{
    if (!g_capture) {
        return;
    }
    g_capture->patch_mutex.lock();
    g_capture->record_mutex.lock();
}

void forkParent()
{
    if (!g_capture) {
        return;
    }
    g_capture->record_mutex.unlock();
    g_capture->patch_mutex.unlock();
}

void forkChild()
{
    if (!g_capture) {
        return;
    }
    RecursionGuard guard;
    Capture& c = *g_capture;
    c.record_mutex.disableBiasingInChild();
    c.record_mutex.unlock();
    c.patch_mutex.unlock();
    // A start or stop under way in another thread of the parent (control_mutex, whose holder
    // does not exist here, may be taken): the child has no such thread. Its mutex is made anew,
    // and only a capture that was fully running (active and tracking) goes on in the child.
    new (&c.control_mutex) std::mutex;
    if (!c.active) {
        return;
    }
    // Only the forking thread exists here. The other threads' states describe threads of the
    // parent: forget them (leaked; freeing memory another thread may have been using at the
    // moment of the fork is not safe).
    ThreadState* self = t_thread_state;
    c.threads = nullptr;
    c.exited_threads.clear();
    c.pending_names.clear();
    if (self) {
        self->next = self->previous = nullptr;
        c.threads = self;
    }
    c.writer->abandonInChild();
    c.writer = nullptr;
    // A capture caught between starting and tracking, or stopping, is finished in neither way
    // here: only one that was fully running in the parent goes on in the child.
    if (!c.config.follow_fork || !g_tracking.load()) {
        c.active = false;
        g_tracking = false;
        g_profile_exit_hook.removeFromCallingThread();  // nothing to report to any more
        return;
    }
    c.metadata.parent_pid = c.metadata.pid;
    c.metadata.pid = static_cast<uint64_t>(getpid());
    c.metadata.start_time_us = wallClockUs();
    c.metadata.main_thread_id = c.metadata.pid;
    std::string path = c.config.output + "." + std::to_string(getpid());
    std::string error;
    CaptureWriter* writer = openWriter(c, c.config, path, &error);
    if (!writer) {
        std::fprintf(stderr, "memray: not tracking forked process %d: %s\n", getpid(), error.c_str());
        c.active = false;
        g_tracking = false;
        g_profile_exit_hook.removeFromCallingThread();
        return;
    }
    c.writer = writer;
    resetStreamState(c);
    if (c.native) {
        // The child has the parent's objects: write the parent's last map again (listing them
        // anew could wait forever on a loader lock some other parent thread held at fork).
        c.native_trie.reset();
        StreamEncoder encoder(c.writer, true);
        encoder.writeImages(c.images);
    }
}

// With control_mutex held. `restore_hooks`: false when the process is about to end anyway.
bool stopLocked(Capture& c, std::string* summary, bool restore_hooks = true)
{
    g_tracking = false;
    if (c.verify_partial_walks) {
        std::fprintf(stderr, "[memray] partial stack walks checked: %llu, mismatches: %llu, frames read: %llu of %llu\n",
                     static_cast<unsigned long long>(c.partial_walks),
                     static_cast<unsigned long long>(c.partial_walk_mismatches),
                     static_cast<unsigned long long>(c.walked_frames_read),
                     static_cast<unsigned long long>(c.walked_frames));
    }
    if (c.verify_native_unwinds) {
        native_unwinder::setVerify(false);
        const native_unwinder::VerifyCounts counts = native_unwinder::takeVerifyCounts();
        std::fprintf(stderr,
                     "[memray] native unwinds checked: %llu, mismatches: %llu, whole libunwind unwinds: %llu,"
                     " frames walked: %llu, frames reused: %llu, reused on Python's proof: %llu\n",
                     static_cast<unsigned long long>(counts.checked),
                     static_cast<unsigned long long>(counts.mismatches),
                     static_cast<unsigned long long>(counts.fallbacks),
                     static_cast<unsigned long long>(counts.frames_walked),
                     static_cast<unsigned long long>(counts.frames_reused),
                     static_cast<unsigned long long>(counts.proven_reuses));
    }
    if (restore_hooks) {
        std::lock_guard patch(c.patch_mutex);
        c.patcher->restoreAll();
        unwatchCodeDeaths(c.api.PyCode_Type);
    }
    CaptureWriter* writer;
    uint64_t records;
    {
        std::lock_guard lock(c.record_mutex);
        writer = c.writer;
        records = c.allocation_records;
        writer->writeFinalSample();
        if (c.config.aggregate) {
            writeCheckpoint(*writer);
        }
        if (uint8_t* out = writer->reserve(format::kMaxFixedRecordBytes)) {
            uint64_t elapsed_us = (monotonicNs() - writer->startNs()) / 1000u;
            writer->commit(format::encodeTrailer(out, elapsed_us, records));
        }
        c.active = false;
        c.writer = nullptr;
        writer->requestStop();
    }
    writer->join();
    bool ok = !writer->failed();
    const std::string what = c.config.aggregate && !c.config.aggregate_verify
                                     ? std::to_string(c.checkpoints) + " aggregate checkpoints"
                                     : std::to_string(records) + " allocation records";
    c.last_summary = (ok ? "wrote " : "failed after writing ") + what + " ("
                     + std::to_string(writer->bytesWritten()) + " bytes) to " + writer->path();
    if (summary) {
        *summary = c.last_summary;
    }
    // The writer object itself is leaked on purpose: a thread that was waiting for room in it
    // may still be waking up. Its buffers are already freed.
    {
        std::lock_guard lock(c.record_mutex);
        reapExitedThreads(c, monotonicNs());
    }
    return ok;
}

bool startWithGil(Capture& c, const PythonApi& api, const CaptureConfig& config, std::string* error)
{
    std::lock_guard control(c.control_mutex);
    if (c.active) {
        *error = "a capture is already active in this process (writing " + c.config.output + ")";
        return false;
    }
    c.api = api;
    if (!c.walker.init(c.api, error) || !c.python.resolve(error)) {
        return false;
    }
    std::string command_line, python_allocator;
    if (!c.python.describeProcess(&command_line, &python_allocator, error)) {
        return false;
    }
    c.stop_code = config.skip_caller_frames ? c.walker.currentCode() : nullptr;
    c.entry_thread = 0;
    c.entry_stop_code = nullptr;
    if (config.entry_frame >= 0) {
        RawFrame frames[66];
        const size_t depth = static_cast<size_t>(config.entry_frame);
        c.entry_thread = static_cast<pid_t>(gettid());
        if (c.walker.walkCurrentThread(frames, depth + 2, nullptr) == depth + 2) {
            c.entry_stop_code = frames[depth + 1].code;
        }
    }
    // Before any code object is interned: from now on the tracker hears of every one that dies.
    if (!watchCodeDeaths(c.api.PyCode_Type, &Tracker::onCodeDeath)) {
        *error = "the interpreter's code type is not laid out as expected";
        return false;
    }
    dropGilForForkWindowForTests();

    static std::once_flag process_setup;
    std::call_once(process_setup, [&c] {
        readProcessName();
        pthread_key_create(&c.thread_key, &onThreadExit);
        pthread_atfork(&forkPrepare, &forkParent, &forkChild);
        // exit() called from C code skips Python's atexit handlers: finish the file anyway.
        std::atexit([] { Tracker::finishAtProcessExit(); });
    });

    format::Metadata& metadata = c.metadata;
    metadata = format::Metadata{};
    metadata.pid = static_cast<uint64_t>(getpid());
    std::string version = api.Py_GetVersion();
    metadata.python_version = version.substr(0, version.find(' '));
    metadata.command_line = command_line;
    metadata.start_time_us = wallClockUs();
    metadata.options = 0;
    if (config.trace_python_allocators) {
        metadata.options |= format::kOptionTracePythonAllocators;
    }
    if (config.follow_fork) {
        metadata.options |= format::kOptionFollowFork;
    }
    if (config.attached) {
        metadata.options |= format::kOptionAttached;
    }
    if (config.native) {
        metadata.options |= format::kOptionNativeTraces;
    }
    CaptureConfig effective = config;
    if (config.aggregate) {
        metadata.options |= format::kOptionAggregated;
        // `memray run` passes the verification switch through the environment; `memray attach`
        // through its configuration (the target's environment is not the user's).
        const char* verify = std::getenv("MEMRAY_AGGREGATE_VERIFY");
        if (!config.attached && verify && std::string_view(verify) == "1") {
            effective.aggregate_verify = true;
        }
        if (effective.aggregate_verify) {
            metadata.options |= format::kOptionAggregateWithRecords;
        }
    } else {
        effective.aggregate_verify = false;
    }
    // memray's main thread: the one that entered the Tracker (the process's for run and attach).
    metadata.main_thread_id = c.entry_thread != 0 ? static_cast<uint64_t>(c.entry_thread) : metadata.pid;
    metadata.rss_interval_ms = config.rss_interval_ms;
    char executable[4096];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof(executable) - 1);
    metadata.executable.assign(executable, length > 0 ? static_cast<size_t>(length) : 0);
    metadata.payload_version = MEMRAY_VERSION;
    metadata.python_allocator = python_allocator;

    std::vector<LoadedImage> images;
    if (config.native) {
        if (!native_unwinder::prepare(error)) {
            return false;
        }
        images = collectLoadedImages(metadata.executable);
    }
    CaptureWriter* writer = openWriter(c, effective, config.output, error);
    if (!writer) {
        return false;
    }
    const char* verify_walks = std::getenv("MEMRAY_PARTIAL_WALK_VERIFY");
    {
        std::lock_guard lock(c.record_mutex);
        c.verify_partial_walks = !config.attached && verify_walks && std::string_view(verify_walks) == "1";
        c.partial_walks = c.partial_walk_mismatches = c.walked_frames_read = c.walked_frames = 0;
        const char* verify_unwinds = std::getenv("MEMRAY_NATIVE_UNWIND_VERIFY");
        c.verify_native_unwinds = config.native && !config.attached && verify_unwinds
                                  && std::string_view(verify_unwinds) == "1";
        native_unwinder::takeVerifyCounts();
        native_unwinder::setVerify(c.verify_native_unwinds);
        c.config = effective;
        c.writer = writer;
        resetStreamState(c);
        c.stacks.setWalker(&c.walker);
        c.stacks.setNative(config.native);
        c.stacks.setExitWatchedCodes(&c.exit_watched_codes);
        c.exit_watched_codes.reset(false);
        c.native = config.native;
        c.native_trie.reset();
        c.images = std::move(images);
        if (c.native) {
            StreamEncoder encoder(c.writer, true);
            encoder.writeImages(c.images);
        }
        c.active = true;
    }
    g_tracking = true;
    {
        std::lock_guard patch(c.patch_mutex);
        if (!c.patcher) {
            c.patcher = new GotPatcher(interceptedFunctions(), reinterpret_cast<const void*>(&Tracker::start));
        }
        c.patcher->patchNewObjects();
    }
    // Frame-exit events for every frame cost a call per Python return: worth it where
    // allocations are many (the Python allocators traced) and the rest of recording one is
    // cheap (not native mode, which unwinds the native stack too). Elsewhere only the frames of
    // code found deep in a stack report theirs.
    using FrameExits = PythonIntegration::FrameExits;
    const FrameExits frame_exits =
            config.trace_python_allocators && !config.native ? FrameExits::kEveryFrame : FrameExits::kLocal;
    if (!c.python.install(config.stop_at_exit, config.trace_python_allocators, frame_exits, error)) {
        stopLocked(c, nullptr);
        return false;
    }
    {
        std::lock_guard lock(c.record_mutex);
        c.exit_watched_codes.reset(c.python.watchingEveryFrame());
        c.exit_events_refused = false;
    }
    // Before 3.12 (no sys.monitoring): each thread found deep gets our profile function.
    c.exits_via_profile = g_profile_exit_hook.init(findPythonLayout(3, c.walker.pythonMinor()));
    c.profile_events_per_frame = c.walker.pythonMinor() <= 9 ? 0.6 : c.walker.pythonMinor() == 10 ? 0.25 : 0.08;
    c.walker.setProfileHook(c.exits_via_profile ? ProfileExitHook::function() : nullptr);
    // Only now: every cached stack trusted from here on sees its frames' exits.
    c.frame_exits_watched = c.exits_via_profile || c.python.watchingFrameExits();
    return true;
}

}  // namespace

// -------------------------------------------------------------------------------------------------

ThreadState* currentThreadState()
{
    if (ThreadState* thread = t_thread_state) {
        return thread;
    }
    Capture& c = capture();
    auto* thread = new ThreadState;
    thread->self = pthread_self();
    thread->os_tid = static_cast<pid_t>(gettid());
    if (thread->os_tid != getpid()) {
        widenForkWindowForTests();
        // e.g. a native thread named with pthread_setname_np before the capture started
        std::string os_name = currentOsThreadName();
        if (!isInheritedProcessName(os_name)) {
            thread->name = std::move(os_name);
        }
    }
    pthread_setspecific(c.thread_key, thread);
    {
        std::lock_guard lock(c.record_mutex);
        thread->next = c.threads;
        if (c.threads) {
            c.threads->previous = thread;
        }
        c.threads = thread;
        auto pending = c.pending_names.find(thread->self);
        if (pending != c.pending_names.end()) {
            thread->name = std::move(pending->second);
            c.pending_names.erase(pending);
        }
    }
    t_thread_state = thread;
    return thread;
}

bool Tracker::start(const CaptureConfig& config, std::string* error)
{
    RecursionGuard guard;
    Capture& c = capture();
    PythonApi api;
    if (!resolvePythonApi(&api, error)) {
        return false;
    }
    if (!api.Py_IsInitialized()) {
        *error = "the Python interpreter is not initialized";
        return false;
    }
    // Before the GIL: registering for membarrier may take a millisecond. A knob for measuring
    // what the bias saves (benchmarks), not for users.
    if (!std::getenv("MEMRAY_UNBIASED_RECORD_LOCK")) {
        c.record_mutex.enableBiasing();
    }
    // The interpreter may start finalizing from here on, and then ends this thread inside
    // PyGILState_Ensure (pthread_exit): widened for the tests.
    setForkWindowForTests(config.fork_window_ms);
    widenForkWindowForTests();
    // The GIL first (see Capture's lock order).
    int gil = api.PyGILState_Ensure();
    bool ok = startWithGil(c, api, config, error);
    api.PyGILState_Release(gil);
    return ok;
}

bool Tracker::stop(std::string* error, std::string* summary)
{
    RecursionGuard guard;
    if (!g_capture) {
        *error = "no capture is active";
        return false;
    }
    Capture& c = *g_capture;
    bool python_running = c.api.Py_IsInitialized && c.api.Py_IsInitialized();
    int gil = python_running ? c.api.PyGILState_Ensure() : 0;
    bool ok;
    {
        std::lock_guard control(c.control_mutex);
        if (!c.active) {
            *error = "no capture is active";
            ok = false;
        } else {
            if (python_running) {
                c.frame_exits_watched = false;  // before the events stop
                std::vector<const void*> watched_codes;
                {
                    std::lock_guard lock(c.record_mutex);
                    watched_codes = c.exit_watched_codes.takeAll();
                }
                c.python.uninstall(watched_codes);
                g_profile_exit_hook.removeFromAllThreads();
            }
            ok = stopLocked(c, summary);
            if (!ok) {
                *error = c.last_summary;
            }
        }
    }
    if (python_running) {
        c.api.PyGILState_Release(gil);
    }
    return ok;
}

void Tracker::finishAtProcessExit()
{
    if (!g_capture || !g_tracking.load()) {
        return;
    }
    RecursionGuard guard;
    Capture& c = *g_capture;
    // A stop already under way in another thread finishes the file itself.
    std::unique_lock control(c.control_mutex, std::try_to_lock);
    if (control.owns_lock() && c.active) {
        stopLocked(c, nullptr, /*restore_hooks=*/false);
    }
}

bool Tracker::isActive()
{
    return g_tracking.load();
}

namespace {

// Walks longer than this get an anchor (nearer the allocation): frame-exit events cost the
// thread a call per return (before 3.12, per call and return), worth it only where walks are long.
constexpr size_t kLongWalk = 24;

// Whether the code of cache[index] runs in another frame of `cache` too. Looks at the nearest
// frames first: a recursion's next level is usually a frame or two away.
bool recursInStack(const std::vector<CachedFrame>& cache, size_t index)
{
    const void* code = cache[index].code;
    for (size_t outer = index; outer-- > 0;) {
        if (cache[outer].code == code) {
            return true;
        }
    }
    for (size_t inner = index + 1; inner < cache.size(); ++inner) {
        if (cache[inner].code == code) {
            return true;
        }
    }
    return false;
}

// With record_mutex held, after an allocation's stack was interned: the code object whose
// frames should start reporting their exits so that this thread's next allocations re-read
// less of its stack, or null. Asked for only when the walk from the anchor in would be long,
// for a frame a few calls out from the allocation (the innermost frames are the hottest code:
// a call per return of theirs would cost more than the walk it saves). With the GIL only: the
// events are turned on by calling into the interpreter.
const void* codeToWatch(Capture& c, ThreadState* thread)
{
    // How far out from the allocating frame the new anchor goes.
    constexpr size_t kAnchorDistance = 4;
    const std::vector<CachedFrame>& cache = thread->stack_cache;
    const size_t depth = cache.size();
    // With every code's returns reported (--trace-python-allocators without --native), no
    // generator or coroutine code is chosen either: there the walks are short already, and
    // CPython's test_json on 3.13 ran 2.5x plain with them against 2.0x without.
    if (depth - thread->cached_frames_on_stack <= kLongWalk || c.exit_watched_codes.everyCode() || c.exit_events_refused
        || !c.walker.holdsGil())
    {
        return nullptr;
    }
    // A generator or coroutine frame anchors only if its code runs nowhere else in the stack
    // (exit_watched_codes.h: a recursive `yield from` or `await` chain would report every
    // value at every level); past a recursive one the search goes on outwards, to a plain
    // function or a generator that does not recur, if one is near; with none, this thread's
    // walks stay long.
    constexpr size_t kCandidateSearch = 64;
    size_t index = depth - 1 - kAnchorDistance;
    if (cache[index].frame == thread->fruitless_anchor_search && depth == thread->fruitless_anchor_search_depth) {
        return nullptr;
    }
    const size_t outermost =
            std::max<size_t>(thread->cached_frames_on_stack, index > kCandidateSearch ? index - kCandidateSearch : 0);
    for (;; --index) {
        const CachedFrame& frame = cache[index];
        if (!c.walker.frameOwnedByGenerator(frame.frame)) {
            break;
        }
        if (!recursInStack(cache, index)) {
            // (A recursive one is passed over even if another thread turned its events on:
            // no hash lookup per candidate in a loop that a recursive chain runs often.)
            break;
        }
        if (index == outermost) {
            thread->fruitless_anchor_search = cache[depth - 1 - kAnchorDistance].frame;
            thread->fruitless_anchor_search_depth = depth;
            return nullptr;
        }
    }
    const void* code = cache[index].code;
    if (c.exit_watched_codes.watchesLocally(code)) {
        // Watched since this thread cached the frame (another thread asked for it).
        c.stacks.refreshExitWatch(thread);
        thread->cached_frames_on_stack = cache.back().watched_through;
        return nullptr;
    }
    return c.exit_watched_codes.full() ? nullptr : code;
}

// With the GIL, outside record_mutex: turns on exit events for `code` (codeToWatch's choice
// for this thread's latest allocation), and anchors the thread's stack on them.
[[gnu::noinline]] void watchCodeExits(Capture& c, ThreadState* thread, const void* code)
{
    // No Python code runs in between, so no frame of this thread came or went since the
    // allocation: its cache is still its stack.
    const bool on = c.python.setLocalExitEvents(code, true);
    std::lock_guard lock(c.record_mutex);
    if (!on) {
        c.exit_events_refused = true;
        return;
    }
    c.exit_watched_codes.add(code);
    if (c.active && thread->generation == c.generation && !thread->stack_cache.empty()) {
        c.stacks.refreshExitWatch(thread);
        thread->cached_frames_on_stack = thread->stack_cache.back().watched_through;
    }
}

void recordAllocationLocked(format::Allocator allocator, uintptr_t address, size_t size, ThreadState* thread,
                            const void** exit_events_wanted_out);

// Before 3.12, with record_mutex held, after an allocation's stack was interned: anchors the
// thread's cache when its frames report their exits (our profile function in its slot), and
// puts ours there when its stack is deep and the slot empty. A stack found by a full walk is
// exactly the thread's, so once ours is on, every frame of it will report its exit.
void watchByProfile(Capture& c, ThreadState* thread, const WalkedStack& stack, bool refresh)
{
    // Armed allocations in a row after which the pause before re-arming halves.
    constexpr uint32_t kArmedStreak = 64;
    const std::vector<CachedFrame>& cache = thread->stack_cache;
    bool armed = stack.exits_watched;
    if (!armed && !stack.inside_trace_function && cache.size() > kLongWalk) {
        if (thread->allocations_until_arm > 0) {
            --thread->allocations_until_arm;
        } else if (g_profile_exit_hook.armCallingThread()) {
            armed = thread->every_exit_reported = true;
            refresh = true;
        }
    }
    if (refresh) {
        c.stacks.refreshExitWatch(thread);
    }
    if (!armed || cache.empty()) {
        return;
    }
    thread->cached_frames_on_stack = cache.back().watched_through;
    // Credit for the frames this allocation did not have to read (when arming, what the next
    // allocation will not have to), in events of the profile function
    // (c.profile_events_per_frame, measured per version); banked up to what 64 such walks
    // earn, so a deep recursion's descent pays for its unwinding.
    const size_t skipped = refresh ? cache.size() - 1 : stack.kept;
    const double per_frame = c.profile_events_per_frame;
    const auto earned = static_cast<int64_t>(static_cast<double>(skipped) * per_frame) + 1;
    const auto cap = static_cast<int64_t>(static_cast<double>(cache.size()) * per_frame * 64) + 256;
    thread->profile_credit = std::min(std::max<int64_t>(thread->profile_credit, 0) + earned, cap);
    if (refresh) {
        thread->profile_credit = std::max<int64_t>(thread->profile_credit, 256);
    }
    if (++thread->armed_allocations >= kArmedStreak) {
        thread->armed_allocations = 0;
        thread->arm_backoff /= 2;
    }
}

}  // namespace

void Tracker::recordAllocation(format::Allocator allocator, uintptr_t address, size_t size)
{
    Capture& c = *g_capture;
    ThreadState* thread = threadState();
    const void* exit_events_wanted = nullptr;
    recordAllocationLocked(allocator, address, size, thread, &exit_events_wanted);
    if (exit_events_wanted != nullptr) [[unlikely]] {
        watchCodeExits(c, thread, exit_events_wanted);
    }
}

namespace {

// recordAllocation's work under record_mutex. `exit_events_wanted_out`: see codeToWatch.
void recordAllocationLocked(format::Allocator allocator, uintptr_t address, size_t size, ThreadState* thread,
                            const void** exit_events_wanted_out)
{
    Capture& c = *g_capture;
    const void*& exit_events_wanted = *exit_events_wanted_out;
    const void* stop_code = thread->os_tid == c.entry_thread ? c.entry_stop_code : c.stop_code;
    WalkedStack stack = walkPythonStack(c.walker, stop_code, c.frame_exits_watched.load(std::memory_order_relaxed), thread);
    // Unwound outside the lock: the slow part of native mode must not serialise threads.
    const bool native = c.native;
    // The stack cache vouches for frames only within the capture that made it.
    const native_unwinder::NativeStack native_stack =
            native ? native_unwinder::unwind(thread->native_unwind,
                                             thread->generation == c.generation
                                                     ? proveNativeFrames(c.walker, *thread, stack)
                                                     : native_unwinder::PythonProof{})
                   : native_unwinder::NativeStack{nullptr, 0};

    RecordLockHold hold(c.record_mutex);
    if (!c.active) {
        return;
    }
    c.writer->waitForRoom(c.record_mutex);
    if (!c.active) {
        return;
    }
    announceThread(c, thread);
    StreamEncoder encoder(c.writer, native);
    if (stack.kept > thread->stack_cache.size()) {
        // A new capture emptied the cache since the walk.
        stack.kept = 0;
        stack.count = walkWholePythonStack(c.walker, stop_code, thread->frames);
    }
    if (c.verify_partial_walks) {
        c.walked_frames_read += stack.count;
        c.walked_frames += stack.kept + stack.count;
    }
    if (c.verify_partial_walks && stack.kept > 0) {
        ++c.partial_walks;
        if (!partialWalkMatches(c.walker, stop_code, thread, stack, native)) {
            ++c.partial_walk_mismatches;
        }
    }
    // Our profile function came or went since the thread's last allocation (so this walk was
    // whole): the frames interned now are marked by what holds now, the rest recomputed after.
    const bool exits_changed = c.exits_via_profile && stack.exits_watched != thread->every_exit_reported;
    if (exits_changed) [[unlikely]] {
        thread->every_exit_reported = stack.exits_watched;
    }
    uint32_t stack_id = c.stacks.intern(thread, stack.kept, thread->frames.data(), stack.count, encoder);
    thread->cached_frames_on_stack = 0;
    if (c.exits_via_profile) {
        watchByProfile(c, thread, stack, exits_changed);
    } else if (stack.exits_watched && !thread->stack_cache.empty()) {
        thread->cached_frames_on_stack = thread->stack_cache.back().watched_through;
        exit_events_wanted = codeToWatch(c, thread);
    }
    uint32_t native_id =
            native ? c.native_trie.intern(thread, native_stack, encoder) : 0;
    if (c.config.aggregate) {
        // In the same hold of the lock as the record (if any): both see the events in one order.
        c.aggregator.allocate(LocationKey{thread->tid, stack_id, native_id, allocator}, address, size);
        if (!c.config.aggregate_verify) {
            return;
        }
    }
    uint8_t* out = c.writer->reserve(2 * format::kMaxFixedRecordBytes);
    if (!out) {
        return;
    }
    out = switchTo(c, thread, out);
    out = format::encodeAllocation(
            out,
            allocator,
            address,
            size,
            stack_id,
            &c.addresses,
            &thread->last_stack_id,
            native,
            native_id,
            &thread->last_native_id);
    c.writer->commit(out);
    ++c.allocation_records;
}

}  // namespace

void Tracker::recordDeallocation(format::Deallocator deallocator, uintptr_t address, size_t size)
{
    Capture& c = *g_capture;
    ThreadState* thread = threadState();
    RecordLockHold hold(c.record_mutex);
    if (!c.active) {
        return;
    }
    if (c.config.aggregate && !c.config.aggregate_verify) {
        c.aggregator.deallocate(deallocator, address, size);  // no record: nothing to wait for
        return;
    }
    c.writer->waitForRoom(c.record_mutex);
    if (!c.active) {
        return;
    }
    if (c.config.aggregate) {
        c.aggregator.deallocate(deallocator, address, size);
    }
    announceThread(c, thread);
    uint8_t* out = c.writer->reserve(2 * format::kMaxFixedRecordBytes);
    if (!out) {
        return;
    }
    out = switchTo(c, thread, out);
    out = format::encodeDeallocation(out, deallocator, address, size, &c.addresses);
    c.writer->commit(out);
}

void Tracker::onPythonFrameExit()
{
    if (ThreadState* thread = t_thread_state; thread != nullptr && g_capture != nullptr) {
        noteFrameExit(g_capture->walker, thread);
    }
}

bool Tracker::onProfileEvent(const void* frame, bool returning)
{
    ThreadState* thread = t_thread_state;
    if (thread == nullptr) {
        return false;
    }
    if (returning) {
        noteFrameExitAt(thread, frame);
    }
    if (--thread->profile_credit >= 0) [[likely]] {
        return false;
    }
    // Calls outnumber allocations here: a full walk per allocation is the cheaper way for now.
    constexpr uint32_t kMaxArmBackoff = 1024;
    thread->arm_backoff = std::min(thread->arm_backoff > 0 ? thread->arm_backoff * 2 : 1, kMaxArmBackoff);
    thread->allocations_until_arm = thread->arm_backoff;
    thread->armed_allocations = 0;
    return true;
}

void Tracker::onCodeDeath(const void* code)
{
    if (!g_tracking.load(std::memory_order_relaxed)) {
        return;
    }
    RecursionGuard guard;
    Capture& c = *g_capture;
    RecordLockHold hold(c.record_mutex);
    if (c.active) {
        c.stacks.forgetCode(code, c.threads);
        c.exit_watched_codes.forget(code);
    }
}

void Tracker::setCurrentThreadName(const char* name)
{
    Capture& c = *g_capture;
    ThreadState* thread = currentThreadState();
    std::unique_lock lock(c.record_mutex);
    thread->name = name;
    thread->name_generation = 0;
    thread->announced_generation = 0;
    if (c.active && thread->generation == c.generation) {
        announceThread(c, thread);
    }
}

void Tracker::setThreadNameByIdent(unsigned long ident, const char* name)
{
    RecursionGuard guard;
    Capture& c = capture();
    std::unique_lock lock(c.record_mutex);
    for (ThreadState* thread = c.threads; thread; thread = thread->next) {
        if (thread->self == ident && !thread->exited) {
            thread->name = name;
            thread->name_generation = 0;
            thread->announced_generation = 0;
            if (c.active && thread->generation == c.generation) {
                announceThread(c, thread);
            }
            return;
        }
    }
    // The thread has not allocated yet: it picks its name up on its first allocation.
    c.pending_names[ident] = name;
}

void Tracker::patchNewlyLoadedObjects()
{
    RecursionGuard guard;
    Capture& c = capture();
    std::lock_guard patch(c.patch_mutex);
    if (g_tracking.load() && c.patcher) {
        c.patcher->patchNewObjects();
    }
}

void Tracker::loadedObjectsChanged(bool unloaded)
{
    RecursionGuard guard;
    Capture& c = capture();
    if (!g_tracking.load() || !c.native) {
        return;
    }
    // Listed before taking the lock: dl_iterate_phdr takes the loader's lock, which a thread
    // inside dlopen holds while it allocates (and so waits for record_mutex).
    std::vector<LoadedImage> images = collectLoadedImages(c.metadata.executable);
    std::unique_lock lock(c.record_mutex);
    if (!c.active || !c.native) {
        return;
    }
    c.writer->waitForRoom(c.record_mutex);
    if (!c.active) {
        return;
    }
    if (unloaded) {
        // Addresses of the unloaded object may come back as other code: new ids from here on.
        native_unwinder::flushCaches();
        c.native_trie.reset();
    }
    c.images = std::move(images);
    StreamEncoder encoder(c.writer, true);
    encoder.writeImages(c.images);
}

}  // namespace memray::payload
