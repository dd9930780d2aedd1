#include "child_process.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <iostream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace memray::cli {

namespace {

std::system_error systemError(const char* what)
{
    return std::system_error(errno, std::generic_category(), what);
}

// In the forked child: whatever it must set up before exec (signals, standard streams).
using ChildSetUp = std::function<void()>;

[[noreturn]] void execChild(const std::string& program, const ArgumentBuilder& build,
                            const ChildSetUp& setUp, pid_t parent, int errorPipe)
{
    int error = 0;
    try {
        // If memray itself is killed (SIGKILL, a crash), take the program along rather than
        // leave it running unobserved: with memray and the program as one process, which is
        // what `memray run` stands for, both would be gone.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            raise(SIGKILL);
        }
        setUp();
        std::vector<std::string> arguments = build(getpid());
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(program.c_str()));
        for (std::string& argument : arguments) {
            argv.push_back(argument.data());
        }
        argv.push_back(nullptr);
        execvp(program.c_str(), argv.data());
        error = errno;
    } catch (...) {
        error = ENOMEM;
    }
    // Tell the parent why; the pipe is close-on-exec, so a successful exec sends nothing.
    ssize_t written;
    do {
        written = write(errorPipe, &error, sizeof error);
    } while (written < 0 && errno == EINTR);
    _exit(127);
}

// What execvp() will find for `program`, checked before forking so that a misspelt --python
// fails before anything else happens (the exec error pipe still covers the rest).
bool canExecute(const std::string& program)
{
    if (program.find('/') != std::string::npos) {
        return access(program.c_str(), X_OK) == 0;
    }
    const char* path = std::getenv("PATH");
    std::string_view directories = path ? path : "/usr/local/bin:/bin:/usr/bin";
    for (;;) {
        const size_t colon = directories.find(':');
        std::string directory(directories.substr(0, colon));
        std::string candidate = (directory.empty() ? "." : directory) + "/" + program;
        struct stat info;
        if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode)
            && access(candidate.c_str(), X_OK) == 0) {
            return true;
        }
        if (colon == std::string_view::npos) {
            return false;
        }
        directories.remove_prefix(colon + 1);
    }
}

// Forks and execs `program`; returns its pid once the exec has succeeded. `onFailure` runs in
// this process when it did not (before the error is thrown).
pid_t forkAndExec(const std::string& program, const ArgumentBuilder& build, const ChildSetUp& setUp,
                  const std::function<void()>& onFailure)
{
    int errorPipe[2];
    if (pipe2(errorPipe, O_CLOEXEC) != 0) {
        onFailure();
        throw systemError("pipe2");
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        auto error = systemError("fork");
        close(errorPipe[0]);
        close(errorPipe[1]);
        onFailure();
        throw error;
    }
    if (pid == 0) {
        close(errorPipe[0]);
        execChild(program, build, setUp, parent, errorPipe[1]);
    }
    close(errorPipe[1]);

    int execError = 0;
    ssize_t received;
    do {
        received = read(errorPipe[0], &execError, sizeof execError);
    } while (received < 0 && errno == EINTR);
    close(errorPipe[0]);
    if (received == static_cast<ssize_t>(sizeof execError)) {
        waitpid(pid, nullptr, 0);
        onFailure();
        throw std::runtime_error("cannot run '" + program + "': " + std::strerror(execError));
    }
    spdlog::debug("started {} as pid {}", program, pid);
    return pid;
}

void checkExecutable(const std::string& program)
{
    if (!canExecute(program)) {
        throw std::runtime_error("cannot run '" + program + "': "
                                 + (program.find('/') != std::string::npos
                                        ? std::string(std::strerror(errno))
                                        : std::string("not found in PATH")));
    }
    // Nothing buffered may be written twice, by the parent and by the child.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
}

}  // namespace

ChildExit runChild(const std::string& program, const ArgumentBuilder& build)
{
    return runChild(program, build, [](pid_t) {});
}

ChildExit runChild(const std::string& program, const ArgumentBuilder& build,
                   const std::function<void(pid_t)>& started)
{
    checkExecutable(program);
    SignalRelay signals;
    const pid_t pid = forkAndExec(program, build, [&] { signals.restore(); }, [&] { signals.restore(); });
    started(pid);
    return signals.waitForExit(pid);
}

pid_t startBackgroundChild(const std::string& program, const ArgumentBuilder& build, int output_fd)
{
    checkExecutable(program);
    // waitpid() must see the child: an inherited SIG_IGN for SIGCHLD would reap it unseen.
    std::signal(SIGCHLD, SIG_DFL);
    auto setUp = [output_fd] {
        setpgid(0, 0);
        const int input = open("/dev/null", O_RDONLY);
        if (input < 0 || dup2(input, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0
            || dup2(output_fd, STDERR_FILENO) < 0) {
            _exit(127);
        }
        if (input != STDIN_FILENO) {
            close(input);
        }
    };
    return forkAndExec(program, build, setUp, [] {});
}

void dieOfSignal(int signal)
{
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    // If the child dumped core, that file is the one that matters: none of memray itself.
    struct rlimit noCore = {0, 0};
    setrlimit(RLIMIT_CORE, &noCore);
    std::signal(signal, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, signal);
    sigprocmask(SIG_UNBLOCK, &only, nullptr);
    raise(signal);
    // Signals whose default action is not to terminate cannot reproduce the status.
    _exit(128 + signal);
}

}  // namespace memray::cli
