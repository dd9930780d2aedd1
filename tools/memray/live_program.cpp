#include "live_program.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include <sys/wait.h>

namespace memray::cli {

void LiveProgram::collect(int status)
{
    ended_ = true;
    if (WIFEXITED(status)) {
        if (!terminated_) {
            exit_code_ = WEXITSTATUS(status);
        }
    } else if (WIFSIGNALED(status)) {
        signal_ = WTERMSIG(status);
    }
}

bool LiveProgram::ended()
{
    if (ended_) {
        return true;
    }
    int status = 0;
    pid_t got;
    do {
        got = waitpid(pid_, &status, WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got == pid_) {
        collect(status);
    } else if (got < 0) {
        ended_ = true;  // not our child any more (cannot happen unless SIGCHLD is ignored)
    }
    return ended_;
}

std::string LiveProgram::note()
{
    if (!ended()) {
        return "";
    }
    if (exit_code_) {
        return "the program exited with status " + std::to_string(*exit_code_);
    }
    if (signal_ != 0) {
        return "the program was killed by signal " + std::to_string(signal_) + " (" + strsignal(signal_) + ")";
    }
    return "the program has ended";
}

void LiveProgram::terminate(int grace_seconds)
{
    if (ended()) {
        return;
    }
    terminated_ = true;
    // The program leads a process group of its own (startBackgroundChild): its helpers go too.
    kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
    while (!ended()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(-pid_, SIGKILL);
            int status = 0;
            while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            collect(status);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace memray::cli
