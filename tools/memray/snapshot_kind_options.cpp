#include "snapshot_kind_options.h"

#include "cli_common.h"


namespace memray::cli {

namespace po = boost::program_options;

void addSnapshotKindOptions(po::options_description& options)
{
    options.add_options()
        ("leaks", "show the memory still allocated when the capture ended, instead of at the peak")
        ("temporary-allocations", "show temporary allocations: freed with at most 1 other allocation of their "
                                  "thread in between")
        ("temporary-allocation-threshold", po::value<std::string>(), "show temporary allocations: freed with at most "
                                                                     "N other allocations of their thread in between");
}

std::optional<int> readSnapshotKind(std::string_view command, const po::variables_map& values,
                                    reader::SnapshotOptions* snapshot)
{
    const size_t kinds = values.count("leaks") + values.count("temporary-allocations")
                         + values.count("temporary-allocation-threshold");
    if (kinds > 1) {
        return usageError(command, "--leaks, --temporary-allocations and --temporary-allocation-threshold "
                                   "exclude each other");
    }
    if (values.count("leaks")) {
        snapshot->kind = reader::ReportKind::Leaks;
    } else if (values.count("temporary-allocations")) {
        snapshot->kind = reader::ReportKind::Temporary;
        snapshot->temporary_threshold = 1;
    } else if (values.count("temporary-allocation-threshold")) {
        const auto threshold = positiveIntegerOption(command, values, "temporary-allocation-threshold",
                                                     "--temporary-allocation-threshold");
        if (!threshold) {
            return kExitUsage;
        }
        snapshot->kind = reader::ReportKind::Temporary;
        snapshot->temporary_threshold = *threshold;
    }
    return std::nullopt;
}

}  // namespace memray::cli
