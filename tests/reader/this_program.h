// The test binary as the "tracked process" of a native capture: its path, load bias and PT_LOAD
// segments, written as the capture's map of loaded objects, so that its own functions (with its
// own debug info) can stand for native frames.
#pragma once

#include "capture_builder.h"

#include <link.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace memray::testing {

struct ThisProgram
{
    std::string path;
    uint64_t bias = 0;
    std::vector<std::pair<uint64_t, uint64_t>> segments;
};

inline ThisProgram thisProgram()
{
    ThisProgram program;
    char path[4096];
    const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
    program.path.assign(path, length > 0 ? static_cast<size_t>(length) : 0);
    dl_iterate_phdr(
            [](dl_phdr_info* info, size_t, void* data) {
                auto* out = static_cast<ThisProgram*>(data);
                out->bias = info->dlpi_addr;
                for (int i = 0; i < info->dlpi_phnum; ++i) {
                    if (info->dlpi_phdr[i].p_type == PT_LOAD) {
                        out->segments.emplace_back(info->dlpi_phdr[i].p_vaddr, info->dlpi_phdr[i].p_memsz);
                    }
                }
                return 1;  // the first object is the program itself
            },
            &program);
    return program;
}

inline void addThisProgram(synth::CaptureBuilder& b, std::string_view build_id = "")
{
    static const ThisProgram program = thisProgram();
    b.imageMap(1);
    b.image(program.path, program.bias, build_id);
    for (const auto& [vaddr, memsz] : program.segments) {
        b.imageSegment(vaddr, memsz);
    }
}

}  // namespace memray::testing
