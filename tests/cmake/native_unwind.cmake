# The incremental native unwind of --native against whole libunwind unwinds
# (MEMRAY_NATIVE_UNWIND_VERIFY), through signals, longjmp, C++ exceptions, threads and fork.
# Reads captures with memray-hybrid-dump (tests/cmake/native.cmake).
memray_add_python_test(native_incremental_unwind ${CMAKE_SOURCE_DIR}/tests/native/test_incremental_unwind.py)

# The same through deep Python stacks entered from C, where the partial Python walk proves the
# native frames of the evaluation calls unchanged (generators, exceptions, threads, greenlets).
memray_add_python_test(native_python_proven_unwind ${CMAKE_SOURCE_DIR}/tests/native/test_python_proven_unwind.py)
