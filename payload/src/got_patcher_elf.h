// What the GOT patcher reads from one loaded ELF object: its segments, its dynamic section and
// the relocations that name a symbol. Internal to got_patcher.cpp (header-only so the payload's
// build lists a single source file).
//
// Everything here reads memory of an object that dl_iterate_phdr is currently showing us, so the
// loader lock is held and the object cannot be unmapped under our feet. Every address taken from
// the dynamic section is checked against the object's PT_LOAD ranges before it is dereferenced:
// a corrupt or unusual object is skipped rather than crashing the profiled process.
#pragma once

#include <elf.h>
#include <link.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memray::payload::elf {

class LoadedObject
{
  public:
    explicit LoadedObject(const dl_phdr_info& info)
    : d_base(info.dlpi_addr)
    , d_phdr(info.dlpi_phdr)
    , d_phnum(info.dlpi_phnum)
    {
    }

    uintptr_t base() const { return d_base; }

    // True if [addr, addr + size) lies inside one PT_LOAD segment (its memory image, which
    // includes .bss).
    bool contains(uintptr_t addr, size_t size = 1) const
    {
        for (const ElfW(Phdr)& ph : segments()) {
            if (ph.p_type != PT_LOAD) {
                continue;
            }
            const uintptr_t start = d_base + ph.p_vaddr;
            if (addr >= start && addr - start <= ph.p_memsz
                && size <= ph.p_memsz - (addr - start)) {
                return true;
            }
        }
        return false;
    }

    // True if addr lies in a PT_LOAD the loader mapped writable.
    bool inWritableSegment(uintptr_t addr) const
    {
        for (const ElfW(Phdr)& ph : segments()) {
            const uintptr_t start = d_base + ph.p_vaddr;
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) && addr >= start
                && addr - start < ph.p_memsz) {
                return true;
            }
        }
        return false;
    }

    // The pages ld.so made read-only after relocating (PT_GNU_RELRO), as [start, end). ld.so
    // rounds *both* ends down to a page boundary (_dl_protect_relro): the partial page at the end
    // stays writable because it is shared with .got.plt / .data. We must use the same rounding,
    // or we would "restore" that last page to read-only and break the next write to .data.
    void relroPages(size_t page_size, uintptr_t* start, uintptr_t* end) const
    {
        *start = *end = 0;
        for (const ElfW(Phdr)& ph : segments()) {
            if (ph.p_type == PT_GNU_RELRO) {
                const uintptr_t mask = ~(static_cast<uintptr_t>(page_size) - 1);
                *start = (d_base + ph.p_vaddr) & mask;
                *end = (d_base + ph.p_vaddr + ph.p_memsz) & mask;
                return;
            }
        }
    }

    const ElfW(Dyn)* dynamicSection() const
    {
        for (const ElfW(Phdr)& ph : segments()) {
            if (ph.p_type == PT_DYNAMIC) {
                return reinterpret_cast<const ElfW(Dyn)*>(d_base + ph.p_vaddr);
            }
        }
        return nullptr;
    }

    // glibc rewrites the d_ptr entries of an object's dynamic section to absolute addresses while
    // loading it, but only when that section is writable: the vDSO's and any object whose
    // PT_DYNAMIC sits in a read-only segment keep link-time values. A link-time value of a
    // loaded object is an offset smaller than its base, so add the base in that case; then
    // verify the result lands inside the object, trying the other reading if it does not.
    // Returns 0 if neither reading points into the object.
    uintptr_t resolveDynamicPointer(ElfW(Addr) value, size_t size) const
    {
        const uintptr_t relocated = value;
        const uintptr_t unrelocated = d_base + value;
        const bool looks_unrelocated = d_base != 0 && value < d_base;
        const uintptr_t first = looks_unrelocated ? unrelocated : relocated;
        const uintptr_t second = looks_unrelocated ? relocated : unrelocated;
        if (contains(first, size)) {
            return first;
        }
        if (d_base != 0 && contains(second, size)) {
            return second;
        }
        return 0;
    }

  private:
    struct Segments
    {
        const ElfW(Phdr)* first;
        const ElfW(Phdr)* last;
        const ElfW(Phdr)* begin() const { return first; }
        const ElfW(Phdr)* end() const { return last; }
    };
    Segments segments() const { return {d_phdr, d_phdr + d_phnum}; }

    uintptr_t d_base;
    const ElfW(Phdr)* d_phdr;
    size_t d_phnum;
};

