// memray-aggregate-check FILE: verifies an aggregated capture written with its allocation
// records as well (`MEMRAY_AGGREGATE_VERIFY=1 memray run --aggregate ...`, which sets
// kOptionAggregateWithRecords). The peak and leaks snapshots are computed from the records and
// from the last checkpoint, with threads merged and split, and compared: every location's bytes
// and count, peak_bytes, total_allocations, total_bytes and every memory point (time, RSS,
// heap). Prints each difference and exits 1 if there is any, else prints one line and exits 0.
// Exit 2: the file cannot be read, or has not both records and checkpoints.
#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace {

using namespace memray::reader;

constexpr size_t kMaxDifferencesShown = 20;  // per comparison

using Key = std::tuple<uint64_t, uint64_t, uint64_t, uint8_t>;  // stack, native stack, thread, allocator

std::map<Key, std::pair<uint64_t, uint64_t>> byLocation(const AllocationSnapshot& snapshot)
{
    std::map<Key, std::pair<uint64_t, uint64_t>> result;
    for (const LocationUsage& usage : snapshot.locations) {
        const Key key{usage.key.stack_id, usage.key.native_stack_id, usage.key.thread_id,
                      static_cast<uint8_t>(usage.key.allocator)};
        result[key] = {usage.bytes, usage.count};
    }
    return result;
}

class Comparison
{
  public:
    explicit Comparison(std::string what)
    : what_(std::move(what))
    {
    }

    void differ(const std::string& detail)
    {
        if (++differences_ <= kMaxDifferencesShown) {
            std::printf("%s: %s\n", what_.c_str(), detail.c_str());
        }
    }

    void field(const char* name, uint64_t records, uint64_t checkpoints)
    {
        if (records != checkpoints) {
            differ(std::string(name) + ": records " + std::to_string(records) + ", checkpoints "
                   + std::to_string(checkpoints));
        }
    }

    size_t finish() const
    {
        if (differences_ > kMaxDifferencesShown) {
            std::printf("%s: ... %zu differences in all\n", what_.c_str(), differences_);
        }
        return differences_;
    }

  private:
    std::string what_;
    size_t differences_ = 0;
};

std::string describe(const Key& key, const CaptureReader& capture)
{
    const auto [stack, native, thread, allocator] = key;
    std::string text = "stack " + std::to_string(stack);
    const auto frames = capture.stackFrames(stack);
    if (!frames.empty()) {
        text += " (" + std::string(frames.front().function) + " " + std::string(frames.front().file) + ":"
                + std::to_string(frames.front().line) + ")";
    }
    if (native) {
        text += " native " + std::to_string(native);
    }
    text += " thread " + std::to_string(thread) + " "
            + std::string(memray::format::allocatorName(static_cast<memray::format::Allocator>(allocator)));
    return text;
}

// Differences between the two snapshots of one kind and thread split.
size_t compare(const std::string& path, ReportKind kind, bool split_threads, size_t* locations, size_t* points)
{
    SnapshotOptions options;
    options.kind = kind;
    options.split_threads = split_threads;
    options.source = SnapshotSource::Records;
    const size_t all_points = std::numeric_limits<size_t>::max();
    const AnalysedCapture records = analyseCapture(path, options, all_points);
    options.source = SnapshotSource::Checkpoints;
    const AnalysedCapture checkpoints = analyseCapture(path, options, all_points);

    Comparison comparison(std::string(kind == ReportKind::Peak ? "peak" : "leaks")
                          + (split_threads ? ", split threads" : ", merged threads"));
    const AllocationSnapshot& a = records.snapshot;
    const AllocationSnapshot& b = checkpoints.snapshot;
    comparison.field("peak_bytes", a.peak_bytes, b.peak_bytes);
    comparison.field("total_allocations", a.total_allocations, b.total_allocations);
    comparison.field("total_bytes", a.total_bytes, b.total_bytes);
    comparison.field("bytes", a.bytes, b.bytes);
    comparison.field("count", a.count, b.count);

    auto by_records = byLocation(a);
    auto by_checkpoints = byLocation(b);
    for (const auto& [key, figures] : by_records) {
        auto found = by_checkpoints.find(key);
        const auto other = found == by_checkpoints.end() ? std::pair<uint64_t, uint64_t>{0, 0} : found->second;
        if (figures != other) {
            comparison.differ(describe(key, *records.capture) + ": records " + std::to_string(figures.first)
                              + " bytes in " + std::to_string(figures.second) + ", checkpoints "
                              + std::to_string(other.first) + " bytes in " + std::to_string(other.second));
        }
        if (found != by_checkpoints.end()) {
            by_checkpoints.erase(found);
        }
    }
    for (const auto& [key, figures] : by_checkpoints) {
        comparison.differ(describe(key, *records.capture) + ": records nothing, checkpoints "
                          + std::to_string(figures.first) + " bytes in " + std::to_string(figures.second));
    }

    comparison.field("memory points", a.memory.size(), b.memory.size());
    for (size_t i = 0; i < a.memory.size() && i < b.memory.size(); ++i) {
        const MemoryPoint& x = a.memory[i];
        const MemoryPoint& y = b.memory[i];
        if (x.time_ms != y.time_ms || x.rss != y.rss || x.heap != y.heap) {
            comparison.differ("memory point " + std::to_string(i) + " at " + std::to_string(x.time_ms)
                              + " ms: records heap " + std::to_string(x.heap) + " rss " + std::to_string(x.rss)
                              + ", checkpoints heap " + std::to_string(y.heap) + " rss " + std::to_string(y.rss)
                              + " at " + std::to_string(y.time_ms) + " ms");
        }
    }
    *locations = std::max(*locations, a.locations.size());
    *points = a.memory.size();
    return comparison.finish();
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: memray-aggregate-check FILE\n");
        return 2;
    }
    const std::string path = argv[1];
    try {
        {
            CaptureReader capture(path);
            if (!capture.hasAggregateRecords()) {
                std::fprintf(stderr,
                             "memray-aggregate-check: %s has not both allocation records and checkpoints "
                             "(capture it with MEMRAY_AGGREGATE_VERIFY=1 memray run --aggregate)\n",
                             path.c_str());
                return 2;
            }
        }
        size_t differences = 0;
        size_t locations = 0;
        size_t points = 0;
        for (ReportKind kind : {ReportKind::Peak, ReportKind::Leaks}) {
            for (bool split_threads : {false, true}) {
                differences += compare(path, kind, split_threads, &locations, &points);
            }
        }
        if (differences) {
            std::printf("memray-aggregate-check: %s: %zu differences between the records and the checkpoints\n",
                        path.c_str(), differences);
            return 1;
        }
        std::printf("memray-aggregate-check: %s: records and checkpoints agree (peak and leaks, threads merged "
                    "and split: up to %zu locations, %zu memory points)\n",
                    path.c_str(), locations, points);
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "memray-aggregate-check: %s\n", error.what());
        return 2;
    }
}
