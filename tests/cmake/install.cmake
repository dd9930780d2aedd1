# The installed layout works on its own.
add_test(NAME install COMMAND ${CMAKE_SOURCE_DIR}/tests/install/install_test.sh ${CMAKE_BINARY_DIR} /usr/bin/python3.11)
set_tests_properties(install PROPERTIES TIMEOUT 120)
