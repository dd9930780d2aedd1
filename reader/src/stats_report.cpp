#include "memray/reader/stats_report.h"

#include "memray/reader/size_format.h"
#include "memray/reader/terminal_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace memray::reader {

namespace {

constexpr size_t kBarWidth = 40;

std::string bar(uint64_t count, uint64_t largest)
{
    if (count == 0 || largest == 0) {
        return {};
    }
    const auto width = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(count) * kBarWidth / static_cast<double>(largest) + 0.5));
    std::string text;
    for (size_t i = 0; i < width; ++i) {
        text += "\u2587";  // ▇
    }
    return text;
}

void appendHistogram(std::string& out, const CaptureStats& stats)
{
    out += "📊 Histogram of allocation size:\n";
    if (stats.histogram.empty()) {
        out += "\t(no allocations)\n\n";
        return;
    }
    uint64_t largest = 0;
    std::vector<std::string> labels;
    for (size_t i = 0; i < stats.histogram.size(); ++i) {
        const SizeBin& bin = stats.histogram[i];
        largest = std::max(largest, bin.count);
        labels.push_back(
                i + 1 < stats.histogram.size() ? "< " + formatSize(bin.max_bytes + 1) : "<=" + formatSize(bin.max_bytes));
    }
    size_t label_width = 0;
    for (const std::string& label : labels) {
        label_width = std::max(label_width, label.size());
    }
    const std::string rule(label_width + 4 + kBarWidth, '-');
    out += "\tmin: " + formatSize(stats.min_size) + "\n";
    out += "\t" + rule + "\n";
    for (size_t i = 0; i < stats.histogram.size(); ++i) {
        const uint64_t count = stats.histogram[i].count;
        out += "\t" + labels[i] + std::string(label_width - labels[i].size(), ' ') + " : " + std::to_string(count);
        const std::string bars = bar(count, largest);
        out += bars.empty() ? "\n" : " " + bars + "\n";
    }
    out += "\t" + rule + "\n";
    out += "\tmax: " + formatSize(stats.max_size) + "\n\n";
}

void appendTop(std::string& out, const std::string& heading, const std::vector<AllocationTotal>& entries, bool by_size, bool modules)
{
    out += heading + "\n";
    if (entries.empty()) {
        out += "\t(none)\n";
    }
    for (const AllocationTotal& entry : entries) {
        const std::string size = formatSize(entry.bytes);
        const std::string count = std::to_string(entry.count);
        if (modules) {
            const std::string name = terminalSafe(entry.name);
            out += by_size ? "\t- " + name + ": " + size + " total | " + count + " allocations\n"
                           : "\t- " + name + ": " + count + " allocations | " + size + " total\n";
        } else {
            out += "\t- " + terminalSafe(entry.name) + " -> " + (by_size ? size : count) + "\n";
        }
    }
    out += "\n";
}

nlohmann::ordered_json totalsJson(const std::vector<AllocationTotal>& entries, const char* name_key)
{
    auto list = nlohmann::ordered_json::array();
    for (const AllocationTotal& entry : entries) {
        list.push_back({{name_key, entry.name}, {"size", entry.bytes}, {"count", entry.count}});
    }
    return list;
}

}  // namespace

std::string allocatorLabel(format::Allocator allocator)
{
    std::string label(format::allocatorName(allocator));
    for (char& c : label) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return label;
}

std::string isoTimestamp(uint64_t epoch_us)
{
    const std::time_t seconds = static_cast<std::time_t>(epoch_us / 1000000);
    std::tm utc{};
    char date[32] = "";
    if (!gmtime_r(&seconds, &utc) || !std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc)) {
        return std::to_string(epoch_us);  // out of the calendar's range: a corrupt header
    }
    char text[64];
    std::snprintf(text, sizeof(text), "%s.%06llu+00:00", date, static_cast<unsigned long long>(epoch_us % 1000000));
    return text;
}

