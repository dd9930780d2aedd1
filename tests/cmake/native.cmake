# Native mode (--native): hybrid stacks of real captures on every interpreter.

# build/bin/memray-hybrid-dump CAPTURE: every allocation location's hybrid stack, as text.
add_executable(memray-hybrid-dump ${CMAKE_SOURCE_DIR}/tests/native/hybrid_stack_dump.cpp)
target_link_libraries(memray-hybrid-dump PRIVATE memray_reader)

memray_add_python_test(native ${CMAKE_SOURCE_DIR}/tests/native/test_native.py)

# The incremental native unwind against whole libunwind unwinds (MEMRAY_NATIVE_UNWIND_VERIFY).
memray_add_python_test(native_incremental_unwind ${CMAKE_SOURCE_DIR}/tests/native/test_incremental_unwind.py)
