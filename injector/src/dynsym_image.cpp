#include "dynsym_image.h"

#include "memray/injector/elf_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace memray::injector {

namespace {

// Generous bounds: a corrupt header must not make us allocate gigabytes.
constexpr uint64_t kMaxTableBytes = 64u << 20;
constexpr size_t kMaxHeaders = 4096;

void readExactly(int fd, uint64_t offset, void* out, size_t size, uint64_t file_size, const std::string& name)
{
    if (offset > file_size || size > file_size - offset) {
        throw ElfError(name + ": truncated or malformed ELF file");
    }
    auto* cursor = static_cast<uint8_t*>(out);
    while (size > 0) {
        ssize_t count = ::pread(fd, cursor, size, static_cast<off_t>(offset));
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            throw ElfError(name + ": cannot read: " + (count < 0 ? std::strerror(errno) : "unexpected end of file"));
        }
        cursor += count;
        offset += static_cast<uint64_t>(count);
        size -= static_cast<size_t>(count);
    }
}

template<typename T>
std::vector<T> readArray(int fd, uint64_t offset, size_t count, uint64_t file_size, const std::string& name)
{
    std::vector<T> items(count);
    if (count > 0) {
        readExactly(fd, offset, items.data(), count * sizeof(T), file_size, name);
    }
    return items;
}

size_t appendAligned(std::vector<uint8_t>* image, const void* data, size_t size)
{
    size_t offset = (image->size() + 7) & ~size_t{7};
    image->resize(offset + size);
    if (size > 0) {
        std::memcpy(image->data() + offset, data, size);
    }
    return offset;
}

bool isSymbolTableCompanion(const Elf64_Shdr& section)
{
    switch (section.sh_type) {
        case SHT_GNU_HASH:
        case SHT_HASH:
        case SHT_GNU_versym:
        case SHT_GNU_verdef:
        case SHT_GNU_verneed:
            return (section.sh_flags & SHF_ALLOC) != 0;
        default:
            return false;
    }
}

bool keepDynamicTag(int64_t tag)
{
    switch (tag) {
        case DT_SYMTAB:
        case DT_SYMENT:
        case DT_STRTAB:
        case DT_STRSZ:
        case DT_GNU_HASH:
        case DT_HASH:
        case DT_VERSYM:
        case DT_VERDEF:
        case DT_VERDEFNUM:
        case DT_VERNEED:
        case DT_VERNEEDNUM:
        case DT_SONAME:
            return true;
        default:
            return false;
    }
}

}  // namespace

const Elf64_Phdr* DynsymImage::firstLoad() const
{
    for (const Elf64_Phdr& segment : program_headers) {
        if (segment.p_type == PT_LOAD) {
            return &segment;
        }
    }
    return nullptr;
}

