# The pytest plugin and the IPython magic (python/memray/pytest_plugin.py, _ipython.py): the wheel
# installed into a venv (--system-site-packages) of each interpreter that has pytest, which here is
# Debian's /usr/bin/python3.11 (python3-pytest, python3-pytest-xdist, python3-ipython from
# tools/scripts/setup.sh). That one is registered even without pytest, so that its absence fails.
set(MEMRAY_PYTEST_PYTHONS "")
foreach(py ${MEMRAY_TEST_PYTHONS})
  execute_process(COMMAND ${py} -c "import pytest" RESULT_VARIABLE no_pytest OUTPUT_QUIET ERROR_QUIET)
  if(NOT no_pytest OR py STREQUAL "/usr/bin/python3.11")
    list(APPEND MEMRAY_PYTEST_PYTHONS ${py})
  endif()
endforeach()

set(MEMRAY_ALL_TEST_PYTHONS ${MEMRAY_TEST_PYTHONS})
set(MEMRAY_TEST_PYTHONS ${MEMRAY_PYTEST_PYTHONS})
memray_add_python_test(pytest_plugin ${CMAKE_SOURCE_DIR}/tests/integration/test_pytest_plugin.py)
set(MEMRAY_TEST_PYTHONS ${MEMRAY_ALL_TEST_PYTHONS})

get_property(registered DIRECTORY PROPERTY TESTS)
foreach(test_name ${registered})
  if(test_name MATCHES "^pytest_plugin\\[")
    set_tests_properties(${test_name} PROPERTIES FIXTURES_REQUIRED python_wheel TIMEOUT 1800)
  endif()
endforeach()
