# Tests of the capture format and the reader, and the synthetic capture generator they use.
# (Included from tests/CMakeLists.txt, where GTest is found.)

set(MEMRAY_SYNTH_DIR ${CMAKE_SOURCE_DIR}/tools/memray-synth)

# The capture builder and generator, as a library for the tests and as the memray-synth tool
# (build/bin/memray-synth) for making large captures by hand.
add_library(memray_synth STATIC
  ${MEMRAY_SYNTH_DIR}/capture_builder.cpp
  ${MEMRAY_SYNTH_DIR}/synthetic_capture.cpp)
target_include_directories(memray_synth PUBLIC ${MEMRAY_SYNTH_DIR})
target_link_libraries(memray_synth PUBLIC memray_format)

add_executable(memray-synth ${MEMRAY_SYNTH_DIR}/main.cpp)
target_link_libraries(memray-synth PRIVATE memray_synth)

# build/bin/memray-reader-bench CAPTURE: times chunk reading, decoding and stats separately.
add_executable(memray-reader-bench ${MEMRAY_SYNTH_DIR}/reader_bench.cpp)
target_link_libraries(memray-reader-bench PRIVATE memray_reader)

# Format: varints, the record codec, the chunk container.
file(GLOB FORMAT_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../format/*_test.cpp)
add_executable(format_tests ${FORMAT_TEST_SOURCES})
target_link_libraries(format_tests PRIVATE memray_format memray_synth GTest::gtest_main)
gtest_discover_tests(format_tests TEST_PREFIX "format." DISCOVERY_MODE PRE_TEST)

# Reader: tables, containers, stats, reports.
file(GLOB READER_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../reader/*_test.cpp)
add_executable(reader_tests ${READER_TEST_SOURCES})
target_include_directories(reader_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../reader ${CMAKE_CURRENT_LIST_DIR}/../format)
target_link_libraries(reader_tests PRIVATE memray_reader memray_synth GTest::gtest_main)
gtest_discover_tests(reader_tests TEST_PREFIX "reader." DISCOVERY_MODE PRE_TEST)

# Robustness: every truncation and thousands of mutations of a capture must end in a clean
# result or a clean error, quickly. One process, so a hang shows up as this test's timeout.
add_executable(reader_robustness_tests ${CMAKE_CURRENT_LIST_DIR}/../reader/robustness/robustness_main.cpp)
target_include_directories(reader_robustness_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../reader ${CMAKE_CURRENT_LIST_DIR}/../format)
target_link_libraries(reader_robustness_tests PRIVATE memray_reader memray_synth GTest::gtest_main)
add_test(NAME reader_robustness COMMAND reader_robustness_tests)
set_tests_properties(reader_robustness PROPERTIES TIMEOUT 300)

# The memray CLI on bad input: exit status 1 and a one-line error, never a crash or a hang.
add_test(NAME reader_cli_errors
         COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_CURRENT_LIST_DIR}/../reader/cli_errors_test.py
                 $<TARGET_FILE:memray> $<TARGET_FILE:memray-synth>)
set_tests_properties(reader_cli_errors PROPERTIES TIMEOUT 120)
