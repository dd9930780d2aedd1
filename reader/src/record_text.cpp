#include "memray/reader/record_text.h"

#include "memray/reader/terminal_text.h"

#include <charconv>
#include <cstring>

namespace memray::reader {

namespace {

// Builds one line of fixed-size fields (numbers and short names) in a stack buffer, so the
// common records cost one append each. Strings from the capture go through appendQuoted.
class Line
{
  public:
    Line& text(std::string_view piece)
    {
        std::memcpy(end_, piece.data(), piece.size());
        end_ += piece.size();
        return *this;
    }
    Line& number(uint64_t value)
    {
        end_ = std::to_chars(end_, end_ + 20, value).ptr;
        return *this;
    }
    Line& hex(uint64_t value)
    {
        text("0x");
        end_ = std::to_chars(end_, end_ + 16, value, 16).ptr;
        return *this;
    }
    void appendTo(std::string& out, bool newline = true)
    {
        if (newline) {
            *end_++ = '\n';
        }
        out.append(buffer_, static_cast<size_t>(end_ - buffer_));
    }

  private:
    char buffer_[384];  // the longest line built here (AGGREGATE_LOCATION) is under 300 bytes
    char* end_ = buffer_;
};

void appendQuoted(std::string& out, std::string_view text)
{
    out += '"';
    appendTerminalSafe(out, text, "\"\\");
    out += '"';
}

void appendField(std::string& out, std::string_view key, std::string_view value)
{
    out += ' ';
    out += key;
    out += '=';
    appendQuoted(out, value);
}

void appendField(std::string& out, std::string_view key, uint64_t value)
{
    Line line;
    line.text(" ").text(key).text("=").number(value).appendTo(out, false);
}

}  // namespace

void appendHeaderLine(std::string& out, const format::Metadata& metadata)
{
    out += "HEADER";
    appendField(out, "format_version", format::kFormatVersion);
    appendField(out, "pid", metadata.pid);
    if (metadata.parent_pid) {
        appendField(out, "parent_pid", metadata.parent_pid);
    }
    appendField(out, "python_version", metadata.python_version);
    appendField(out, "command_line", metadata.command_line);
    appendField(out, "start_time_us", metadata.start_time_us);
    Line options;
    options.text(" options=").hex(metadata.options).appendTo(out, false);
    appendField(out, "native_traces", metadata.has(format::kOptionNativeTraces) ? 1 : 0);
    appendField(out, "trace_python_allocators", metadata.has(format::kOptionTracePythonAllocators) ? 1 : 0);
    if (metadata.has(format::kOptionAggregated)) {
        appendField(out, "aggregated", 1);
        appendField(out, "aggregate_with_records", metadata.has(format::kOptionAggregateWithRecords) ? 1 : 0);
    }
    appendField(out, "main_thread_id", metadata.main_thread_id);
    appendField(out, "rss_interval_ms", metadata.rss_interval_ms);
    appendField(out, "executable", metadata.executable);
    appendField(out, "payload_version", metadata.payload_version);
    appendField(out, "python_allocator", metadata.python_allocator);
    out += '\n';
}

void appendRecordLine(std::string& out, const Record& record, bool native_traces, bool aggregated)
{
    Line line;
    switch (record.kind) {
        case RecordKind::Allocation:
            line.text("ALLOCATION tid=").number(record.tid).text(" address=").hex(record.address);
            line.text(" size=").number(record.size).text(" allocator=").text(format::allocatorName(record.allocator));
            line.text(" stack=").number(record.stack_id);
            if (native_traces) {
                line.text(" native_stack=").number(record.native_stack_id);
            }
            line.appendTo(out);
            return;
        case RecordKind::Deallocation:
            line.text("DEALLOCATION tid=").number(record.tid).text(" address=").hex(record.address);
            line.text(" deallocator=").text(format::deallocatorName(record.deallocator));
            if (record.deallocator == format::Deallocator::Munmap) {
                line.text(" size=").number(record.size);
            }
            line.appendTo(out);
            return;
        case RecordKind::Frame:
            line.text("FRAME id=").number(record.id).text(" code=").number(record.code_id);
            line.text(" line=").number(record.line).appendTo(out);
            return;
        case RecordKind::Stack:
            line.text("STACK id=").number(record.id).text(" parent=").number(record.parent_id);
            line.text(" frame=").number(record.frame_id);
            if (native_traces) {
                line.text(" flags=").number(record.flags);
            }
            line.appendTo(out);
            return;
        case RecordKind::NativeFrame:
            line.text("NATIVE_FRAME id=").number(record.id).text(" parent=").number(record.parent_id);
            line.text(" ip=").hex(record.address).appendTo(out);
            return;
        case RecordKind::ImageMap:
            line.text("IMAGE_MAP images=").number(record.count).appendTo(out);
            return;
        case RecordKind::Image: {
            line.text("IMAGE bias=").hex(record.address).appendTo(out, false);
            appendField(out, "path", record.name);
            static constexpr char kHex[] = "0123456789abcdef";
            std::string build_id;
            for (unsigned char byte : record.build_id) {
                build_id += kHex[byte >> 4];
                build_id += kHex[byte & 15];
            }
            appendField(out, "build_id", build_id);
            out += '\n';
            return;
        }
        case RecordKind::ImageSegment:
            line.text("IMAGE_SEGMENT vaddr=").hex(record.address).text(" memsz=").hex(record.size).appendTo(out);
            return;
        case RecordKind::ThreadSwitch:
            line.text("THREAD_SWITCH tid=").number(record.tid).appendTo(out);
            return;
        case RecordKind::ThreadStart:
            line.text("THREAD_START tid=").number(record.tid).text(" os_tid=").number(record.os_tid).appendTo(out);
            return;
        case RecordKind::ThreadExit:
            line.text("THREAD_EXIT tid=").number(record.tid).appendTo(out);
            return;
        case RecordKind::Memory:
            line.text("MEMORY time_ms=").number(record.time).text(" rss=").number(record.rss);
            if (aggregated) {
                line.text(" heap=").number(record.heap);
            }
            line.appendTo(out);
            return;
        case RecordKind::AggregateBegin: {
            const format::AggregateTotals& totals = record.totals;
            line.text("AGGREGATE_BEGIN events=").number(totals.events).text(" peak_events=").number(totals.peak_events);
            line.text(" peak_bytes=").number(totals.peak_bytes).text(" current_bytes=").number(totals.current_bytes);
            line.text(" allocations=").number(totals.allocations).text(" allocated_bytes=").number(totals.allocated_bytes);
            line.appendTo(out);
            return;
        }
        case RecordKind::AggregateLocation: {
            const format::AggregateLocation& location = record.location;
            line.text("AGGREGATE_LOCATION tid=").number(location.tid).text(" stack=").number(location.stack_id);
            if (native_traces) {
                line.text(" native_stack=").number(location.native_stack_id);
            }
            line.text(" allocator=").text(format::allocatorName(location.allocator));
            line.text(" last_change=").number(location.last_change_event);
            line.text(" live_bytes=").number(location.live_bytes).text(" live_count=").number(location.live_count);
            line.text(" peak_bytes=").number(location.peak_bytes).text(" peak_count=").number(location.peak_count);
            line.appendTo(out);
            return;
        }
        case RecordKind::AggregateEnd:
            line.text("AGGREGATE_END").appendTo(out);
            return;
        case RecordKind::Trailer:
            line.text("TRAILER time_us=").number(record.time).text(" allocations=").number(record.count).appendTo(out);
            return;
        case RecordKind::ThreadName:
            line.text("THREAD_NAME tid=").number(record.tid).appendTo(out, false);
            appendField(out, "name", record.name);
            out += '\n';
            return;
        case RecordKind::Code:
            line.text("CODE id=").number(record.id).appendTo(out, false);
            appendField(out, "name", record.name);
            appendField(out, "file", record.filename);
            appendField(out, "first_line", record.line);
            out += '\n';
            return;
    }
}

void appendEndLine(std::string& out, EndState state, uint64_t records)
{
    const char* name = "reading";
    switch (state) {
        case EndState::Reading: name = "reading"; break;
        case EndState::Complete: name = "complete"; break;
        case EndState::EndedAbruptly: name = "ended_abruptly"; break;
        case EndState::Corrupt: name = "corrupt"; break;
    }
    Line line;
    line.text("END state=").text(name).text(" records=").number(records).appendTo(out);
}

}  // namespace memray::reader
