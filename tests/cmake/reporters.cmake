# Tests of the HTML reports (reporters/, tools/memray/html_report_command.*): the CLI and the
# report data on every interpreter, and the pages themselves in headless Chromium (one
# interpreter is enough there: the browser sees the same kind of data from each).

memray_add_python_test(html_reports ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_html_reports.py)

# TEST TOOL: writes a report page from a data file, for the synthetic scale test.
add_executable(memray_test_render_html_report ${CMAKE_CURRENT_SOURCE_DIR}/web/render_html_report.cpp)
target_link_libraries(memray_test_render_html_report PRIVATE memray_reporters)
set_target_properties(memray_test_render_html_report PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/web)

set(MEMRAY_BROWSER_TEST_ENV
  "MEMRAY_WEB_MODULES=${MEMRAY_WEB_MODULES};MEMRAY_NODE=${MEMRAY_NODE};MEMRAY_BUILD_DIR=${CMAKE_BINARY_DIR};MEMRAY_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
if(MEMRAY_TEST_PYTHONS)
  list(GET MEMRAY_TEST_PYTHONS 0 MEMRAY_BROWSER_TEST_PYTHON)
  add_test(NAME html_report_browser
           COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_html_report_browser.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(html_report_browser PROPERTIES TIMEOUT 900
    ENVIRONMENT "${MEMRAY_BROWSER_TEST_ENV};MEMRAY_TEST_PYTHON=${MEMRAY_BROWSER_TEST_PYTHON}")
  # The memory plot's geometry and the header at 1400 and 800 px (tests/web/check_memory_plot.mjs).
  add_test(NAME html_memory_plot_browser
           COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_html_memory_plot_browser.py
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(html_memory_plot_browser PROPERTIES TIMEOUT 900
    ENVIRONMENT "${MEMRAY_BROWSER_TEST_ENV};MEMRAY_TEST_PYTHON=${MEMRAY_BROWSER_TEST_PYTHON}")
endif()
add_test(NAME html_report_scale
         COMMAND ${MEMRAY_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/web/scale_test.mjs
                 --tool $<TARGET_FILE:memray_test_render_html_report> --workdir ${CMAKE_BINARY_DIR}/tests/web)
set_tests_properties(html_report_scale PROPERTIES TIMEOUT 900 ENVIRONMENT "${MEMRAY_BROWSER_TEST_ENV}")
# How fast it renders is measured by the benchmark suite (its "html" section), not here.

# Units: the page writer's escaping, the JSON writer.
file(GLOB REPORTER_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../reporters/*_test.cpp)
find_package(nlohmann_json REQUIRED)
add_executable(reporter_tests ${REPORTER_TEST_SOURCES})
target_include_directories(reporter_tests PRIVATE ${CMAKE_SOURCE_DIR}/reporters/src)
target_link_libraries(reporter_tests PRIVATE memray_reporters nlohmann_json::nlohmann_json GTest::gtest_main)
gtest_discover_tests(reporter_tests TEST_PREFIX "reporters." DISCOVERY_MODE PRE_TEST)
