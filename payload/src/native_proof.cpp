#include "native_proof.h"

#include <algorithm>

namespace memray::payload {

native_unwinder::PythonProof proveNativeFrames(const PythonFrameWalker& walker, const ThreadState& thread,
                                               const WalkedStack& stack)
{
    if (stack.kept == 0 || stack.count == 0 || stack.kept > thread.stack_cache.size()) {
        return {};
    }
    // The innermost frame the interpreter links must be the walk's innermost: a frame the walk
    // leaves out there (one still making its cells, before its first instruction) may be the
    // first frame of an evaluation call the count below would miss.
    if (walker.innermostFrameAddress() != thread.frames[0].frame) {
        return {};
    }
    // 3.11 has no C-stack shim to check the numbering against (below): an entry frame left out
    // between the walk's frames (one in its prologue whose allocation ran a finalizer) would
    // make the count name a call at or inside the anchor, which is still running. One hidden
    // among the kept frames only makes the outer bound more cautious.
    if (walker.pythonMinor() == 11 && !walker.linkedConsecutively(thread.frames.data(), stack.count)) {
        return {};
    }
    const uint32_t kept_entries = thread.stack_cache[stack.kept - 1].entries_through;
    if (kept_entries == 0) {
        return {};
    }
    uint32_t fresh_entries = 0;
    for (size_t i = 0; i < stack.count; ++i) {
        fresh_entries += thread.frames[i].entry ? 1 : 0;
    }
    // The innermost kept entry frame's call comes after the fresh entry frames' calls; the
    // outermost kept one's is the last of all. Both are relative to the unwind made with the
    // cached stack.
    native_unwinder::PythonProof proof{fresh_entries + 1, fresh_entries + kept_entries, thread.native_cache_sequence};
    // 3.12+ tells where those calls' native frames are, which checks the numbering.
    if (walker.pythonMinor() >= 12) {
        const auto first_with = [&](uint32_t entries) {
            return std::partition_point(thread.stack_cache.begin(), thread.stack_cache.begin() + stack.kept,
                                        [entries](const CachedFrame& frame) { return frame.entries_through < entries; });
        };
        proof.inner_address = walker.evaluationCallAddress(first_with(kept_entries)->frame);
        proof.outer_address = walker.evaluationCallAddress(first_with(1)->frame);
        if (proof.inner_address == nullptr || proof.outer_address == nullptr) {
            return {};
        }
    }
    return proof;
}

}  // namespace memray::payload
