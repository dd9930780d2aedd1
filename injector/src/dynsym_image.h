// Cuts the dynamic symbol table out of an ELF file into a small, self-contained ELF image.
//
// Why: LIEF 0.9 reads (and copies, section by section) the whole file before it parses
// anything. The image keeps only what dynamic symbols are made of -- .dynsym, its string table,
// the hash tables and the symbol versioning sections -- at their original virtual addresses,
// plus a PT_DYNAMIC that points at them, so LIEF finds and interprets exactly the same symbols.
// Everything else (code, data, relocations, debug info, .symtab) stays out. A file without
// section headers gets its .dynsym and .dynstr located through PT_DYNAMIC and the hash tables.
#pragma once

#include <elf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memray::injector {

struct DynsymImage
{
    std::vector<uint8_t> bytes;  // empty when the file has no dynamic symbols
    Elf64_Ehdr header{};         // the original file's header
    std::vector<Elf64_Phdr> program_headers;  // the original file's program headers
    const Elf64_Phdr* firstLoad() const;      // its first PT_LOAD, or nullptr
};

// Reads the headers of the ELF file open as `fd` and builds its image. Throws ElfError.
DynsymImage buildDynsymImage(int fd, const std::string& name);

}  // namespace memray::injector
