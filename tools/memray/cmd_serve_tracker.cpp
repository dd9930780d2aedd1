// memray _serve-tracker ADDRESS PORT CAPTURE WRITER_PID: the helper process behind
// `memray.Tracker(destination=SocketDestination(PORT, ADDRESS))` (python/memray/_live_helper.py).
// Not listed by `memray --help`: only the Python package starts it.
//
// The tracked Python process (WRITER_PID) writes its capture to CAPTURE, in a private
// directory, exactly as with a FileDestination; this process serves that file on ADDRESS:PORT
// to every `memray live PORT` that connects, as `memray run --live-remote` does (live_server.h),
// so a viewer never slows the program and one that connects late still sees it all.
//
// Talking to the Tracker, one line each on standard output: "listening" once bound, or
// "error <message>" and exit 1; then "connected" when the first viewer has connected (the
// Tracker's constructor waits for it, as memray's does). Standard input is the Tracker's
// lifeline: a byte on it (the Tracker has stopped and closed its capture) or its end (the
// Python process is gone, however it ended) means the capture is complete. This process then
// stops accepting viewers, gives the connected ones time to receive the rest, removes CAPTURE
// and its directory, and exits.
#include "cli_common.h"
#include "commands.h"
#include "live_server.h"
#include "process_state.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <poll.h>
#include <unistd.h>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "_serve-tracker";
// How long connected viewers get to receive the rest of the capture once it is complete.
constexpr auto kViewerGrace = std::chrono::seconds(30);
// How often the first viewer is looked for (the Tracker's constructor waits for it), then how
// often the writer's existence is checked while the capture is being written.
constexpr int kViewerCheckMs = 5;
constexpr int kWriterCheckMs = 250;

void say(const std::string& line)
{
    // The Tracker may be gone (killed): its pipe then fails with EPIPE, which is ignored.
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

bool writerAlive(pid_t writer)
{
    const char state = processState(writer);
    return state != '?' && state != 'Z' && state != 'X';
}

// Until the Tracker says it has stopped, or it or its process is gone.
void waitForTheCaptureToEnd(const LiveServer& server, pid_t writer)
{
    bool announced = false;
    for (;;) {
        if (!announced && server.viewersAccepted() > 0) {
            say("connected");
            announced = true;
        }
        pollfd lifeline{STDIN_FILENO, POLLIN, 0};
        const int ready = poll(&lifeline, 1, announced ? kWriterCheckMs : kViewerCheckMs);
        if (ready < 0 && errno != EINTR) {
            return;
        }
        if (ready > 0) {
            return;  // a byte (stopped) or the end (gone): either way the capture is complete
        }
        if (!writerAlive(writer)) {
            return;  // killed, and a forked child of it still holds the lifeline
        }
    }
}

void removeCapture(const std::string& capture)
{
    std::error_code ignored;
    std::filesystem::remove(capture, ignored);
    // Only if empty: never more than the directory the Tracker made for it.
    std::filesystem::remove(std::filesystem::path(capture).parent_path(), ignored);
}

}  // namespace

int serveTrackerCommand(int argc, char** argv)
{
    if (argc != 5) {
        return usageError(kCommand, "expected ADDRESS PORT CAPTURE WRITER_PID (this command serves memray.Tracker)");
    }
    const std::string address = argv[1];
    const auto port = parsePositiveInteger(argv[2]);
    const std::string capture = argv[3];
    const auto writer = parsePositiveInteger(argv[4]);
    if (!port || *port > 65535 || !writer) {
        return usageError(kCommand, "invalid port or process id");
    }
    std::signal(SIGPIPE, SIG_IGN);
    // The program's terminal is not this process's business: its Ctrl-C reaches the program,
    // whose Tracker then says it has stopped.
    std::signal(SIGINT, SIG_IGN);
    int status = kExitOk;
    try {
        LiveServer server(static_cast<uint16_t>(*port), address);
        server.serve(capture, static_cast<pid_t>(*writer));
        say("listening");
        waitForTheCaptureToEnd(server, static_cast<pid_t>(*writer));
        server.finish(kViewerGrace);
    } catch (const std::exception& error) {
        say(std::string("error ") + error.what());
        status = kExitFailure;
    }
    removeCapture(capture);
    return status;
}

}  // namespace memray::cli
