// The map of loaded objects (executable and shared libraries) written into native captures, so
// that the reader can turn return addresses into functions and lines after the process is gone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memray::payload {

struct LoadedSegment
{
    uint64_t vaddr;
    uint64_t memsz;
};

struct LoadedImage
{
    std::string path;      // absolute where the loader knows it; the executable's own path for the main program
    uint64_t load_bias;    // dlpi_addr: add to an ELF address to get the runtime address
    std::string build_id;  // raw NT_GNU_BUILD_ID bytes, empty if the object has none
    std::vector<LoadedSegment> segments;  // PT_LOAD, at most format::kMaxImageSegments
};

// Every object currently loaded (dl_iterate_phdr), skipping those without loadable segments.
// `executable` names the main program, which the loader lists without a path. Allocates with
// the payload's own (unpatched) malloc; call with the recursion guard set and no tracker lock.
std::vector<LoadedImage> collectLoadedImages(const std::string& executable);

}  // namespace memray::payload
