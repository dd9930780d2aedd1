# Aggregated captures (--aggregate), the payload side: the in-process aggregator against the
# reader's heap replay, and `memray run --aggregate` end to end.

add_executable(aggregator_tests
  ${CMAKE_SOURCE_DIR}/tests/payload/aggregator_test.cpp
  ${CMAKE_SOURCE_DIR}/payload/src/aggregator.cpp)
target_include_directories(aggregator_tests PRIVATE ${CMAKE_SOURCE_DIR}/payload/src)
target_link_libraries(aggregator_tests PRIVATE memray_format GTest::gtest_main)
gtest_discover_tests(aggregator_tests TEST_PREFIX "aggregator." DISCOVERY_MODE PRE_TEST)

memray_add_python_test(aggregate_capture ${CMAKE_SOURCE_DIR}/tests/integration/test_aggregate_capture.py)
