// memray-synth: writes a synthetic capture file, for tests and for measuring the reader.
//
//   memray-synth -o FILE [-n ALLOCATIONS] [-s STACKS] [-t THREADS] [--seed N]
//                [--max-live N] [--chunk-kib N] [--native] [--no-trailer]
//
// Prints what it wrote (records, totals and the exact peak) as one line of key=value pairs.
#include "synthetic_capture.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

constexpr const char* kUsage =
        "usage: memray-synth -o FILE [options]\n"
        "  -o, --output FILE     capture file to write (overwritten)\n"
        "  -n, --allocations N   allocation records to write (default 100000)\n"
        "  -s, --stacks N        distinct Python stacks (default 1000)\n"
        "  -t, --threads N       threads (default 4)\n"
        "      --seed N          random seed; the same seed writes the same file (default 1)\n"
        "      --max-live N      live blocks at which every step frees one (default 50000)\n"
        "      --chunk-kib N     raw chunk size in KiB (default 256)\n"
        "      --native          mark the capture as having native traces\n"
        "      --no-trailer      end without a trailer, as a killed process would\n";

bool parseNumber(const char* text, uint64_t* value)
{
    const char* end = text + std::strlen(text);
    auto [ptr, error] = std::from_chars(text, end, *value);
    return error == std::errc() && ptr == end;
}

int usageError(const std::string& message)
{
    std::fprintf(stderr, "memray-synth: error: %s\n%s", message.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    memray::synth::SynthOptions options;
    std::string output;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto number = [&](uint64_t* value) {
            if (i + 1 >= argc || !parseNumber(argv[i + 1], value)) {
                return false;
            }
            ++i;
            return true;
        };
        uint64_t value = 0;
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if ((arg == "-o" || arg == "--output") && i + 1 < argc) {
            output = argv[++i];
        } else if ((arg == "-n" || arg == "--allocations") && number(&options.allocations)) {
        } else if ((arg == "-s" || arg == "--stacks") && number(&options.stacks)) {
        } else if ((arg == "-t" || arg == "--threads") && number(&value) && value > 0 && value < 1000000) {
            options.threads = static_cast<uint32_t>(value);
        } else if (arg == "--seed" && number(&options.seed)) {
        } else if (arg == "--max-live" && number(&options.max_live) && options.max_live > 0) {
        } else if (arg == "--chunk-kib" && number(&value) && value > 0 && value <= 8192) {
            options.chunk_bytes = static_cast<size_t>(value) << 10;
        } else if (arg == "--native") {
            options.native_traces = true;
        } else if (arg == "--no-trailer") {
            options.trailer = false;
        } else {
            return usageError("bad argument: " + std::string(arg));
        }
    }
    if (output.empty()) {
        return usageError("-o FILE is required");
    }
    std::FILE* file = std::fopen(output.c_str(), "wb");
    if (!file) {
        std::fprintf(stderr, "memray-synth: error: cannot write %s: %s\n", output.c_str(), std::strerror(errno));
        return 1;
    }
    static char buffer[1 << 20];
    std::setvbuf(file, buffer, _IOFBF, sizeof(buffer));
    try {
        const auto result = memray::synth::generateCapture(options, memray::synth::CaptureBuilder::toFile(file));
        if (std::fclose(file) != 0) {
            throw std::runtime_error("cannot write the capture");
        }
        std::printf(
                "allocations=%llu deallocations=%llu records=%llu chunks=%llu total_bytes=%llu peak_bytes=%llu "
                "final_bytes=%llu reallocs=%llu mmaps=%llu munmaps=%llu stacks=%llu\n",
                static_cast<unsigned long long>(result.allocation_records),
                static_cast<unsigned long long>(result.deallocation_records),
                static_cast<unsigned long long>(result.records),
                static_cast<unsigned long long>(result.chunks),
                static_cast<unsigned long long>(result.total_bytes),
                static_cast<unsigned long long>(result.peak_bytes),
                static_cast<unsigned long long>(result.final_bytes),
                static_cast<unsigned long long>(result.reallocs),
                static_cast<unsigned long long>(result.mmaps),
                static_cast<unsigned long long>(result.munmaps),
                static_cast<unsigned long long>(result.stacks_defined));
    } catch (const std::exception& error) {
        std::fprintf(stderr, "memray-synth: error: %s: %s\n", output.c_str(), error.what());
        return 1;
    }
    return 0;
}
