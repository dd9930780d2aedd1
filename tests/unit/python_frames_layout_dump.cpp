// Prints the payload's layout table for CPython 3.<minor> as "key value" lines, in the same
// vocabulary as python_frames_layout_probe.c, which prints the same facts from the headers.
// python_frames_layout_test.py diffs the two.
#include "python_layouts.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MINOR\n", argv[0]);
        return 2;
    }
    const int minor = std::atoi(argv[1]);
    const memray::payload::PythonLayout* layout = memray::payload::findPythonLayout(3, minor);
    if (layout == nullptr) {
        std::fprintf(stderr, "no layout for 3.%d\n", minor);
        return 1;
    }
    std::printf("version 3.%d\n", layout->minor);
    memray::payload::describeLayout(*layout, [](const char* key, long value) {
        std::printf("%s %ld\n", key, value);
    });
    return 0;
}
