#include "terminal_report_command.h"

#include "cli_common.h"

#include "memray/reporters/snapshot_heading.h"
#include "memray/reporters/terminal.h"
#include "memray/reporters/text_style.h"

#include <unistd.h>

#include <cstdio>
#include <exception>

namespace memray::cli {

int runTerminalReport(std::string_view command, const std::string& capture, const reader::SnapshotOptions& options,
                      const TerminalRenderer& render)
{
    try {
        const reader::AnalysedCapture analysed = reader::analyseCapture(capture, options);
        if (analysed.capture->endedAbruptly()) {
            warn(command, capture + " ended abruptly (the tracked process did not finish writing it); "
                                    "the report covers the records up to that point");
        }
        const bool colour = reporters::colourWanted(STDOUT_FILENO);
        std::string text = reporters::Painter(colour).bold(
                                   reporters::snapshotHeading(analysed.snapshot, options.temporary_threshold))
                           + "\n";
        if (!analysed.snapshot.locations.empty()) {
            text += "\n" + render(analysed, colour);
        }
        std::fwrite(text.data(), 1, text.size(), stdout);
        if (std::fflush(stdout) != 0) {
            return fail(command, "cannot write to standard output");
        }
        return kExitOk;
    } catch (const std::exception& error) {
        return fail(command, error.what());
    }
}

}  // namespace memray::cli
