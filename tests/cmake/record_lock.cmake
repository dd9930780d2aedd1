# The payload's record lock (biased, revoked with membarrier) under real threads.
add_executable(record_lock_tests
  ${CMAKE_SOURCE_DIR}/tests/payload/record_lock_test.cpp
  ${CMAKE_SOURCE_DIR}/payload/src/record_lock.cpp)
target_include_directories(record_lock_tests PRIVATE ${CMAKE_SOURCE_DIR}/payload/src)
target_link_libraries(record_lock_tests PRIVATE Threads::Threads GTest::gtest_main)
# A broken exclusion can also deadlock (two holders, one release lost): the timeout fails it.
gtest_discover_tests(record_lock_tests TEST_PREFIX "record_lock." DISCOVERY_MODE PRE_TEST
  PROPERTIES TIMEOUT 60)
