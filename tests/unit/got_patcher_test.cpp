// Tests of GotPatcher (payload/src/got_patcher.cpp) against real loaded objects.
//
// The process under test: this executable (PIE, lazy binding) links
//  - libgot_patcher_testshim.so: the patcher and the counting hooks, playing the payload,
//  - libgot_patcher_testlib_{lazy,now,noplt}.so: the same allocating function built three ways,
// and dlopens libgot_patcher_testlib_late.so later. The hooks attribute each call to the object
// that made it, so every count below is exact.
#include "got_patcher.h"
#include "got_patcher_elf.h"
#include "got_patcher_testhooks.h"

#include <dlfcn.h>
#include <link.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" {
int got_patcher_testlib_lazy_exercise(void);
int got_patcher_testlib_now_exercise(void);
int got_patcher_testlib_noplt_exercise(void);
}

namespace {

using memray::payload::GotPatcher;
using got_test::Fn;

using Exercise = int (*)();

// What one call of GOT_TESTLIB_FUNCTION (got_patcher_testlib.c) does, per hooked function.
constexpr std::array<uint64_t, got_test::kFnCount> kPerCall{
        1,  // malloc
        1,  // calloc
        1,  // realloc
        4,  // free
        1,  // posix_memalign
        1,  // mmap
        1,  // munmap
};
const char* const kFnNames[] =
        {"malloc", "calloc", "realloc", "free", "posix_memalign", "mmap", "munmap"};

using Counts = std::array<uint64_t, got_test::kFnCount>;

Counts snapshot(int id)
{
    Counts counts{};
    for (int fn = 0; fn < got_test::kFnCount; ++fn) {
        counts[fn] = got_test::count(id, static_cast<Fn>(fn));
    }
    return counts;
}

// Hook calls made by object `id` since `before`.
Counts since(int id, const Counts& before)
{
    Counts now = snapshot(id);
    for (int fn = 0; fn < got_test::kFnCount; ++fn) {
        now[fn] -= before[fn];
    }
    return now;
}

Counts times(uint64_t n)
{
    Counts counts{};
    for (int fn = 0; fn < got_test::kFnCount; ++fn) {
        counts[fn] = kPerCall[fn] * n;
    }
    return counts;
}

std::string describe(const Counts& counts)
{
    std::ostringstream out;
    for (int fn = 0; fn < got_test::kFnCount; ++fn) {
        out << kFnNames[fn] << "=" << counts[fn] << " ";
    }
    return out.str();
}

struct Lib
{
    const char* name;
    Exercise exercise;
    int id;
};

std::vector<Lib> linkedLibs()
{
    return {
            {"lazy", &got_patcher_testlib_lazy_exercise,
             got_test::track(reinterpret_cast<const void*>(&got_patcher_testlib_lazy_exercise))},
            {"now", &got_patcher_testlib_now_exercise,
             got_test::track(reinterpret_cast<const void*>(&got_patcher_testlib_now_exercise))},
            {"noplt", &got_patcher_testlib_noplt_exercise,
             got_test::track(reinterpret_cast<const void*>(&got_patcher_testlib_noplt_exercise))},
    };
}

// Calls lib.exercise() once and returns the hook calls it made.
Counts exerciseOnce(const Lib& lib)
{
    const Counts before = snapshot(lib.id);
    EXPECT_EQ(lib.exercise(), 1) << lib.name << " no longer works";
    return since(lib.id, before);
}

GotPatcher makePatcher()
{
    return GotPatcher(got_test::hooks(), got_test::ownObjectAddress());
}

bool isLoaded(const char* path)
{
    void* handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (handle != nullptr) {
        dlclose(handle);
    }
    return handle != nullptr;
}

struct LateLib
{
    void* handle = nullptr;
    Lib lib{"late", nullptr, -1};

