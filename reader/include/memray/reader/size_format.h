// Human-readable byte counts, as every memray report shows them: SI units (1 kB = 1000 B)
// with three decimals, e.g. "4.000B", "2.500kB", "72.486MB".
#pragma once

#include <cstdint>
#include <string>

namespace memray::reader {

std::string formatSize(uint64_t bytes);

}  // namespace memray::reader
