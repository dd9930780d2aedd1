// memray parse FILE: every record of a capture as one line of text, for debugging.
//
// Output goes through one large buffer written with write(2): a capture holds tens of
// millions of records, and per-field stream formatting would make this the slowest reporter.
#include "cli_common.h"
#include "commands.h"

#include "memray/reader/capture_reader.h"
#include "memray/reader/record_text.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "parse";
constexpr size_t kFlushBytes = 1 << 20;

// Thrown when stdout goes away (a closed pipe: `memray parse f | head`): stop quietly.
struct OutputClosed
{
};

void writeAll(int fd, const std::string& data)
{
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        const ssize_t written = ::write(fd, p, left);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EPIPE) {
                throw OutputClosed{};
            }
            throw std::runtime_error(std::string("cannot write the output: ") + std::strerror(errno));
        }
        p += written;
        left -= static_cast<size_t>(written);
    }
}

}  // namespace

int parseCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()("help,h", "show this help and exit");
    po::variables_map values;
    if (auto status = parseResultsCommandLine(
                kCommand, argc, argv, options,
                "usage: memray parse [-h] RESULTS\n\n"
                "Print every record of the capture file RESULTS as one line of text (a debugging aid).\n"
                "Standard output must be a file or a pipe.",
                "missing the capture file to parse",
                &values))
    {
        return *status;
    }
    if (stdoutIsTerminal()) {
        return fail(kCommand, "You must redirect stdout to a file or shell pipeline.");
    }

    try {
        reader::CaptureReader reader(values["results"].as<std::string>());
        const bool native = reader.nativeTraces();
        const bool aggregated = reader.isAggregated();
        std::string out;
        out.reserve(kFlushBytes + (64 << 10));
        reader::appendHeaderLine(out, reader.metadata());
        reader::Record record;
        while (reader.next(record)) {
            reader::appendRecordLine(out, record, native, aggregated);
            if (out.size() >= kFlushBytes) [[unlikely]] {
                writeAll(STDOUT_FILENO, out);
                out.clear();
            }
        }
        reader::appendEndLine(out, reader.endState(), reader.recordsRead());
        writeAll(STDOUT_FILENO, out);
        if (reader.endState() == reader::EndState::Corrupt) {
            return fail(kCommand, reader.error());
        }
        if (reader.endedAbruptly()) {
            warn(kCommand, reader.path() + " ended abruptly (the tracked process did not finish writing it); "
                           "printed the records up to that point");
        }
        return kExitOk;
    } catch (const OutputClosed&) {
        return kExitOk;
    } catch (const std::exception& error) {
        return fail(kCommand, error.what());
    }
}

}  // namespace memray::cli
