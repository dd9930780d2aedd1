// Calling a function inside the target, on a thread we hold stopped.
//
// The call runs on the thread's own stack, below its red zone (the 128 bytes under rsp that a
// leaf function may use without moving rsp), with rsp 16-byte aligned at the call as the ABI
// requires. Strings go there too. It is a real `call`: the three bytes `call *%rax; int3` are
// written over the ELF entry point of libc -- code that only runs when libc.so.6 is executed as
// a program, so no thread of the target can be executing it -- and the original bytes are put
// back afterwards. A genuine return address (rather than a fake one that faults) keeps x86 CET
// shadow stacks balanced and makes "the call returned" unambiguous: an int3 trap at a known
// address, where a fault would be indistinguishable from the call crashing.
#pragma once

#include "traced_thread.h"

#include <cstdint>
#include <initializer_list>
#include <string>

namespace memray::injector {

class RemoteCaller
{
  public:
    // `original`: the thread's registers when it was stopped (the call starts from them).
    RemoteCaller(TracedThread& thread, const RegisterState& original, uint64_t gadget_address);
    // Puts the gadget's bytes back if still installed (best effort).
    ~RemoteCaller();
    RemoteCaller(const RemoteCaller&) = delete;
    RemoteCaller& operator=(const RemoteCaller&) = delete;

    void installGadget();
    void removeGadget();

    // Copies `text` (with its NUL) below the red zone; returns its address in the target.
    uint64_t pushString(const std::string& text);

    // Calls function(args...) (up to 6 integer arguments) and returns rax. Throws Failure:
    // TargetExiting, TargetFailure (the call crashed), or Internal (timeout).
    uint64_t call(uint64_t function, std::initializer_list<uint64_t> args, const char* what, Clock::time_point deadline);

  private:
    TracedThread& thread_;
    const RegisterState& original_;
    uint64_t gadget_;
    uint64_t saved_word_ = 0;
    bool installed_ = false;
    uint64_t scratch_top_;  // strings are stacked downwards from here
};

}  // namespace memray::injector
