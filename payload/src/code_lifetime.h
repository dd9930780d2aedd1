// Tells the tracker when a Python code object dies.
//
// The capture names a code object by its address (StackTable interns code, frames and stacks by
// it). Code objects die all the time (a module's body once it is imported, exec'd and compiled
// code), and the next one allocated often takes the same address: without being told, the
// capture reported the newcomer's frames under the dead one's name and file. While a capture
// runs, the code type's tp_dealloc is wrapped (payload/src/code_lifetime.cpp); the wrapper, run
// with the GIL held as every deallocation is, lets the tracker forget the object before it is
// freed.
#pragma once

namespace memray::payload {

// With the GIL held: wraps the deallocator of `code_type` (the interpreter's PyCode_Type) so that
// `on_death` is called with each code object about to be freed (a capture's start). False
// (nothing changed) if `code_type` does not look like the code type.
bool watchCodeDeaths(const void* code_type, void (*on_death)(const void* code));

// Puts the interpreter's own deallocator back (a capture's stop: the process is left as it was).
void unwatchCodeDeaths(const void* code_type);

}  // namespace memray::payload
