// The program `memray run --live` runs beside its view: whether it still runs, how it ended,
// and ending it when the user quits the view (SIGTERM, as memray does).
#pragma once

#include <optional>
#include <string>

#include <sys/types.h>

namespace memray::cli {

class LiveProgram
{
  public:
    explicit LiveProgram(pid_t pid)
    : pid_(pid)
    {
    }

    pid_t pid() const { return pid_; }

    // Collects the program's end if it has ended (never blocks). True once it has.
    bool ended();
    // "" while it runs, else "the program exited with status 3" / "... was killed by signal 9 (Killed)".
    std::string note();
    // The exit status it ended with by itself (not counting the end terminate() caused).
    std::optional<int> exitCode() const { return exit_code_; }

    // Ends the program and the processes it started in its process group: SIGTERM, then
    // SIGKILL if it has not ended within `grace`. Returns once it has ended.
    void terminate(int grace_seconds);

  private:
    void collect(int status);

    const pid_t pid_;
    bool ended_ = false;
    bool terminated_ = false;
    std::optional<int> exit_code_;
    int signal_ = 0;
};

}  // namespace memray::cli
