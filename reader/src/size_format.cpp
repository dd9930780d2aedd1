#include "memray/reader/size_format.h"

#include <cstdio>

namespace memray::reader {

std::string formatSize(uint64_t bytes)
{
    static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    // Step up while the value would print as 1000 or more, including after rounding to three
    // decimals (999999 B is "1.000MB", not "1000.000kB").
    while (unit + 1 < std::size(kUnits) && value >= 999.9995) {
        value /= 1000.0;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof(text), "%.3f%s", value, kUnits[unit]);
    return text;
}

}  // namespace memray::reader
