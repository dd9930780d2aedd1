#include "stack_text.h"

#include <string_view>

namespace memray::reader_api {

namespace {

void appendFrame(std::string_view function, std::string_view file, uint64_t line, std::string* out)
{
    out->append(function);
    out->push_back('\0');
    out->append(file);
    out->push_back('\0');
    out->append(std::to_string(line));
    out->push_back('\0');
}

bool full(size_t frames, size_t max_frames)
{
    return max_frames != 0 && frames >= max_frames;
}

void ensureSymbolizer(memray_capture& capture)
{
    if (!capture.symbolizer) {
        capture.symbolizer = std::make_unique<reader::NativeSymbolizer>(*capture.reader);
        capture.hybrid = std::make_unique<reader::HybridStackBuilder>(*capture.reader, *capture.symbolizer);
    }
}

}  // namespace

void pythonStackText(const memray_capture& capture, uint64_t stack_id, size_t max_frames, std::string* out)
{
    out->clear();
    size_t frames = 0;
    capture.reader->forEachFrame(stack_id, [&](const reader::PythonFrame& frame) {
        if (!full(frames, max_frames)) {
            appendFrame(frame.function, frame.file, frame.line, out);
            ++frames;
        }
    });
}

void nativeStackText(memray_capture& capture, uint64_t native_stack_id, size_t max_frames, std::string* out)
{
    out->clear();
    ensureSymbolizer(capture);
    size_t frames = 0;
    // Parents have smaller ids than their children (the decoder checks): the walk ends.
    for (uint64_t id = native_stack_id; id != 0 && !full(frames, max_frames);) {
        const reader::NativeFrameEntry* node = capture.reader->nativeFrame(id);
        if (node == nullptr) {
            break;
        }
        for (const reader::SymbolizedFrame& frame : capture.symbolizer->frames(id)) {
            if (full(frames, max_frames)) {
                break;
            }
            appendFrame(frame.function, frame.file, frame.line, out);
            ++frames;
        }
        id = node->parent_id;
    }
}

void hybridStackText(memray_capture& capture, uint64_t stack_id, uint64_t native_stack_id, size_t max_frames,
                     std::string* out)
{
    out->clear();
    ensureSymbolizer(capture);
    const std::vector<reader::HybridFrame> merged = capture.hybrid->build(stack_id, native_stack_id);
    size_t frames = 0;
    for (auto frame = merged.rbegin(); frame != merged.rend() && !full(frames, max_frames); ++frame, ++frames) {
        appendFrame(frame->function, frame->file, frame->line, out);
    }
}

}  // namespace memray::reader_api
