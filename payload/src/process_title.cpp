#include "process_title.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace memray::payload {

namespace {

// The fields of /proc/self/stat, numbered from 1 as proc(5) does (unused ones left 0).
struct ProcessStat
{
    unsigned long long field[53] = {};
};

bool readProcessStat(ProcessStat* stat)
{
    std::FILE* file = std::fopen("/proc/self/stat", "re");
    if (!file) {
        return false;
    }
    char text[2048];
    const size_t got = std::fread(text, 1, sizeof text - 1, file);
    std::fclose(file);
    text[got] = '\0';
    // "pid (comm) state ...": comm may hold anything, the last ')' ends it.
    char* cursor = std::strrchr(text, ')');
    if (!cursor) {
        return false;
    }
    cursor += 2;
    for (int index = 3; index <= 52 && *cursor; ++index) {
        char* end = nullptr;
        stat->field[index] = std::strtoull(cursor, &end, 10);
        if (end == cursor) {  // the state letter (field 3)
            while (*end && *end != ' ') {
                ++end;
            }
        }
        cursor = *end ? end + 1 : end;
    }
    return stat->field[48] != 0 && stat->field[49] > stat->field[48];
}

}  // namespace

bool setCommandLineArguments(const char* arguments, size_t size)
{
    ProcessStat stat;
    if (!readProcessStat(&stat)) {
        return false;
    }
    char* const start = reinterpret_cast<char*>(stat.field[48]);  // arg_start
    const size_t area = static_cast<size_t>(stat.field[49] - stat.field[48]);
    const size_t kept = strnlen(start, area) + 1;  // argv[0] and its NUL
    const size_t total = kept + size + 1;
    if (total > area) {
        return false;
    }
    std::memcpy(start + kept, arguments, size);
    std::memset(start + kept + size, 0, area - kept - size);

    prctl_mm_map map = {};
    map.start_code = stat.field[26];
    map.end_code = stat.field[27];
    map.start_stack = stat.field[28];
    map.start_data = stat.field[45];
    map.end_data = stat.field[46];
    map.start_brk = stat.field[47];
    map.arg_start = stat.field[48];
    map.arg_end = stat.field[48] + total;
    map.env_start = stat.field[50];
    map.env_end = stat.field[51];
    map.exe_fd = static_cast<__u32>(-1);  // unchanged: this is what keeps it unprivileged
    // Last, with nothing in between that could allocate: the program break is set too.
    map.brk = static_cast<__u64>(syscall(SYS_brk, 0));
    prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0);
    return true;
}

}  // namespace memray::payload
