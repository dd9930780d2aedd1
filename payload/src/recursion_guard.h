// Keeps the payload from recording its own allocations.
//
// Every intercept checks the guard before recording and sets it while recording, so the
// allocations the tracker itself makes (hash tables, buffers, thread bookkeeping) pass
// straight through. The payload's own threads set it for their whole life.
#pragma once

namespace memray::payload {

// initial-exec: reading the flag must not call __tls_get_addr (which may allocate on first use
// in a dlopen'ed object). The payload is small enough to fit in glibc's static TLS surplus.
// constinit: without it every access from another file first tests for (and would call) a
// dynamic initializer, twice per intercepted call.
extern constinit thread_local bool t_recursion_guard __attribute__((tls_model("initial-exec")));

class RecursionGuard
{
  public:
    RecursionGuard()
    : previous_(t_recursion_guard)
    {
        t_recursion_guard = true;
    }
    ~RecursionGuard() { t_recursion_guard = previous_; }
    RecursionGuard(const RecursionGuard&) = delete;
    RecursionGuard& operator=(const RecursionGuard&) = delete;

    static bool active() { return t_recursion_guard; }

  private:
    bool previous_;
};

}  // namespace memray::payload
