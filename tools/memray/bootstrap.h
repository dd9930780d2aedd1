// The Python program `memray run` hands to the interpreter with -c. It loads the payload,
// starts the capture and runs the user's program in its place; see bootstrap.cpp.
#pragma once

#include <string_view>

namespace memray::cli {

// The bootstrap's Python source. The interpreter is run as
//     PYTHON -c <source> PAYLOAD CONFIG MODE TARGET [ARGS...]
// where PAYLOAD is the payload library's path, CONFIG the memray_start() configuration text
// (payload_api.h), MODE one of "script", "module" or "code", and TARGET the script path,
// module name or program text.
std::string_view bootstrapSource();

}  // namespace memray::cli
