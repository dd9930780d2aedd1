# Tests of the live view (reporters/live): units of the session and the screen, and end to end
# through tmux. The session's tests write genuine captures with the reader tests' helpers.
file(GLOB LIVE_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../live/*_test.cpp)
if(LIVE_TEST_SOURCES)
  add_executable(live_tests ${LIVE_TEST_SOURCES})
  target_include_directories(live_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../live ${CMAKE_SOURCE_DIR}/reporters/live/src
                             ${CMAKE_CURRENT_LIST_DIR}/../reader ${CMAKE_CURRENT_LIST_DIR}/../format)
  target_link_libraries(live_tests PRIVATE memray_live memray_synth GTest::gtest_main util)
  gtest_discover_tests(live_tests TEST_PREFIX "live." DISCOVERY_MODE PRE_TEST)
endif()

# End to end through tmux, on one shared-libpython interpreter and the static one (the view is
# the same program whatever the target; what differs by interpreter is the capture, which the
# capture tests cover on every version).
memray_pythons_labelled(LIVE_TEST_PYTHONS "3.12" "3.11-static")
memray_add_python_test_on("${LIVE_TEST_PYTHONS}" live_view ${CMAKE_SOURCE_DIR}/tests/integration/test_live.py)

# build/bin/memray-live-bench CAPTURE: how fast a live session takes in a capture, and its CPU.
if(TARGET memray_live)
  add_executable(memray-live-bench ${CMAKE_CURRENT_LIST_DIR}/../live/live_bench.cpp)
  target_link_libraries(memray-live-bench PRIVATE memray_live)
endif()
