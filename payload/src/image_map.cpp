#include "image_map.h"

#include "memray/format/capture_format.h"

#include <cstring>
#include <link.h>

namespace memray::payload {

namespace {

struct Collection
{
    const std::string* executable;
    std::vector<LoadedImage>* images;
};

// The GNU build id from the object's PT_NOTE segments, which are mapped and readable.
std::string buildId(const dl_phdr_info* info)
{
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type != PT_NOTE) {
            continue;
        }
        const auto* note = reinterpret_cast<const uint8_t*>(info->dlpi_addr + segment.p_vaddr);
        const uint8_t* end = note + segment.p_filesz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) header;
            std::memcpy(&header, note, sizeof(header));
            const uint8_t* name = note + sizeof(header);
            const uint8_t* desc = name + ((header.n_namesz + 3) & ~3u);
            const uint8_t* next = desc + ((header.n_descsz + 3) & ~3u);
            if (next > end || next <= note) {
                break;
            }
            if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
                return std::string(reinterpret_cast<const char*>(desc), header.n_descsz);
            }
            note = next;
        }
    }
    return {};
}

int collectOne(dl_phdr_info* info, size_t, void* data)
{
    auto* collection = static_cast<Collection*>(data);
    LoadedImage image;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type == PT_LOAD && image.segments.size() < format::kMaxImageSegments) {
            image.segments.push_back(LoadedSegment{segment.p_vaddr, segment.p_memsz});
        }
    }
    if (image.segments.empty()) {
        return 0;
    }
    const char* name = info->dlpi_name;
    image.path = (name && *name) ? std::string(name) : *collection->executable;
    image.load_bias = info->dlpi_addr;
    image.build_id = buildId(info);
    collection->images->push_back(std::move(image));
    return 0;
}

}  // namespace

std::vector<LoadedImage> collectLoadedImages(const std::string& executable)
{
    std::vector<LoadedImage> images;
    Collection collection{&executable, &images};
    dl_iterate_phdr(&collectOne, &collection);
    return images;
}

}  // namespace memray::payload
