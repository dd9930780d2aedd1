# The wheel (python/): written once per test run by the python_wheel fixture, then installed
# fresh into a venv of every interpreter (tests/integration/test_python_package.py).
add_test(NAME python_wheel
         COMMAND ${MEMRAY_TEST_DRIVER} ${CMAKE_SOURCE_DIR}/python/build_wheel.py
                 --build-dir ${CMAKE_BINARY_DIR} --out-dir ${CMAKE_BINARY_DIR}/wheel --version ${PROJECT_VERSION})
set_tests_properties(python_wheel PROPERTIES TIMEOUT 300 FIXTURES_SETUP python_wheel)

memray_add_python_test(python_package ${CMAKE_SOURCE_DIR}/tests/integration/test_python_package.py)
# Tracker(destination=SocketDestination(port)) watched by `memray live PORT` in tmux.
memray_add_python_test(tracker_live_view ${CMAKE_SOURCE_DIR}/tests/integration/test_tracker_live.py)
get_property(registered DIRECTORY PROPERTY TESTS)
foreach(test_name ${registered})
  if(test_name MATCHES "^(python_package|tracker_live_view)\\[")
    set_tests_properties(${test_name} PROPERTIES FIXTURES_REQUIRED python_wheel)
  endif()
endforeach()
