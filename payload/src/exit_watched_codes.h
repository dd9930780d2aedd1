// Which frames report their exits (sys.monitoring PY_RETURN and PY_UNWIND, 3.12+).
//
// A thread's cached stack can be trusted from its innermost frame whose exit would be reported
// outwards (python_stack.h). With --trace-python-allocators every plain function's frame
// reports (events on for all code); otherwise only the frames of a few code objects do: those
// turned on locally (sys.monitoring.set_local_events) for frames that sat deep in a stack, so
// code that never runs under a deep stack pays nothing for the events. Unwinding (PY_UNWIND) is
// reported for every frame in both cases: it cannot be turned on per code object.
//
// Generator and coroutine frames leave the stack at every yield and await too, so their frames
// count only where their code has local events, which report yields as well as returns. A
// value yielded at the bottom of a `yield from` or `await` chain leaves every frame of it, so
// such a code is chosen only where it does not recur in the stack (codeToWatch in tracker.cpp):
// CPython's test_json encodes 5000-deep lists through a recursive chain of one generator
// function, where an event per frame per value would cost more than the walks it saves. Yields
// are never reported for every code, and with --trace-python-allocators (without --native),
// where every return is, generator and coroutine frames do not anchor at all (measured: that
// mode's test_json ran 25% slower with them).
//
// Guarded by the tracker's lock, and changed only with the GIL held too (the frame-exit events
// read the caches built from it with only the GIL).
#pragma once

#include <cstddef>
#include <unordered_set>
#include <vector>

namespace memray::payload {

class ExitWatchedCodes
{
  public:
    // At most this many code objects get local events: enough for the frames of any real deep
    // stack, and a bound on what a capture's stop has to undo.
    static constexpr size_t kMaxCodes = 1024;

    void reset(bool every_code)
    {
        every_code_ = every_code;
        codes_.clear();
    }

    // Whether the frames of plain functions running `code` report their exits.
    bool covers(const void* code) const { return every_code_ || watchesLocally(code); }

    // Whether `code` has local events: its generator and coroutine frames report their yields
    // too, so they count as well.
    bool watchesLocally(const void* code) const { return !codes_.empty() && codes_.count(code) != 0; }

    bool everyCode() const { return every_code_; }
    bool full() const { return codes_.size() >= kMaxCodes; }

    // `code` has events on from now on.
    void add(const void* code) { codes_.insert(code); }

    // `code` is about to be freed: its events go with it, and the next code object at its
    // address has none.
    void forget(const void* code) { codes_.erase(code); }

    // Every code object with local events (a stop turns them off), and forgets them.
    std::vector<const void*> takeAll()
    {
        std::vector<const void*> codes(codes_.begin(), codes_.end());
        codes_.clear();
        return codes;
    }

  private:
    bool every_code_ = false;
    std::unordered_set<const void*> codes_;
};

}  // namespace memray::payload
