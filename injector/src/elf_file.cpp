#include "memray/injector/elf_file.h"

#include "dynsym_image.h"

#include <LIEF/ELF.hpp>
#include <LIEF/logging.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace memray::injector {

namespace {

constexpr uint16_t kHiddenVersion = 0x8000;  // versym bit: not the default version of the name

// LIEF logs through easylogging++ to stderr by default; the CLI's output is its own.
void quietLief()
{
    static std::once_flag once;
    std::call_once(once, [] { LIEF::Logger::disable(); });
}

class FileDescriptor
{
  public:
    explicit FileDescriptor(int fd)
    : fd_(fd)
    {
    }
    ~FileDescriptor()
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

}  // namespace

ElfFile ElfFile::load(const std::string& path)
{
    quietLief();
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw ElfError("cannot open " + path + ": " + std::strerror(errno));
    }
    struct stat info;
    if (::fstat(fd.get(), &info) != 0) {
        throw ElfError("cannot stat " + path + ": " + std::strerror(errno));
    }
    DynsymImage image = buildDynsymImage(fd.get(), path);

    ElfFile file;
    file.machine_ = image.header.e_machine;
    file.type_ = image.header.e_type;
    file.entry_ = image.header.e_entry;
    file.device_ = info.st_dev;
    file.inode_ = info.st_ino;
    const Elf64_Phdr* first_load = image.firstLoad();
    if (first_load == nullptr) {
        throw ElfError(path + ": no loadable segment");
    }
    file.first_load_vaddr_ = first_load->p_vaddr;
    file.first_load_offset_ = first_load->p_offset;

    std::unique_ptr<LIEF::ELF::Binary> binary;
    if (!image.bytes.empty()) {
        try {
            // Counting by section: the hash-table count of LIEF 0.9 finds no symbols in
            // glibc's libc.so.6.
            binary = LIEF::ELF::Parser::parse(image.bytes, path, LIEF::ELF::DYNSYM_COUNT_METHODS::COUNT_SECTION);
        } catch (const std::exception& error) {
            throw ElfError(path + ": " + error.what());
        }
    }
    if (!binary) {
        return file;  // no dynamic symbols at all (a static executable)
    }
    for (const LIEF::ELF::DynamicEntry& entry : binary->dynamic_entries()) {
        if (entry.tag() == LIEF::ELF::DYNAMIC_TAGS::DT_SONAME) {
            file.soname_ = static_cast<const LIEF::ELF::DynamicSharedObject&>(entry).name();
        }
    }
    for (const LIEF::ELF::Symbol& symbol : binary->dynamic_symbols()) {
        if (symbol.shndx() == 0 || symbol.name().empty()) {
            continue;  // undefined: an import
        }
        bool hidden = symbol.has_version() && (symbol.symbol_version().value() & kHiddenVersion) != 0;
        auto [slot, inserted] = file.symbols_.try_emplace(symbol.name(), ElfSymbol{symbol.value(), symbol.size()});
        if (!inserted && !hidden) {
            slot->second = ElfSymbol{symbol.value(), symbol.size()};
        }
    }
    return file;
}

std::optional<ElfSymbol> ElfFile::symbol(std::string_view name) const
{
    auto found = symbols_.find(std::string(name));
    if (found == symbols_.end()) {
        return std::nullopt;
    }
    return found->second;
}

}  // namespace memray::injector
