// --trace-python-allocators: wrapping CPython's three allocator domains (RAW, MEM, OBJ).
//
// The wrappers call the domain's original allocator with the recursion guard set (so pymalloc's
// own arena mmaps and mallocs are not counted twice) and record the result as a PYMALLOC_*
// event. They find the originals through globals, never through the `ctx` argument: a thread
// racing with PyMem_SetAllocator may pair our function with the old ctx, and must still work.
#pragma once

#include <string>

namespace memray::payload {

bool resolvePymallocApi(std::string* error);
// Both with the GIL held.
void installPymallocHooks();
void removePymallocHooks();

}  // namespace memray::payload
