#include "live_workspace.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace memray::cli {

namespace fs = std::filesystem;

std::string temporaryDirectory()
{
    const char* tmpdir = std::getenv("TMPDIR");
    return tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp";
}

LiveWorkspace::LiveWorkspace(const std::string& parent_here, const std::string& parent_there,
                             std::optional<std::pair<uid_t, gid_t>> owner)
{
    std::string pattern = (fs::path(parent_here) / "memray-live-XXXXXX").string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (mkdtemp(name.data()) == nullptr) {
        throw std::runtime_error("cannot create a private directory in " + parent_here + ": "
                                 + std::strerror(errno));
    }
    here_ = name.data();
    there_ = fs::path(parent_there) / here_.filename();
    if (owner && chown(here_.c_str(), owner->first, owner->second) != 0) {
        const int error = errno;
        std::error_code ignored;
        fs::remove(here_, ignored);
        throw std::runtime_error("cannot give " + here_.string() + " to the target's user: "
                                 + std::strerror(error));
    }
}

LiveWorkspace::~LiveWorkspace()
{
    std::error_code ignored;
    fs::remove(captureHere(), ignored);
    if (!keep_directory_) {
        fs::remove_all(here_, ignored);
    }
}

std::optional<std::string> LiveWorkspace::keepOutput()
{
    std::error_code error;
    const auto size = fs::file_size(outputHere(), error);
    if (error || size == 0) {
        return std::nullopt;
    }
    keep_directory_ = true;
    return outputHere();
}

}  // namespace memray::cli
