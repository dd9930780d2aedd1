# Tests of `memray attach` / `memray detach`: the injector library (injector/), the payload's
# attach session (payload/src/attach_*, control_channel*) and the two commands.

# Unit tests: /proc parsing, ELF symbol resolution against real binaries and live interpreters.
file(GLOB INJECTOR_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../injector/*_test.cpp)
find_library(MEMRAY_TEST_LIEF_LIBRARY NAMES LIEF REQUIRED)
add_executable(injector_tests ${INJECTOR_TEST_SOURCES})
string(REPLACE ";" ":" MEMRAY_TEST_PYTHONS_PATH "${MEMRAY_TEST_PYTHONS}")
target_compile_definitions(injector_tests PRIVATE MEMRAY_TEST_PYTHONS="${MEMRAY_TEST_PYTHONS_PATH}")
target_link_libraries(injector_tests PRIVATE memray_injector ${MEMRAY_TEST_LIEF_LIBRARY} GTest::gtest_main Threads::Threads)
# traced_thread_test.cpp tests a class private to the injector.
target_include_directories(injector_tests PRIVATE ${CMAKE_SOURCE_DIR}/injector/src)
gtest_discover_tests(injector_tests TEST_PREFIX "injector." DISCOVERY_MODE PRE_TEST PROPERTIES TIMEOUT 120)

# TEST FIXTURES loaded into attach targets: blocking calls that report EINTR, register canaries,
# a malloc/free hammer (attach_probe.c), and a library to load and unload (attach_loadable.c).
add_library(memray_test_attach_probe SHARED ${CMAKE_CURRENT_LIST_DIR}/../integration/attach_probe.c)
target_link_libraries(memray_test_attach_probe PRIVATE Threads::Threads)
add_library(memray_test_attach_loadable SHARED ${CMAKE_CURRENT_LIST_DIR}/../integration/attach_loadable.c)
# Hidden by default: the canary code addresses its data PC-relative.
set_target_properties(memray_test_attach_probe memray_test_attach_loadable PROPERTIES
  C_VISIBILITY_PRESET hidden
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/lib)

# Integration tests, once per interpreter: real targets attached to and detached from.
memray_add_python_test(attach ${CMAKE_CURRENT_LIST_DIR}/../integration/test_attach.py)
memray_add_python_test(attach_safety ${CMAKE_CURRENT_LIST_DIR}/../integration/test_attach_safety.py)
memray_add_python_test(attach_refusals ${CMAKE_CURRENT_LIST_DIR}/../integration/test_attach_refusals.py)
# The issue's 50-cycle stress test, apart: the longest attach test by far (~25-100 s per
# interpreter depending on the machine's load), so it gets a time limit of its own.
memray_add_python_test(attach_stress ${CMAKE_CURRENT_LIST_DIR}/../integration/test_attach_stress.py)
# A target in another mount namespace: the capture is named as memray can reach it.
memray_add_python_test(attach_namespace ${CMAKE_CURRENT_LIST_DIR}/../integration/test_attach_namespace.py)
