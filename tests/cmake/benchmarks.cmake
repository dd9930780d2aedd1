# The benchmark suite (tools/scripts/bench.sh) is kept out of the tests, but its harness must not
# rot: run it in quick mode (tiny workloads, one round), where any failing variant fails the test.
list(GET MEMRAY_TEST_PYTHONS 0 MEMRAY_BENCH_SMOKE_PYTHON)
add_test(NAME benchmark_harness_smoke
         COMMAND python3 ${CMAKE_SOURCE_DIR}/benchmarks/run_benchmarks.py --quick --rounds 1
                 --memray $<TARGET_FILE:memray> --synth $<TARGET_FILE:memray-synth>
                 --python ${MEMRAY_BENCH_SMOKE_PYTHON}
                 --out ${CMAKE_BINARY_DIR}/benchmark-smoke/RESULTS.md)
set_tests_properties(benchmark_harness_smoke PROPERTIES TIMEOUT 300
                     PASS_REGULAR_EXPRESSION "wrote .*RESULTS.md")
