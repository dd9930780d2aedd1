#include "native_trie.h"

namespace memray::payload {

void NativeTrie::reset()
{
    ids_.clear();
    next_id_ = 1;
    ++epoch_;
}

uint32_t NativeTrie::intern(ThreadState* thread, const native_unwinder::NativeStack& stack, NativeFrameSink& sink)
{
    void* const* addresses = stack.outermost_first;
    const size_t count = stack.count;
    std::vector<CachedNativeFrame>& cache = thread->native_cache;
    if (thread->native_cache_epoch != epoch_) {
        cache.clear();
        thread->native_cache_epoch = epoch_;
    }
    // Both are outermost first. Keep the common prefix: at least what the unwinder knows is
    // unchanged since the previous unwind, if the cache holds that one's stack.
    const size_t limit = std::min(count, cache.size());
    size_t common = thread->native_cache_sequence + 1 == stack.sequence ? std::min(stack.unchanged, limit) : 0;
    thread->native_cache_sequence = stack.sequence;
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
