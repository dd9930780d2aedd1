// Interning of Python code objects, frames and stacks into the capture's id spaces.
//
// Each distinct code object, (code, instruction) frame and (parent stack, frame) stack node is
// written once, the first time an allocation needs it; allocations then refer to a stack by id.
// This is the whole reason a capture stays small: a loop allocating from one place costs a
// few bytes per allocation, whatever its stack depth.
#pragma once

#include "exit_watched_codes.h"
#include "python_frames.h"
#include "thread_state.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace memray::payload {

class RecordSink;

class StackTable
{
  public:
    // Forgets every id (a new capture, or a forked child's new file).
    void reset();

    // The stack id of the thread's stack, writing any new code/frame/stack records through
    // `sink`: the outermost `kept` frames of the thread's stack cache, taken as they are, under
    // `frames` (innermost first, `count` of them), all freshly walked. `kept` is 0 after a
    // full walk. Updates the stack cache to the new stack. 0 for an empty stack. Call with the
    // tracker's lock held.
    uint32_t intern(ThreadState* thread, size_t kept, const RawFrame* frames, size_t count, RecordSink& sink);

    // `code` is about to be freed (its address may soon name another code object): drops its id
    // and every cached stack node through it, here and in the stack caches of `threads` (a list
    // linked through ThreadState::next). Call with the tracker's lock held.
    void forgetCode(const void* code, ThreadState* threads);

    void setWalker(const PythonFrameWalker* walker) { walker_ = walker; }
    // Native captures: stack nodes also tell entry frames apart (format::kStackFlagEntry).
    void setNative(bool native) { native_ = native; }
    // The code objects whose frames report their exits (CachedFrame::watched_through).
    void setExitWatchedCodes(const ExitWatchedCodes* codes) { exit_watched_ = codes; }

    // Recomputes CachedFrame::watched_through over the thread's cache (a code object's frames
    // started reporting their exits since it was built).
    void refreshExitWatch(ThreadState* thread) const;

    // CachedFrame::watched_through for `frame` (a live frame of the calling thread) running
    // `code` at `depth` of `thread`'s cache, with cache[0..depth) as they are. Generator and
    // coroutine frames are watched only where their yields are reported too: everywhere with a
    // profile function, on 3.12+ where their code has local events (exit_watched_codes.h).
    uint32_t watchedThrough(const ThreadState& thread, size_t depth, const void* code, const void* frame) const
    {
        const std::vector<CachedFrame>& cache = thread.stack_cache;
        if (thread.every_exit_reported
            || (exit_watched_ != nullptr && exit_watched_->covers(code)
                && (!walker_->frameOwnedByGenerator(frame) || exit_watched_->watchesLocally(code)))) {
            return static_cast<uint32_t>(depth + 1);
        }
        return depth > 0 ? cache[depth - 1].watched_through : 0;
    }

  private:
    // A cache of (parent stack, code, byte offset, entry) -> stack id, the result of the three
    // map lookups internChild would otherwise make. Set-associative and lossy: a slot holds a
    // key hashed to its set, compared in full, so a hit is always the id the maps would give.
    // The maps never drop an entry before reset(), which clears this too. Two ways per set,
    // the most recently filled first: a deep recursion's few thousand stack nodes no longer
    // evict each other in pairs, which sent a third of its allocations to the maps.
    struct ChildSlot
    {
        const void* code = nullptr;
        uint32_t parent = 0;
        int32_t byte_offset = 0;
        uint32_t stack_id = 0;  // 0: empty
        uint32_t entry = 0;

        bool matches(uint32_t parent_id, const RawFrame& frame, bool frame_entry) const
        {
            return stack_id != 0 && code == frame.code && parent == parent_id && byte_offset == frame.byte_offset
                   && entry == static_cast<uint32_t>(frame_entry);
        }
    };

    uint32_t internCode(const void* code, RecordSink& sink);
    uint32_t internFrame(const RawFrame& frame, RecordSink& sink);
    uint32_t internStack(uint32_t parent, uint32_t frame_id, bool entry, RecordSink& sink);
    // The stack id of (parent stack, frame), through the set-associative cache in front of the
    // three maps below. The hit is inline: most allocations come here (a loop's allocations
    // move the innermost frame between a few positions) and almost all of them hit.
    uint32_t internChild(uint32_t parent, const RawFrame& frame, bool entry, RecordSink& sink)
    {
        uint64_t hash = reinterpret_cast<uintptr_t>(frame.code) ^ (static_cast<uint64_t>(parent) << 32)
                        ^ static_cast<uint32_t>(frame.byte_offset) ^ (entry ? uint64_t{1} << 31 : 0);
        hash *= 0x9E3779B97F4A7C15ull;
        ChildSlot* set = &child_slots_[(hash >> (64 - kChildSetBits)) * 2];
        if (set[0].matches(parent, frame, entry)) {
            return set[0].stack_id;
        }
        if (set[1].matches(parent, frame, entry)) {
            return set[1].stack_id;
        }
        return internChildMiss(parent, frame, entry, sink, set);
    }
    [[gnu::noinline]] uint32_t internChildMiss(uint32_t parent, const RawFrame& frame, bool entry, RecordSink& sink,
                                               ChildSlot* set);

    static constexpr unsigned kChildSetBits = 12;
    static constexpr size_t kChildSlots = size_t{2} << kChildSetBits;  // 2-way sets
    std::vector<ChildSlot> child_slots_ = std::vector<ChildSlot>(kChildSlots);

    const PythonFrameWalker* walker_ = nullptr;
    const ExitWatchedCodes* exit_watched_ = nullptr;
    bool native_ = false;
    std::unordered_map<const void*, uint32_t> code_ids_;
    std::unordered_map<uint64_t, uint32_t> frame_ids_;  // code id << 32 | byte offset
    std::unordered_map<uint64_t, uint32_t> stack_ids_;  // parent << 32 | frame id << 1 | entry
    uint32_t next_code_id_ = 1;
    uint32_t next_frame_id_ = 1;
    uint32_t next_stack_id_ = 1;
    CodeText code_text_;
};

// Where StackTable writes the records it creates (the tracker's encoder).
class RecordSink
{
  public:
    virtual void writeCode(const CodeText& code) = 0;
    virtual void writeFrame(uint32_t code_id, uint32_t line) = 0;
    virtual void writeStack(uint32_t parent_id, uint32_t frame_id, uint64_t flags) = 0;

  protected:
    ~RecordSink() = default;
};

}  // namespace memray::payload
