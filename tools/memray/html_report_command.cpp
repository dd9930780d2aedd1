#include "html_report_command.h"

#include "cli_common.h"
#include "snapshot_kind_options.h"

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"
#include "memray/reader/temporal_snapshot.h"
#include "memray/reporters/report_json.h"

#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>

namespace memray::cli {

namespace {

constexpr size_t kDefaultMaxMemoryRecords = 10000;

std::string fileName(const std::string& path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The report's title: what it shows, of which capture.
std::string reportTitle(const HtmlReportCommand& command, const std::string& capture, reader::ReportKind kind)
{
    const char* what = kind == reader::ReportKind::Leaks       ? " (leaks)"
                       : kind == reader::ReportKind::Temporary ? " (temporary allocations)"
                                                               : "";
    return std::string("memray ") + command.name + what + ": " + fileName(capture);
}

std::optional<std::string> writeReport(const std::string& path, reporters::ReportView view, const std::string& title,
                                       const std::string& json)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) reporters::writeHtmlReport(out, view, title, json);
    out.close();
    if (!out) return "cannot write " + path;
    return std::nullopt;
}

}  // namespace

std::string defaultHtmlReportPath(const std::string& capture, std::string_view view)
{
    const size_t slash = capture.rfind('/');
    const std::string directory = slash == std::string::npos ? "" : capture.substr(0, slash + 1);
    std::string name = fileName(capture);
    if (name.starts_with("memray-")) name.erase(0, 7);
    const size_t dot = name.rfind('.');
    if (dot != std::string::npos && dot > 0) name.erase(dot);
    return directory + "memray-" + std::string(view) + "-" + name + ".html";
}

int runHtmlReportCommand(const HtmlReportCommand& command, int argc, char** argv)
{
    namespace po = boost::program_options;
    const std::string_view name = command.name;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("output,o", po::value<std::string>(),
         ("the file to write (default: memray-" + std::string(name) + "-<capture name>.html beside RESULTS)").c_str())
        ("force,f", "overwrite the output file if it already exists")
        ("split-threads", "keep threads apart (and offer a thread filter) instead of merging them");
    addSnapshotKindOptions(options);
    if (command.flamegraph_options) {
        options.add_options()
            ("temporal", "let the report pick any time range and show its peak (or its leaks with --leaks)")
            ("inverted", "open the flame graph inverted: allocating functions at the top, their callers below")
            ("max-memory-records", po::value<std::string>()->default_value(std::to_string(kDefaultMaxMemoryRecords)),
             "keep at most N memory samples (and temporal time slices)");
    }
    po::variables_map values;
    if (auto status = parseResultsCommandLine(name, argc, argv, options, command.usage,
                                              "missing the capture file to report on", &values)) {
        return *status;
    }

    reader::SnapshotOptions analysis;
    analysis.split_threads = values.count("split-threads") > 0;
    if (auto status = readSnapshotKind(name, values, &analysis)) return *status;
    const bool temporal = values.count("temporal") > 0;
    if (temporal && analysis.kind == reader::ReportKind::Temporary) {
        return usageError(name, "--temporal cannot show temporary allocations (use it alone or with --leaks)");
    }
    size_t max_records = kDefaultMaxMemoryRecords;
    if (command.flamegraph_options) {
        const auto parsed = positiveIntegerOption(name, values, "max-memory-records", "--max-memory-records");
        if (!parsed) return kExitUsage;
        max_records = *parsed;
    }

    reporters::ReportJsonOptions report;
    report.view = command.view;
    report.inverted = values.count("inverted") > 0;
    report.split_threads = analysis.split_threads;
    report.temporary_threshold = analysis.temporary_threshold;

    const std::string capture = values["results"].as<std::string>();
    try {
        // Opening the capture first gives "not a capture" errors before any output decision.
        { reader::CaptureReader probe(capture); }
        const std::string output = values.count("output") ? values["output"].as<std::string>()
                                                          : defaultHtmlReportPath(capture, name);
        // Refuse the output before the (possibly long) analysis, not after it.
        if (auto refusal = outputRefusal(output, values.count("force") > 0)) return fail(name, *refusal);

        std::string json;
        bool ended_abruptly = false;
        if (temporal) {
            const auto analysed = reader::analyseCaptureOverTime(capture, analysis, max_records);
            ended_abruptly = analysed.capture->endedAbruptly();
            json = reporters::temporalReportJson(analysed, report);
        } else {
            const auto analysed = reader::analyseCapture(capture, analysis, max_records);
            ended_abruptly = analysed.capture->endedAbruptly();
            json = reporters::snapshotReportJson(analysed, report);
        }
        if (ended_abruptly) {
            warn(name, capture + " ended abruptly (the tracked process did not finish writing it); "
                                 "the report covers the records up to that point");
        }
        if (auto error = writeReport(output, command.view, reportTitle(command, capture, analysis.kind), json)) {
            return fail(name, *error);
        }
        std::printf("Wrote %s\n", output.c_str());
        if (std::fflush(stdout) != 0) return fail(name, "cannot write to standard output");
        return kExitOk;
    } catch (const std::exception& error) {
        return fail(name, error.what());
    }
}

}  // namespace memray::cli
