// memray-live-bench CAPTURE [REFRESH_MS]: how fast a LiveSession takes in a capture file (followed
// until its writer, the process its metadata names, is done with it: a finished capture is read
// as fast as it can be), and the CPU it spends doing it. The viewer keeps up with a program
// making R allocations a second at R / (records per second here) of a core, plus the frames:
// one per refresh. It also prints every frame's state and heap (-v), for watching a live run.
#include "memray/live/live_session.h"
#include "memray/reader/capture_streams.h"

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double cpuSeconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
           + static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv)
{
    const bool verbose = argc > 1 && std::string(argv[1]) == "-v";
    if (verbose) {
        --argc;
        ++argv;
    }
    if (argc < 2) {
        std::fprintf(stderr, "usage: memray-live-bench [-v] CAPTURE [REFRESH_MS]\n");
        return 2;
    }
    using namespace memray::live;
    LiveSessionOptions options;
    options.refresh = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 1000);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpuSeconds();
    std::shared_ptr<const LiveFrame> frame;
    uint64_t frames = 0;
    try {
        LiveSession session(memray::reader::openFollowedFile(argv[1]), options);
        for (;;) {
            pollfd ready{session.notifyFd(), POLLIN, 0};
            ::poll(&ready, 1, 1000);
            session.acknowledge();
            frame = session.frame();
            ++frames;
            if (verbose) {
                std::printf("frame %llu: state %d, heap %llu bytes, %zu rows, %llu ms captured, backlog %llu\n",
                            static_cast<unsigned long long>(frame->sequence), static_cast<int>(frame->state),
                            static_cast<unsigned long long>(frame->heap_bytes), frame->rows.size(),
                            static_cast<unsigned long long>(frame->capture_ms),
                            static_cast<unsigned long long>(frame->backlog_bytes));
            }
            if (frame->state != StreamState::Waiting && frame->state != StreamState::Following) {
                break;
            }
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "memray-live-bench: %s\n", error.what());
        return 1;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpuSeconds() - cpu_start;
    std::printf("state %d, %zu rows, heap %llu bytes, %llu frames seen\n", static_cast<int>(frame->state),
                frame->rows.size(), static_cast<unsigned long long>(frame->heap_bytes),
                static_cast<unsigned long long>(frames));
    std::printf("wall %.2f s, cpu %.2f s (%.0f%% of a core while reading)\n", wall, cpu, 100 * cpu / wall);
    return 0;
}
