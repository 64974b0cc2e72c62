# The `dropout` command-line tool: tests/cli/test_cli.py drives the built tool
# (one ctest per part) and compares it with tests/cli/spec_mask.py, an
# independent pure-Python implementation of mask stream v1 (standard library
# only, so Debian's /usr/bin/python3 runs it with no extra package).  And
# `dropout verify` itself, which exits non-zero if any claim fails.

if(NOT TARGET dropout_cli)
  message(STATUS "cli tests: not registered (DROPOUT_BUILD_CLI is OFF: no dropout tool to test)")
  return()
endif()

set(DROPOUT_CLI_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/cli)
set(cli_parts kat vectors random forward errors help io)

find_program(DROPOUT_CLI_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH
             DOC "Python 3 for the CLI tests (standard library only)")
if(NOT DROPOUT_CLI_PYTHON3)
  find_program(DROPOUT_CLI_PYTHON3 NAMES python3)
endif()

foreach(part ${cli_parts})
  if(DROPOUT_CLI_PYTHON3)
    add_test(NAME cli_${part}
             COMMAND ${DROPOUT_CLI_PYTHON3} ${DROPOUT_CLI_TEST_DIR}/test_cli.py
                     $<TARGET_FILE:dropout_cli> ${PROJECT_SOURCE_DIR} ${part})
  else()
    # Registered all the same, and failing: never skipped silently.
    add_test(NAME cli_${part} COMMAND ${CMAKE_COMMAND} -E false)
  endif()
  set_tests_properties(cli_${part} PROPERTIES LABELS cli)
endforeach()
# dropout explain: the mask table, every pass against spec_mask.py, the means
# within 5 standard errors, evaluation bitwise, --json, --svg, bad input.
if(DROPOUT_CLI_PYTHON3)
  add_test(NAME cli_explain
           COMMAND ${DROPOUT_CLI_PYTHON3} ${DROPOUT_CLI_TEST_DIR}/test_explain.py
                   $<TARGET_FILE:dropout_cli> ${CMAKE_CURRENT_BINARY_DIR}/cli_explain)
else()
  add_test(NAME cli_explain COMMAND ${CMAKE_COMMAND} -E false)
endif()
set_tests_properties(cli_explain PROPERTIES LABELS cli)
if(NOT DROPOUT_CLI_PYTHON3)
  message(SEND_ERROR "cli tests: no python3 found (apt-get install -y python3); "
                     "the cli_* tests are registered and fail")
endif()

# The verify table: --quick always (it is what the sanitizer build runs), the
# full sizes (>= 10^7 elements per p) when not sanitized.  Measured on the
# 2-core development VM, one thread: full 5.6-6.5 s with the scalar kernels,
# 1.5-1.8 s with AVX2; --quick 0.05-0.3 s (0.6 s in a Debug ASan build).
add_test(NAME cli_verify_quick COMMAND dropout_cli verify --quick)
set_tests_properties(cli_verify_quick PROPERTIES LABELS cli)
if(DROPOUT_SANITIZE)
  message(STATUS "cli tests: the full 'dropout verify' is not registered in DROPOUT_SANITIZE "
                 "builds (cli_verify_quick runs the same checks on smaller samples)")
else()
  add_test(NAME cli_verify COMMAND dropout_cli verify)
  set_tests_properties(cli_verify PROPERTIES LABELS cli TIMEOUT 300)
endif()
