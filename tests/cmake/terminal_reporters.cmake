# Tests of the terminal reporters (reporters/terminal): `memray tree` and `memray summary`.

# Units: the renderers' exact text, from call trees built by hand.
file(GLOB TERMINAL_REPORTER_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../reporters/terminal/*_test.cpp)
add_executable(terminal_reporter_tests ${TERMINAL_REPORTER_TEST_SOURCES})
target_include_directories(terminal_reporter_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../reporters/terminal)
# openpty (terminal_test.cpp) is in libutil.
target_link_libraries(terminal_reporter_tests PRIVATE memray_terminal_reporters GTest::gtest_main util)
gtest_discover_tests(terminal_reporter_tests TEST_PREFIX "terminal_reporters." DISCOVERY_MODE PRE_TEST)

# End to end: `memray run` programs with known allocations, then `tree` and `summary` on them.
memray_add_python_test(terminal_reporters ${CMAKE_SOURCE_DIR}/tests/integration/test_terminal_reporters.py)
