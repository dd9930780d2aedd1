// The facts memray attach needs from an ELF file the target has mapped: its dynamic symbols,
// its entry point and where its first loadable segment starts (to compute the load bias).
//
// Symbols are read with LIEF. LIEF 0.9 copies the whole file, and every section, into memory
// before it looks at anything: 0.1 s for libc and 1.2 s for a pyenv libpython with its debug
// info on the machine this was written on, more than the whole attach may take. So LIEF is
// handed a small ELF image that holds only the dynamic symbol table and its companions
// (dynsym_image.cpp): the same symbols, 100 KB instead of 30 MB, parsed in a few ms.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace memray::injector {

// A file that is not a readable 64-bit little-endian ELF file, or is malformed.
struct ElfError : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

struct ElfSymbol
{
    uint64_t value = 0;  // the link-time address: add the module's load bias
    uint64_t size = 0;
};

class ElfFile
{
  public:
    // Reads `path` (e.g. /proc/PID/exe or /proc/PID/root/usr/lib/...). Throws ElfError.
    static ElfFile load(const std::string& path);

    uint16_t machine() const { return machine_; }
    uint16_t type() const { return type_; }  // ET_EXEC or ET_DYN
    uint64_t entry() const { return entry_; }
    // p_vaddr and p_offset of the first PT_LOAD segment: the mapping of file offset
    // align_down(first_load_offset) starts at bias + align_down(first_load_vaddr).
    uint64_t firstLoadVaddr() const { return first_load_vaddr_; }
    uint64_t firstLoadOffset() const { return first_load_offset_; }
    const std::string& soname() const { return soname_; }
    // The file that was parsed, to check it is the one the target maps.
    dev_t device() const { return device_; }
    ino_t inode() const { return inode_; }

    // A symbol the file defines in its dynamic symbol table (exported). When a name has
    // several versions, the default one (name@@VERSION).
    std::optional<ElfSymbol> symbol(std::string_view name) const;
    size_t symbolCount() const { return symbols_.size(); }

  private:
    uint16_t machine_ = 0;
    uint16_t type_ = 0;
    uint64_t entry_ = 0;
    uint64_t first_load_vaddr_ = 0;
    uint64_t first_load_offset_ = 0;
    std::string soname_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    std::unordered_map<std::string, ElfSymbol> symbols_;
};

}  // namespace memray::injector
