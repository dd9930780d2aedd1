// memray attach PID: starts a capture inside a running Python process, without gdb.
//
// The order of the steps is the point:
//   1. Refusals that need nothing but /proc (no such process, exiting, already traced, stopped,
//      permission) -- the target is never touched when one applies.
//   2. The slow work, with every thread of the target still running: parsing its ELF files,
//      finding its Python, asking its control channel whether a capture is already active,
//      checking that its user can read the payload, resolving the remote-call addresses.
//   3. The injection proper (memray_injector): one thread held for a few milliseconds at a
//      verified safe point, just long enough to dlopen the payload and call
//      memray_attach_begin(), which starts the payload's session thread and returns.
//   4. Waiting on the control channel until the session reports the capture active (it takes
//      the GIL like any other thread, so this can take a moment on a busy process).
#include "attach_module.h"
#include "cli_common.h"
#include "live_workspace.h"
#include "commands.h"
#include "payload_locator.h"
#include "target_path.h"
#include "tracking_stop.h"

#include "memray/injector/control_channel.h"
#include "memray/injector/failure.h"
#include "memray/injector/injector.h"
#include "memray/injector/interruption.h"
#include "memray/injector/permissions.h"
#include "memray/injector/proc.h"
#include "memray/injector/python_probe.h"
#include "memray/injector/seccomp.h"
#include "memray/injector/target_modules.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <optional>
#include <thread>
#include <utility>

#include <unistd.h>

#include <spdlog/spdlog.h>