    void open()
    {
        // RTLD_LAZY: its JUMP_SLOTs still point into its PLT when we patch and restore them.
        handle = dlopen(GOT_PATCHER_TESTLIB_LATE, RTLD_LAZY | RTLD_LOCAL);
        ASSERT_NE(handle, nullptr) << dlerror();
        lib.exercise =
                reinterpret_cast<Exercise>(dlsym(handle, "got_patcher_testlib_late_exercise"));
        ASSERT_NE(lib.exercise, nullptr);
        lib.id = got_test::track(reinterpret_cast<const void*>(lib.exercise));
    }
    void close()
    {
        ASSERT_EQ(dlclose(handle), 0);
        handle = nullptr;
        ASSERT_FALSE(isLoaded(GOT_PATCHER_TESTLIB_LATE)) << "dlclose did not unload the library";
    }
};

// ---- What the test libraries look like, so the tests below test what they claim to ----

struct ObjectFacts
{
    std::vector<unsigned> malloc_reloc_types;
    size_t malloc_slots_in_relro = 0;
    size_t relro_pages = 0;
};

struct FactsQuery
{
    uintptr_t address;
    ObjectFacts facts;
    bool found = false;
};

int collectFacts(dl_phdr_info* info, size_t, void* data)
{
    auto& query = *static_cast<FactsQuery*>(data);
    const memray::payload::elf::LoadedObject object(*info);
    if (!object.contains(query.address)) {
        return 0;
    }
    query.found = true;
    memray::payload::elf::DynamicTables tables;
    if (!memray::payload::elf::readDynamicTables(object, &tables)) {
        return 1;
    }
    uintptr_t relro_start, relro_end;
    object.relroPages(4096, &relro_start, &relro_end);
    query.facts.relro_pages = (relro_end - relro_start) / 4096;
    auto visit = [&](const ElfW(Rela)* table, size_t count) {
        for (size_t i = 0; i < count; ++i) {
            const char* name = memray::payload::elf::relocationSymbolName(object, tables, table[i]);
            if (name == nullptr || strcmp(name, "malloc") != 0) {
                continue;
            }
            query.facts.malloc_reloc_types.push_back(ELF64_R_TYPE(table[i].r_info));
            const uintptr_t slot = object.base() + table[i].r_offset;
            query.facts.malloc_slots_in_relro += slot >= relro_start && slot < relro_end;
        }
    };
    visit(tables.jmprel, tables.jmprel_count);
    visit(tables.rela, tables.rela_count);
    return 1;
}

ObjectFacts factsOf(const void* address)
{
    FactsQuery query{reinterpret_cast<uintptr_t>(address), {}};
    dl_iterate_phdr(&collectFacts, &query);
    EXPECT_TRUE(query.found);
    return query.facts;
}

TEST(GotPatcherSetup, TestLibrariesReachMallocThroughTheIntendedSlots)
{
    const ObjectFacts lazy =
            factsOf(reinterpret_cast<const void*>(&got_patcher_testlib_lazy_exercise));
    EXPECT_EQ(lazy.malloc_reloc_types, std::vector<unsigned>{R_X86_64_JUMP_SLOT});
    EXPECT_EQ(lazy.malloc_slots_in_relro, 0U) << ".got.plt of a lazy library is writable";

    const ObjectFacts now =
            factsOf(reinterpret_cast<const void*>(&got_patcher_testlib_now_exercise));
    EXPECT_EQ(now.malloc_reloc_types, std::vector<unsigned>{R_X86_64_JUMP_SLOT});
    EXPECT_EQ(now.malloc_slots_in_relro, 1U) << "-z now -z relro puts the PLT's GOT in RELRO";

    const ObjectFacts noplt =
            factsOf(reinterpret_cast<const void*>(&got_patcher_testlib_noplt_exercise));
    EXPECT_EQ(noplt.malloc_reloc_types, std::vector<unsigned>{R_X86_64_GLOB_DAT});
    EXPECT_EQ(noplt.malloc_slots_in_relro, 1U);
}

// ---- Reading the dynamic section: relocated and link-time d_ptr values ----

// A fake loaded object over a static buffer: one PT_LOAD covering it, RELRO in its first pages.
struct FakeObject
{
    alignas(4096) static inline char image[3 * 4096];
    ElfW(Phdr) phdrs[2]{};
    dl_phdr_info info{};

