#include "payload_locator.h"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <spdlog/spdlog.h>

namespace memray::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPayloadName = "libmemray_payload.so";
constexpr const char* kOverrideVariable = "MEMRAY_PAYLOAD";

fs::path executableDirectory()
{
    std::error_code error;
    fs::path exe = fs::read_symlink("/proc/self/exe", error);
    if (error) {
        throw std::runtime_error("cannot locate the memray executable (/proc/self/exe): "
                                 + error.message());
    }
    return exe.parent_path();
}

bool isRegularFile(const fs::path& path)
{
    std::error_code error;
    return fs::is_regular_file(path, error);
}

}  // namespace

fs::path findPayload()
{
    if (const char* override = std::getenv(kOverrideVariable); override && *override) {
        fs::path path = fs::absolute(override);
        if (!isRegularFile(path)) {
            throw std::runtime_error(std::string(kOverrideVariable) + " names " + path.string()
                                     + ", which is not a file");
        }
        spdlog::info("using the payload from {}: {}", kOverrideVariable, path.string());
        return path;
    }

    return findBundledLibrary(kPayloadName);
}

fs::path findBundledLibrary(const char* name)
{
    const fs::path dir = executableDirectory();
    const std::vector<fs::path> candidates = {
        dir / ".." / "lib" / name,
        dir / ".." / "lib" / "memray" / name,
    };
    std::string tried;
    for (const fs::path& candidate : candidates) {
        if (isRegularFile(candidate)) {
            fs::path resolved = fs::weakly_canonical(candidate);
            spdlog::debug("{}: {}", name, resolved.string());
            return resolved;
        }
        tried += (tried.empty() ? "" : ", ") + fs::weakly_canonical(candidate).string();
    }
    throw std::runtime_error(std::string("cannot find ") + name + " (looked for " + tried
                             + "); is memray installed completely?");
}

}  // namespace memray::cli
