#include "safe_point.h"

#include "remote_memory.h"

#include <cstdio>

namespace memray::injector {

namespace {

constexpr size_t kMaxFrames = 512;
// struct r_debug { int r_version; struct link_map* r_map; ElfW(Addr) r_brk; r_state; ... }
constexpr uint64_t kRStateOffset = 24;
constexpr int kRtConsistent = 0;

const char* const kAllocatorFunctions[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign", "aligned_alloc",
    "valloc", "pvalloc", "cfree", "malloc_trim", "malloc_usable_size", "mallinfo", "mallinfo2", "malloc_stats",
    "malloc_info", "mallopt", "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
    "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
};
const char* const kLoaderFunctions[] = {
    "dlopen", "dlclose", "dlsym", "dlvsym", "dlmopen", "dladdr", "dladdr1", "dlinfo", "dlerror",
    "dl_iterate_phdr", "__libc_dlopen_mode", "__libc_dlsym", "__libc_dlclose",
};
// (Not system() or popen(): they wait for their child without holding a lock, and glibc's
// system() tail-calls its implementation, so its own frame is never on the stack anyway.)
const char* const kThreadAndProcessFunctions[] = {
    "pthread_create", "fork", "_Fork", "vfork", "posix_spawn", "posix_spawnp", "pthread_exit",
};
const char* const kExitFunctions[] = {"exit", "_exit", "_Exit", "quick_exit"};

std::string hex(uint64_t value)
{
    char text[32];
    std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace

SafePointChecker::SafePointChecker(pid_t pid, TargetModules& modules, const std::string& payload_path)
: pid_(pid)
{
    auto add_functions = [this](const Module* module, const auto& names, const std::string& what) {
        if (!module) {
            return;
        }
        for (const char* name : names) {
            if (auto extent = module->extent(name)) {
                forbidden_.push_back({*extent, what + " (" + name + ")"});
            }
        }
    };
    for (const Module* module : {modules.libc(), modules.libdl()}) {
        add_functions(module, kAllocatorFunctions, "the allocator");
        add_functions(module, kLoaderFunctions, "the dynamic loader");
        add_functions(module, kThreadAndProcessFunctions, "thread or process creation");
        add_functions(module, kExitFunctions, "process exit");
    }
    for (const AddressRange& range : modules.rangesOf(isDynamicLoaderName)) {
        forbidden_.push_back({range, "the dynamic loader (ld.so)"});
    }
    const std::string payload_name = baseName(payload_path);
    for (const AddressRange& range : modules.rangesOf([&](const std::string& base) { return base == payload_name; })) {
        forbidden_.push_back({range, "memray's payload"});
    }
    if (const Module* loader = modules.dynamicLoader()) {
        if (auto r_debug = loader->address("_r_debug")) {
            r_state_address_ = *r_debug + kRStateOffset;
        }
    }
    payload_name_ = payload_name;
    unwinder_ = std::make_unique<RemoteUnwinder>(pid, modules.maps());
}

SafePointChecker::~SafePointChecker() = default;

void SafePointChecker::refresh()
{
    std::vector<MapEntry> maps;
    try {
        maps = readMaps(pid_);
    } catch (...) {
        return;
    }
    unwinder_->refresh(maps);
    // The payload, loaded since by an attach that failed later on.
    for (const MapEntry& mapping : maps) {
        if (baseName(mapping.path) == payload_name_ && !find(mapping.start)) {
            forbidden_.push_back({{mapping.start, mapping.end}, "memray's payload"});
        }
    }
}

const SafePointChecker::Forbidden* SafePointChecker::find(uint64_t address) const
{
    for (const Forbidden& entry : forbidden_) {
        if (entry.range.contains(address)) {
            return &entry;
        }
    }
    return nullptr;
}

std::optional<std::string> SafePointChecker::check(pid_t tid, const user_regs_struct& regs)
{
    last_depth_ = 0;
    if (r_state_address_ != 0) {
        auto state = readRemoteValue<int32_t>(pid_, r_state_address_);
        if (state && *state != kRtConsistent) {
            return std::string("the dynamic loader is busy in another thread (r_state ") + std::to_string(*state) + ")";
        }
    }
    RemoteUnwinder::Walk walk = unwinder_->walk(regs, kMaxFrames);
    last_depth_ = walk.ips.size();
    for (size_t depth = 0; depth < walk.ips.size(); ++depth) {
        const uint64_t ip = walk.ips[depth];
        // Outer frames hold return addresses: the call itself is the byte before.
        if (const Forbidden* entry = find(depth == 0 ? ip : ip - 1)) {
            return "thread " + std::to_string(tid) + " is inside " + entry->what + " (frame #" + std::to_string(depth)
                   + " at " + hex(ip) + ")";
        }
    }
    if (walk.error < 0) {
        return "cannot unwind thread " + std::to_string(tid) + " past frame #" + std::to_string(walk.ips.size())
               + (walk.ips.empty() ? std::string() : " at " + hex(walk.ips.back())) + " (libunwind error "
               + std::to_string(walk.error) + ")";
    }
    if (walk.ips.size() >= kMaxFrames) {
        return "thread " + std::to_string(tid) + " has more than " + std::to_string(kMaxFrames) + " frames";
    }
    return std::nullopt;
}

}  // namespace memray::injector