    explicit FakeObject(bool position_independent)
    {
        const auto start = reinterpret_cast<uintptr_t>(image);
        // A PIE/shared object has link-time addresses from 0; a non-PIE executable's are
        // absolute and its dlpi_addr is 0.
        info.dlpi_addr = position_independent ? start : 0;
        phdrs[0].p_type = PT_LOAD;
        phdrs[0].p_vaddr = position_independent ? 0 : start;
        phdrs[0].p_memsz = sizeof(image);
        phdrs[1].p_type = PT_GNU_RELRO;
        phdrs[1].p_vaddr = phdrs[0].p_vaddr + 0x100;
        phdrs[1].p_memsz = 0x1f80;  // ends 0x80 into the third page
        info.dlpi_phdr = phdrs;
        info.dlpi_phnum = 2;
    }
};

TEST(GotPatcherElf, DynamicPointersAreAcceptedRelocatedOrNot)
{
    const FakeObject fake(true);
    const memray::payload::elf::LoadedObject object(fake.info);
    const auto start = reinterpret_cast<uintptr_t>(FakeObject::image);
    EXPECT_EQ(object.resolveDynamicPointer(0x200, 8), start + 0x200) << "link-time value";
    EXPECT_EQ(object.resolveDynamicPointer(start + 0x200, 8), start + 0x200) << "relocated value";
    EXPECT_EQ(object.resolveDynamicPointer(0x3000, 8), 0U) << "past the end, either way";
    EXPECT_EQ(object.resolveDynamicPointer(0x2ffc, 8), 0U) << "straddles the end";
    EXPECT_EQ(object.resolveDynamicPointer(start + 0x2ff8, 8), start + 0x2ff8);
}

TEST(GotPatcherElf, NonPieExecutablesUseAbsoluteAddresses)
{
    const FakeObject fake(false);
    const memray::payload::elf::LoadedObject object(fake.info);
    const auto start = reinterpret_cast<uintptr_t>(FakeObject::image);
    EXPECT_EQ(object.resolveDynamicPointer(start + 0x200, 8), start + 0x200);
    EXPECT_EQ(object.resolveDynamicPointer(0x200, 8), 0U);
}

TEST(GotPatcherElf, RelroPagesAreRoundedLikeLdSoDoes)
{
    const FakeObject fake(true);
    const memray::payload::elf::LoadedObject object(fake.info);
    const auto start = reinterpret_cast<uintptr_t>(FakeObject::image);
    uintptr_t relro_start, relro_end;
    object.relroPages(4096, &relro_start, &relro_end);
    EXPECT_EQ(relro_start, start);
    // The third page holds the end of RELRO and the start of .data: ld.so leaves it writable.
    EXPECT_EQ(relro_end, start + 2 * 4096);
    EXPECT_FALSE(object.inWritableSegment(start + 0x100)) << "the fake PT_LOAD has no PF_W";
}

struct VdsoQuery
{
    bool found = false;
    bool unrelocated = false;
    bool tables_read = false;
    bool has_clock_gettime = false;
};

int inspectVdso(dl_phdr_info* info, size_t, void* data)
{
    auto& query = *static_cast<VdsoQuery*>(data);
    if (info->dlpi_name == nullptr || strncmp(info->dlpi_name, "linux-vdso", 10) != 0) {
        return 0;
    }
    query.found = true;
    const memray::payload::elf::LoadedObject object(*info);
    for (const ElfW(Dyn)* dyn = object.dynamicSection(); dyn->d_tag != DT_NULL; ++dyn) {
        if (dyn->d_tag == DT_SYMTAB) {
            query.unrelocated = dyn->d_un.d_ptr < info->dlpi_addr;
        }
    }
    memray::payload::elf::DynamicTables tables;
    query.tables_read = memray::payload::elf::readDynamicTables(object, &tables);
    if (query.tables_read) {
        for (size_t i = 1; i < 64; ++i) {
            const ElfW(Sym)* sym = tables.symtab + i;
            if (!object.contains(reinterpret_cast<uintptr_t>(sym), sizeof(*sym))
                || sym->st_name >= tables.strsz) {
                break;
            }
            const char* name = tables.strtab + sym->st_name;
            query.has_clock_gettime |= strcmp(name, "__vdso_clock_gettime") == 0;
        }
    }
    return 1;
}

// The vDSO is the real object whose dynamic section glibc leaves at link-time values.
TEST(GotPatcherElf, TheVdsosUnrelocatedDynamicSectionIsRead)
{
    VdsoQuery query;
    dl_iterate_phdr(&inspectVdso, &query);
    if (!query.found) {
        GTEST_SKIP() << "no vDSO in this process";
    }
    EXPECT_TRUE(query.unrelocated) << "premise: the vDSO's d_ptr values are link-time offsets";
    EXPECT_TRUE(query.tables_read);
    EXPECT_TRUE(query.has_clock_gettime) << "symbol table resolved to the wrong place";
}

// ---- Redirection and restoration ----

TEST(GotPatcher, PatchingRedirectsEveryLibraryAndRestoringStopsIt)
{
    const std::vector<Lib> libs = linkedLibs();
    GotPatcher patcher = makePatcher();
    for (const Lib& lib : libs) {
        EXPECT_EQ(exerciseOnce(lib), times(0)) << lib.name << " is counted before patching";
    }

    const size_t written = patcher.patchNewObjects();
    EXPECT_GE(written, libs.size() * 7) << "each library has at least 7 matching slots";
    EXPECT_EQ(patcher.patchedSlots(), written);
    for (const Lib& lib : libs) {
        const Counts counts = exerciseOnce(lib);
        EXPECT_EQ(counts, times(1)) << lib.name << ": " << describe(counts);
    }

    EXPECT_EQ(patcher.restoreAll(), written);
    EXPECT_EQ(patcher.patchedSlots(), 0U);
    for (const Lib& lib : libs) {
        const Counts counts = exerciseOnce(lib);
        EXPECT_EQ(counts, times(0))
                << lib.name << " still counted after restoreAll: " << describe(counts);
    }
}

TEST(GotPatcher, PatchingTwiceWritesNothingNew)
{
    GotPatcher patcher = makePatcher();
    const size_t written = patcher.patchNewObjects();
    ASSERT_GT(written, 0U);
    EXPECT_EQ(patcher.patchNewObjects(), 0U);
    EXPECT_EQ(patcher.patchedSlots(), written);

    // A second patcher with the same hooks finds every slot holding its replacement already,
    // so it records nothing it could wrongly "restore".
    GotPatcher second = makePatcher();
    EXPECT_EQ(second.patchNewObjects(), 0U);
    EXPECT_EQ(second.restoreAll(), 0U);

    EXPECT_EQ(patcher.restoreAll(), written);
    for (const Lib& lib : linkedLibs()) {
        EXPECT_EQ(exerciseOnce(lib), times(0)) << lib.name;
    }
}

void allocateFromTheExecutable(int n)
{
    for (int i = 0; i < n; ++i) {
        void* p = malloc(100);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
}

TEST(GotPatcher, TheExecutablesOwnCallsAreRedirected)
{
    const int exe = got_test::track(reinterpret_cast<const void*>(&allocateFromTheExecutable));
    GotPatcher patcher = makePatcher();
    patcher.patchNewObjects();

    Counts before = snapshot(exe);
    allocateFromTheExecutable(10);
    Counts counts = since(exe, before);
    EXPECT_EQ(counts[got_test::kMalloc], 10U);
    EXPECT_EQ(counts[got_test::kFree], 10U);

    patcher.restoreAll();
    before = snapshot(exe);
    allocateFromTheExecutable(10);
    counts = since(exe, before);
    EXPECT_EQ(counts[got_test::kMalloc], 0U);
    EXPECT_EQ(counts[got_test::kFree], 0U);
}

TEST(GotPatcher, ThePatchersOwnObjectIsSkipped)
{
    const int shim = got_test::track(got_test::ownObjectAddress());
    GotPatcher patcher = makePatcher();
    patcher.patchNewObjects();
    const Counts before = snapshot(shim);
    got_test::shimAllocate();
    EXPECT_EQ(since(shim, before), times(0)) << "the shim's own GOT was patched";
    patcher.restoreAll();
}

TEST(GotPatcher, AnyObjectCanBeNamedAsOwnAndIsLeftUntouched)
{
    const std::vector<Lib> libs = linkedLibs();
    const int shim = got_test::track(got_test::ownObjectAddress());
    GotPatcher patcher(
            got_test::hooks(), reinterpret_cast<const void*>(&got_patcher_testlib_now_exercise));
    patcher.patchNewObjects();

    EXPECT_EQ(exerciseOnce(libs[1]), times(0)) << "the 'own' object was patched";
    EXPECT_EQ(exerciseOnce(libs[0]), times(1)) << "other objects must still be patched";
    // The shim is an ordinary object for this patcher: a positive control for the test above.
    const Counts before = snapshot(shim);
    got_test::shimAllocate();
    const Counts counts = since(shim, before);
    EXPECT_EQ(counts[got_test::kMalloc], 1U);
    EXPECT_EQ(counts[got_test::kFree], 1U);

    patcher.restoreAll();
}

// ---- Objects loaded and unloaded later ----

TEST(GotPatcher, ALibraryLoadedLaterIsPatchedByTheNextCallOnlyOnce)
{
    GotPatcher patcher = makePatcher();
    const size_t first = patcher.patchNewObjects();
    ASSERT_GT(first, 0U);

    LateLib late;
    ASSERT_NO_FATAL_FAILURE(late.open());
    EXPECT_EQ(exerciseOnce(late.lib), times(0)) << "patched before patchNewObjects was called";

    const size_t second = patcher.patchNewObjects();
    // Its 7 relocations naming hooked functions, and nothing of the objects patched already.
    EXPECT_EQ(second, 7U);
    EXPECT_EQ(patcher.patchNewObjects(), 0U);
    EXPECT_EQ(patcher.patchedSlots(), first + second);
    EXPECT_EQ(exerciseOnce(late.lib), times(1));

    // Had it been patched twice, the recorded "original" would be our hook and the library
    // would still be counted after restoring.
    EXPECT_EQ(patcher.restoreAll(), first + second);
    EXPECT_EQ(exerciseOnce(late.lib), times(0));
    ASSERT_NO_FATAL_FAILURE(late.close());
}

TEST(GotPatcher, RestoringAfterDlcloseSkipsTheUnloadedLibrary)
{
    GotPatcher patcher = makePatcher();
    LateLib late;
    ASSERT_NO_FATAL_FAILURE(late.open());
    const size_t written = patcher.patchNewObjects();
    EXPECT_EQ(exerciseOnce(late.lib), times(1));
    ASSERT_NO_FATAL_FAILURE(late.close());

    // The late library's slots are unmapped now: writing them back would crash.
    const size_t restored = patcher.restoreAll();
    EXPECT_EQ(written - restored, 7U) << "all but the late library's 7 slots are restored";
    for (const Lib& lib : linkedLibs()) {
        EXPECT_EQ(exerciseOnce(lib), times(0)) << lib.name;
    }

    // Loaded again, it is a fresh, unpatched copy.
    ASSERT_NO_FATAL_FAILURE(late.open());
    EXPECT_EQ(exerciseOnce(late.lib), times(0));
    ASSERT_NO_FATAL_FAILURE(late.close());
}

TEST(GotPatcher, ALibraryReloadedBetweenTwoPatchCallsIsPatchedAgain)
{
    GotPatcher patcher = makePatcher();
    LateLib late;
    ASSERT_NO_FATAL_FAILURE(late.open());
    patcher.patchNewObjects();
    ASSERT_NO_FATAL_FAILURE(late.close());
    // Usually lands at the same base under the same name: the patcher must not mistake it for
    // the copy it already patched.
    ASSERT_NO_FATAL_FAILURE(late.open());
    EXPECT_EQ(patcher.patchNewObjects(), 7U);
    EXPECT_EQ(exerciseOnce(late.lib), times(1));
    patcher.restoreAll();
    EXPECT_EQ(exerciseOnce(late.lib), times(0));
    ASSERT_NO_FATAL_FAILURE(late.close());
}

// ---- Another tool patching the same slots ----

std::atomic<uint64_t> g_other_tool_mallocs{0};
void* (*g_libc_malloc)(size_t) = nullptr;

void* otherToolMalloc(size_t size)
{
    g_other_tool_mallocs.fetch_add(1, std::memory_order_relaxed);
    return g_libc_malloc(size);
}

TEST(GotPatcher, RestoringLeavesSlotsThatAnotherToolPatchedSince)
{
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(libc, nullptr);
    g_libc_malloc = reinterpret_cast<void* (*)(size_t)>(dlsym(libc, "malloc"));
    dlclose(libc);
    const std::vector<memray::payload::HookSpec> other_hooks{
            {"malloc", reinterpret_cast<void*>(&otherToolMalloc)}};

    const Lib lazy = linkedLibs()[0];
    GotPatcher ours = makePatcher();
    GotPatcher theirs(other_hooks, got_test::ownObjectAddress());
    ours.patchNewObjects();
    ASSERT_GT(theirs.patchNewObjects(), 0U);

    ours.restoreAll();
    const uint64_t before = g_other_tool_mallocs.load();
    const Counts counts = exerciseOnce(lazy);
    EXPECT_EQ(g_other_tool_mallocs.load() - before, 1U) << "our restore clobbered their patch";
    EXPECT_EQ(counts[got_test::kMalloc], 0U);
    EXPECT_EQ(counts[got_test::kFree], 0U) << "the free slots were ours alone and are restored";

    // Unpatching out of order has its known price: they restore what they found, our hook.
    theirs.restoreAll();
    EXPECT_EQ(exerciseOnce(lazy)[got_test::kMalloc], 1U);
    // Send every malloc slot straight to libc so the tests after this one start clean.
    static const std::vector<memray::payload::HookSpec> cleanup{
            {"malloc", reinterpret_cast<void*>(g_libc_malloc)}};
    GotPatcher(cleanup, got_test::ownObjectAddress()).patchNewObjects();
    EXPECT_EQ(exerciseOnce(lazy), times(0));
}

// ---- Page protections ----

struct Mapping
{
    uintptr_t start;
    uintptr_t end;
    std::string perms;
    std::string path;
};

std::vector<Mapping> readMaps()
{
    std::vector<Mapping> maps;
    std::ifstream in("/proc/self/maps");
    std::string line;
    while (std::getline(in, line)) {
        Mapping m{};
        char perms[8] = {};
        char path[512] = {};
        unsigned long start, end;
        const int fields = sscanf(
                line.c_str(), "%lx-%lx %7s %*s %*s %*s %511[^\n]", &start, &end, perms, path);
        if (fields >= 3) {
            m.start = start;
            m.end = end;
            m.perms = perms;
            m.path = path;
            maps.push_back(m);
        }
    }
    return maps;
}

std::string permsAt(const std::vector<Mapping>& maps, uintptr_t addr)
{
    for (const Mapping& m : maps) {
        if (addr >= m.start && addr < m.end) {
            return m.perms;
        }
    }
    return "unmapped";
}

struct RelroQuery
{
    uintptr_t address;
    uintptr_t start = 0;
    uintptr_t end = 0;
};

// The pages of the object containing `address` that ld.so made read-only.
RelroQuery relroOf(const void* address)
{
    RelroQuery query{reinterpret_cast<uintptr_t>(address)};
    dl_iterate_phdr(
            [](dl_phdr_info* info, size_t, void* data) {
                auto& q = *static_cast<RelroQuery*>(data);
                const memray::payload::elf::LoadedObject object(*info);
                if (!object.contains(q.address)) {
                    return 0;
                }
                object.relroPages(4096, &q.start, &q.end);
                return 1;
            },
            &query);
    return query;
}

void expectReadOnly(const std::vector<RelroQuery>& relros, const char* when)
{
    const std::vector<Mapping> maps = readMaps();
    for (const RelroQuery& relro : relros) {
        for (uintptr_t page = relro.start; page < relro.end; page += 4096) {
            EXPECT_EQ(permsAt(maps, page), "r--p")
                    << "RELRO page " << std::hex << page << " " << when;
        }
    }
}

TEST(GotPatcher, RelroPagesAreReadOnlyAgainAfterPatchingAndRestoring)
{
    const std::vector<Lib> libs = linkedLibs();
    const std::vector<RelroQuery> relros{
            relroOf(reinterpret_cast<const void*>(&got_patcher_testlib_now_exercise)),
            relroOf(reinterpret_cast<const void*>(&got_patcher_testlib_noplt_exercise)),
            relroOf(reinterpret_cast<const void*>(&readMaps)),  // this executable
            relroOf(reinterpret_cast<const void*>(&strlen)),   // libc, whose GOT has malloc
    };
    for (const RelroQuery& relro : relros) {
        ASSERT_LT(relro.start, relro.end) << "expected RELRO pages";
    }
    expectReadOnly(relros, "before patching");
    const std::vector<Mapping> before = readMaps();

    GotPatcher patcher = makePatcher();
    ASSERT_GT(patcher.patchNewObjects(), 0U);
    expectReadOnly(relros, "after patching");
    // The RELRO slots really were written (so the pages really were made writable meanwhile).
    EXPECT_EQ(exerciseOnce(libs[1]), times(1));
    EXPECT_EQ(exerciseOnce(libs[2]), times(1));

    // No page of any loaded file changed its protection. (Anonymous mappings come and go with
    // malloc, so only file mappings are compared.)
    const std::vector<Mapping> after = readMaps();
    for (const Mapping& m : before) {
        if (m.path.empty() || m.path[0] != '/') {
            continue;
        }
        EXPECT_EQ(permsAt(after, m.start), m.perms) << m.path << " at " << std::hex << m.start;
        EXPECT_EQ(permsAt(after, m.end - 1), m.perms) << m.path << " at " << std::hex << m.end - 1;
    }

    patcher.restoreAll();
    expectReadOnly(relros, "after restoring");
}

// ---- Concurrency ----

TEST(GotPatcher, PatchingAndRestoringWhileThreadsAllocate)
{
    constexpr int kThreads = 4;
    constexpr int kRounds = 200;
    const std::vector<Lib> libs = linkedLibs();
    std::array<Counts, 3> start{};
    for (size_t l = 0; l < libs.size(); ++l) {
        start[l] = snapshot(libs[l].id);
    }

    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::atomic<uint64_t> total_calls{0};
    std::array<std::array<uint64_t, 3>, kThreads> calls{};  // per thread, per library
    auto churn = [&](int t) {
        for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            const size_t l = (i + static_cast<uint64_t>(t)) % libs.size();
            if (libs[l].exercise() != 1) {
                failed = true;
            }
            ++calls[t][l];
            total_calls.fetch_add(1, std::memory_order_relaxed);
        }
    };

    GotPatcher patcher = makePatcher();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(churn, t);
    }
    size_t restored_more_than_written = 0;
    // On a loaded machine waiting for the threads could take long: past this budget the rounds
    // go on without waiting.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (int round = 0; round < kRounds; ++round) {
        const size_t written = patcher.patchNewObjects();
        // Let the threads make a few calls through the hooks before restoring.
        const uint64_t target = total_calls.load() + kThreads;
        while (total_calls.load() < target && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        // A slot can be lost to a lazy-binding fixup that raced with the patch, so fewer may
        // be restored than written, never more.
        restored_more_than_written += patcher.restoreAll() > written;
    }
    stop = true;
    for (std::thread& thread : threads) {
        thread.join();
    }
    EXPECT_FALSE(failed) << "a library call failed while its GOT was being rewritten";
    EXPECT_EQ(restored_more_than_written, 0U);
    EXPECT_EQ(patcher.patchedSlots(), 0U);

