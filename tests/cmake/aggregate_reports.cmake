# Aggregated captures (--aggregate), the reader side: the verification tool and the end-to-end
# tests of reports on real --aggregate runs.
# (Included from tests/CMakeLists.txt.)

# build/bin/memray-aggregate-check FILE: for a capture written with MEMRAY_AGGREGATE_VERIFY=1,
# compares the peak and leaks snapshots computed from its records and from its checkpoints.
add_executable(memray-aggregate-check ${CMAKE_SOURCE_DIR}/tools/memray-synth/aggregate_check.cpp)
target_link_libraries(memray-aggregate-check PRIVATE memray_reader)

# End to end: `memray run --aggregate` on every interpreter, checked against the records with
# memray-aggregate-check, the reports of a known program, refusals, a killed process.
memray_add_python_test(aggregate_reports ${CMAKE_SOURCE_DIR}/tests/integration/test_aggregate_reports.py)
