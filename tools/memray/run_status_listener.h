// The receiving end of the payload's capture failure reports (memray/format/run_status.h):
// how `memray run` learns that the program's capture could not be created or was cut short,
// which the file alone would tell only after a full read.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace memray::cli {

struct RunStatusReport
{
    std::string kind;  // format::kRunStatusFailed or format::kRunStatusIncomplete
    std::string path;  // the capture file, as the payload opened it
    std::string reason;
};

class RunStatusListener
{
  public:
    // Binds this process's status socket, before the program starts. If that fails (the
    // name taken by someone else), it listens to nothing: `memray run` then reports from the
    // file alone, as it would without this channel.
    RunStatusListener();
    ~RunStatusListener();
    RunStatusListener(const RunStatusListener&) = delete;
    RunStatusListener& operator=(const RunStatusListener&) = delete;

    // The reports received so far from process `sender` (checked by the kernel), in order.
    // Never blocks: call it once the program has ended.
    std::vector<RunStatusReport> collect(pid_t sender) const;

  private:
    int d_socket = -1;
};

}  // namespace memray::cli