namespace {

// One section of the image: its header as in the original (sh_link holding the index of the
// linked piece + 1, or 0), its name, and where its bytes are in the original file.
struct Piece
{
    Elf64_Shdr header{};
    std::string name;
};

uint64_t fileOffsetOf(const std::vector<Elf64_Phdr>& segments, uint64_t address)
{
    for (const Elf64_Phdr& segment : segments) {
        if (segment.p_type == PT_LOAD && address >= segment.p_vaddr && address < segment.p_vaddr + segment.p_filesz) {
            return address - segment.p_vaddr + segment.p_offset;
        }
    }
    return UINT64_MAX;
}

// The number of dynamic symbols, from the hash tables (for a file without section headers).
uint64_t countSymbols(int fd, uint64_t file_size, const std::string& name, const std::vector<Elf64_Phdr>& segments,
                      uint64_t hash, uint64_t gnu_hash)
{
    if (hash != 0) {
        uint32_t header[2];  // nbucket, nchain: one chain entry per symbol
        readExactly(fd, fileOffsetOf(segments, hash), header, sizeof(header), file_size, name);
        return header[1];
    }
    if (gnu_hash == 0) {
        throw ElfError(name + ": no section headers and no hash table: cannot count its symbols");
    }
    const uint64_t table = fileOffsetOf(segments, gnu_hash);
    uint32_t header[4];  // nbuckets, symoffset, bloom words, bloom shift
    readExactly(fd, table, header, sizeof(header), file_size, name);
    if (header[0] > (1u << 24) || header[2] > (1u << 24)) {
        throw ElfError(name + ": malformed GNU hash table");
    }
    auto buckets = readArray<uint32_t>(fd, table + 16 + uint64_t{header[2]} * 8, header[0], file_size, name);
    uint32_t last = 0;
    for (uint32_t bucket : buckets) {
        last = std::max(last, bucket);
    }
    if (last < header[1]) {
        return header[1];
    }
    // Follow the last symbol's chain to its end (the entry with the low bit set).
    const uint64_t chains = table + 16 + uint64_t{header[2]} * 8 + uint64_t{header[0]} * 4;
    for (uint32_t index = last; index < (1u << 24); ++index) {
        uint32_t value;
        readExactly(fd, chains + uint64_t{index - header[1]} * 4, &value, sizeof(value), file_size, name);
        if (value & 1) {
            return uint64_t{index} + 1;
        }
    }
    throw ElfError(name + ": malformed GNU hash table");
}

std::vector<uint8_t> assembleImage(int fd,
                                   uint64_t file_size,
                                   const std::string& name,
                                   const Elf64_Ehdr& header,
                                   const std::vector<Piece>& pieces,
                                   const std::vector<Elf64_Dyn>& entries)
{
    std::vector<uint8_t> image(sizeof(Elf64_Ehdr));
    std::vector<Elf64_Shdr> new_sections(1);  // index 0: SHN_UNDEF
    std::vector<Elf64_Phdr> new_segments;
    std::string new_names(1, '\0');
    for (const Piece& piece : pieces) {
        Elf64_Shdr section = piece.header;
        if (section.sh_type == SHT_NOBITS || section.sh_size > kMaxTableBytes) {
            throw ElfError(name + ": malformed dynamic symbol table");
        }
        auto content = readArray<uint8_t>(fd, section.sh_offset, section.sh_size, file_size, name);
        size_t offset = appendAligned(&image, content.data(), content.size());
        // A segment per section, at its original address: LIEF turns the DT_* addresses into
        // file offsets through the PT_LOADs.
        Elf64_Phdr segment{};
        segment.p_type = PT_LOAD;
        segment.p_flags = PF_R;
        segment.p_offset = offset;
        segment.p_vaddr = segment.p_paddr = section.sh_addr;
        segment.p_filesz = segment.p_memsz = section.sh_size;
        segment.p_align = 1;
        new_segments.push_back(segment);
        section.sh_name = static_cast<uint32_t>(new_names.size());
        new_names += piece.name;  // LIEF looks sections up by name (".dynsym")
        new_names += '\0';
        section.sh_offset = offset;
        new_sections.push_back(section);
    }

    std::vector<Elf64_Dyn> kept_entries;
    for (const Elf64_Dyn& entry : entries) {
        if (entry.d_tag == DT_NULL) {
            break;
        }
        if (keepDynamicTag(entry.d_tag)) {
            kept_entries.push_back(entry);
        }
    }
    kept_entries.push_back(Elf64_Dyn{DT_NULL, {0}});
    Elf64_Phdr dynamic_segment{};
    dynamic_segment.p_type = PT_DYNAMIC;
    dynamic_segment.p_flags = PF_R;
    dynamic_segment.p_filesz = dynamic_segment.p_memsz = kept_entries.size() * sizeof(Elf64_Dyn);
    dynamic_segment.p_offset = appendAligned(&image, kept_entries.data(), dynamic_segment.p_filesz);
    dynamic_segment.p_align = 8;
    new_segments.push_back(dynamic_segment);

    Elf64_Shdr names_header{};
    names_header.sh_type = SHT_STRTAB;
    names_header.sh_name = static_cast<uint32_t>(new_names.size());
    new_names += ".shstrtab";
    new_names += '\0';
    names_header.sh_offset = appendAligned(&image, new_names.data(), new_names.size());
    names_header.sh_size = new_names.size();
    names_header.sh_addralign = 1;
    new_sections.push_back(names_header);

    Elf64_Ehdr new_header = header;
    new_header.e_phoff = appendAligned(&image, new_segments.data(), new_segments.size() * sizeof(Elf64_Phdr));
    new_header.e_phnum = static_cast<uint16_t>(new_segments.size());
    new_header.e_shoff = appendAligned(&image, new_sections.data(), new_sections.size() * sizeof(Elf64_Shdr));
    new_header.e_shnum = static_cast<uint16_t>(new_sections.size());
    new_header.e_shstrndx = static_cast<uint16_t>(new_sections.size() - 1);
    std::memcpy(image.data(), &new_header, sizeof(new_header));
    return image;
}

// A file without section headers (sstrip): .dynsym and .dynstr found from PT_DYNAMIC alone.
// (No symbol versions then: of a name with several versions, the first one is taken.)
std::vector<Piece> piecesFromDynamic(int fd, uint64_t file_size, const std::string& name,
                                     const std::vector<Elf64_Phdr>& segments, const std::vector<Elf64_Dyn>& entries)
{
    uint64_t symtab = 0, strtab = 0, strsz = 0, hash = 0, gnu_hash = 0;
    for (const Elf64_Dyn& entry : entries) {
        switch (entry.d_tag) {
            case DT_SYMTAB: symtab = entry.d_un.d_ptr; break;
            case DT_STRTAB: strtab = entry.d_un.d_ptr; break;
            case DT_STRSZ: strsz = entry.d_un.d_val; break;
            case DT_HASH: hash = entry.d_un.d_ptr; break;
            case DT_GNU_HASH: gnu_hash = entry.d_un.d_ptr; break;
            default: break;
        }
    }
    if (symtab == 0 || strtab == 0 || fileOffsetOf(segments, symtab) == UINT64_MAX
        || fileOffsetOf(segments, strtab) == UINT64_MAX)
    {
        return {};
    }
    Piece symbols;
    symbols.name = ".dynsym";
    symbols.header.sh_type = SHT_DYNSYM;
    symbols.header.sh_flags = SHF_ALLOC;
    symbols.header.sh_addr = symtab;
    symbols.header.sh_offset = fileOffsetOf(segments, symtab);
    symbols.header.sh_size = countSymbols(fd, file_size, name, segments, hash, gnu_hash) * sizeof(Elf64_Sym);
    symbols.header.sh_entsize = sizeof(Elf64_Sym);
    symbols.header.sh_link = 2;
    symbols.header.sh_info = 1;
    symbols.header.sh_addralign = 8;
    Piece strings;
    strings.name = ".dynstr";
    strings.header.sh_type = SHT_STRTAB;
    strings.header.sh_flags = SHF_ALLOC;
    strings.header.sh_addr = strtab;
    strings.header.sh_offset = fileOffsetOf(segments, strtab);
    strings.header.sh_size = strsz;
    strings.header.sh_addralign = 1;
    return {symbols, strings};
}

}  // namespace

