// Hand-built capture files for reader tests: build records with synth::CaptureBuilder, get a
// file path to open with CaptureReader.
#pragma once

#include "capture_builder.h"
#include "temp_files.h"

#include "memray/format/container.h"

#include <sched.h>

#include <string>
#include <utility>

namespace memray::testing {

inline constexpr uint64_t kTestPid = 5150;

inline format::Metadata testMetadata(uint64_t options = 0)
{
    format::Metadata metadata;
    metadata.pid = kTestPid;
    metadata.python_version = "3.11.7";
    metadata.command_line = "test.py --flag";
    metadata.start_time_us = 1700000000000000ull;
    metadata.options = options;
    metadata.main_thread_id = 1;
    metadata.rss_interval_ms = 10;
    metadata.executable = "/usr/bin/python3.11";
    metadata.payload_version = "test";
    metadata.python_allocator = "pymalloc";
    return metadata;
}

// The bytes of a capture built by `build(CaptureBuilder&)` (which decides whether to write a
// trailer); the builder is flushed afterwards.
template <typename Build>
std::string captureBytes(Build build, const format::Metadata& metadata = testMetadata(), size_t chunk_bytes = 4096)
{
    std::string bytes;
    synth::CaptureBuilder builder(metadata, synth::CaptureBuilder::toString(&bytes), chunk_bytes);
    build(builder);
    builder.flush();
    return bytes;
}

// A capture file in its own temporary directory.
class CaptureFile
{
  public:
    template <typename Build>
    explicit CaptureFile(Build build, const format::Metadata& metadata = testMetadata(), size_t chunk_bytes = 4096)
    : path_(dir_.file("capture.bin"))
    {
        writeBytes(path_, captureBytes(std::move(build), metadata, chunk_bytes));
    }
    const std::string& path() const { return path_; }
    const TempDir& dir() const { return dir_; }

  private:
    TempDir dir_;
    std::string path_;
};

// One Python frame as a stack: defines code, frame and stack records, returns the stack id.
inline uint64_t defineStack(synth::CaptureBuilder& builder, const std::string& function, const std::string& file,
                            uint64_t line, uint64_t parent = 0)
{
    const uint64_t code = builder.code(function, file, line > 5 ? line - 5 : 1);
    const uint64_t frame = builder.frame(code, line);
    return builder.stack(parent, frame);
}

// The "ten then five" program that several reader tests capture: a() allocates 10 MiB and
// frees it, b() keeps 5 MiB, c() makes small temporary blocks, all on thread 1 under <module>.
// Starts thread 1, switches to it and defines the stacks.
struct TenThenFiveStacks
{
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
};

inline TenThenFiveStacks startTenThenFive(synth::CaptureBuilder& builder)
{
    builder.threadStart(1, kTestPid);
    builder.switchTo(1);
    const uint64_t main = defineStack(builder, "<module>", "app.py", 20);
    TenThenFiveStacks stacks;
    stacks.a = defineStack(builder, "a", "app.py", 3, main);
    stacks.b = defineStack(builder, "b", "app.py", 7, main);
    stacks.c = defineStack(builder, "c", "app.py", 11, main);
    return stacks;
}

// While alive, the calling thread (and the threads it starts) may run on one CPU only, as under
// `taskset -c 0`: the readers then analyse on this thread alone (heap_event_stream.h).
class PinnedToOneCpu
{
  public:
    PinnedToOneCpu()
    {
        sched_getaffinity(0, sizeof(all_), &all_);
        cpu_set_t one;
        CPU_ZERO(&one);
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (CPU_ISSET(cpu, &all_)) {
                CPU_SET(cpu, &one);
                break;
            }
        }
        sched_setaffinity(0, sizeof(one), &one);
    }
    ~PinnedToOneCpu() { sched_setaffinity(0, sizeof(all_), &all_); }
    PinnedToOneCpu(const PinnedToOneCpu&) = delete;
    PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;

  private:
    cpu_set_t all_;
};

}  // namespace memray::testing
