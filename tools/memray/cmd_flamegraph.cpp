// memray flamegraph FILE: an HTML flame graph of where the memory of a capture was allocated.
#include "commands.h"
#include "html_report_command.h"

namespace memray::cli {

int flamegraphCommand(int argc, char** argv)
{
    static const HtmlReportCommand kCommand{
        "flamegraph", reporters::ReportView::Flamegraph, true,
        "usage: memray flamegraph [-h] [-o OUTPUT] [-f] [--leaks | --temporary-allocations |\n"
        "                         --temporary-allocation-threshold N] [--temporal] [--split-threads]\n"
        "                         [--inverted] [--max-memory-records N] RESULTS\n\n"
        "Write an HTML flame graph of the memory allocated in the capture file RESULTS: by default\n"
        "what was live when the tracked heap peaked. The page is self-contained (it loads nothing)."};
    return runHtmlReportCommand(kCommand, argc, argv);
}

}  // namespace memray::cli