DynsymImage buildDynsymImage(int fd, const std::string& name)
{
    struct stat info;
    if (::fstat(fd, &info) != 0) {
        throw ElfError(name + ": " + std::strerror(errno));
    }
    const auto file_size = static_cast<uint64_t>(info.st_size);

    DynsymImage result;
    Elf64_Ehdr& header = result.header;
    readExactly(fd, 0, &header, sizeof(header), file_size, name);
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
        throw ElfError(name + ": not an ELF file");
    }
    if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
        throw ElfError(name + ": not a 64-bit little-endian ELF file");
    }
    if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum > kMaxHeaders
        || (header.e_shnum != 0 && header.e_shentsize != sizeof(Elf64_Shdr)) || header.e_shnum > kMaxHeaders)
    {
        throw ElfError(name + ": malformed ELF header");
    }
    result.program_headers = readArray<Elf64_Phdr>(fd, header.e_phoff, header.e_phnum, file_size, name);
    const Elf64_Phdr* dynamic = nullptr;
    for (const Elf64_Phdr& segment : result.program_headers) {
        if (segment.p_type == PT_DYNAMIC) {
            dynamic = &segment;
        }
    }
    if (dynamic == nullptr) {
        return result;  // a static executable: no dynamic symbols
    }
    if (dynamic->p_filesz > kMaxTableBytes) {
        throw ElfError(name + ": malformed dynamic segment");
    }
    auto entries = readArray<Elf64_Dyn>(fd, dynamic->p_offset, dynamic->p_filesz / sizeof(Elf64_Dyn), file_size, name);

    std::vector<Piece> pieces;
    if (header.e_shoff == 0 || header.e_shnum == 0) {
        pieces = piecesFromDynamic(fd, file_size, name, result.program_headers, entries);
        // Only the tables that made it into the image.
        std::erase_if(entries, [](const Elf64_Dyn& entry) {
            return entry.d_tag != DT_SYMTAB && entry.d_tag != DT_SYMENT && entry.d_tag != DT_STRTAB
                   && entry.d_tag != DT_STRSZ && entry.d_tag != DT_SONAME && entry.d_tag != DT_NULL;
        });
    } else {
        auto sections = readArray<Elf64_Shdr>(fd, header.e_shoff, header.e_shnum, file_size, name);
        size_t dynsym = 0;
        for (size_t i = 1; i < sections.size(); ++i) {
            if (sections[i].sh_type == SHT_DYNSYM) {
                dynsym = i;
                break;
            }
        }
        if (dynsym == 0 || sections[dynsym].sh_link >= sections.size() || header.e_shstrndx >= sections.size()) {
            return result;
        }
        std::vector<size_t> kept = {dynsym, sections[dynsym].sh_link};
        for (size_t i = 1; i < sections.size(); ++i) {
            if (isSymbolTableCompanion(sections[i])) {
                kept.push_back(i);
            }
        }
        const Elf64_Shdr& names_section = sections[header.e_shstrndx];
        if (names_section.sh_size > kMaxTableBytes) {
            throw ElfError(name + ": malformed section name table");
        }
        auto names = readArray<char>(fd, names_section.sh_offset, names_section.sh_size, file_size, name);
        names.push_back('\0');
        for (size_t old_index : kept) {
            Piece piece;
            piece.header = sections[old_index];
            size_t name_index = piece.header.sh_name < names.size() ? piece.header.sh_name : names.size() - 1;
            piece.name = names.data() + name_index;
            // sh_link: the position of the linked section among the kept ones, + 1.
            auto linked = std::find(kept.begin(), kept.end(), piece.header.sh_link);
            piece.header.sh_link = linked == kept.end() ? 0 : static_cast<uint32_t>(linked - kept.begin() + 1);
            pieces.push_back(piece);
        }
    }
    if (pieces.empty()) {
        return result;
    }
    result.bytes = assembleImage(fd, file_size, name, header, pieces, entries);
    return result;
}

}  // namespace memray::injector
