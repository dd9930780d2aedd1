// canRunLiveView (live_view.h): which standard input, output and TERM the view refuses, and
// with what one-line reason. Each case runs in a child process given a pseudo-terminal or
// /dev/null as its standard input and output.
#include "memray/live/live_view.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace memray::live {
namespace {

// "1" or "0" (whether the view can run), then the reason given.
std::string check(bool terminal_in, bool terminal_out, const char* term)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        return "pipe failed";
    }
    const pid_t child = fork();
    if (child == 0) {
        int master = -1;
        int slave = -1;
        const int null = open("/dev/null", O_RDWR);
        if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0 || null < 0) {
            _exit(3);
        }
        dup2(terminal_in ? slave : null, STDIN_FILENO);
        dup2(terminal_out ? slave : null, STDOUT_FILENO);
        if (term) {
            setenv("TERM", term, 1);
        } else {
            unsetenv("TERM");
        }
        std::string why;
        const std::string answer = (canRunLiveView(&why) ? "1" : "0") + why;
        const ssize_t written = write(pipe_fds[1], answer.data(), answer.size());
        _exit(written == static_cast<ssize_t>(answer.size()) ? 0 : 4);
    }
    close(pipe_fds[1]);
    std::string answer;
    char buffer[256];
    for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) {
        answer.append(buffer, static_cast<size_t>(n));
    }
    close(pipe_fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    return answer;
}

TEST(CanRunLiveView, OnATerminal)
{
    EXPECT_EQ(check(true, true, "xterm"), "1");
}

TEST(CanRunLiveView, RefusesWhatIsNotATerminal)
{
    EXPECT_EQ(check(true, false, "xterm"), "0standard output is not a terminal");
    EXPECT_EQ(check(false, true, "xterm"), "0standard input is not a terminal");
}

TEST(CanRunLiveView, RefusesATermItCannotUse)
{
    EXPECT_EQ(check(true, true, nullptr), "0TERM is not set");
    EXPECT_EQ(check(true, true, ""), "0TERM is not set");
    EXPECT_EQ(check(true, true, "dumb"), "0the terminal TERM=dumb cannot move its cursor");
    EXPECT_EQ(check(true, true, "no-such-terminal"), "0the terminal TERM=no-such-terminal is unknown to terminfo");
}

}  // namespace
}  // namespace memray::live
