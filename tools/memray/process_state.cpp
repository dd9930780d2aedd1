#include "process_state.h"

#include <cstdio>
#include <string>
#include <string_view>

namespace memray::cli {

char processState(pid_t pid)
{
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    std::FILE* file = std::fopen(path.c_str(), "re");
    if (!file) {
        return '?';
    }
    char text[512];
    const size_t got = std::fread(text, 1, sizeof text - 1, file);
    std::fclose(file);
    text[got] = '\0';
    // "PID (COMM) STATE ...": the name may hold spaces and parentheses; the last ')' ends it.
    const std::string_view stat(text, got);
    const size_t close = stat.rfind(')');
    return close != std::string_view::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

}  // namespace memray::cli
