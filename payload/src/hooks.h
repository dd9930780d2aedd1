// The intercept functions written into GOT slots, and the table that names them.
#pragma once

#include "got_patcher.h"

#include <vector>

namespace memray::payload {

// Every symbol the payload intercepts, with its intercept function.
const std::vector<HookSpec>& interceptedFunctions();

}  // namespace memray::payload
