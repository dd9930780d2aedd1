#include "python_stack.h"

namespace memray::payload {

size_t walkWholePythonStack(const PythonFrameWalker& walker, const void* stop_code, std::vector<RawFrame>& frames)
{
    if (frames.empty()) {
        frames.resize(128);
    }
    for (;;) {
        size_t count = walker.walkCurrentThread(frames.data(), frames.size(), stop_code);
        if (count < frames.size() || frames.size() >= kMaxFrames) {
            return count;
        }
        frames.resize(frames.size() * 2);
    }
}

WalkedStack walkPythonStack(const PythonFrameWalker& walker, const void* stop_code, bool exits_watched,
                            ThreadState* thread)
{
    if (thread->frames.empty()) {
        thread->frames.resize(128);
    }
    WalkedStack stack;
    if (!exits_watched) {
        stack.count = walkWholePythonStack(walker, stop_code, thread->frames);
        return stack;
    }
    // Everything outside the innermost cached frame still on the stack is as cached: walk down
    // to that frame (it may have moved on) and keep the rest. If it is not found (a greenlet
    // switched stacks, say), the walk went all the way down and is the whole stack.
    const uint32_t on_stack = thread->cached_frames_on_stack;
    const void* stop_frame = on_stack > 0 ? thread->stack_cache[on_stack - 1].frame : nullptr;
    auto walk = walker.walkCurrentThreadDownTo(thread->frames.data(), thread->frames.size(), stop_code, stop_frame);
    stack.exits_watched = !walk.inside_trace_function && walk.exits_reported;
    stack.inside_trace_function = walk.inside_trace_function;
    // The same activation runs the same code; another code at that address means an exit went
    // unseen (a cheap net: the events should make this impossible).
    const bool same_code =
            walk.reached_stop_frame && thread->frames[walk.count - 1].code == thread->stack_cache[on_stack - 1].code;
    if (walk.reached_stop_frame && (!stack.exits_watched || !same_code)) {
        // Frames may have come and gone unseen (inside a trace function, a profile function
        // not ours since the last allocation, or an exit event missed): trust nothing.
        stack.count = walkWholePythonStack(walker, stop_code, thread->frames);
    } else if (walk.reached_stop_frame) {
        stack.kept = on_stack - 1;
        stack.count = walk.count;
        // Whether the anchor is an entry frame shows in the frame outside it (3.12+'s C-stack
        // shim), which the walk stopped short of. It is the same activation, so the same as
        // cached (a frame's entry is fixed while it runs).
        // A generator or coroutine anchor is the exception: it is read (two loads), since its
        // entry was seen to change while it stayed on the stack under the same callers (a
        // chain of coroutines under asyncio, 3.12, --native with the Python allocators).
        thread->frames[walk.count - 1].entry = walker.frameOwnedByGenerator(stop_frame)
                                                       ? walker.frameIsEntry(stop_frame)
                                                       : thread->stack_cache[on_stack - 1].entry;
    } else if (walk.count < thread->frames.size()) {
        stack.count = walk.count;
    } else {
        stack.count = walkWholePythonStack(walker, stop_code, thread->frames);  // the scratch was too small
    }
    return stack;
}

void noteFrameExit(const PythonFrameWalker& walker, ThreadState* thread)
{
    if (thread->cached_frames_on_stack > 0) {
        noteFrameExitAt(thread, walker.innermostFrameAddress());
    }
}

bool partialWalkMatches(const PythonFrameWalker& walker, const void* stop_code, ThreadState* thread,
                        const WalkedStack& stack, bool native)
{
    const size_t full_count = walkWholePythonStack(walker, stop_code, thread->verify_frames);
    const std::vector<RawFrame>& full = thread->verify_frames;
    const size_t total = stack.kept + stack.count;
    if (full_count != total) {
        return false;
    }
    for (size_t depth = 0; depth < total; ++depth) {
        const RawFrame& expected = full[total - 1 - depth];
        const void* code;
        int32_t offset;
        bool entry;
        if (depth < stack.kept) {
            code = thread->stack_cache[depth].code;
            offset = thread->stack_cache[depth].byte_offset;
            entry = thread->stack_cache[depth].entry;
        } else {
            code = thread->frames[total - 1 - depth].code;
            offset = thread->frames[total - 1 - depth].byte_offset;
            entry = native && thread->frames[total - 1 - depth].entry;
        }
        // Native captures pair entry frames with the native stack: those must match too.
        if (code != expected.code || offset != expected.byte_offset || entry != (native && expected.entry)) {
            return false;
        }
    }
    return true;
}

}  // namespace memray::payload
