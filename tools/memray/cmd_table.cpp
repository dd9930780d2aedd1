// memray table FILE: an HTML table of the allocation sites of a capture.
#include "commands.h"
#include "html_report_command.h"

namespace memray::cli {

int tableCommand(int argc, char** argv)
{
    static const HtmlReportCommand kCommand{
        "table", reporters::ReportView::Table, false,
        "usage: memray table [-h] [-o OUTPUT] [-f] [--leaks | --temporary-allocations |\n"
        "                    --temporary-allocation-threshold N] [--split-threads] RESULTS\n\n"
        "Write an HTML table of the allocation sites in the capture file RESULTS (thread, size,\n"
        "allocator, count, location), sortable and searchable: by default what was live when the\n"
        "tracked heap peaked. The page is self-contained (it loads nothing)."};
    return runHtmlReportCommand(kCommand, argc, argv);
}

}  // namespace memray::cli
