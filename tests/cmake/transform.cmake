# Tests of `memray transform` (reporters/transform, tools/memray/cmd_transform.cpp): each format
# read by its real consumer. On every interpreter: csv through Python's csv module, gprof2dot's
# JSON through gprof2dot (where installed) and Graphviz, speedscope's against the schema its npm
# package ships (tests/integration/test_transform.py).
memray_add_python_test(transform ${CMAKE_SOURCE_DIR}/tests/integration/test_transform.py)

# The speedscope file opened in speedscope's own page, in headless Chromium, on the interpreter
# and with the environment of the HTML reports' browser test (reporters.cmake, included first).
if(MEMRAY_BROWSER_TEST_PYTHON)
  add_test(NAME transform_speedscope_browser
           COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_transform_browser.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(transform_speedscope_browser PROPERTIES TIMEOUT 900
    ENVIRONMENT "${MEMRAY_BROWSER_TEST_ENV};MEMRAY_TEST_PYTHON=${MEMRAY_BROWSER_TEST_PYTHON}")
endif()

# Units: each writer's exact file for a hand-built capture (tests/reader/capture_fixture.h).
file(GLOB TRANSFORM_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../transform/*_test.cpp)
add_executable(transform_tests ${TRANSFORM_TEST_SOURCES})
target_include_directories(transform_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../reader ${CMAKE_CURRENT_LIST_DIR}/../format)
target_link_libraries(transform_tests PRIVATE memray_transform memray_synth GTest::gtest_main)
gtest_discover_tests(transform_tests TEST_PREFIX "transform." DISCOVERY_MODE PRE_TEST)