// The tables of the dynamic section the patcher needs, as verified absolute addresses.
struct DynamicTables
{
    const ElfW(Sym)* symtab = nullptr;
    const char* strtab = nullptr;
    size_t strsz = 0;
    const ElfW(Rela)* rela = nullptr;  // DT_RELA: GLOB_DAT (and R_X86_64_64, RELATIVE, ...)
    size_t rela_count = 0;
    const ElfW(Rela)* jmprel = nullptr;  // DT_JMPREL: JUMP_SLOT (the PLT's GOT entries)
    size_t jmprel_count = 0;
};

// Reads and verifies the dynamic section. Returns false if the object has nothing the patcher
// can use (no symbol table, or tables that do not point into the object).
inline bool readDynamicTables(const LoadedObject& object, DynamicTables* out)
{
    const ElfW(Dyn)* dyn = object.dynamicSection();
    if (dyn == nullptr || !object.contains(reinterpret_cast<uintptr_t>(dyn), sizeof(ElfW(Dyn)))) {
        return false;
    }
    ElfW(Addr) symtab = 0, strtab = 0, rela = 0, jmprel = 0;
    size_t strsz = 0, relasz = 0, relaent = sizeof(ElfW(Rela)), pltrelsz = 0;
    ElfW(Sxword) pltrel = DT_RELA;
    for (; dyn->d_tag != DT_NULL; ++dyn) {
        switch (dyn->d_tag) {
            case DT_SYMTAB: symtab = dyn->d_un.d_ptr; break;
            case DT_STRTAB: strtab = dyn->d_un.d_ptr; break;
            case DT_STRSZ: strsz = dyn->d_un.d_val; break;
            case DT_RELA: rela = dyn->d_un.d_ptr; break;
            case DT_RELASZ: relasz = dyn->d_un.d_val; break;
            case DT_RELAENT: relaent = dyn->d_un.d_val; break;
            case DT_JMPREL: jmprel = dyn->d_un.d_ptr; break;
            case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
            case DT_PLTREL: pltrel = static_cast<ElfW(Sxword)>(dyn->d_un.d_val); break;
            default: break;
        }
    }
    if (symtab == 0 || strtab == 0 || strsz == 0 || relaent != sizeof(ElfW(Rela))) {
        return false;
    }
    out->symtab = reinterpret_cast<const ElfW(Sym)*>(
            object.resolveDynamicPointer(symtab, sizeof(ElfW(Sym))));
    out->strtab = reinterpret_cast<const char*>(object.resolveDynamicPointer(strtab, strsz));
    out->strsz = strsz;
    if (out->symtab == nullptr || out->strtab == nullptr) {
        return false;
    }
    if (rela != 0 && relasz != 0) {
        out->rela = reinterpret_cast<const ElfW(Rela)*>(object.resolveDynamicPointer(rela, relasz));
        out->rela_count = out->rela ? relasz / sizeof(ElfW(Rela)) : 0;
    }
    // x86-64 only ever uses RELA for the PLT; a DT_REL table would be read wrongly, so ignore it.
    if (jmprel != 0 && pltrelsz != 0 && pltrel == DT_RELA) {
        out->jmprel = reinterpret_cast<const ElfW(Rela)*>(
                object.resolveDynamicPointer(jmprel, pltrelsz));
        out->jmprel_count = out->jmprel ? pltrelsz / sizeof(ElfW(Rela)) : 0;
    }
    return true;
}

// The name of the symbol a relocation refers to, or nullptr (no symbol, or out of bounds).
// Version suffixes are not part of the name: dlopen@GLIBC_2.34 is just "dlopen".
inline const char*
relocationSymbolName(const LoadedObject& object, const DynamicTables& tables, const ElfW(Rela)& rel)
{
    const size_t index = ELF64_R_SYM(rel.r_info);
    if (index == 0) {
        return nullptr;
    }
    const ElfW(Sym)* sym = tables.symtab + index;
    if (!object.contains(reinterpret_cast<uintptr_t>(sym), sizeof(*sym))
        || sym->st_name >= tables.strsz) {
        return nullptr;
    }
    const char* name = tables.strtab + sym->st_name;
    // The string must end inside the table.
    if (memchr(name, '\0', tables.strsz - sym->st_name) == nullptr) {
        return nullptr;
    }
    return name;
}

}  // namespace memray::payload::elf
