#include "memray/injector/target_modules.h"

#include "memray/injector/failure.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace memray::injector {

namespace {

constexpr uint64_t kPageMask = ~uint64_t{0xfff};

bool startsWith(const std::string& text, std::string_view prefix)
{
    return text.compare(0, prefix.size(), prefix) == 0;
}

std::string hex(uint64_t value)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace

std::optional<uint64_t> Module::address(std::string_view name) const
{
    auto symbol = elf->symbol(name);
    if (!symbol) {
        return std::nullopt;
    }
    return bias + symbol->value;
}

std::optional<AddressRange> Module::extent(std::string_view name) const
{
    auto symbol = elf->symbol(name);
    if (!symbol) {
        return std::nullopt;
    }
    // A size of 0 (hand-written assembly) still covers its first instruction.
    return AddressRange{bias + symbol->value, bias + symbol->value + std::max<uint64_t>(symbol->size, 1)};
}

bool Module::contains(uint64_t address) const
{
    for (const AddressRange& range : ranges) {
        if (range.contains(address)) {
            return true;
        }
    }
    return false;
}

std::string baseName(const std::string& path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool isLibcName(const std::string& base)
{
    // glibc ("libc.so.6", old "libc-2.31.so"); musl's libc is its loader.
    return base == "libc.so.6" || (startsWith(base, "libc-") && base.ends_with(".so"))
           || startsWith(base, "ld-musl-");
}

bool isDynamicLoaderName(const std::string& base)
{
    return startsWith(base, "ld-linux") || startsWith(base, "ld-musl-") || (startsWith(base, "ld-2.") && base.ends_with(".so"));
}

bool isLibdlName(const std::string& base)
{
    return base == "libdl.so.2" || (startsWith(base, "libdl-") && base.ends_with(".so"));
}

bool isLibpythonName(const std::string& base)
{
    return startsWith(base, "libpython3") && base.find(".so") != std::string::npos;
}

std::optional<uint64_t> computeLoadBias(const ElfFile& elf, const std::vector<MapEntry>& mappings)
{
    const uint64_t offset = elf.firstLoadOffset() & kPageMask;
    const MapEntry* first = nullptr;
    for (const MapEntry& mapping : mappings) {
        if (mapping.offset == offset && (first == nullptr || mapping.start < first->start)) {
            first = &mapping;
        }
    }
    if (first == nullptr) {
        return std::nullopt;
    }
    return first->start - (elf.firstLoadVaddr() & kPageMask);
}

TargetModules::TargetModules(pid_t pid, std::vector<MapEntry> maps)
: pid_(pid)
, maps_(std::move(maps))
{
}

std::vector<AddressRange> TargetModules::rangesOf(const std::function<bool(const std::string&)>& match) const
{
    std::vector<AddressRange> ranges;
    for (const MapEntry& mapping : maps_) {
        if (!mapping.path.empty() && mapping.path.front() == '/' && match(baseName(mapping.path))) {
            ranges.push_back({mapping.start, mapping.end});
        }
    }
    return ranges;
}

const Module& TargetModules::executable()
{
    const std::string exe_link = "/proc/" + std::to_string(pid_) + "/exe";
    struct stat info;
    if (::stat(exe_link.c_str(), &info) != 0) {
        if (errno == ENOENT || errno == ESRCH) {
            throw Failure(FailureKind::NoSuchProcess, "no process with pid " + std::to_string(pid_));
        }
        throw Failure(FailureKind::PermissionDenied, "cannot read " + exe_link + ": " + std::strerror(errno));
    }
    for (const MapEntry& mapping : maps_) {
        if (mapping.inode == info.st_ino && !mapping.path.empty()) {
            return load(mapping.path, true);
        }
    }
    throw Failure(FailureKind::Internal, "the executable of process " + std::to_string(pid_) + " is not in its memory map");
}

const Module* TargetModules::find(const std::function<bool(const std::string&)>& match)
{
    for (const MapEntry& mapping : maps_) {
        if (!mapping.path.empty() && mapping.path.front() == '/' && match(baseName(mapping.path))) {
            return &load(mapping.path, false);
        }
    }
    return nullptr;
}

const Module& TargetModules::load(const std::string& mapped_path, bool is_executable)
{
    auto cached = loaded_.find(mapped_path);
    if (cached != loaded_.end()) {
        return *cached->second;
    }
    std::vector<MapEntry> mappings;
    for (const MapEntry& mapping : maps_) {
        if (mapping.path == mapped_path) {
            mappings.push_back(mapping);
        }
    }
    const std::string proc = "/proc/" + std::to_string(pid_);
    auto module = std::make_unique<Module>();
    module->path = mapped_path;
    for (const MapEntry& mapping : mappings) {
        module->ranges.push_back({mapping.start, mapping.end});
    }

    // The file as the target sees it; if it was replaced or deleted since it was mapped
    // (a package upgrade), the mapped copy itself through map_files.
    std::vector<std::string> candidates;
    candidates.push_back(is_executable ? proc + "/exe" : proc + "/root" + mapped_path);
    for (const MapEntry& mapping : mappings) {
        if (mapping.offset == 0) {
            candidates.push_back(proc + "/map_files/" + hex(mapping.start) + "-" + hex(mapping.end));
            break;
        }
    }
    std::string problems;
    for (const std::string& candidate : candidates) {
        try {
            auto elf = std::make_shared<ElfFile>(ElfFile::load(candidate));
            if (!mappings.empty() && elf->inode() != mappings.front().inode) {
                problems += (problems.empty() ? "" : "; ") + candidate + " is not the file the process mapped (replaced on disk?)";
                continue;
            }
            auto bias = computeLoadBias(*elf, mappings);
            if (!bias) {
                problems += (problems.empty() ? "" : "; ") + candidate + ": cannot find its first segment in the memory map";
                continue;
            }
            module->open_path = candidate;
            module->bias = *bias;
            module->elf = std::move(elf);
            auto& slot = loaded_[mapped_path];
            slot = std::move(module);
            return *slot;
        } catch (const ElfError& error) {
            problems += (problems.empty() ? "" : "; ") + std::string(error.what());
        }
    }
    throw Failure(FailureKind::Internal, "cannot read the symbols of " + mapped_path + " in process "
                                             + std::to_string(pid_) + ": " + problems);
}

}  // namespace memray::injector
