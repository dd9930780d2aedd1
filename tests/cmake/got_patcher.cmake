# Tests of the GOT patcher (payload/src/got_patcher.cpp).
#
# The patcher is compiled into its own test shared objects rather than linked from
# memray_payload, which exports only its C API: libgot_patcher_testshim.so (patcher + counting
# hooks, the stand-in payload of got_patcher_test) and libgot_patcher_pyprobe.so (loaded into
# real interpreters by got_patcher_python_test.py).
get_filename_component(GOT_PATCHER_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
set(GOT_PATCHER_SRC ${GOT_PATCHER_ROOT}/payload/src)
set(GOT_PATCHER_UNIT ${GOT_PATCHER_ROOT}/tests/unit)

# got_patcher_testlib(NAME [COMPILE opts...] [LINK opts...]): the allocating test library,
# exporting NAME_exercise(). -fno-builtin and no sibling calls keep every call a real call made
# from the library's own code (the hooks attribute calls by return address).
function(got_patcher_testlib name)
  cmake_parse_arguments(ARG "" "" "COMPILE;LINK" ${ARGN})
  add_library(${name} SHARED ${GOT_PATCHER_UNIT}/got_patcher_testlib.c)
  target_compile_definitions(${name} PRIVATE GOT_TESTLIB_FUNCTION=${name}_exercise)
  target_compile_options(${name} PRIVATE
    -O2 -fno-builtin -fno-optimize-sibling-calls ${ARG_COMPILE})
  target_link_options(${name} PRIVATE ${ARG_LINK})
endfunction()

# Lazy binding: malloc's JUMP_SLOT is in the writable .got.plt and points into the PLT until
# the first call.
got_patcher_testlib(got_patcher_testlib_lazy LINK -Wl,-z,lazy)
# Full RELRO: the JUMP_SLOTs are bound at load time and then read-only.
got_patcher_testlib(got_patcher_testlib_now LINK -Wl,-z,now -Wl,-z,relro)
# No PLT: calls load the target from a GLOB_DAT slot (read-only with RELRO).
got_patcher_testlib(got_patcher_testlib_noplt COMPILE -fno-plt LINK -Wl,-z,relro)
# Not linked to the test: dlopen'ed (and dlclose'd) by it.
got_patcher_testlib(got_patcher_testlib_late LINK -Wl,-z,lazy)

add_library(got_patcher_testshim SHARED
  ${GOT_PATCHER_SRC}/got_patcher.cpp
  ${GOT_PATCHER_UNIT}/got_patcher_testhooks.cpp)
target_include_directories(got_patcher_testshim PUBLIC ${GOT_PATCHER_SRC})
target_compile_options(got_patcher_testshim PRIVATE -fno-optimize-sibling-calls)
target_link_libraries(got_patcher_testshim PRIVATE ${CMAKE_DL_LIBS})

add_executable(got_patcher_test ${GOT_PATCHER_UNIT}/got_patcher_test.cpp)
target_compile_definitions(got_patcher_test PRIVATE
  GOT_PATCHER_TESTLIB_LATE="$<TARGET_FILE:got_patcher_testlib_late>")
target_link_libraries(got_patcher_test PRIVATE
  got_patcher_testshim
  got_patcher_testlib_lazy got_patcher_testlib_now got_patcher_testlib_noplt
  GTest::gtest GTest::gtest_main Threads::Threads ${CMAKE_DL_LIBS})
add_dependencies(got_patcher_test got_patcher_testlib_late)
gtest_discover_tests(got_patcher_test TEST_PREFIX "got_patcher/" PROPERTIES TIMEOUT 120)

# Inside real interpreters: Debian's static, non-PIE python3.11 and pyenv's shared-libpython
# builds (every interpreter of MEMRAY_TEST_PYTHONS).
add_library(got_patcher_pyprobe SHARED
  ${GOT_PATCHER_SRC}/got_patcher.cpp
  ${GOT_PATCHER_UNIT}/got_patcher_pyprobe.cpp)
target_include_directories(got_patcher_pyprobe PRIVATE ${GOT_PATCHER_SRC})
set_target_properties(got_patcher_pyprobe PROPERTIES CXX_VISIBILITY_PRESET hidden)
target_link_libraries(got_patcher_pyprobe PRIVATE ${CMAKE_DL_LIBS})
if(COMMAND memray_add_python_test)
  memray_add_python_test(got_patcher_python
    ${GOT_PATCHER_UNIT}/got_patcher_python_test.py $<TARGET_FILE:got_patcher_pyprobe>)
endif()
