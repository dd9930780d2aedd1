// `memray attach` and `memray detach` live in a library of their own, libmemray_attach.so,
// which the command loads only when one of them runs. They need the injector, and through it
// LIEF, whose relocations and static tables cost about 11 ms at every start of a program that
// links it: a price `memray run` and every report would otherwise pay for nothing.
#pragma once

// The library's entry points (C linkage, looked up with dlsym); same contract as commands.h.
#define MEMRAY_ATTACH_ENTRY "memray_attach_command"
#define MEMRAY_DETACH_ENTRY "memray_detach_command"
#define MEMRAY_ATTACH_LIBRARY "libmemray_attach.so"
