// memray stats FILE: allocation statistics of a capture, on the terminal or as JSON.
#include "cli_common.h"
#include "commands.h"

#include "memray/reader/capture_reader.h"
#include "memray/reader/stats.h"
#include "memray/reader/stats_report.h"

#include <cstdio>
#include <exception>
#include <string>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "stats";
constexpr size_t kDefaultTopN = 5;

}  // namespace

int statsCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("num-largest,n", po::value<std::string>()->default_value(std::to_string(kDefaultTopN)),
         "how many of the largest allocating locations and modules to show (more than 0)")
        ("json", "write the statistics as JSON to a file instead of printing them")
        ("output,o", po::value<std::string>(),
         "with --json: the file to write (default: memray-stats-<results file name>.json beside RESULTS)")
        ("force,f", "with --json: overwrite the output file if it already exists");
    po::variables_map values;
    if (auto status = parseResultsCommandLine(
                kCommand, argc, argv, options,
                "usage: memray stats [-h] [-n N] [--json] [-o OUTPUT] [-f] RESULTS\n\n"
                "Show statistics of the allocations in the capture file RESULTS: totals, peak memory,\n"
                "a histogram of allocation sizes, allocators used, and the locations and modules that\n"
                "allocated the most.",
                "missing the capture file to analyse",
                &values))
    {
        return *status;
    }
    const auto top_n = positiveIntegerOption(kCommand, values, "num-largest", "-n/--num-largest");
    if (!top_n) {
        return kExitUsage;
    }
    const bool json = values.count("json") > 0;
    if (!json && (values.count("output") || values.count("force"))) {
        return usageError(kCommand, "-o/--output and -f/--force need --json");
    }
    const std::string capture = values["results"].as<std::string>();

    try {
        reader::CaptureReader reader(capture);
        // Refuse the output before the (possibly long) analysis, not after it.
        std::string output;
        if (json) {
            output = values.count("output") ? values["output"].as<std::string>()
                                            : reportPathBeside(capture, "memray-stats-", ".json");
            if (auto refusal = outputRefusal(output, values.count("force") > 0)) {
                return fail(kCommand, *refusal);
            }
        }
        const reader::CaptureStats stats = reader::computeStats(reader, *top_n);
        if (reader.endedAbruptly()) {
            warn(kCommand, capture + " ended abruptly (the tracked process did not finish writing it); "
                           "the statistics cover the records up to that point");
        }
        if (json) {
            if (auto error = writeFile(output, reader::renderStatsJson(stats, reader))) {
                return fail(kCommand, *error);
            }
            std::printf("Wrote %s\n", output.c_str());
        } else {
            const std::string text = reader::renderStatsText(stats, *top_n);
            std::fwrite(text.data(), 1, text.size(), stdout);
        }
        if (std::fflush(stdout) != 0) {
            return fail(kCommand, "cannot write to standard output");
        }
        return kExitOk;
    } catch (const std::exception& error) {
        return fail(kCommand, error.what());
    }
}

}  // namespace memray::cli
