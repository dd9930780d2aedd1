// `memray attach` and `memray detach` live in a library of their own, libmemray_attach.so,
// which the command loads only when one of them runs. They need the injector, and through it
// LIEF, whose relocations and static tables cost about 11 ms at every start of a program that
// links it: a price `memray run` and every report would otherwise pay for nothing.
#pragma once

// The library's entry points (C linkage, looked up with dlsym); same contract as commands.h.
#define MEMRAY_ATTACH_ENTRY "memray_attach_command_v2"
#define MEMRAY_DETACH_ENTRY "memray_detach_command"
#define MEMRAY_ATTACH_LIBRARY "libmemray_attach.so"

namespace memray::cli {

// What the executable lends the library for `memray attach PID` without -o, which shows the
// live view: the view lives in the executable (with ncurses and the reader), the attaching and
// detaching in the library.
struct LiveViewHooks
{
    // 0 when the live view can take over this terminal; else the exit status, the error
    // already printed ("memray attach: error: the live view needs a terminal: ...").
    int (*refuse)();
    // Shows the live view of the capture at `capture` (as this process reaches it), written by
    // process `pid`, until the user quits. Returns 0, or 1 after printing why the capture could
    // not be read.
    int (*watch)(int pid, const char* capture, const char* title);
};

}  // namespace memray::cli
