// memray tree FILE: the call tree of the biggest allocations, printed to the terminal.
#include "cli_common.h"
#include "commands.h"
#include "snapshot_kind_options.h"
#include "terminal_report_command.h"

#include "memray/reader/call_tree.h"
#include "memray/reporters/tree_report.h"

#include <algorithm>
#include <string>
#include <vector>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "tree";
constexpr uint64_t kDefaultBiggest = 200;

std::string renderBiggest(const reader::AnalysedCapture& analysed, uint64_t biggest, bool show_all_frames, bool colour)
{
    // The snapshot's locations come largest first: the tree is made of the first ones, and
    // the rest are summed up in one line.
    const std::vector<reader::LocationUsage>& all = analysed.snapshot.locations;
    const size_t kept = static_cast<size_t>(std::min<uint64_t>(biggest, all.size()));
    const std::vector<reader::LocationUsage> shown(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kept));
    reporters::ElidedLocations elided;
    for (size_t i = kept; i < all.size(); ++i) {
        ++elided.count;
        elided.bytes += all[i].bytes;
    }
    // The interpreter's unnamed frames stay in the tree, flagged: the renderer hides and counts
    // them, or shows them with --show-all-frames.
    reader::CallTreeOptions tree_options;
    tree_options.keep_unnamed_interpreter_frames = true;
    const reader::CallTree tree = reader::buildCallTree(*analysed.capture, shown, nullptr, tree_options);
    return reporters::renderTree(tree, elided, reporters::TreeReportOptions{show_all_frames, colour});
}

}  // namespace

int treeCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("biggest-allocs,b", po::value<std::string>()->default_value(std::to_string(kDefaultBiggest)),
         "how many of the largest allocating locations make the tree (more than 0); the rest are summed up in "
         "one line")
        ("show-all-frames",
         "also show the import system's and start-up frames, the interpreter's unnamed native frames, and every "
         "frame of long call chains");
    addSnapshotKindOptions(options);
    po::variables_map values;
    if (auto status = parseResultsCommandLine(
                kCommand, argc, argv, options,
                "usage: memray tree [-h] [-b N] [--show-all-frames]\n"
                "                   [--leaks | --temporary-allocations | --temporary-allocation-threshold N] RESULTS\n\n"
                "Print the call tree of the memory allocated at the peak (or leaked, or temporarily allocated)\n"
                "in the capture file RESULTS, from the program's entry point down to the lines that allocated.\n"
                "Each frame shows what it and everything it called allocated, and that as a share of the total.\n"
                "Calls that only lead to one other call are listed under it (↳) instead of indented.",
                "missing the capture file to analyse",
                &values))
    {
        return *status;
    }
    const auto biggest = positiveIntegerOption(kCommand, values, "biggest-allocs", "-b/--biggest-allocs");
    if (!biggest) {
        return kExitUsage;
    }
    reader::SnapshotOptions snapshot;
    if (auto status = readSnapshotKind(kCommand, values, &snapshot)) {
        return *status;
    }
    const bool show_all_frames = values.count("show-all-frames") > 0;
    return runTerminalReport(kCommand, values["results"].as<std::string>(), snapshot,
                             [&](const reader::AnalysedCapture& analysed, bool colour) {
                                 return renderBiggest(analysed, *biggest, show_all_frames, colour);
                             });
}

}  // namespace memray::cli
