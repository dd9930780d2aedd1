# The progress bar of long reads (tools/memray/read_progress_bar.h): pseudo-terminals and tmux
# around every reading command. The captures come from memray-synth, so one interpreter (for
# the test driver and the pipe's reader) is enough.
if(MEMRAY_TEST_PYTHONS)
  list(GET MEMRAY_TEST_PYTHONS 0 MEMRAY_PROGRESS_TEST_PYTHON)
  add_test(NAME read_progress
           COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_read_progress.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(read_progress PROPERTIES TIMEOUT 900
    ENVIRONMENT "MEMRAY_TEST_PYTHON=${MEMRAY_PROGRESS_TEST_PYTHON};MEMRAY_BUILD_DIR=${CMAKE_BINARY_DIR};MEMRAY_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()

# Units: the bar's line at every width (tools/memray/read_progress_bar.cpp).
add_executable(read_progress_tests ${CMAKE_CURRENT_LIST_DIR}/../cli/read_progress_line_test.cpp
  ${CMAKE_SOURCE_DIR}/tools/memray/read_progress_bar.cpp)
target_include_directories(read_progress_tests PRIVATE ${CMAKE_SOURCE_DIR}/tools/memray)
target_link_libraries(read_progress_tests PRIVATE memray_reader GTest::gtest_main)
gtest_discover_tests(read_progress_tests TEST_PREFIX "read_progress." DISCOVERY_MODE PRE_TEST)
