// The private directory a live session keeps its files in: the capture the view follows and,
// for `run --live`, the program's output.
//
// Who may watch is who may read these files: the directory is created with mode 0700 (by
// mkdtemp), so only its owner (and root) can open what is inside. When root attaches to a
// process of another user, that user must write the capture, so the directory is given to it:
// still nobody else's.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <sys/types.h>

namespace memray::cli {

class LiveWorkspace
{
  public:
    // Creates `<parent>/memray-live-XXXXXX`. `parent_here` is how this process reaches the
    // parent directory, `parent_there` how the process that writes the capture names it (they
    // differ for a target in another mount namespace, see target_path.h). With `owner`, the
    // directory is chowned to that user. Throws std::runtime_error (one line).
    LiveWorkspace(const std::string& parent_here, const std::string& parent_there,
                  std::optional<std::pair<uid_t, gid_t>> owner = std::nullopt);
    // Removes the capture, and the directory unless keepOutput() kept something in it.
    ~LiveWorkspace();
    LiveWorkspace(const LiveWorkspace&) = delete;
    LiveWorkspace& operator=(const LiveWorkspace&) = delete;

    // The capture file, as this process reaches it and as its writer names it.
    std::string captureHere() const { return (here_ / "capture.bin").string(); }
    std::string captureThere() const { return (there_ / "capture.bin").string(); }
    // Where the program's output goes (run --live).
    std::string outputHere() const { return (here_ / "output.txt").string(); }

    // Keeps the output file if it holds anything: its path, else nullopt.
    std::optional<std::string> keepOutput();

  private:
    std::filesystem::path here_;
    std::filesystem::path there_;
    bool keep_directory_ = false;
};

// $TMPDIR if set and absolute, else /tmp.
std::string temporaryDirectory();

}  // namespace memray::cli
