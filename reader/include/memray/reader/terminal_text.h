// Text from a capture (function and file names, thread names), made safe to print.
//
// A capture may hold any bytes in its strings. Printed as they are, an escape sequence in a
// function name would move the cursor, recolour or clear the user's terminal, and a newline
// would start a line the report did not lay out. Every control character (C0 including tab
// and newline, DEL, and the C1 controls U+0080-U+009F in their UTF-8 form) is written instead
// as a visible escape: \xNN for a byte, \u00NN for a C1 code point. Nothing else changes.
#pragma once

#include <string>
#include <string_view>

namespace memray::reader {

// Appends `text` to `out` with its control characters escaped; the bytes of `quoted` (e.g.
// "\"\\" for a quoted field) are escaped too, as a backslash and the byte.
void appendTerminalSafe(std::string& out, std::string_view text, std::string_view quoted = {});

// `text` with its control characters escaped (a copy only when there is one to escape).
std::string terminalSafe(std::string_view text);

}  // namespace memray::reader