    // Every hooked call was a real call of the library, and some calls were hooked.
    uint64_t hooked_mallocs = 0;
    for (size_t l = 0; l < libs.size(); ++l) {
        uint64_t lib_calls = 0;
        for (int t = 0; t < kThreads; ++t) {
            lib_calls += calls[t][l];
        }
        const Counts counts = since(libs[l].id, start[l]);
        for (int fn = 0; fn < got_test::kFnCount; ++fn) {
            EXPECT_LE(counts[fn], kPerCall[fn] * lib_calls) << libs[l].name << " " << kFnNames[fn];
        }
        hooked_mallocs += counts[got_test::kMalloc];
    }
    EXPECT_GT(hooked_mallocs, 0U);

    // Once the patching stops, the counts are exact again: all calls hooked while patched...
    constexpr int kCalls = 500;
    auto runAll = [&] {
        std::vector<std::thread> workers;
        for (int t = 0; t < kThreads; ++t) {
            workers.emplace_back([&] {
                for (int i = 0; i < kCalls; ++i) {
                    for (const Lib& lib : libs) {
                        if (lib.exercise() != 1) {
                            failed = true;
                        }
                    }
                }
            });
        }
        for (std::thread& worker : workers) {
            worker.join();
        }
    };
    for (size_t l = 0; l < libs.size(); ++l) {
        start[l] = snapshot(libs[l].id);
    }
    patcher.patchNewObjects();
    runAll();
    for (size_t l = 0; l < libs.size(); ++l) {
        EXPECT_EQ(since(libs[l].id, start[l]), times(kThreads * kCalls)) << libs[l].name;
        start[l] = snapshot(libs[l].id);
    }
    // ...and none once restored.
    patcher.restoreAll();
    runAll();
    for (size_t l = 0; l < libs.size(); ++l) {
        EXPECT_EQ(since(libs[l].id, start[l]), times(0)) << libs[l].name;
    }
    EXPECT_FALSE(failed);
}

}  // namespace
