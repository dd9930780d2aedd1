# Native mode (--native): hybrid stacks of real captures on every interpreter.

# build/bin/memray-hybrid-dump CAPTURE: every allocation location's hybrid stack, as text.
add_executable(memray-hybrid-dump ${CMAKE_SOURCE_DIR}/tests/native/hybrid_stack_dump.cpp)
target_link_libraries(memray-hybrid-dump PRIVATE memray_reader)

memray_add_python_test(native ${CMAKE_SOURCE_DIR}/tests/native/test_native.py)

# Readable native frames (unnamed interpreter frames hidden, MiniDebugInfo, tree folding): on
# Debian's stripped static interpreter, where the unnamed frames are, and on one pyenv build
# with a shared libpython, where there are none to hide.
memray_pythons_labelled(READABLE_FRAMES_PYTHONS "3.12" "3.11-static")
memray_add_python_test_on("${READABLE_FRAMES_PYTHONS}" native_readable_frames
                          ${CMAKE_SOURCE_DIR}/tests/native/test_readable_frames.py)
# Its flame graph check runs in headless Chromium, with the report apps' npm packages.
foreach(py ${READABLE_FRAMES_PYTHONS})
  memray_python_label(${py} label)
  set_property(TEST "native_readable_frames[${label}]" APPEND PROPERTY ENVIRONMENT
               "MEMRAY_WEB_MODULES=${MEMRAY_WEB_MODULES}" "MEMRAY_NODE=${MEMRAY_NODE}")
endforeach()