std::string renderStatsText(const CaptureStats& stats, size_t top_n)
{
    std::string out;
    out += "📏 Total allocations:\n\t" + std::to_string(stats.total_allocations) + "\n\n";
    out += "📦 Total memory allocated:\n\t" + formatSize(stats.total_bytes) + "\n\n";
    out += "📈 Peak memory usage:\n\t" + formatSize(stats.peak_bytes) + "\n\n";
    appendHistogram(out, stats);

    out += "📂 Allocator type distribution:\n";
    if (stats.allocators.empty()) {
        out += "\t(none)\n";
    }
    for (const AllocatorCount& entry : stats.allocators) {
        out += "\t " + allocatorLabel(entry.allocator) + ": " + std::to_string(entry.count) + "\n";
    }
    out += "\n";

    const std::string n = std::to_string(top_n);
    appendTop(out, "🥇 Top " + n + " largest allocating locations (by size):", stats.top_locations_by_size, true, false);
    appendTop(out, "🥇 Top " + n + " largest allocating locations (by number of allocations):", stats.top_locations_by_count, false, false);
    appendTop(out, "🥇 Top " + n + " allocating modules (by size):", stats.top_modules_by_size, true, true);
    appendTop(out, "🥇 Top " + n + " allocating modules (by number of allocations):", stats.top_modules_by_count, false, true);
    out.pop_back();  // no blank line after the last section
    return out;
}

std::string renderStatsJson(const CaptureStats& stats, const CaptureReader& reader)
{
    nlohmann::ordered_json doc;
    doc["total_num_allocations"] = stats.total_allocations;
    doc["total_bytes_allocated"] = stats.total_bytes;
    doc["peak_memory"] = stats.peak_bytes;

    auto histogram = nlohmann::ordered_json::array();
    for (const SizeBin& bin : stats.histogram) {
        histogram.push_back({{"min_bytes", bin.min_bytes}, {"max_bytes", bin.max_bytes}, {"count", bin.count}});
    }
    doc["allocation_size_histogram"] = std::move(histogram);

    auto allocators = nlohmann::ordered_json::object();
    for (const AllocatorCount& entry : stats.allocators) {
        allocators[allocatorLabel(entry.allocator)] = entry.count;
    }
    doc["allocator_type_distribution"] = std::move(allocators);
    doc["top_allocations_by_size"] = totalsJson(stats.top_locations_by_size, "location");
    doc["top_allocations_by_count"] = totalsJson(stats.top_locations_by_count, "location");
    doc["top_modules_by_allocation_size"] = totalsJson(stats.top_modules_by_size, "module");
    doc["top_modules_by_allocation_count"] = totalsJson(stats.top_modules_by_count, "module");

    const format::Metadata& metadata = reader.metadata();
    nlohmann::ordered_json meta;
    meta["start_time"] = isoTimestamp(metadata.start_time_us);
    const auto end = reader.endTimeUs();
    meta["end_time"] = end ? nlohmann::ordered_json(isoTimestamp(*end)) : nlohmann::ordered_json(nullptr);
    meta["total_allocations"] = stats.total_allocations;
    meta["peak_memory"] = stats.peak_bytes;
    meta["command_line"] = metadata.command_line;
    meta["pid"] = metadata.pid;
    meta["main_thread_id"] = reader.mainThreadId();
    meta["python_version"] = metadata.python_version;
    meta["python_allocator"] = metadata.python_allocator;
    meta["has_native_traces"] = metadata.has(format::kOptionNativeTraces);
    meta["trace_python_allocators"] = metadata.has(format::kOptionTracePythonAllocators);
    meta["executable"] = metadata.executable;
    meta["capture_complete"] = reader.endState() == EndState::Complete;
    doc["metadata"] = std::move(meta);
    // Replace, not throw, on invalid UTF-8: names and paths come from the capture verbatim.
    return doc.dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace memray::reader
