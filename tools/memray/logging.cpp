#include "logging.h"

#include <memory>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace memray::cli {

void setupLogging(int verbosity)
{
    // A plain (uncoloured) sink: these lines often end up in CI logs and bug reports, where
    // escape sequences only get in the way.
    auto logger = spdlog::stderr_logger_st("memray");
    logger->set_pattern("memray: %l: %v");
    spdlog::level::level_enum level = spdlog::level::warn;
    if (verbosity == 1) {
        level = spdlog::level::info;
    } else if (verbosity >= 2) {
        level = spdlog::level::debug;
    }
    logger->set_level(level);
    // Warnings are rare and usually precede an exit: never lose them in a buffer.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace memray::cli