namespace memray::cli {

namespace {

namespace fs = std::filesystem;
namespace inj = memray::injector;
using Clock = std::chrono::steady_clock;

constexpr const char* kCommand = "attach";
// The session opens its socket within milliseconds, but a loaded machine may not run its thread
// for a while: without a socket, the attach gives up early only once the session's thread is
// gone (it failed, and said why on the process's stderr). Starting the capture needs the GIL,
// which a busy program may hold for a while; Ctrl-C cancels the wait cleanly at any time.
constexpr auto kChannelTimeout = std::chrono::seconds(3);
constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr const char* kSessionThreadName = "memray-attach";
constexpr auto kChannelPoll = std::chrono::milliseconds(2);
constexpr auto kChannelRequestTimeout = std::chrono::seconds(2);
constexpr int kEntryBusy = 1;  // memray_attach_begin(): a session is already running
constexpr int kEntryNoThread = 3;

struct AttachOptions
{
    pid_t pid = 0;
    std::string output;  // absolute
    bool force = false;
    bool trace_python_allocators = false;
    bool follow_fork = false;
    bool native = false;
    bool aggregate = false;
    bool aggregate_verify = false;
    unsigned duration_s = 0;
    std::chrono::milliseconds safe_point_timeout{5000};
    bool live = false;  // no -o: the capture goes to a private file the live view follows
};

std::optional<pid_t> parsePid(const std::string& text)
{
    pid_t pid = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (error != std::errc() || end != text.data() + text.size() || pid <= 0) {
        return std::nullopt;
    }
    return pid;
}

double milliseconds(std::chrono::microseconds duration)
{
    return static_cast<double>(duration.count()) / 1000.0;
}

std::string captureConfig(const AttachOptions& options, const std::string& socket_path)
{
    auto flag = [](bool value) { return value ? "1" : "0"; };
    std::string config;
    config += "output=" + options.output + "\n";
    config += std::string("force=") + flag(options.force) + "\n";
    config += std::string("trace_python_allocators=") + flag(options.trace_python_allocators) + "\n";
    config += std::string("follow_fork=") + flag(options.follow_fork) + "\n";
    config += std::string("native=") + flag(options.native) + "\n";
    if (options.aggregate) {
        config += std::string("aggregate=1\naggregate_verify=") + flag(options.aggregate_verify) + "\n";
    }
    config += "attached=1\n";
    // A target that exits normally still gets a finished file.
    config += "stop_at_exit=1\n";
    config += "control_socket=" + socket_path + "\n";
    config += "duration_s=" + std::to_string(options.duration_s) + "\n";
    config += testForkWindowConfig();
    return config;
}

// Step 1: refusals decided from /proc/PID/status alone.
inj::ProcessStatus checkProcess(pid_t pid)
{
    const std::string process = "process " + std::to_string(pid);
    auto status = inj::readProcessStatus(pid);
    if (!status) {
        throw inj::Failure(inj::FailureKind::NoSuchProcess, "no process with pid " + std::to_string(pid));
    }
    if (status->state == 'Z' || status->state == 'X') {
        throw inj::Failure(inj::FailureKind::TargetExiting, process + " is exiting");
    }
    if (status->tracer_pid != 0) {
        auto tracer = inj::readProcessStatus(status->tracer_pid);
        throw inj::Failure(inj::FailureKind::AlreadyTraced,
                           process + " is already being traced by process " + std::to_string(status->tracer_pid)
                                   + (tracer ? " (" + tracer->name + ")" : "")
                                   + "; only one tracer may attach at a time");
    }
    if (status->state == 'T' || status->state == 't') {
        throw inj::Failure(inj::FailureKind::Stopped,
                           process + " is stopped (state T); memray attach does not resume stopped processes,"
                                     " continue it first (kill -CONT " + std::to_string(pid) + ")");
    }
    if (auto refusal = inj::ptraceRefusal(pid, *status)) {
        throw inj::Failure(inj::FailureKind::PermissionDenied, *refusal);
    }
    return *status;
}

// A reply of the channel that means somebody is already tracking the process.
[[noreturn]] void alreadyTracked(pid_t pid, const std::string& reply)
{
    const std::string process = "process " + std::to_string(pid);
    std::string detail;
    if (reply.starts_with("active ")) {
        detail = " (writing " + pathSeenFromHere(pid, reply.substr(7)) + "); run 'memray detach " + std::to_string(pid)
                 + "' first";
    } else if (reply == "starting") {
        detail = " (a capture is starting); run 'memray detach " + std::to_string(pid) + "' to cancel it";
    } else if (reply.starts_with("busy ")) {
        detail = ": " + reply.substr(5);
    } else {
        detail = " (a previous attach is still finishing); try again in a few seconds";
    }
    throw inj::Failure(inj::FailureKind::AlreadyTracked, process + " is already being tracked by memray" + detail);
}

// Whether the payload's session thread (named by the payload) still runs in process `pid`.
bool sessionThreadAlive(pid_t pid)
{
    for (pid_t tid : inj::listThreads(pid)) {
        auto status = inj::readProcessStatus(pid, tid);
        if (status && status->name == kSessionThreadName) {
            return true;
        }
    }
    return false;
}

// Step 4: until the session says the capture runs. Returns the capture's path (the target's).
std::string awaitActive(pid_t pid, const std::string& socket_path, const std::string& output,
                        inj::Interruption& interruption)
{
    const auto started = Clock::now();
    bool channel_seen = false;
    while (true) {
        if (interruption.requested()) {
            // Undo: the session stops the capture (as soon as it has started) and ends.
            try {
                inj::askControlChannel(pid, socket_path, "stop", kChannelRequestTimeout);
            } catch (const inj::Failure&) {
            }
            throw inj::Failure(inj::FailureKind::Interrupted,
                               "interrupted; the capture in process " + std::to_string(pid) + " was cancelled");
        }
        auto reply = inj::askControlChannel(pid, socket_path, "status", kChannelRequestTimeout);
        if (reply) {
            channel_seen = true;
            if (reply->starts_with("active ")) {
                return reply->substr(7);
            }
            if (reply->starts_with("error ")) {
                throw inj::Failure(inj::FailureKind::TargetFailure,
                                   "process " + std::to_string(pid) + " could not start the capture: "
                                           + withPathSeenFromHere(pid, reply->substr(6), output));
            }
            if (reply->starts_with("busy ")) {
                alreadyTracked(pid, *reply);
            }
            if (reply->starts_with("cancelled ")) {
                throw inj::Failure(inj::FailureKind::TargetFailure,
                                   "the capture in process " + std::to_string(pid)
                                           + " was cancelled before it started (by 'memray detach')");
            }
        } else {
            auto status = inj::readProcessStatus(pid);
            if (!status || status->state == 'Z' || status->state == 'X') {
                throw inj::Failure(inj::FailureKind::TargetExiting,
                                   "process " + std::to_string(pid) + " exited before the capture started");
            }
            if (channel_seen) {
                // The session's socket is gone without a capture: the process removes it as it
                // exits (a cancelled session answers until it ends). Say which, once it is clear.
                if (inj::waitForExit(pid, kStartTimeout)) {
                    throw inj::Failure(inj::FailureKind::TargetExiting,
                                       "process " + std::to_string(pid) + " exited before the capture started");
                }
                throw inj::Failure(inj::FailureKind::TargetFailure,
                                   "memray's session in process " + std::to_string(pid)
                                           + " ended before the capture started (see the process's stderr)");
            }
        }
        if (!channel_seen && Clock::now() >= started + kChannelTimeout && !sessionThreadAlive(pid)) {
            throw inj::Failure(inj::FailureKind::TargetFailure,
                               "process " + std::to_string(pid) + " loaded memray but did not open its control socket "
                                       + socket_path + " (see the process's stderr for why)");
        }
        if (Clock::now() >= started + kStartTimeout) {
            throw inj::Failure(inj::FailureKind::TargetFailure,
                               "process " + std::to_string(pid) + " did not start the capture within "
                                       + std::to_string(kStartTimeout.count())
                                       + " s (is a thread holding the GIL in a long C call? see the process's stderr);"
                                         " run 'memray detach " + std::to_string(pid) + "' to cancel it");
        }
        std::this_thread::sleep_for(kChannelPoll);
    }
}

// A target that dies while the attach reads its files makes the reading fail first ("cannot
// open /proc/PID/root/...", "not a Python process"): the death is the news, not what it broke.
bool vanishedMeanwhile(pid_t pid, const inj::Failure& failure)
{
    switch (failure.kind()) {
        case inj::FailureKind::NoSuchProcess:
        case inj::FailureKind::TargetExiting:
        case inj::FailureKind::Interrupted:
            return false;
        default:
            return inj::processExiting(pid);
    }
}

int attach(const AttachOptions& options)
{
    const auto started = Clock::now();
    const pid_t pid = options.pid;
    // The target writes the file, in its own mount namespace: check it where it will be.
    if (auto refusal = outputRefusal(pathSeenFromHere(pid, options.output), options.force)) {
        return fail(kCommand, *refusal);
    }
    const inj::ProcessStatus status = checkProcess(pid);

    inj::TargetModules modules(pid, inj::readMaps(pid));
    const inj::PythonProcess python = inj::probePython(pid, status.name, modules);
    spdlog::info("process {} runs Python {} ({})", pid, python.version(),
                 python.static_libpython ? "static, " + python.module->path : python.module->path);

    const std::string socket_path = inj::controlSocketPath(pid, status.uid[1]);
    if (auto reply = inj::askControlChannel(pid, socket_path, "status", kChannelRequestTimeout)) {
        alreadyTracked(pid, *reply);
    }
    if (auto problem = inj::controlDirectoryProblem(pid, socket_path, status.uid[1])) {
        throw inj::Failure(inj::FailureKind::Internal, *problem);
    }
    const std::string payload = findPayload().string();
    if (auto reason = inj::payloadUnreadableReason(pid, status, payload)) {
        throw inj::Failure(inj::FailureKind::PayloadUnreadable, *reason);
    }

    inj::Interruption interruption;
    if (auto refusal = inj::seccompRefusal(pid, interruption)) {
        throw inj::Failure(inj::FailureKind::Sandboxed, *refusal);
    }
    inj::Injector injector(pid, modules, payload);
    const auto prepared = Clock::now();
    inj::InjectionRequest request;
    request.payload_path = payload;
    request.entry_symbol = "memray_attach_begin";
    request.argument = captureConfig(options, socket_path);
    request.safe_point_timeout = options.safe_point_timeout;
    request.on_dlopen = [pid](pid_t thread) { spdlog::info("thread {} of process {} calls dlopen", thread, pid); };
    const inj::InjectionReport report = injector.inject(request, interruption);
    spdlog::info("held thread {} of process {} for {:.3f} ms (longest hold {:.3f} ms, {} thread stop(s))", report.thread,
                 pid, milliseconds(report.call_hold), milliseconds(report.longest_hold), report.attempts);
    spdlog::info("of which {:.3f} ms checking the safe point ({} frames), {:.3f} ms in dlopen",
                 milliseconds(report.check_time), report.stack_depth, milliseconds(report.dlopen_time));
    for (const auto& [call, duration] : report.calls) {
        spdlog::debug("remote call {}: {:.3f} ms", call, milliseconds(duration));
    }
    for (const std::string& refusal : report.refusals) {
        spdlog::info("not a safe point: {}", refusal);
    }
    if (report.entry_result == kEntryBusy) {
        throw inj::Failure(inj::FailureKind::AlreadyTracked,
                           "process " + std::to_string(pid) + " is already being tracked by memray (an attach session is running)");
    }
    if (report.entry_result != 0) {
        throw inj::Failure(inj::FailureKind::TargetFailure,
                           "process " + std::to_string(pid) + " could not start memray's session ("
                                   + (report.entry_result == kEntryNoThread ? "cannot create a thread" : "bad configuration")
                                   + ")");
    }
    const std::string capture = pathSeenFromHere(pid, awaitActive(pid, socket_path, options.output, interruption));
    const auto finished = Clock::now();
    spdlog::info("attach took {:.1f} ms: {:.1f} ms preparing, {:.1f} ms injecting and starting",
                 std::chrono::duration<double, std::milli>(finished - started).count(),
                 std::chrono::duration<double, std::milli>(prepared - started).count(),
                 std::chrono::duration<double, std::milli>(finished - prepared).count());

    if (options.live) {
        return kExitOk;  // the live view takes over the terminal now
    }
    std::fprintf(stderr, "[memray] Attached to process %d (Python %s); writing profile results into %s\n", pid,
                 python.version().c_str(), capture.c_str());
    if (options.duration_s > 0) {
        std::fprintf(stderr, "[memray] Tracking stops by itself after %u s; run 'memray detach %d' to stop it earlier.\n",
                     options.duration_s, pid);
    } else {
        std::fprintf(stderr, "[memray] Run 'memray detach %d' to stop tracking and finish the file.\n", pid);
    }
    return kExitOk;
}


// Attach without -o: capture into a private file (live_workspace.h), show the live view of it,
// and on quit stop tracking exactly as `memray detach` does, leaving the process running.
int attachLive(AttachOptions options, const LiveViewHooks& hooks)
{
    if (int refused = hooks.refuse()) {
        return refused;
    }
    const pid_t pid = options.pid;
    auto status = inj::readProcessStatus(pid);
    if (!status) {
        return fail(kCommand, "no process with pid " + std::to_string(pid));
    }
    // The target writes the capture where it sees /tmp; it is ours (and root's) to read, nobody
    // else's: a 0700 directory, given to the target's user when that is not us.
    const std::string tmp_here = pathSeenFromHere(pid, "/tmp/capture");
    std::optional<std::pair<uid_t, gid_t>> owner;
    if (status->uid[1] != geteuid()) {
        owner = std::make_pair(status->uid[1], status->gid[1]);
    }
    std::optional<LiveWorkspace> workspace;
    try {
        workspace.emplace(tmp_here.substr(0, tmp_here.rfind('/')), "/tmp", owner);
    } catch (const std::exception& error) {
        return fail(kCommand, error.what());
    }
    options.output = workspace->captureThere();
    options.live = true;
    if (int attached = attach(options); attached != kExitOk) {
        return attached;
    }
    const std::string title = "memray attach " + std::to_string(pid);
    const int watched = hooks.watch(pid, workspace->captureHere().c_str(), title.c_str());

    // Stop tracking, as detach does; a process that has exited meanwhile needs nothing.
    std::optional<TrackingStop> stop;
    try {
        stop = stopTracking(pid, status->uid[1]);
    } catch (const inj::Failure& failure) {
        if (!inj::processExiting(pid)) {
            return fail(kCommand, std::string("could not stop tracking: ") + failure.what());
        }
    }
    if (stop && (stop->outcome == TrackingStop::Outcome::kStopped
                 || stop->outcome == TrackingStop::Outcome::kCancelled)) {
        std::fprintf(stderr, "[memray] Stopped tracking process %d; it keeps running untracked.\n", pid);
    } else if (stop && stop->outcome == TrackingStop::Outcome::kError) {
        return fail(kCommand, "process " + std::to_string(pid) + ": " + stop->detail);
    }
    return watched;
}

}  // namespace

int attachCommand(int argc, char** argv, const LiveViewHooks& hooks)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("output,o", po::value<std::string>(), "capture file to write (the process writes it; relative to this directory);\nwithout it, show the live view")
        ("force,f", "overwrite the capture file if it exists")
        ("trace-python-allocators", "also record the allocations of Python's own allocators (pymalloc)")
        ("follow-fork", "keep tracking in processes the target forks (each writes OUTPUT.<pid>)")
        ("native", "also record native (C/C++) stacks")
        ("aggregate", "keep per-location totals in the process and write periodic checkpoints instead of every\n"
                      "allocation (a much smaller file, for the peak and leaks reports only)")
        ("duration", po::value<unsigned>(), "stop tracking by itself after this many seconds")
        ("verbose,v", "say what happens, with timings");
    po::options_description hidden;
    hidden.add_options()
        ("pid", po::value<std::string>(), "process id")
        ("safe-point-timeout-ms", po::value<unsigned>(), "how long to look for a safe point");
    po::positional_options_description positional;
    positional.add("pid", 1);
    po::variables_map values;
    if (auto status = parseCommandLine(
                kCommand, argc, argv, options, hidden, positional,
                "usage: memray attach [-h] [-o OUTPUT] [-f] [--trace-python-allocators] [--follow-fork] [--native]\n"
                "                     [--aggregate] [--duration SECONDS] [-v] PID\n\n"
                "Start tracking the memory allocations of a running Python process (CPython 3.7 to 3.13),\n"
                "without restarting it and without gdb. With -o, the process writes the capture file\n"
                "itself and 'memray detach PID' stops tracking and finishes the file. Without -o, this\n"
                "terminal shows the live view of the process's heap; quitting it (q) stops tracking and\n"
                "leaves the process running untracked.",
                &values))
    {
        return *status;
    }
    if (values.count("verbose")) {
        spdlog::set_level(spdlog::level::info);
    }
    if (!values.count("pid")) {
        return usageError(kCommand, "missing the process id to attach to");
    }
    AttachOptions attach_options;
    auto pid = parsePid(values["pid"].as<std::string>());
    if (!pid) {
        return usageError(kCommand, "'" + values["pid"].as<std::string>() + "' is not a process id");
    }
    attach_options.pid = *pid;
    const bool live = !values.count("output");
    if (live && values.count("aggregate")) {
        return usageError(kCommand, "Can't use aggregated mode without an output file.");  // memray's words
    }
    if (live && values.count("follow-fork")) {
        return usageError(kCommand, "--follow-fork cannot be used with the live view (it needs an output file)");
    }
    if (live && values.count("force")) {
        return usageError(kCommand, "--force needs an output file (-o)");
    }
    if (values.count("duration")) {
        attach_options.duration_s = values["duration"].as<unsigned>();
        if (attach_options.duration_s == 0) {
            return usageError(kCommand, "--duration must be at least 1 second");
        }
    }
    if (values.count("safe-point-timeout-ms")) {
        attach_options.safe_point_timeout = std::chrono::milliseconds(values["safe-point-timeout-ms"].as<unsigned>());
    }
    if (!live) {
        attach_options.output = fs::absolute(values["output"].as<std::string>()).lexically_normal().string();
    }
    attach_options.force = values.count("force") > 0;
    attach_options.trace_python_allocators = values.count("trace-python-allocators") > 0;
    attach_options.follow_fork = values.count("follow-fork") > 0;
    attach_options.native = values.count("native") > 0;
    attach_options.aggregate = values.count("aggregate") > 0;
    // The verification aid of aggregated captures (see `memray run --help`), read here: the
    // target's environment is not the user's.
    const char* verify = std::getenv("MEMRAY_AGGREGATE_VERIFY");
    attach_options.aggregate_verify = attach_options.aggregate && verify && std::string_view(verify) == "1";
    try {
        return live ? attachLive(attach_options, hooks) : attach(attach_options);
    } catch (const inj::Failure& failure) {
        if (vanishedMeanwhile(attach_options.pid, failure)) {
            return fail(kCommand, "process " + std::to_string(attach_options.pid) + " exited during the attach");
        }
        fail(kCommand, failure.what());
        return failure.kind() == inj::FailureKind::Interrupted ? 130 : kExitFailure;
    } catch (const std::exception& error) {
        if (inj::processExiting(attach_options.pid)) {
            return fail(kCommand, "process " + std::to_string(attach_options.pid) + " exited during the attach");
        }
        return fail(kCommand, error.what());
    }
}

}  // namespace memray::cli
