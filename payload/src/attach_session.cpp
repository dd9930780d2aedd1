#include "attach_session.h"

#include "attach_config.h"
#include "capture_config.h"
#include "control_channel.h"
#include "recursion_guard.h"
#include "tracker.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string>
#include <time.h>
#include <unistd.h>

namespace memray::payload {

namespace {

constexpr size_t kMaxConfigBytes = 16384;
// How long a session that failed to start waits for the CLI to collect the error.
constexpr int kFailedSessionLingerMs = 30000;
constexpr int kRequestTimeoutMs = 2000;
// How long a `stop` waits for a start under way before it cancels it instead (less than what the
// CLI waits for an answer to one request, 2 s).
constexpr int kStopWaitsForStartMs = 1000;
constexpr const char* kCancelledReply =
        "cancelled the capture had not started yet (its start waits for the GIL); it is stopped as soon as it starts";
// `memray attach` looks for it (tools/memray/cmd_attach.cpp).
constexpr const char* kSessionThreadName = "memray-attach";

// Static storage: the hijacked thread copies its argument here without allocating.
char g_config[kMaxConfigBytes];
std::atomic<bool> g_session_running{false};
std::atomic<int> g_listen_fd{-1};
// The socket of the running session, removed if the process exits with the session running
// (a stale socket would only be refused, but clutters the directory).
char g_socket_path[256];

void removeSocketAtExit()
{
    if (g_listen_fd.load() >= 0 && g_socket_path[0] != '\0') {
        unlink(g_socket_path);
    }
}

long long nowMs()
{
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// A forked child has no session thread (and must not serve the parent's socket).
void forgetSessionInChild()
{
    int fd = g_listen_fd.exchange(-1);
    if (fd >= 0) {
        close(fd);
    }
    g_session_running = false;
}

enum class Phase { Starting, Active, Busy, Failed };

// The capture's start, run by a helper thread because it waits for the GIL, and the channel
// must answer `status` ("starting") meanwhile.
struct Start
{
    std::mutex mutex;
    std::condition_variable changed;
    Phase phase = Phase::Starting;
    std::string message;  // the capture path when Active, the reason otherwise
    long long active_since_ms = 0;

    void finish(Phase result, std::string text)
    {
        std::lock_guard lock(mutex);
        phase = result;
        message = std::move(text);
        active_since_ms = nowMs();
        changed.notify_all();
    }
    Phase current(std::string* text = nullptr, long long* since = nullptr)
    {
        std::lock_guard lock(mutex);
        if (text) {
            *text = message;
        }
        if (since) {
            *since = active_since_ms;
        }
        return phase;
    }
    Phase awaitStarted()
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [this] { return phase != Phase::Starting; });
        return phase;
    }
    Phase awaitStartedFor(int milliseconds)
    {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, std::chrono::milliseconds(milliseconds), [this] { return phase != Phase::Starting; });
        return phase;
    }
};

class Session
{
  public:
    void run();

  private:
    // Answers one connection. False when the session is over.
    bool serve(int client);
    std::string statusLine();
    void closeChannel();
    void end();

    static void* startCapture(void* session);

    AttachOptions options_;
    CaptureConfig config_;
    ControlServer server_;
    Start start_;
    pthread_t starter_{};
    bool starter_running_ = false;
    // A `stop` came while the start waited for the GIL: the capture stops as soon as it starts.
    bool cancelled_ = false;
};

// memray's own threads never record what they allocate or free, to their very end (thread
// exit frees included): the guard is set and never reset.
void becomeMemrayThread(const char* name)
{
    t_recursion_guard = true;
    pthread_setname_np(pthread_self(), name);
}

void* Session::startCapture(void* argument)
{
    becomeMemrayThread("memray-start");
    auto* session = static_cast<Session*>(argument);
    std::string reason;
    if (Tracker::start(session->config_, &reason)) {
        session->start_.finish(Phase::Active, session->config_.output);
    } else {
        session->start_.finish(Phase::Failed, reason);
    }
    return nullptr;
}

void Session::run()
{
    std::string error;
    std::string text(g_config);
    if (!parseAttachOptions(text.c_str(), &options_, &error)) {
        std::fprintf(stderr, "memray: attach failed: %s\n", error.c_str());
        end();
        return;
    }
    if (!server_.open(options_.control_socket, &error)) {
        // Nobody can be told through the channel: the CLI times out waiting for it and
        // points at the target's stderr.
        std::fprintf(stderr, "memray: attach failed: %s\n", error.c_str());
        end();
        return;
    }
    if (options_.control_socket.size() < sizeof(g_socket_path)) {
        std::memcpy(g_socket_path, options_.control_socket.c_str(), options_.control_socket.size() + 1);
    }
    g_listen_fd = server_.fd();

    if (!parseCaptureConfig(options_.capture_config.c_str(), &config_, &error)) {
        start_.finish(Phase::Failed, error);
    } else if (Tracker::isActive()) {
        start_.finish(Phase::Busy, "a capture started by `memray run` or the payload's API is already active");
    } else if (int result = pthread_create(&starter_, nullptr, &Session::startCapture, this); result != 0) {
        start_.finish(Phase::Failed, std::string("cannot create a thread: ") + std::strerror(result));
    } else {
        starter_running_ = true;
    }

    long long failed_deadline = -1;
    while (true) {
        std::string message;
        long long active_since = 0;
        Phase phase = start_.current(&message, &active_since);
        int timeout = -1;
        if (cancelled_ && phase != Phase::Starting) {
            // The start a `stop` cancelled is over: stop what it started, and end.
            if (phase == Phase::Active) {
                std::string summary;
                Tracker::stop(&error, &summary);
            }
            break;
        }
        if (phase == Phase::Starting) {
            timeout = 20;  // to start the --duration clock soon after the capture is active
        } else if (phase == Phase::Active && options_.duration_s > 0) {
            long long left = active_since + 1000LL * options_.duration_s - nowMs();
            if (left <= 0) {
                // Quietly: the target's output stays its own.
                std::string summary;
                Tracker::stop(&error, &summary);
                break;
            }
            timeout = static_cast<int>(left);
        } else if (phase == Phase::Failed || phase == Phase::Busy) {
            if (failed_deadline < 0) {
                failed_deadline = nowMs() + kFailedSessionLingerMs;
            }
            long long left = failed_deadline - nowMs();
            if (left <= 0) {
                break;
            }
            timeout = static_cast<int>(left);
        }
        int client = server_.accept(timeout);
        if (client >= 0 && !serve(client)) {
            return;  // serve() ended the session
        }
    }
    end();
}

