#include "native_trie.h"

namespace memray::payload {

void NativeTrie::reset()
{
    ids_.clear();
    next_id_ = 1;
    ++epoch_;
}

uint32_t NativeTrie::intern(ThreadState* thread, void* const* addresses, size_t count, NativeFrameSink& sink)
{
    std::vector<CachedNativeFrame>& cache = thread->native_cache;
    if (thread->native_cache_epoch != epoch_) {
        cache.clear();
        thread->native_cache_epoch = epoch_;
    }
    // Both are outermost first. Keep the common prefix.
    size_t common = 0;
    const size_t limit = std::min(count, cache.size());
    while (common < limit && cache[common].address == reinterpret_cast<uintptr_t>(addresses[common])) {
        ++common;
    }
    cache.resize(common);
    uint32_t id = common ? cache[common - 1].native_id : 0;
    for (size_t depth = common; depth < count; ++depth) {
        const auto address = reinterpret_cast<uintptr_t>(addresses[depth]);
        auto [it, inserted] = ids_.try_emplace(Key{id, address}, next_id_);
        if (inserted) {
            ++next_id_;
            sink.writeNativeFrame(id, address);
        }
        id = it->second;
        cache.push_back(CachedNativeFrame{address, id});
    }
    return id;
}

}  // namespace memray::payload
