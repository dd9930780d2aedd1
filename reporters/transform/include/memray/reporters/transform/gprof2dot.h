// The gprof2dot format: gprof2dot's JSON profile ("gprof2dot -f json FILE | dot -Tsvg"),
// with memory as its one cost:
//
//   {"version":0,"costs":[{"description":"Memory","unit":"bytes"}],
//    "functions":[{"name":"keep","module":"/app/job.py"},...],
//    "events":[{"callchain":[0,3,4],"cost":[5242881]},...]}
//
// A function is a (name, file) pair, whatever the line. One event per location, its call
// chain innermost function first; locations without a stack are left out.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <string>

namespace memray::reporters::transform {

std::string renderGprof2dot(const reader::AnalysedCapture& analysed);

}  // namespace memray::reporters::transform
