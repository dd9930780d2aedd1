// A test-only pause at the moments the payload's own threads used to initialise something
// lazily (a function-local static, a first-use table): a fork by another thread at such a moment
// leaves the child a half-taken initialisation guard that its copy of the thread then waits on
// forever. Nothing in the payload may hold such a guard or lock across a fork; widening these
// windows lets a test fork inside them on purpose instead of hoping to hit ~100 ns by chance.
// The same pause comes before a capture's start takes the GIL, where the interpreter may begin
// to finalize (and then end the thread inside PyGILState_Ensure).
//
// MEMRAY_TEST_FORK_WINDOW_MS=N in the environment of `memray run` or `memray attach` (passed on
// in the capture's configuration, fork_window_ms) makes each window last N ms. Unset, each
// window costs one load of a global.
#pragma once

namespace memray::payload {

// Sets the windows' length (0: none); called when a capture starts.
void setForkWindowForTests(unsigned ms);

// Sleeps for the configured window, if any: where the writer takes a memory sample (it used to
// initialise a static there), where a thread's state is created (likewise), and before a start
// takes the GIL.
void widenForkWindowForTests();

// The start of a capture holds control_mutex while it runs Python code, which may let other
// threads take the GIL (and fork) meanwhile: this lets them, for the window's length.
void dropGilForForkWindowForTests();

}  // namespace memray::payload
