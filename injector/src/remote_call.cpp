#include "remote_call.h"

#include "memray/injector/failure.h"
#include "remote_memory.h"

#include <cstdio>
#include <cstring>

namespace memray::injector {

namespace {

constexpr uint64_t kRedZoneBytes = 128;
// call *%rax (ff d0); int3 (cc)
constexpr uint8_t kGadget[] = {0xff, 0xd0, 0xcc};
constexpr uint64_t kDirectionFlag = 1u << 10;
constexpr uint64_t kTrapFlag = 1u << 8;

std::string hex(uint64_t value)
{
    char text[32];
    std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace

RemoteCaller::RemoteCaller(TracedThread& thread, const RegisterState& original, uint64_t gadget_address)
: thread_(thread)
, original_(original)
, gadget_(gadget_address)
, scratch_top_(original.gpr.rsp - kRedZoneBytes)
{
}

RemoteCaller::~RemoteCaller()
{
    try {
        removeGadget();
    } catch (...) {
    }
}

void RemoteCaller::installGadget()
{
    if (installed_) {
        return;
    }
    auto word = peekText(thread_.tid(), gadget_);
    if (!word) {
        throw Failure(FailureKind::Internal, "cannot read the target's code at " + hex(gadget_));
    }
    uint64_t patched = *word;
    std::memcpy(&patched, kGadget, sizeof(kGadget));
    if (!pokeText(thread_.tid(), gadget_, patched)) {
        throw Failure(FailureKind::Internal, "cannot write the call gadget at " + hex(gadget_));
    }
    saved_word_ = *word;
    installed_ = true;
}

void RemoteCaller::removeGadget()
{
    if (!installed_) {
        return;
    }
    if (!pokeText(thread_.tid(), gadget_, saved_word_)) {
        throw Failure(FailureKind::Internal, "cannot restore the target's code at " + hex(gadget_));
    }
    installed_ = false;
}

uint64_t RemoteCaller::pushString(const std::string& text)
{
    scratch_top_ -= text.size() + 1;
    if (!writeRemote(thread_.tid(), scratch_top_, text.c_str(), text.size() + 1)) {
        throw Failure(FailureKind::Internal, "cannot write to the target's stack at " + hex(scratch_top_));
    }
    return scratch_top_;
}

uint64_t RemoteCaller::call(uint64_t function, std::initializer_list<uint64_t> args, const char* what, Clock::time_point deadline)
{
    user_regs_struct regs = original_.gpr;
    const uint64_t stack = scratch_top_ & ~uint64_t{15};  // aligned before the call pushes
    regs.rsp = stack;
    regs.rip = gadget_;
    regs.rax = function;
    // orig_rax = -1: no system call to restart when the thread resumes with these registers.
    regs.orig_rax = static_cast<unsigned long long>(-1);
    regs.eflags &= ~(kDirectionFlag | kTrapFlag);  // the ABI wants DF clear at a call
    unsigned long long* slots[] = {&regs.rdi, &regs.rsi, &regs.rdx, &regs.rcx, &regs.r8, &regs.r9};
    size_t index = 0;
    for (uint64_t arg : args) {
        *slots[index++] = arg;
    }
    thread_.setRegisters(regs);

    Stop stop = thread_.resume(deadline);
    switch (stop.kind) {
        case StopKind::Trap: {
            RegisterState after = thread_.saveRegisters();
            if (after.gpr.rip != gadget_ + sizeof(kGadget) || after.gpr.rsp != stack) {
                throw Failure(FailureKind::TargetFailure, std::string("unexpected trap in the target while calling ") + what
                                                              + " (at " + hex(after.gpr.rip) + ")");
            }
            return after.gpr.rax;
        }
        case StopKind::Fault:
            throw Failure(FailureKind::TargetFailure, std::string("the target faulted (") + strsignal(stop.info.si_signo)
                                                          + " at " + hex(reinterpret_cast<uint64_t>(stop.info.si_addr))
                                                          + ") while calling " + what);
        case StopKind::Exiting:
            throw Failure(FailureKind::TargetExiting, std::string("the target exited while calling ") + what);
        case StopKind::Timeout:
            // Abandon the call: stop the thread again so its registers can be put back. Whatever
            // the function was doing is cut short; this only happens after call_timeout.
            thread_.interrupt(Clock::now() + std::chrono::seconds(1));
            break;
    }
    throw Failure(FailureKind::Internal, std::string("timed out waiting for ") + what + " to return in the target");
}

}  // namespace memray::injector
