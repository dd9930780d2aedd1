// memray transform FORMAT RESULTS: the peak (or leaks, or temporary allocations) of a capture as
// a file for another tool: csv, gprof2dot's JSON or speedscope's (reporters/transform).
#include "cli_common.h"
#include "commands.h"
#include "html_report_command.h"
#include "snapshot_kind_options.h"

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"
#include "memray/reporters/transform/transform.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace memray::cli {

namespace {

namespace transform = reporters::transform;

constexpr const char* kCommand = "transform";

std::string formatList(std::string_view separator)
{
    std::string list;
    for (const transform::FormatInfo& info : transform::formats()) {
        if (!list.empty()) list += separator;
        list += info.name;
    }
    return list;
}

// memray's default: "<directory of capture>/memray-<format>-<capture name without a leading
// "memray-", its last extension replaced by the format's suffix>", as for the HTML reports.
std::string defaultOutputPath(const std::string& capture, const transform::FormatInfo& format)
{
    std::string path = defaultHtmlReportPath(capture, format.name);
    path.replace(path.size() - std::string_view(".html").size(), std::string::npos, format.suffix);
    return path;
}

// Whether `program` is an executable file in a directory of PATH.
bool onPath(const std::string& program)
{
    const char* path = std::getenv("PATH");
    std::string_view directories = path ? path : "";
    while (!directories.empty()) {
        const size_t colon = directories.find(':');
        const std::string_view directory = directories.substr(0, colon);
        const std::string candidate = (directory.empty() ? std::string(".") : std::string(directory)) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) return true;
        if (colon == std::string_view::npos) break;
        directories.remove_prefix(colon + 1);
    }
    return false;
}

// After a gprof2dot file: how to draw it, and which of the tools for that are missing.
void explainGprof2dot(const std::string& output)
{
    if (!onPath("gprof2dot")) {
        warn(kCommand, "gprof2dot does not seem to be installed (it reads the file: "
                       "https://github.com/jrfonseca/gprof2dot)");
    }
    if (!onPath("dot")) {
        warn(kCommand, "Graphviz does not seem to be installed (its 'dot' draws the graph: apt-get install graphviz)");
    }
    std::printf("\nTo generate a graph from the transform file, run for example:\n"
                "gprof2dot -f json %s | dot -Tpng -o output.png\n",
                output.c_str());
}

}  // namespace

int transformCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("output,o", po::value<std::string>(),
         "the file to write (default: memray-FORMAT-<capture name>.<suffix> beside RESULTS)")
        ("force,f", "overwrite the output file if it already exists");
    addSnapshotKindOptions(options);
    po::options_description hidden;
    hidden.add_options()
        ("format", po::value<std::string>(), "output format")
        ("results", po::value<std::string>(), "capture file");
    po::positional_options_description positional;
    positional.add("format", 1).add("results", 1);
    const std::string usage =
        "usage: memray transform [-h] [-o OUTPUT] [-f]\n"
        "                        [--leaks | --temporary-allocations | --temporary-allocation-threshold N]\n"
        "                        {" + formatList(",") + "} RESULTS\n\n"
        "Write the memory live at the peak (or leaked, or temporarily allocated) in the capture file\n"
        "RESULTS in a format other tools read, with one row or sample per call stack:\n"
        "  csv         a table for spreadsheets and pandas (memray-csv-<capture>.csv)\n"
        "  gprof2dot   gprof2dot's JSON, for a call graph drawn by Graphviz (memray-gprof2dot-<capture>.json)\n"
        "  speedscope  a profile to open in speedscope (memray-speedscope-<capture>.speedscope.json)";
    po::variables_map values;
    if (auto status = parseCommandLine(kCommand, argc, argv, options, hidden, positional, usage, &values)) {
        return *status;
    }
    if (!values.count("format")) {
        return usageError(kCommand, "missing the format (one of " + formatList(", ") + ") and the capture file");
    }
    const std::string format_name = values["format"].as<std::string>();
    const auto format = transform::formatNamed(format_name);
    if (!format) {
        return usageError(kCommand, "Format not supported: " + format_name + " (one of " + formatList(", ") + ")");
    }
    if (!values.count("results")) {
        return usageError(kCommand, "missing the capture file to transform");
    }
    reader::SnapshotOptions analysis;
    if (auto status = readSnapshotKind(kCommand, values, &analysis)) return *status;
    analysis.split_threads = transform::wantsSplitThreads(*format);

    const transform::FormatInfo& info = transform::formatInfo(*format);
    const std::string capture = values["results"].as<std::string>();
    try {
        // Opening the capture first gives "not a capture" errors before any output decision.
        { reader::CaptureReader probe(capture); }
        const std::string output = values.count("output") ? values["output"].as<std::string>()
                                                          : defaultOutputPath(capture, info);
        // Refuse the output before the (possibly long) analysis, not after it.
        if (auto refusal = outputRefusal(output, values.count("force") > 0)) return fail(kCommand, *refusal);

        const reader::AnalysedCapture analysed = reader::analyseCapture(capture, analysis);
        if (analysed.capture->endedAbruptly()) {
            warn(kCommand, capture + " ended abruptly (the tracked process did not finish writing it); "
                                     "the file covers the records up to that point");
        }
        transform::TransformOptions transform_options;
        transform_options.exporter = std::string("memray@") + MEMRAY_VERSION;
        if (auto error = writeFile(output, transform::renderTransform(*format, analysed, transform_options))) {
            return fail(kCommand, *error);
        }
        std::printf("Wrote %s\n", output.c_str());
        if (*format == transform::Format::Gprof2dot) explainGprof2dot(output);
        if (std::fflush(stdout) != 0) return fail(kCommand, "cannot write to standard output");
        return kExitOk;
    } catch (const std::exception& error) {
        return fail(kCommand, error.what());
    }
}

}  // namespace memray::cli
