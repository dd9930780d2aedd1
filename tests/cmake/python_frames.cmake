# Tests of the payload's Python frame walker (payload/src/python_frames.cpp).

# Paths relative to this file, so the module also works when included from a scratch project.
cmake_path(GET CMAKE_CURRENT_LIST_DIR PARENT_PATH MEMRAY_FRAMES_TESTS)
cmake_path(GET MEMRAY_FRAMES_TESTS PARENT_PATH MEMRAY_FRAMES_ROOT)
set(MEMRAY_FRAMES_SRC ${MEMRAY_FRAMES_ROOT}/payload/src)

# Unit: the per-version offset table against each installed interpreter's own headers.
add_executable(python_frames_layout_dump ${MEMRAY_FRAMES_TESTS}/unit/python_frames_layout_dump.cpp)
target_include_directories(python_frames_layout_dump PRIVATE ${MEMRAY_FRAMES_SRC})
add_test(NAME python_frames_layout_test
         COMMAND ${MEMRAY_TEST_DRIVER} ${MEMRAY_FRAMES_TESTS}/unit/python_frames_layout_test.py
                 --cc ${CMAKE_C_COMPILER}
                 --dump $<TARGET_FILE:python_frames_layout_dump>
                 --probe ${MEMRAY_FRAMES_TESTS}/unit/python_frames_layout_probe.c
                 --work-dir ${CMAKE_CURRENT_BINARY_DIR}/python_frames_layout)
set_tests_properties(python_frames_layout_test PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# Unit: the walker's logic (version choice, frame skipping, str decoding) on fake interpreter
# state, including branches a Python program cannot reach.
add_executable(python_frames_walker_test
               ${MEMRAY_FRAMES_SRC}/python_frames.cpp
               ${MEMRAY_FRAMES_TESTS}/unit/python_frames_walker_test.cpp)
target_include_directories(python_frames_walker_test PRIVATE ${MEMRAY_FRAMES_SRC})
target_link_libraries(python_frames_walker_test PRIVATE GTest::gtest GTest::gtest_main ${CMAKE_DL_LIBS})
gtest_discover_tests(python_frames_walker_test PROPERTIES TIMEOUT 60)

# Integration: the walker inside each interpreter, loaded with ctypes, against CPython's own
# view of the same stacks.
add_library(python_frames_probe SHARED
            ${MEMRAY_FRAMES_SRC}/python_frames.cpp
            ${MEMRAY_FRAMES_TESTS}/integration/python_frames_probe.cpp)
target_include_directories(python_frames_probe PRIVATE ${MEMRAY_FRAMES_SRC})
target_link_libraries(python_frames_probe PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)

memray_add_python_test(python_frames
                       ${MEMRAY_FRAMES_TESTS}/integration/python_frames_test.py
                       $<TARGET_FILE:python_frames_probe>)
