// Stacks as the flat text the C API hands to Python: "function\0file\0line\0" per frame,
// most recent call first (memray's order), so Python splits one buffer instead of making a
// call per frame.
#pragma once

#include "capture_handle.h"

#include <cstdint>
#include <string>

namespace memray::reader_api {

void pythonStackText(const memray_capture& capture, uint64_t stack_id, size_t max_frames, std::string* out);
void nativeStackText(memray_capture& capture, uint64_t native_stack_id, size_t max_frames, std::string* out);
void hybridStackText(memray_capture& capture, uint64_t stack_id, uint64_t native_stack_id, size_t max_frames,
                     std::string* out);

}  // namespace memray::reader_api