std::string Session::statusLine()
{
    if (cancelled_) {
        return kCancelledReply;
    }
    std::string message;
    switch (start_.current(&message)) {
        case Phase::Starting:
            return "starting";
        case Phase::Active:
            if (!Tracker::isActive()) {
                return "error the capture has already ended";
            }
            return "active " + message;
        case Phase::Busy:
            return "busy " + message;
        case Phase::Failed:
            return "error " + message;
    }
    return "error unknown state";
}

bool Session::serve(int client)
{
    auto request = ControlServer::readLine(client, kRequestTimeoutMs);
    if (!request) {
        close(client);
        return true;
    }
    if (*request == "status") {
        std::string line = statusLine();
        ControlServer::writeLine(client, line);
        close(client);
        // A failure is reported once, to the CLI that waits for it; then the session ends (a
        // cancelled one only once its start is over, in run()).
        if (!cancelled_ && !line.starts_with("starting") && !line.starts_with("active")) {
            end();
            return false;
        }
        return true;
    }
    if (*request == "stop") {
        // A start about to finish (the usual case: it takes milliseconds) is waited for, so that
        // the session is over when the reply comes; one that waits for the GIL is not.
        if (cancelled_ || start_.awaitStartedFor(kStopWaitsForStartMs) == Phase::Starting) {
            // The start waits for the GIL, which may take any time (a long C call holding it):
            // answer now, and stop the capture the moment it starts (run() does). Until then the
            // channel stays open and answers that it is cancelled, so that a waiting `memray
            // attach` learns why its capture will not come.
            cancelled_ = true;
            ControlServer::writeLine(client, kCancelledReply);
            close(client);
            return true;
        }
        std::string reply;
        if (start_.current() == Phase::Active) {
            std::string error, summary;
            reply = Tracker::stop(&error, &summary) ? "stopped " + summary : "error " + error;
        } else {
            reply = statusLine();
        }
        end();  // before replying: an attach right after the detach must find no session
        ControlServer::writeLine(client, reply);
        close(client);
        return false;
    }
    ControlServer::writeLine(client, "error unknown request");
    close(client);
    return true;
}

void Session::closeChannel()
{
    g_listen_fd = -1;  // first: a fork must not close the number once it is reused
    server_.close();
}

void Session::end()
{
    closeChannel();
    if (starter_running_) {
        pthread_join(starter_, nullptr);
        starter_running_ = false;
    }
    g_session_running = false;
}

void* sessionMain(void*)
{
    becomeMemrayThread(kSessionThreadName);
    static std::once_flag process_hooks;
    std::call_once(process_hooks, [] {
        pthread_atfork(nullptr, nullptr, &forgetSessionInChild);
        std::atexit(&removeSocketAtExit);
    });
    {
        Session session;
        session.run();
    }
    return nullptr;
}

}  // namespace

int beginAttachSession(const char* config)
{
    if (config == nullptr) {
        return kAttachBadConfig;
    }
    bool expected = false;
    if (!g_session_running.compare_exchange_strong(expected, true)) {
        return kAttachBusy;
    }
    size_t length = strnlen(config, kMaxConfigBytes);
    if (length >= kMaxConfigBytes) {
        g_session_running = false;
        return kAttachBadConfig;
    }
    std::memcpy(g_config, config, length + 1);

    // The session thread starts with every signal blocked: process-directed signals stay
    // with the program's threads (Python handles them in its main thread).
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    // The thread is born with its name (threads inherit their creator's, restored right after):
    // `memray attach` tells a session slow to open its socket on a loaded machine from one that
    // failed by this name, even before the thread first runs.
    char own_name[17] = {};
    prctl(PR_GET_NAME, own_name, 0, 0, 0);
    prctl(PR_SET_NAME, kSessionThreadName, 0, 0, 0);
    pthread_t thread;
    int result = pthread_create(&thread, &attributes, &sessionMain, nullptr);
    prctl(PR_SET_NAME, own_name, 0, 0, 0);
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (result != 0) {
        g_session_running = false;
        return kAttachNoThread;
    }
    return kAttachStarted;
}

}  // namespace memray::payload
