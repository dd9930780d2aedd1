// runLiveView (live_view.h) in a pseudo-terminal: why it returns (q, Esc, Ctrl-C, SIGTERM, a
// closed terminal), that the terminal's modes are as they were afterwards, and that resizes
// down to 1x1 are survived. The view runs in a child process whose controlling terminal is the
// pty, over a real session waiting on a port nobody listens on.
#include "memray/live/live_session.h"
#include "memray/live/live_view.h"

#include "loopback_server.h"
#include "memray/reader/capture_streams.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace memray::live {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kPatience{60};

// The child's exit status: 10 + the ViewExit, plus 20 if the terminal's modes differ from
// before the view.
constexpr int kQuit = 10 + static_cast<int>(ViewExit::Quit);
constexpr int kHangup = 10 + static_cast<int>(ViewExit::Hangup);
constexpr int kSignal = 10 + static_cast<int>(ViewExit::Signal);

bool sameModes(const termios& a, const termios& b)
{
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag
           && std::memcmp(a.c_cc, b.c_cc, sizeof(a.c_cc)) == 0;
}

class ViewInPty
{
  public:
    ViewInPty(unsigned short columns, unsigned short lines)
    {
        int slave = -1;
        winsize size{lines, columns, 0, 0};
        if (openpty(&master_, &slave, nullptr, nullptr, &size) != 0) {
            ADD_FAILURE() << "openpty: " << std::strerror(errno);
            return;
        }
        const uint16_t port = memray::testing::unusedLoopbackPort();
        pid_ = fork();
        if (pid_ == 0) {
            close(master_);
            setsid();
            ioctl(slave, TIOCSCTTY, 0);
            dup2(slave, STDIN_FILENO);
            dup2(slave, STDOUT_FILENO);
            close(slave);
            setenv("TERM", "xterm", 1);
            setenv("LC_ALL", "C.UTF-8", 1);
            termios before = {};
            tcgetattr(STDIN_FILENO, &before);
            int status = 0;
            {
                LiveSession session(reader::connectCaptureStream(port), {});
                LiveViewOptions options;
                options.title = "memray live test";
                status = 10 + static_cast<int>(runLiveView(session, options));
            }
            termios after = {};
            // (A terminal that is gone has no modes left to compare.)
            if (tcgetattr(STDIN_FILENO, &after) == 0 && !sameModes(before, after)) {
                status += 20;
            }
            _exit(status);
        }
        close(slave);
    }

    ~ViewInPty()
    {
        if (pid_ > 0 && !exited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (master_ >= 0) {
            close(master_);
        }
    }

    // Reads the child's output until it contains `text` (true), or the patience runs out.
    bool waitForOutput(std::string_view text)
    {
        const auto deadline = Clock::now() + kPatience;
        while (output_.find(text) == std::string::npos) {
            if (Clock::now() >= deadline || !drain(100)) {
                return output_.find(text) != std::string::npos;
            }
        }
        return true;
    }

    // Reads the child's output for `ms` milliseconds.
    void settle(int ms)
    {
        const auto until = Clock::now() + std::chrono::milliseconds(ms);
        while (Clock::now() < until && drain(20)) {
        }
    }

    void type(std::string_view keys)
    {
        ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
    }

    void resize(unsigned short columns, unsigned short lines)
    {
        winsize size{lines, columns, 0, 0};
        ASSERT_EQ(ioctl(master_, TIOCSWINSZ, &size), 0);
    }

    void closeTerminal()
    {
        close(master_);
        master_ = -1;
    }

    pid_t pid() const { return pid_; }
    std::string& output() { return output_; }

    // The child's exit status (reading its output meanwhile, so that it never blocks on a
    // full terminal); -1 if it did not exit in time.
    int exitStatus()
    {
        const auto deadline = Clock::now() + kPatience;
        while (Clock::now() < deadline) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
            }
            if (!drain(50)) {
                usleep(50'000);
            }
        }
        return -1;
    }

  private:
    // Waits up to `ms` for output and appends it; false when the terminal is closed or gone.
    bool drain(int ms)
    {
        if (master_ < 0) {
            return false;
        }
        pollfd ready{master_, POLLIN, 0};
        if (poll(&ready, 1, ms) > 0) {
            char buffer[4096];
            const ssize_t n = read(master_, buffer, sizeof(buffer));
            if (n <= 0) {
                return false;
            }
            output_.append(buffer, static_cast<size_t>(n));
        }
        return true;
    }

    int master_ = -1;
    pid_t pid_ = -1;
    bool exited_ = false;
    std::string output_;
};

TEST(RunLiveView, DrawsTheWaitingScreenAndQuitsOnQ)
{
    ViewInPty view(100, 30);
    ASSERT_TRUE(view.waitForOutput("Nobody listens")) << view.output();
    EXPECT_NE(view.output().find("memray live test"), std::string::npos);
    EXPECT_NE(view.output().find("Location"), std::string::npos);
    view.type("q");
    EXPECT_EQ(view.exitStatus(), kQuit) << view.output();
}

TEST(RunLiveView, EscQuits)
{
    ViewInPty view(80, 24);
    ASSERT_TRUE(view.waitForOutput("Location")) << view.output();
    view.type("\x1b");
    EXPECT_EQ(view.exitStatus(), kQuit) << view.output();
}

TEST(RunLiveView, KeysBeforeQuitting)
{
    ViewInPty view(80, 24);
    ASSERT_TRUE(view.waitForOutput("Location")) << view.output();
    view.type("?");
    ASSERT_TRUE(view.waitForOutput("show or hide this help")) << view.output();
    view.type("\x1b");  // Esc closes the help
    view.settle(300);
    view.type("/abc");
    ASSERT_TRUE(view.waitForOutput("Filter:")) << view.output();
    view.type("q\r");  // (text in the prompt, then kept)
    view.type("q");
    EXPECT_EQ(view.exitStatus(), kQuit) << view.output();
}

TEST(RunLiveView, CtrlCAndSigtermAreSignals)
{
    {
        ViewInPty view(80, 24);
        ASSERT_TRUE(view.waitForOutput("Location")) << view.output();
        view.type("\x03");  // the terminal sends SIGINT
        EXPECT_EQ(view.exitStatus(), kSignal) << view.output();
    }
    {
        ViewInPty view(80, 24);
        ASSERT_TRUE(view.waitForOutput("Location")) << view.output();
        kill(view.pid(), SIGTERM);
        EXPECT_EQ(view.exitStatus(), kSignal) << view.output();
    }
}

TEST(RunLiveView, AClosedTerminalIsAHangup)
{
    ViewInPty view(80, 24);
    ASSERT_TRUE(view.waitForOutput("Location")) << view.output();
    view.closeTerminal();
    EXPECT_EQ(view.exitStatus(), kHangup);
}

TEST(RunLiveView, ResizesDownToOneCell)
{
    ViewInPty view(80, 24);
    ASSERT_TRUE(view.waitForOutput("Location")) << view.output();
    view.resize(20, 5);
    ASSERT_TRUE(view.waitForOutput("Window too small")) << view.output();
    for (auto [columns, lines] : {std::pair{1, 1}, {2, 1}, {200, 50}, {39, 9}, {120, 40}}) {
        view.resize(static_cast<unsigned short>(columns), static_cast<unsigned short>(lines));
        view.settle(150);
    }
    view.output().clear();
    view.type("?");  // still answering
    ASSERT_TRUE(view.waitForOutput("show or hide this help")) << view.output();
    view.type("q");
    EXPECT_EQ(view.exitStatus(), kQuit) << view.output();
}

}  // namespace
}  // namespace memray::live
