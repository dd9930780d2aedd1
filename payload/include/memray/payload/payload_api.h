// The payload's exported C interface: the only symbols libmemray_payload.so exports.
//
// The payload is loaded into a CPython process either by `memray run` (a bootstrap calls these
// through ctypes) or by `memray attach` (a remote dlopen, then a remote call of
// memray_attach_start). Its ELF constructor does nothing: loading it has no effect until
// a start function is called, and it is never unloaded.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Starts a capture. `config` is a list of key=value pairs separated by '\n':
//   output=PATH              capture file to create (required)
//   force=0|1                overwrite an existing file (default 0: refuse)
//   trace_python_allocators=0|1   also record the pymalloc domains
//   native=0|1               record native stacks (reserved for --native)
//   follow_fork=0|1          forked children write <output>.<childpid>
//   rss_interval_ms=N        RSS sampling period (default 10)
//   skip_caller_frames=0|1   drop the Python frames of the caller of memray_start (and above)
//                            from every stack of that thread: the `memray run` bootstrap
//   entry_frame=N            memray.Tracker: the caller's Python frame N (0: innermost) entered
//                            the Tracker; that thread's stacks leave out the frames that called
//                            it (memray's behaviour) and it is recorded as the main thread
//   attached=0|1             recorded in the header: started by `memray attach`
//   stop_at_exit=0|1         finish the capture from a Python atexit handler (default 1)
// Callable from any thread, with or without the GIL, while other threads run. Returns 0 on
// success; otherwise non-zero, and memray_last_error() says why. Fails if a capture is active.
int memray_start(const char* config);

// Stops the active capture: restores every patched slot, writes the trailer, closes the file.
// Returns 0 on success, non-zero if no capture was active (see memray_last_error()).
int memray_stop(void);

// 1 while a capture is active, else 0.
int memray_is_active(void);

// A human-readable description of the last failure of memray_start/memray_stop in this process.
const char* memray_last_error(void);

// A one-line summary of the last finished capture ("wrote N allocations to PATH").
const char* memray_last_summary(void);

#ifdef __cplusplus
}
#endif
