// The speedscope format (speedscope's file-format-schema.json, which the tests validate
// against): frames shared by two sampled profiles of the same stacks, "Memory" weighted by
// bytes and "Allocations" by count.
//
//   {"$schema":"https://www.speedscope.app/file-format-schema.json",
//    "shared":{"frames":[{"name":"<module>","file":"/app/job.py","line":20},...]},
//    "profiles":[{"type":"sampled","name":"Memory","unit":"bytes","startValue":0,
//                 "endValue":16777219,"samples":[[0,1,2],...],"weights":[5242881,...]},
//                {"type":"sampled","name":"Allocations","unit":"none",...}],
//    "name":"<the capture's command line>","activeProfileIndex":0,"exporter":"memray@0.1.0"}
//
// A frame is a (function, file, line); "file" is left out when unknown and "line" when 0.
// Samples list frame indices outermost first; locations with the same stack are one sample;
// a sample of weight 0 is left out of that profile, and locations without a stack of both.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <string>
#include <string_view>

namespace memray::reporters::transform {

std::string renderSpeedscope(const reader::AnalysedCapture& analysed, std::string_view exporter);

}  // namespace memray::reporters::transform
