// Unwinding the calling thread's native (C/C++) stack, for native mode.
//
// Incremental: each thread keeps the frames of its previous unwind, and the next one walks
// from the top only until it reaches a frame of that walk in exactly the state the walk saw it
// (same return address, same stack pointer, same rbp where the rest of the walk depends on
// it), whose whole remaining walk is provably unchanged: every stack word that walk read (each
// saved return address, each saved rbp) still holds the value read. The walk being a function
// of those registers, those words and the (unchanged) unwind tables, the remaining frames are
// then exactly what a full walk would find, so they are reused. Most allocations share all but
// their innermost few frames with the previous one, and a memory read per reused frame is far
// cheaper than an unwind step.
//
// Deep Python stacks make deep native ones wherever Python frames are entered from C: each such
// frame has its own call of the evaluation loop (_PyEval_EvalFrameDefault), which is every
// frame on 3.7-3.10. There the words need not be read at all. The Python side proves which
// evaluation calls have not returned since the previous unwind (PythonProof); a frame reached
// in its old state at or outside such a call has not returned either, nor has any frame
// between it and the outermost proven call, so every word their steps read (a return address
// pushed by a call, an rbp saved by a prologue) still holds what was read. Only the frames
// outside the outermost proven call (process and thread start-up, a greenlet's parent stack)
// are still checked, which makes the cost of an unwind independent of the stack's depth.
//
// The walk reads .eh_frame itself (frame_rules.h) for the usual shapes of frame, caching each
// code address's rule per thread. A stack with a frame of any other shape (a signal frame,
// code without unwind tables, a stack realignment) is unwound whole by libunwind, as is every
// stack when the fast walk cannot be used. libunwind reads .eh_frame too, so both work on code
// built without frame pointers (CPython and most distribution libraries). Neither takes the
// GIL; what libunwind allocates for its caches goes through its own GOT slot, which the
// recursion guard of the allocating thread keeps out of the capture.
#pragma once

#include "frame_rules.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace memray::payload {

namespace native_unwinder {

// A thread's native stack, outermost frame first: return addresses (the innermost is the
// address in the function that called the allocator), without the payload's own frames.
struct NativeStack
{
    void* const* outermost_first;
    size_t count;
    // The thread's unwinds are numbered; the outermost `unchanged` addresses are the same as
    // those of the thread's unwind numbered `sequence - 1`.
    uint64_t sequence = 0;
    size_t unchanged = 0;
};

// What one thread keeps between its unwinds. Used only by its own thread, and its members only
// by native_unwinder.cpp.
struct ThreadUnwindState
{
    ThreadUnwindState();
    ~ThreadUnwindState();
    ThreadUnwindState(const ThreadUnwindState&) = delete;
    ThreadUnwindState& operator=(const ThreadUnwindState&) = delete;

    // One frame of the previous walk, in the state the walk found it.
    struct Frame
    {
        uintptr_t sp;  // the stack pointer in this frame (the CFA of its callee)
        uintptr_t bp;  // rbp in this frame
        int32_t rbp_offset;  // where this frame's step read its caller's rbp (0: not read)
        // How many evaluation-loop frames there are from this one outwards, this one included.
        uint32_t evals_outside;
        bool needs_bp;  // whether the walk from here outwards depends on this frame's rbp
    };
    // A stack word a frame's step read, and the value read. Each frame has two: the return
    // address of its caller, and its caller's rbp where the walk outside depends on it (else a
    // word that never changes). The outermost frame's first one is the zero word that ended the
    // walk, if one did.
    struct Check
    {
        const uintptr_t* address;
        uintptr_t value;
    };
    struct RuleSlot
    {
        uintptr_t pc = 0;
        FrameRule rule;
    };
    static constexpr size_t kRuleSlots = 2048;

    // The previous walk, outermost first, and its return addresses (the same order): when a
    // frame matches, everything outside it is kept in place and the new frames written after.
    std::unique_ptr<Frame[]> frames_;
    std::unique_ptr<void*[]> addresses_;
    std::unique_ptr<Check[]> checks_;  // two per frame, the same order
    size_t count_ = 0;
    size_t capacity_ = 0;
    // This walk's new frames, innermost first, until it reaches one it can keep.
    std::unique_ptr<Frame[]> fresh_;
    std::unique_ptr<void*[]> fresh_addresses_;
    size_t fresh_capacity_ = 0;
    // A stack libunwind unwound (outermost first): no frames are kept from it.
    std::vector<void*> fallback_;
    std::vector<void*> scratch_;  // libunwind's output, innermost first
    std::unique_ptr<RuleSlot[]> rules_;
    uint64_t rules_generation_ = 0;
    uint64_t sequence_ = 0;  // of the latest unwind
    size_t shown_ = 0;  // how many addresses the latest unwind returned
};

// Process-wide set-up before a native capture starts: loads libunwind, sets its cache policy,
// finds the payload's own code range. Idempotent. False, with the reason, if libunwind cannot
// be loaded.
bool prepare(std::string* error);

// What the calling thread's Python stack proves about its native one. Count the native frames
// of evaluation-loop calls (_PyEval_EvalFrameDefault) from the top of the stack, 1 being the
// innermost: the calls numbered `inner` to `outer` each run a Python entry frame (the first
// frame of a call of the loop, entered from C) that is the same activation as at the thread's
// previous unwind, suspended in a call or running. None of those calls has returned since, nor
// any native frame between them. 0: nothing is proven.
//
// The numbering must never count an evaluation call the Python stack does not show (that would
// make a newer call pass for an older one); missing one is harmless (fewer frames are trusted).
struct PythonProof
{
    uint32_t inner = 0;
    uint32_t outer = 0;
    // The unwind the proof is relative to (NativeStack::sequence): it holds only if that is the
    // thread's latest.
    uint64_t since = 0;
    // Where known (3.12+), an address inside the native frame of the call numbered `inner`, and
    // one inside that of the call numbered `outer`: the numbering is checked against them, and
    // nothing is trusted if it disagrees.
    const void* inner_address = nullptr;
    const void* outer_address = nullptr;
};

// The calling thread's stack. Valid until the thread's next unwind.
NativeStack unwind(ThreadUnwindState& state, const PythonProof& proof = PythonProof{});

// Forgets cached unwind information (after dlclose: the addresses may be reused).
void flushCaches();

// MEMRAY_NATIVE_UNWIND_VERIFY=1: every stack is also unwound whole by libunwind and compared;
// mismatches are printed (the first few in full). The counts since the last call.
struct VerifyCounts
{
    uint64_t checked = 0;
    uint64_t mismatches = 0;
    uint64_t fallbacks = 0;  // stacks the fast walk left to libunwind
    uint64_t frames_walked = 0;  // by the fast walk, payload frames included
    uint64_t frames_reused = 0;
    // Unwinds whose reused frames were taken on the Python stack's proof, their words unread.
    uint64_t proven_reuses = 0;
};
void setVerify(bool on);
VerifyCounts takeVerifyCounts();

}  // namespace native_unwinder
}  // namespace memray::payload
