# Native mode (--native): hybrid stacks of real captures on every interpreter.

# build/bin/memray-hybrid-dump CAPTURE: every allocation location's hybrid stack, as text.
add_executable(memray-hybrid-dump ${CMAKE_SOURCE_DIR}/tests/native/hybrid_stack_dump.cpp)
target_link_libraries(memray-hybrid-dump PRIVATE memray_reader)

memray_add_python_test(native ${CMAKE_SOURCE_DIR}/tests/native/test_native.py)
