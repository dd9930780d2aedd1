#include "stack_table.h"

#include "memray/format/capture_format.h"

#include <algorithm>

namespace memray::payload {

void StackTable::reset()
{
    code_ids_.clear();
    frame_ids_.clear();
    stack_ids_.clear();
    next_code_id_ = next_frame_id_ = next_stack_id_ = 1;
    std::fill(child_slots_.begin(), child_slots_.end(), ChildSlot{});
}

uint32_t StackTable::internCode(const void* code, RecordSink& sink)
{
    auto [it, inserted] = code_ids_.try_emplace(code, next_code_id_);
    if (inserted) {
        ++next_code_id_;
        walker_->readCode(code, &code_text_);
        sink.writeCode(code_text_);
    }
    return it->second;
}

void StackTable::forgetCode(const void* code, ThreadState* threads)
{
    auto found = code_ids_.find(code);
    if (found == code_ids_.end()) {
        return;  // never interned: nothing refers to it
    }
    // Its frames and stack nodes stay in their maps under the old code id, which nothing will
    // look up again: the next code object at this address gets an id (and names) of its own.
    code_ids_.erase(found);
    for (ChildSlot& slot : child_slots_) {
        if (slot.code == code) {
            slot = ChildSlot{};
        }
    }
    for (ThreadState* thread = threads; thread; thread = thread->next) {
        std::vector<CachedFrame>& cache = thread->stack_cache;
        for (size_t depth = 0; depth < cache.size(); ++depth) {
            if (cache[depth].code == code) {
                cache.resize(depth);
                // A frame on the stack holds its code, so this cuts nothing the anchor vouches
                // for; if it did, the anchor falls back to a reported frame that is left.
                if (thread->cached_frames_on_stack > depth) {
                    thread->cached_frames_on_stack = depth > 0 ? cache[depth - 1].watched_through : 0;
                }
                break;
            }
        }
    }
}

uint32_t StackTable::internFrame(const RawFrame& frame, RecordSink& sink)
{
    uint32_t code_id = internCode(frame.code, sink);
    uint64_t key = (static_cast<uint64_t>(code_id) << 32) | static_cast<uint32_t>(frame.byte_offset);
    auto [it, inserted] = frame_ids_.try_emplace(key, next_frame_id_);
    if (inserted) {
        ++next_frame_id_;
        int line = walker_->lineNumber(frame);
        sink.writeFrame(code_id, line > 0 ? static_cast<uint32_t>(line) : 0);
    }
    return it->second;
}

uint32_t StackTable::internStack(uint32_t parent, uint32_t frame_id, bool entry, RecordSink& sink)
{
    // Frame ids stay far below 2^31; entry is always false outside native captures.
    uint64_t key = (static_cast<uint64_t>(parent) << 32) | (static_cast<uint64_t>(frame_id) << 1) | (entry ? 1 : 0);
    auto [it, inserted] = stack_ids_.try_emplace(key, next_stack_id_);
    if (inserted) {
        ++next_stack_id_;
        sink.writeStack(parent, frame_id, entry ? uint64_t{format::kStackFlagEntry} : uint64_t{0});
    }
    return it->second;
}

uint32_t StackTable::internChildMiss(uint32_t parent, const RawFrame& frame, bool entry, RecordSink& sink, ChildSlot* set)
{
    uint32_t stack_id = internStack(parent, internFrame(frame, sink), entry, sink);
    set[1] = set[0];
    set[0] = ChildSlot{frame.code, parent, frame.byte_offset, stack_id, static_cast<uint32_t>(entry)};
    return stack_id;
}

void StackTable::refreshExitWatch(ThreadState* thread) const
{
    std::vector<CachedFrame>& cache = thread->stack_cache;
    for (size_t depth = 0; depth < cache.size(); ++depth) {
        cache[depth].watched_through = watchedThrough(*thread, depth, cache[depth].code, cache[depth].frame);
    }
}

uint32_t StackTable::intern(ThreadState* thread, size_t kept, const RawFrame* frames, size_t count, RecordSink& sink)
{
    // The new stack, outermost first, is cache[0..kept) then frames[count-1] .. frames[0]:
    // depth d >= kept is frames[total - 1 - d]. Keep the common prefix with the cache.
    std::vector<CachedFrame>& cache = thread->stack_cache;
    if (count == 1 && kept + 1 == cache.size()) {
        // The common case of a partial walk, without the general loop's vector traffic: only
        // the innermost frame was re-read, and it is the cached one, perhaps moved on.
        CachedFrame& cached = cache.back();
        const RawFrame& frame = frames[0];
        const bool entry = native_ && frame.entry;
        if (cached.code != frame.code || cached.byte_offset != frame.byte_offset || cached.entry != entry) {
            const uint32_t parent = kept ? cache[kept - 1].stack_id : 0;
            cached = CachedFrame{frame.code, frame.byte_offset, frame.frame, internChild(parent, frame, entry, sink),
                                 watchedThrough(*thread, kept, frame.code, frame.frame), entry};
            cached.entries_through = (kept ? cache[kept - 1].entries_through : 0) + (entry ? 1 : 0);
        }
        cached.frame = frame.frame;
        return cached.stack_id;
    }
    const size_t total = kept + count;
    size_t common = kept;
    size_t limit = std::min(total, cache.size());
    while (common < limit) {
        const RawFrame& frame = frames[total - 1 - common];
        CachedFrame& cached = cache[common];
        if (cached.code != frame.code || cached.byte_offset != frame.byte_offset
            || (native_ && cached.entry != frame.entry))
        {
            break;
        }
        // Same code and position, maybe another activation: the address is the new one's.
        cached.frame = frame.frame;
        ++common;
    }
    cache.resize(common);
    uint32_t stack_id = common ? cache[common - 1].stack_id : 0;
    for (size_t depth = common; depth < total; ++depth) {
        const RawFrame& frame = frames[total - 1 - depth];
        const bool entry = native_ && frame.entry;
        stack_id = internChild(stack_id, frame, entry, sink);
        cache.push_back(CachedFrame{frame.code, frame.byte_offset, frame.frame, stack_id,
                                    watchedThrough(*thread, depth, frame.code, frame.frame), entry});
        cache.back().entries_through = (depth ? cache[depth - 1].entries_through : 0) + (entry ? 1 : 0);
    }
    return stack_id;
}

}  // namespace memray::payload
