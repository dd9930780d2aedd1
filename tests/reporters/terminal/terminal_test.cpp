// When reports are coloured, and how big the terminal is taken to be.
#include "memray/reporters/terminal.h"

#include <gtest/gtest.h>

#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace memray::reporters {
namespace {

// Sets an environment variable (or unsets it, for nullopt) for the test's lifetime.
class ScopedEnvironment
{
  public:
    ScopedEnvironment(const char* name, std::optional<std::string> value)
    : name_(name)
    {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        set(value);
    }
    ~ScopedEnvironment() { set(old_); }

  private:
    void set(const std::optional<std::string>& value)
    {
        if (value) {
            ::setenv(name_, value->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

    const char* name_;
    std::optional<std::string> old_;
};

// A pseudo-terminal of a known size.
struct PseudoTerminal
{
    int leader = -1;
    int follower = -1;

    explicit PseudoTerminal(unsigned short columns = 100, unsigned short lines = 40)
    {
        struct winsize size = {};
        size.ws_col = columns;
        size.ws_row = lines;
        EXPECT_EQ(::openpty(&leader, &follower, nullptr, nullptr, &size), 0);
    }
    ~PseudoTerminal()
    {
        ::close(leader);
        ::close(follower);
    }
};

TEST(Terminal, ColoursOnlyATerminal)
{
    ScopedEnvironment no_color("NO_COLOR", std::nullopt);
    ScopedEnvironment term("TERM", "xterm-256color");
    PseudoTerminal terminal;
    EXPECT_TRUE(colourWanted(terminal.follower));
    int pipe_ends[2];
    ASSERT_EQ(::pipe(pipe_ends), 0);
    EXPECT_FALSE(colourWanted(pipe_ends[1]));
    ::close(pipe_ends[0]);
    ::close(pipe_ends[1]);
}

TEST(Terminal, NoColorAndDumbTerminalsTurnColoursOff)
{
    PseudoTerminal terminal;
    {
        ScopedEnvironment no_color("NO_COLOR", "1");
        EXPECT_FALSE(colourWanted(terminal.follower));
    }
    {
        ScopedEnvironment no_color("NO_COLOR", "");  // set but empty: no effect (no-color.org)
        ScopedEnvironment term("TERM", "dumb");
        EXPECT_FALSE(colourWanted(terminal.follower));
    }
}

TEST(Terminal, SizeFromTheTerminalElseTheEnvironmentElse80By24)
{
    ScopedEnvironment columns("COLUMNS", std::nullopt);
    ScopedEnvironment lines("LINES", std::nullopt);
    PseudoTerminal terminal(132, 50);
    EXPECT_EQ(terminalSize(terminal.follower).columns, 132u);
    EXPECT_EQ(terminalSize(terminal.follower).lines, 50u);
    int pipe_ends[2];
    ASSERT_EQ(::pipe(pipe_ends), 0);
    EXPECT_EQ(terminalSize(pipe_ends[1]).columns, 80u);
    EXPECT_EQ(terminalSize(pipe_ends[1]).lines, 24u);
    {
        ScopedEnvironment set_columns("COLUMNS", "200");
        ScopedEnvironment set_lines("LINES", "not a number");
        EXPECT_EQ(terminalSize(pipe_ends[1]).columns, 200u);
        EXPECT_EQ(terminalSize(pipe_ends[1]).lines, 24u);
    }
    ::close(pipe_ends[0]);
    ::close(pipe_ends[1]);
}

}  // namespace
}  // namespace memray::reporters
