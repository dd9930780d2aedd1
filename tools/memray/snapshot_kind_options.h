// --leaks, --temporary-allocations and --temporary-allocation-threshold N: which allocations a
// report shows (the peak's when none is given). They exclude each other.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <boost/program_options.hpp>

#include <optional>
#include <string_view>

namespace memray::cli {

void addSnapshotKindOptions(boost::program_options::options_description& options);

// Fills `snapshot` from the options given. Returns the exit status of a usage error (after
// reporting it), or nullopt.
std::optional<int> readSnapshotKind(std::string_view command, const boost::program_options::variables_map& values,
                                    reader::SnapshotOptions* snapshot);

}  // namespace memray::cli
