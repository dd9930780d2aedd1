// memray summary FILE: the functions that allocated the most, as a table on the terminal.
#include "cli_common.h"
#include "commands.h"
#include "snapshot_kind_options.h"
#include "terminal_report_command.h"

#include "memray/reader/call_tree.h"
#include "memray/reporters/summary_table.h"
#include "memray/reporters/terminal.h"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "summary";

// memray's default: the terminal's height less room for the heading, and at least 10 rows.
uint64_t defaultMaxRows()
{
    const size_t lines = reporters::terminalSize(STDOUT_FILENO).lines;
    return std::max<uint64_t>(lines > 5 ? lines - 5 : 0, 10);
}

std::string renderSummary(const reader::AnalysedCapture& analysed, reporters::SummaryColumn column, uint64_t max_rows,
                          bool colour)
{
    const reader::CallTree tree = reader::buildCallTree(*analysed.capture, analysed.snapshot.locations);
    std::vector<reporters::FunctionUsage> functions = reporters::summariseFunctions(tree);
    reporters::sortFunctions(functions, column);
    reporters::SummaryTableOptions options;
    options.sort_column = column;
    options.max_rows = static_cast<size_t>(max_rows);
    // Fit a terminal's width; a pipe or a file gets whole locations.
    options.max_width = stdoutIsTerminal() ? reporters::terminalSize(STDOUT_FILENO).columns : 0;
    options.colour = colour;
    return reporters::renderSummaryTable(functions, analysed.snapshot.bytes, options);
}

}  // namespace

int summaryCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("sort-column,s", po::value<std::string>()->default_value("1"),
         "the column to sort by, largest first: 1 Total Memory, 2 Total Memory %, 3 Own Memory, 4 Own Memory %, "
         "5 Allocation Count")
        ("max-rows,r", po::value<std::string>(),
         "how many functions to show (more than 0; default: what fits the terminal, at least 10)");
    addSnapshotKindOptions(options);
    po::variables_map values;
    if (auto status = parseResultsCommandLine(
                kCommand, argc, argv, options,
                "usage: memray summary [-h] [-s {1,2,3,4,5}] [-r N]\n"
                "                      [--leaks | --temporary-allocations | --temporary-allocation-threshold N] RESULTS\n\n"
                "Print a table of the functions that allocated the memory live at the peak (or leaked, or\n"
                "temporarily allocated) in the capture file RESULTS. Total Memory is what was allocated\n"
                "while the function was on the stack (counted once however deep it recursed), Own Memory\n"
                "and Allocation Count what the function's own lines allocated.",
                "missing the capture file to analyse",
                &values))
    {
        return *status;
    }
    const std::string column_text = values["sort-column"].as<std::string>();
    const auto column = parsePositiveInteger(column_text);
    if (!column || *column > 5) {
        return usageError(kCommand, "The --sort-column argument must be between 1 and 5");
    }
    uint64_t max_rows = defaultMaxRows();
    if (values.count("max-rows")) {
        const auto rows = positiveIntegerOption(kCommand, values, "max-rows", "-r/--max-rows");
        if (!rows) {
            return kExitUsage;
        }
        max_rows = *rows;
    }
    reader::SnapshotOptions snapshot;
    if (auto status = readSnapshotKind(kCommand, values, &snapshot)) {
        return *status;
    }
    const auto sort_column = static_cast<reporters::SummaryColumn>(*column);
    return runTerminalReport(kCommand, values["results"].as<std::string>(), snapshot,
                             [&](const reader::AnalysedCapture& analysed, bool colour) {
                                 return renderSummary(analysed, sort_column, max_rows, colour);
                             });
}

}  // namespace memray::cli
