// The ELF modules a target process has mapped, with their load biases: where a symbol of a
// file ends up in the target's address space.
//
// Files are opened the way the target sees them, whatever our own mount namespace:
// /proc/PID/exe for the executable, /proc/PID/root/<path> for libraries, and as a last resort
// /proc/PID/map_files/<range> (root only) for a library deleted or replaced on disk since the
// target mapped it.
#pragma once

#include "memray/injector/elf_file.h"
#include "memray/injector/proc.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace memray::injector {

struct AddressRange
{
    uint64_t start = 0;
    uint64_t end = 0;  // exclusive
    bool contains(uint64_t address) const { return address >= start && address < end; }
};

struct Module
{
    std::string path;       // as in the target's /proc/PID/maps
    std::string open_path;  // the path the file was read from
    uint64_t bias = 0;      // runtime address = bias + link-time address
    std::vector<AddressRange> ranges;  // every mapping of the file
    std::shared_ptr<const ElfFile> elf;

    // bias + the symbol's value, if the module defines `name`.
    std::optional<uint64_t> address(std::string_view name) const;
    // [address, address + size) of a defined symbol (a function's code).
    std::optional<AddressRange> extent(std::string_view name) const;
    bool contains(uint64_t address) const;
};

// The base name of a mapped path: "libc.so.6" for "/usr/lib/x86_64-linux-gnu/libc.so.6".
std::string baseName(const std::string& path);
bool isLibcName(const std::string& base);
bool isDynamicLoaderName(const std::string& base);
bool isLibdlName(const std::string& base);
bool isLibpythonName(const std::string& base);

// The load bias of a file mapped in `maps`: the start of its mapping at the first PT_LOAD's
// (page-aligned) file offset, minus that segment's page-aligned address.
std::optional<uint64_t> computeLoadBias(const ElfFile& elf, const std::vector<MapEntry>& mappings);

class TargetModules
{
  public:
    TargetModules(pid_t pid, std::vector<MapEntry> maps);

    const std::vector<MapEntry>& maps() const { return maps_; }

    // The main executable (/proc/PID/exe). Throws Failure.
    const Module& executable();
    // The first mapped file whose base name satisfies `match`, parsed; nullptr if none.
    // Throws Failure if it is mapped but cannot be read.
    const Module* find(const std::function<bool(const std::string& base)>& match);
    const Module* libc() { return find(isLibcName); }
    const Module* dynamicLoader() { return find(isDynamicLoaderName); }
    const Module* libdl() { return find(isLibdlName); }
    const Module* libpython() { return find(isLibpythonName); }
    // The address ranges of every mapping whose base name satisfies `match` (nothing parsed).
    std::vector<AddressRange> rangesOf(const std::function<bool(const std::string& base)>& match) const;

  private:
    const Module& load(const std::string& mapped_path, bool is_executable);

    pid_t pid_;
    std::vector<MapEntry> maps_;
    std::map<std::string, std::unique_ptr<Module>> loaded_;
};

}  // namespace memray::injector
