#include "run_output.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace memray::cli {

namespace fs = std::filesystem;

namespace {

// The name a path ends with, ignoring trailing slashes ("pkg/" -> "pkg").
std::string lastComponent(const std::string& path)
{
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') {
        trimmed.pop_back();
    }
    return fs::path(trimmed).filename().string();
}

void checkDirectory(const fs::path& file)
{
    const fs::path directory = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    std::error_code error;
    const fs::file_status status = fs::status(directory, error);
    if (!fs::exists(status)) {
        throw std::runtime_error("cannot write " + file.string() + ": directory "
                                 + directory.string() + " does not exist");
    }
    if (!fs::is_directory(status)) {
        throw std::runtime_error("cannot write " + file.string() + ": " + directory.string()
                                 + " is not a directory");
    }
    if (access(directory.c_str(), W_OK | X_OK) != 0) {
        throw std::runtime_error("cannot write " + file.string() + ": directory "
                                 + directory.string() + " is not writable ("
                                 + std::strerror(errno) + ")");
    }
}

}  // namespace

CaptureOutput::CaptureOutput(const RunOptions& options)
{
    if (options.output) {
        d_fixed = *options.output;
        if (options.output->find('\n') != std::string::npos) {
            // The payload's configuration is one key=value per line.
            throw std::runtime_error("the output file name must not contain a newline");
        }
        std::error_code error;
        const fs::file_status status = fs::symlink_status(d_fixed, error);
        if (fs::is_directory(fs::status(d_fixed, error))) {
            throw std::runtime_error("cannot write " + d_fixed.string() + ": it is a directory");
        }
        if (fs::exists(status) && !options.force) {
            throw std::runtime_error("output file " + d_fixed.string()
                                     + " already exists (use -f/--force to overwrite it)");
        }
        checkDirectory(d_fixed);
    } else {
        switch (options.kind) {
            case TargetKind::Script:
                d_directory = fs::path(options.target).parent_path();
                d_stem = lastComponent(options.target);
                break;
            case TargetKind::Module:
                // Not a valid module name anyway, but it must not become a directory name.
                d_stem = options.target;
                std::replace(d_stem.begin(), d_stem.end(), '/', '_');
                break;
            case TargetKind::Code:
                d_stem = "string";
                break;
        }
        checkDirectory(d_directory / "memray-output.bin");
    }
    if (absolutePath(0).string().find('\n') != std::string::npos) {
        throw std::runtime_error("the output path " + displayPath(0)
                                 + " must not contain a newline");
    }
}

std::string CaptureOutput::displayPath(pid_t pid) const
{
    if (!d_fixed.empty()) {
        return d_fixed.string();
    }
    return (d_directory / ("memray-" + d_stem + "." + std::to_string(pid) + ".bin")).string();
}

fs::path CaptureOutput::absolutePath(pid_t pid) const
{
    return fs::absolute(displayPath(pid));
}

}  // namespace memray::cli
