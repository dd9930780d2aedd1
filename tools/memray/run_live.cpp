#include "run_live.h"

#include "child_process.h"
#include "cli_common.h"
#include "live_program.h"
#include "live_server.h"
#include "live_streams.h"
#include "live_watch.h"
#include "live_workspace.h"
#include "payload_locator.h"
#include "run_program.h"

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "run";
// How long a program gets to end after SIGTERM when the view quits, before SIGKILL.
constexpr int kTerminateGraceSeconds = 10;
// How long viewers of --live-remote get to receive the rest of the capture after the program ends.
constexpr auto kViewerGrace = std::chrono::seconds(30);

std::string programLabel(const RunOptions& options)
{
    switch (options.kind) {
        case TargetKind::Module:
            return "-m " + options.target;
        case TargetKind::Code:
            return "-c " + options.target;
        case TargetKind::Script:
            break;
    }
    return options.target;
}

// memray's check and words; nullopt for an invalid port (already reported).
std::optional<uint16_t> livePort(const RunOptions& options)
{
    if (!options.livePort) {
        return 0;
    }
    const auto port = parseLivePort(*options.livePort);
    if (!port) {
        fail(kCommand, "Invalid port: " + *options.livePort);
    }
    return port;
}

// Runs the program with its capture served on `port`, until it ends and its viewers have the
// rest of it. Returns with the capture removed, so that the caller may end however the program did.
ChildExit runServingCapture(const RunOptions& options, uint16_t port)
{
    const auto payload = findPayload();
    LiveServer server(port);
    LiveWorkspace workspace(temporaryDirectory(), temporaryDirectory());
    if (!options.quiet) {
        std::fprintf(stderr,
                     "[memray] Run '%s live %u' in another shell to see live results (any local user can "
                     "connect to 127.0.0.1:%u)\n",
                     memrayCommandName().c_str(), server.port(), server.port());
    }
    const ChildExit exit = runChild(
            options.python,
            [&](pid_t) { return trackedProgramArguments(options, payload, workspace.captureThere()); },
            [&](pid_t pid) { server.serve(workspace.captureHere(), pid); });
    server.finish(kViewerGrace);
    return exit;
}

}  // namespace

int runLive(const RunOptions& options)
{
    if (auto refusal = refuseWithoutTerminal(kCommand)) {
        return *refusal;
    }
    const auto payload = findPayload();
    LiveWorkspace workspace(temporaryDirectory(), temporaryDirectory());
    const int output = open(workspace.outputHere().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (output < 0) {
        return fail(kCommand, "cannot create " + workspace.outputHere() + ": " + std::strerror(errno));
    }
    LiveProgram program(startBackgroundChild(
            options.python,
            [&](pid_t) { return trackedProgramArguments(options, payload, workspace.captureThere()); },
            output));
    close(output);

    WatchOptions watch;
    watch.title = "memray run --live " + programLabel(options);
    watch.poll_note = [&program] { return program.note(); };
    const WatchResult result = watchLive(
            followCaptureOnceCreated(workspace.captureHere(), program.pid(), "the program's capture"), watch);
    program.terminate(kTerminateGraceSeconds);

    if (auto kept = workspace.keepOutput(); kept && !options.quiet) {
        std::fprintf(stderr, "[memray] The program's output is in %s\n", kept->c_str());
    }
    if (result.last->state == live::StreamState::Error) {
        return fail(kCommand, result.last->status);
    }
    // The program's own failure is worth the status; an end the view's quitting caused is not.
    return program.exitCode().value_or(0);
}

int runLiveRemote(const RunOptions& options)
{
    const auto port = livePort(options);
    if (!port) {
        return kExitFailure;
    }
    const ChildExit exit = runServingCapture(options, *port);
    if (exit.signal != 0) {
        dieOfSignal(exit.signal);
    }
    return exit.exitCode;
}

}  // namespace memray::cli
