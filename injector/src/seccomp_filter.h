// A seccomp filter program (classic BPF, as the kernel accepts it for seccomp), run the way the
// kernel runs it on a system call.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <vector>

namespace memray::injector {

using SeccompProgram = std::vector<sock_filter>;

// The filter's verdict (SECCOMP_RET_* action and data) for `call`. A program that runs off its
// end, jumps out of it or reads outside seccomp_data is treated as killing the process: the
// kernel never loads such a program, so seeing one means we misread it.
uint32_t runSeccompFilter(const SeccompProgram& program, const seccomp_data& call);

// Of several filters' verdicts, the one the kernel acts on: the most restrictive action.
uint32_t strictestVerdict(uint32_t a, uint32_t b);

}  // namespace memray::injector
