// What a partial Python stack walk proves about the native stack (native_unwinder::PythonProof).
//
// The outermost `kept` frames of a partial walk are the same activations as at the thread's
// previous allocation, and every one of them is suspended in a call that has not returned
// (python_stack.h). An entry frame among them was entered from C through its own call of the
// evaluation loop, which has therefore not returned either: the native frame of that call, and
// every native frame outside it up to the call of the outermost such Python frame, are unchanged.
// Counted from the top of the stack, that call is the one after those of the entry frames
// above it, all of which the walk read.
#pragma once

#include "native_unwinder.h"
#include "python_frames.h"
#include "python_stack.h"
#include "thread_state.h"

namespace memray::payload {

// The proof for the allocation whose Python stack is `stack` (walked, not yet interned: the
// thread's stack cache is still the previous allocation's). Empty when nothing is proven.
native_unwinder::PythonProof proveNativeFrames(const PythonFrameWalker& walker, const ThreadState& thread,
                                               const WalkedStack& stack);

}  // namespace memray::payload
