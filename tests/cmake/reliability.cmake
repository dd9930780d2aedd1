# The reader fuzz (benchmarks/reliability/fuzz_reader.py), bounded for CI: every seed capture
# cut at every chunk boundary, then 100 damaged or hostile captures drawn from a fixed seed,
# each through stats, flamegraph, table, tree, summary, parse and transform (about 1,600 runs,
# a minute or so on two cores). Any crash, hang, unclean error or memory blow-up fails it, and its
# output names the case to replay (--replay SEED:INDEX). The benchmark suite's Reliability
# section runs a longer fuzz. The per-run timeout is generous: a hang is a run that never
# ends, not a slow one on a loaded machine.
add_test(NAME reader_fuzz_bounded
         COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_SOURCE_DIR}/benchmarks/reliability/fuzz_reader.py
                 --memray $<TARGET_FILE:memray> --seed 1 --cases 100 --jobs 2 --timeout 120)
set_tests_properties(reader_fuzz_bounded PROPERTIES TIMEOUT 1200)
