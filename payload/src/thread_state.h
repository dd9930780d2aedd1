// What the payload knows about each thread that allocates.
//
// Created on a thread's first intercepted call and reached through an initial-exec TLS
// pointer, so the hot path finds it with one load. It outlives captures: per-capture fields
// are reset when `generation` differs from the active capture's.
#pragma once

#include "native_unwinder.h"
#include "python_frames.h"

#include <cstdint>
#include <pthread.h>
#include <string>
#include <sys/types.h>
#include <vector>

namespace memray::payload {

struct CachedFrame
{
    const void* code;
    int32_t byte_offset;
    const void* frame;  // the frame's address (RawFrame::frame)
    uint32_t stack_id;
    // 1 + the index of the innermost frame from this one outwards whose exit is reported
    // (ExitWatchedCodes::covers its code); 0 if there is none.
    uint32_t watched_through;
    bool entry;  // native captures only (else always false)
    // How many frames from this one outwards are entry frames, this one included.
    uint32_t entries_through = 0;
};

// One node of the previous allocation's native stack (outermost first): its return address
// and the capture's native frame id of the path down to it.
struct CachedNativeFrame
{
    uintptr_t address;
    uint32_t native_id;
};

struct ThreadState
{
    pthread_t self;
    pid_t os_tid;

    // Per capture (valid while generation == the capture's generation).
    uint64_t generation = 0;
    uint64_t tid = 0;  // the capture's id for this thread: 1, 2, ... in order of appearance
    uint64_t last_stack_id = 0;
    // The stack of the previous allocation, outermost first, with the capture's stack id of each
    // prefix: the next allocation re-interns only the frames that changed.
    std::vector<CachedFrame> stack_cache;
    // How many of stack_cache's outermost frames are certainly still on the thread's stack, as
    // the same activations. The innermost of them (the anchor) is always one whose exit is
    // reported (Tracker::onPythonFrameExit): when it leaves, this drops to the next such frame
    // outwards (its watched_through). The anchor may have run on to another instruction since;
    // every frame outside it cannot have run at all (it is suspended in a call that has not
    // returned), so it is exactly as cached. The next allocation re-reads only the frames from
    // the anchor inwards. 0: nothing known.
    uint32_t cached_frames_on_stack = 0;
    // Before 3.12: every frame of the thread reports its exit (our profile function was in its
    // slot and on at its latest allocation, profile_exit_hook.h), so every cached frame is one
    // an anchor can rest on. Per capture, like the cache.
    bool every_exit_reported = false;
    // 3.12+: where the thread's latest search for a new anchor found none (the frame it started
    // from, and the stack's depth then), so that allocations repeating there do not search
    // again (codeToWatch in tracker.cpp: a deep recursive `await` chain allocates there at
    // every step). Only a hint: a search skipped wrongly costs speed, never exactness.
    const void* fruitless_anchor_search = nullptr;
    size_t fruitless_anchor_search_depth = 0;
    // Before 3.12, what our profile function costs the thread against what it saves: each
    // partial walk earns the events that the frames it did not read would have cost, each
    // event spends one. Overdrawn, it takes itself out, and stays out for
    // `allocations_until_arm` allocations (a pause that doubles each time and halves after
    // every kArmedStreak armed allocations).
    int64_t profile_credit = 0;
    uint32_t arm_backoff = 0;
    uint32_t allocations_until_arm = 0;
    uint32_t armed_allocations = 0;

    // Names: the latest known, and whether the capture has seen it yet.
    std::string name;
    uint64_t name_generation = 0;
    // Both the start and the latest name are in the capture of this generation: the one
    // compare every event makes (a new name resets it).
    uint64_t announced_generation = 0;

    // Scratch for frame walks (innermost first); grows when a walk fills it.
    std::vector<RawFrame> frames;
    std::vector<RawFrame> verify_frames;  // MEMRAY_PARTIAL_WALK_VERIFY's full walks

    // Native mode. The unwinder's memory of the previous unwind, and the previous allocation's
    // native stack: most allocations share a long prefix with the previous one.
    native_unwinder::ThreadUnwindState native_unwind;
    std::vector<CachedNativeFrame> native_cache;
    uint64_t native_cache_epoch = 0;  // the NativeTrie epoch native_cache belongs to
    uint64_t native_cache_sequence = 0;  // the native unwind native_cache holds
    uint64_t last_native_id = 0;

    // Membership in the registry of live threads (guarded by the tracker's lock).
    ThreadState* next = nullptr;
    ThreadState* previous = nullptr;
    bool exited = false;
    uint64_t exit_ns = 0;
};

// The calling thread's state, created on first use (call with the recursion guard set).
ThreadState* currentThreadState();

}  // namespace memray::payload
