# Tests of the `memray` command line (tools/memray): run, the bootstrap, exit statuses, signals.

# TEST FIXTURE ONLY: a stand-in exporting the payload's C API, which creates the output file
# and records the configuration it was given, and tracks nothing. test_run_cli.py points
# MEMRAY_PAYLOAD at it to test the CLI's plumbing on its own; the tests that look at real
# captures load the real payload. It is kept out of lib/, where the CLI finds the real one.
# The bootstrap enters it the way it enters the payload, through the payload's own Python
# extension-module shim (python_module.cpp), which calls whichever memray_start is linked in.
add_library(memray_cli_test_stand_in_payload SHARED
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/cli_stand_in_payload.c
  ${CMAKE_SOURCE_DIR}/payload/src/python_module.cpp
  ${CMAKE_SOURCE_DIR}/payload/src/process_title.cpp
  ${CMAKE_SOURCE_DIR}/payload/src/run_status.cpp)
target_include_directories(memray_cli_test_stand_in_payload PRIVATE
  ${CMAKE_SOURCE_DIR}/payload/include ${CMAKE_SOURCE_DIR}/payload/src ${CMAKE_SOURCE_DIR}/format/include)
target_link_libraries(memray_cli_test_stand_in_payload PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(memray_cli_test_stand_in_payload PROPERTIES
  C_VISIBILITY_PRESET hidden
  CXX_VISIBILITY_PRESET hidden
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/cli)

memray_add_python_test(run_cli ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_run_cli.py)
# Signals sent to `memray run` and the terminal's job control (tools/memray/signal_relay.h).
memray_add_python_test(run_cli_signals ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_run_signals.py)
# What ps and /proc/PID/cmdline show for a `memray run` program (payload/src/process_title.h).
memray_add_python_test(run_cli_cmdline ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_run_cmdline.py)
# Captures on a full disk (a tmpfs in a private mount namespace; needs root).
memray_add_python_test(run_cli_disk_full ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_run_disk_full.py)
