// GOT patching: see got_patcher.h for what and why; this file is the how.
//
// Which relocations we rewrite, and which we leave alone:
//  - R_X86_64_JUMP_SLOT (DT_JMPREL): the PLT's slots, i.e. every ordinary call to malloc.
//  - R_X86_64_GLOB_DAT (DT_RELA): calls compiled with -fno-plt, and the address of the function
//    loaded from the GOT (`p = malloc; p(n)` in PIC code).
//  - Not R_X86_64_64, although it can name malloc too: it fills a pointer in ordinary data
//    (`static alloc_fn table[] = {malloc, free}`), not a GOT slot. That data belongs to the
//    program: it may be copied before we patch (so patching it is inconsistent anyway), compared
//    against other pointers to malloc, or reassigned later; it may carry an addend; and it lives
//    in .data as often as in RELRO. Rewriting it would change the program's data rather than how
//    it links. Allocations made through such tables are missed, as with every GOT-based
//    interposer.
//
// Every slot is written with one aligned 8-byte atomic operation, so a thread calling through
// the slot at that moment jumps either to the old target or to ours, never to a torn pointer.
#include "got_patcher.h"

#include "got_patcher_elf.h"

#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace memray::payload {

namespace {

// No lazily initialised static: see fork_window.h.
size_t pageSize()
{
    return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

const char* baseName(const char* path)
{
    const char* slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

// ld.so resolves symbols for everyone and has no business calling our hooks; the vDSO is kernel
// memory whose dynamic section is not even relocated. Recognize them by name, and by the
// addresses the kernel gave us in case a name differs (a renamed loader, an unnamed vDSO).
bool isLoaderOrVdso(const dl_phdr_info& info, const elf::LoadedObject& object)
{
    const char* name = baseName(info.dlpi_name ? info.dlpi_name : "");
    if (strncmp(name, "linux-vdso", 10) == 0 || strncmp(name, "linux-gate", 10) == 0
        || strncmp(name, "ld-linux", 8) == 0) {
        return true;
    }
    const uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
    if (vdso != 0 && object.contains(vdso)) {
        return true;
    }
    const uintptr_t interpreter = getauxval(AT_BASE);
    return interpreter != 0 && info.dlpi_addr == interpreter;
}

// How a GOT slot's page is protected right now, derived from the object's program headers the
// same way ld.so set it up.
enum class SlotPage {
    Writable,   // a PF_W segment outside RELRO (e.g. .got.plt with lazy binding)
    Relro,      // made read-only by ld.so after relocation
    Unknown,    // somewhere we do not expect a GOT slot: leave it alone
};

SlotPage classifySlot(const elf::LoadedObject& object, uintptr_t addr)
{
    uintptr_t relro_start, relro_end;
    object.relroPages(pageSize(), &relro_start, &relro_end);
    if (addr >= relro_start && addr < relro_end) {
        return SlotPage::Relro;
    }
    return object.inWritableSegment(addr) ? SlotPage::Writable : SlotPage::Unknown;
}

enum class Exchange {
    Done,        // the slot held `expected` and now holds the new value
    Changed,     // the slot held something else, now in `expected`
    Unwritable,  // the slot's page cannot (or must not) be written
};

// Atomically replaces `expected` by `value` in the slot, making its page writable for the
// duration if it is a RELRO page, and read-only again afterwards: RELRO exists so that a stray
// write cannot redirect the GOT, and we must not undo that.
Exchange exchangeSlot(
        const elf::LoadedObject& object,
        uintptr_t* slot,
        uintptr_t* expected,
        uintptr_t value)
{
    const auto addr = reinterpret_cast<uintptr_t>(slot);
    const SlotPage page = classifySlot(object, addr);
    if (page == SlotPage::Unknown) {
        return Exchange::Unwritable;
    }
    void* page_start = reinterpret_cast<void*>(addr & ~(static_cast<uintptr_t>(pageSize()) - 1));
    if (page == SlotPage::Relro && mprotect(page_start, pageSize(), PROT_READ | PROT_WRITE) != 0) {
        return Exchange::Unwritable;
    }
    // A compare-and-swap rather than a plain store: when patching, a lazy-binding fixup on
    // another thread may replace the PLT stub address between our read and our write (we retry
    // and record the resolved address as original, which is equally valid); when restoring,
    // the slot must only be written if it still holds our replacement. What no CAS can prevent:
    // a fixup that ld.so computed before our write and stores after it overwrites our hook,
    // and that slot then bypasses the hook for the rest of the capture. It needs a thread's
    // *first* call through that slot to race with the patch; every GOT interposer has it.
    const bool exchanged = __atomic_compare_exchange_n(
            slot, expected, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    if (page == SlotPage::Relro) {
        // Failing to re-protect would leave the page as writable as .data; there is no better
        // fallback, and mprotect does not fail for a range that was just made writable.
        mprotect(page_start, pageSize(), PROT_READ);
    }
    return exchanged ? Exchange::Done : Exchange::Changed;
}

}  // namespace

class GotPatcher::Walker
{
  public:
    static size_t patch(GotPatcher& self)
    {
        State state{self};
        dl_iterate_phdr(&patchObject, &state);
        // Forget objects that were unloaded since we patched them: their slots are gone.
        std::vector<PatchedObject> loaded;
        for (size_t i = 0; i < self.objects_.size(); ++i) {
            if (state.seen[i]) {
                loaded.push_back(std::move(self.objects_[i]));
            }
        }
        self.objects_ = std::move(loaded);
        return state.written;
    }

    static size_t restore(GotPatcher& self)
    {
        State state{self};
        dl_iterate_phdr(&restoreObject, &state);
        // Objects not seen were unloaded: nothing to write back.
        self.objects_.clear();
        return state.written;
    }

  private:
    struct State
    {
        explicit State(GotPatcher& patcher)
        : self(patcher)
        , seen(patcher.objects_.size(), false)
        {
        }
        GotPatcher& self;
        std::vector<bool> seen;  // parallel to self.objects_
        size_t index = 0;        // position in dl_iterate_phdr's list; 0 is the executable
        size_t written = 0;
    };

    static PatchedObject* find(State& state, const dl_phdr_info& info, const char* name)
    {
        auto& objects = state.self.objects_;
        for (size_t i = 0; i < objects.size(); ++i) {
            if (objects[i].base == info.dlpi_addr && objects[i].name == name) {
                state.seen[i] = true;
                return &objects[i];
            }
        }
        return nullptr;
    }

    static bool
    shouldSkip(const State& state, const dl_phdr_info& info, const elf::LoadedObject& object)
    {
        const char* name = info.dlpi_name ? info.dlpi_name : "";
        // Only the executable is listed without a name; anything else unnamed is not a file we
        // know how to reason about.
        if (state.index != 0 && name[0] == '\0') {
            return true;
        }
        if (object.contains(reinterpret_cast<uintptr_t>(state.self.own_object_address_))) {
            return true;
        }
        return isLoaderOrVdso(info, object);
    }

    // True if the record describes this very load of the object rather than an earlier one that
    // was unloaded and replaced by a new load at the same base: the new load's slots were just
    // bound by ld.so, so none of them holds one of our replacements. (A slot outside the new
    // load's segments means the file itself changed: not ours either, and not to be read.)
    static bool isCurrentLoad(const PatchedObject& record, const elf::LoadedObject& object)
    {
        if (record.slots.empty()) {
            return true;
        }
        return std::any_of(record.slots.begin(), record.slots.end(), [&](const PatchedSlot& s) {
            return object.contains(reinterpret_cast<uintptr_t>(s.slot), sizeof(*s.slot))
                   && __atomic_load_n(s.slot, __ATOMIC_RELAXED) == s.replacement;
        });
    }

    static int patchObject(dl_phdr_info* info, size_t, void* data)
    {
        State& state = *static_cast<State*>(data);
        const elf::LoadedObject object(*info);
        const char* name = info->dlpi_name ? info->dlpi_name : "";
        if (!shouldSkip(state, *info, object)) {
            PatchedObject* record = find(state, *info, name);
            if (record != nullptr && !isCurrentLoad(*record, object)) {
                // A new load of a file we patched before: its old slots are gone.
                record->slots.clear();
                state.written += patchSlots(state.self, object, *record);
            } else if (record == nullptr) {
                state.self.objects_.push_back({info->dlpi_addr, name, {}});
                state.seen.push_back(true);
                state.written += patchSlots(state.self, object, state.self.objects_.back());
            }
        }
        ++state.index;
        return 0;
    }

    static int restoreObject(dl_phdr_info* info, size_t, void* data)
    {
        State& state = *static_cast<State*>(data);
        const char* name = info->dlpi_name ? info->dlpi_name : "";
        if (PatchedObject* record = find(state, *info, name)) {
            const elf::LoadedObject object(*info);
            for (const PatchedSlot& s : record->slots) {
                uintptr_t expected = s.replacement;
                // Another tool may have patched the slot after us: then its value stays.
                if (exchangeSlot(object, s.slot, &expected, s.original) == Exchange::Done) {
                    ++state.written;
                }
            }
        }
        ++state.index;
        return 0;
    }

    static size_t
    patchSlots(GotPatcher& self, const elf::LoadedObject& object, PatchedObject& record)
    {
        elf::DynamicTables tables;
        if (!elf::readDynamicTables(object, &tables)) {
            return 0;
        }
        // An overlap of DT_JMPREL and DT_RELA (some linkers count .rela.plt into DT_RELASZ) is
        // harmless: the second visit finds our replacement already in the slot.
        return patchTable(self, object, tables, tables.jmprel, tables.jmprel_count, record)
               + patchTable(self, object, tables, tables.rela, tables.rela_count, record);
    }

    static size_t patchTable(
            GotPatcher& self,
            const elf::LoadedObject& object,
            const elf::DynamicTables& tables,
            const ElfW(Rela)* table,
            size_t count,
            PatchedObject& record)
    {
        size_t written = 0;
        for (size_t i = 0; i < count; ++i) {
            const ElfW(Rela)& rel = table[i];
            const auto type = ELF64_R_TYPE(rel.r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) {
                continue;
            }
            const HookSpec* hook = findHook(self, elf::relocationSymbolName(object, tables, rel));
            if (hook == nullptr) {
                continue;
            }
            const uintptr_t addr = object.base() + rel.r_offset;
            if (addr % sizeof(uintptr_t) != 0 || !object.contains(addr, sizeof(uintptr_t))) {
                continue;
            }
            auto* slot = reinterpret_cast<uintptr_t*>(addr);
            const auto replacement = reinterpret_cast<uintptr_t>(hook->replacement);
            uintptr_t original = __atomic_load_n(slot, __ATOMIC_RELAXED);
            // Never record our own hook as the original: restoring it would be a no-op, and
            // anyone calling "the original" would recurse forever.
            while (original != replacement) {
                const Exchange result = exchangeSlot(object, slot, &original, replacement);
                if (result == Exchange::Done) {
                    record.slots.push_back({slot, original, replacement});
                    ++written;
                }
                if (result != Exchange::Changed) {
                    break;
                }
            }
        }
        return written;
    }

    static const HookSpec* findHook(const GotPatcher& self, const char* name)
    {
        if (name == nullptr) {
            return nullptr;
        }
        for (const HookSpec& hook : self.hooks_) {
            if (strcmp(hook.symbol, name) == 0) {
                return &hook;
            }
        }
        return nullptr;
    }
};

GotPatcher::GotPatcher(const std::vector<HookSpec>& hooks, const void* own_object_address)
: hooks_(hooks)
, own_object_address_(own_object_address)
{
}

size_t GotPatcher::patchNewObjects()
{
    return Walker::patch(*this);
}

size_t GotPatcher::restoreAll()
{
    return Walker::restore(*this);
}

size_t GotPatcher::patchedSlots() const
{
    size_t count = 0;
    for (const PatchedObject& object : objects_) {
        count += object.slots.size();
    }
    return count;
}

}  // namespace memray::payload
