// What a module's unwind tables (.eh_frame, found through .eh_frame_hdr) say about one code
// address on x86-64: how to find the caller of a frame stopped there.
//
// Only the common shapes are described: the frame's canonical frame address (CFA) is rsp or
// rbp plus a constant, the return address is the word just below the CFA, and rbp is either
// kept or saved at a constant offset from the CFA. That is what compilers emit at call sites.
// Anything else (signal trampolines, stack realignment expressions, hand-written oddities,
// code without tables) is `kUnsupported`, and the caller unwinds that stack with libunwind.
#pragma once

#include <cstdint>

namespace memray::payload {

struct FrameRule
{
    enum Kind : uint8_t {
        kUnsupported = 0,
        kRspBased,  // CFA = rsp + cfa_offset
        kRbpBased,  // CFA = rbp + cfa_offset
        kOutermost,  // the return address is undefined: no caller (_start, a thread's clone)
    };
    Kind kind = kUnsupported;
    int32_t cfa_offset = 0;
    // Where the caller's rbp is saved, relative to the CFA; 0: not saved (rbp is the caller's).
    int32_t rbp_offset = 0;
};

// The rule for the instruction at `pc` (for a return address, pass the address minus one: the
// call instruction's row, which a call at the very end of a function needs). Reads only
// loaded, mapped unwind tables; takes no lock and allocates nothing.
FrameRule frameRuleAt(uintptr_t pc);

}  // namespace memray::payload
