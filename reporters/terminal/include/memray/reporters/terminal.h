// What the reports need to know about where standard output goes.
#pragma once

#include <cstddef>

namespace memray::reporters {

// Whether to colour what is written to `fd`: only a terminal, and not when NO_COLOR is set to
// anything non-empty (https://no-color.org) or TERM is "dumb".
bool colourWanted(int fd);

struct TerminalSize
{
    size_t columns = 80;
    size_t lines = 24;
};

// The size of the terminal `fd` is, else the COLUMNS and LINES environment variables, else
// 80x24 (what Python's shutil.get_terminal_size falls back to as well).
TerminalSize terminalSize(int fd);

}  // namespace memray::reporters
