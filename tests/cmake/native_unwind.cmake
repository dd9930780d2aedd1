# The incremental native unwind of --native against whole libunwind unwinds
# (MEMRAY_NATIVE_UNWIND_VERIFY), through signals, longjmp, C++ exceptions, threads and fork.
# Reads captures with memray-hybrid-dump (tests/cmake/native.cmake).
memray_add_python_test(native_incremental_unwind ${CMAKE_SOURCE_DIR}/tests/native/test_incremental_unwind.py)
