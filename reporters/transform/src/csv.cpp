#include "memray/reporters/transform/csv.h"

#include "json_writer.h"
#include "location_stacks.h"

#include <algorithm>
#include <charconv>
#include <tuple>
#include <unordered_map>

namespace memray::reporters::transform {

namespace {

using reader::LocationUsage;

// A location with its threads merged, and the thread that allocated the most of it.
struct Row
{
    LocationUsage usage;  // key.thread_id 0
    uint64_t tid = 0;     // 0: the snapshot had merged threads already
    uint64_t tid_bytes = 0;
};

struct MergedKey
{
    uint64_t stack_id;
    uint64_t native_stack_id;
    format::Allocator allocator;
    bool operator==(const MergedKey&) const = default;
};

struct MergedKeyHash
{
    size_t operator()(const MergedKey& key) const
    {
        return static_cast<size_t>((key.stack_id * 0x9e3779b97f4a7c15ull) ^ (key.native_stack_id * 0xbf58476d1ce4e5b9ull)
                                   ^ static_cast<uint64_t>(key.allocator));
    }
};

std::vector<Row> mergeThreads(const std::vector<LocationUsage>& locations)
{
    std::vector<Row> rows;
    std::unordered_map<MergedKey, size_t, MergedKeyHash> index;
    for (const LocationUsage& usage : locations) {
        const MergedKey key{usage.key.stack_id, usage.key.native_stack_id, usage.key.allocator};
        auto [it, inserted] = index.try_emplace(key, rows.size());
        if (inserted) {
            Row row;
            row.usage = usage;
            row.usage.key.thread_id = 0;
            row.usage.bytes = 0;
            row.usage.count = 0;
            rows.push_back(row);
        }
        Row& row = rows[it->second];
        row.usage.bytes += usage.bytes;
        row.usage.count += usage.count;
        // The thread that allocated the most (on a tie, the one with the smaller id).
        const uint64_t tid = usage.key.thread_id;
        if (row.tid == 0 || usage.bytes > row.tid_bytes || (usage.bytes == row.tid_bytes && tid < row.tid)) {
            row.tid = tid;
            row.tid_bytes = usage.bytes;
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return std::tie(b.usage.bytes, a.usage.key.stack_id) < std::tie(a.usage.bytes, b.usage.key.stack_id);
    });
    return rows;
}

// Python's csv.writer, QUOTE_MINIMAL: quoted if it holds the delimiter, the quote character or
// a line break, with its quotes doubled. Names and paths come from the capture, which may hold
// any bytes: what is not well-formed UTF-8 becomes U+FFFD, as in the JSON formats, so that the
// file reads as text.
void appendField(std::string& out, std::string_view field)
{
    const bool quoted = field.find_first_of(",\"\r\n") != std::string_view::npos;
    if (quoted) out += '"';
    for (size_t i = 0; i < field.size(); ++i) {
        const char c = field[i];
        if (static_cast<unsigned char>(c) >= 0x80) {
            const size_t length = JsonWriter::utf8SequenceLength(field, i);
            if (length == 0) {
                out += "\xef\xbf\xbd";  // U+FFFD
            } else {
                out.append(field, i, length);
                i += length - 1;
            }
            continue;
        }
        if (c == '"') out += '"';
        out += c;
    }
    if (quoted) out += '"';
}

template <typename Integer>
void appendNumber(std::string& out, Integer value)
{
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof(digits), value);
    out.append(digits, result.ptr);
}

std::string upperCase(std::string_view text)
{
    std::string upper(text);
    for (char& c : upper) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return upper;
}

std::string hex(uint64_t value)
{
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof(digits), value, 16);
    return "0x" + std::string(digits, result.ptr);
}

}  // namespace

std::string renderCsv(const reader::AnalysedCapture& analysed)
{
    const reader::CaptureReader& capture = *analysed.capture;
    const std::vector<Row> rows = mergeThreads(analysed.snapshot.locations);
    std::vector<LocationUsage> merged;
    merged.reserve(rows.size());
    for (const Row& row : rows) merged.push_back(row.usage);
    const LocationStacks stacks(capture, merged);

    std::string out = "allocator,num_allocations,size,tid,thread_name,stack_trace\r\n";
    std::string field;
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& row = rows[i];
        appendField(out, upperCase(format::allocatorName(row.usage.key.allocator)));
        out += ',';
        appendNumber(out, row.usage.count);
        out += ',';
        appendNumber(out, row.usage.bytes);
        out += ',';
        if (row.tid == 0) {
            out += "-1,merged thread";
        } else {
            appendNumber(out, row.tid);
            out += ',';
            field = hex(row.tid);
            const reader::ThreadInfo* thread = capture.thread(row.tid);
            if (thread && !thread->name().empty()) {
                field += " (";
                field += thread->name();
                field += ')';
            }
            appendField(out, field);
        }
        out += ',';
        field.clear();
        stacks.forEachFrame(stacks.node(i), [&](const reader::TreeFrame& frame, uint32_t) {
            if (!field.empty()) field += '|';
            field += frame.function;
            field += ';';
            field += frame.file;
            field += ';';
            appendNumber(field, frame.line);
        });
        appendField(out, field);
        out += "\r\n";
    }
    return out;
}

}  // namespace memray::reporters::transform
