# End-to-end capture tests: `memray run` on real interpreters, read back with `memray parse`.

# Test-only libraries that allocate through their own GOT, the way C extensions do.
add_library(memray_test_allocators SHARED
  ${CMAKE_SOURCE_DIR}/tests/integration/allocator_probe.c
  ${CMAKE_SOURCE_DIR}/tests/integration/allocator_probe_cpp.cpp)
add_library(memray_test_threads SHARED ${CMAKE_SOURCE_DIR}/tests/integration/thread_probe.c)
target_link_libraries(memray_test_threads PRIVATE Threads::Threads)
set_target_properties(memray_test_allocators memray_test_threads PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/lib)

memray_add_python_test(capture ${CMAKE_SOURCE_DIR}/tests/integration/test_capture.py)
memray_add_python_test(partial_stack_walks ${CMAKE_SOURCE_DIR}/tests/integration/test_partial_stack_walks.py)
