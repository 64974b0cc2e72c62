# Tests of the dropout family (issue 5): bf16/f16, broadcast masks, alpha and
# gaussian dropout, fused bias + dropout + residual.  Linked against the
# shared library and the public header (every slot of every kernel table is
# checked against the scalar one by tests/simd/test_simd_kernels.c).
set(DROPOUT_FAMILY_TESTS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/family)

# DROPOUT_TESTS_STATIC: link the static library instead (the AArch64 cross
# build of tests/simd/neon_cross.sh runs static binaries under qemu-user).
option(DROPOUT_TESTS_STATIC "link the family tests against the static library" OFF)
function(dropout_family_test name)
  add_executable(${name} ${DROPOUT_FAMILY_TESTS_DIR}/${name}.c)
  if(DROPOUT_TESTS_STATIC)
    target_link_libraries(${name} PRIVATE dropout_static Threads::Threads m)
  else()
    target_link_libraries(${name} PRIVATE dropout::dropout m)
  endif()
  target_compile_options(${name} PRIVATE ${DROPOUT_WARNINGS})
  if(DROPOUT_SANITIZE)
    target_compile_definitions(${name} PRIVATE DROPOUT_TEST_SANITIZE=1)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS family)
endfunction()

dropout_family_test(test_family_half)

dropout_family_test(test_family_broadcast)
dropout_family_test(test_family_alpha)
dropout_family_test(test_family_gaussian)
dropout_family_test(test_family_residual)


# The family through the `dropout` tool: --dtype bf16|f16, --shape,
# --broadcast-dims, --variant (tests/family/test_family_cli.py, standard
# library only, so Debian's /usr/bin/python3 runs it).
if(NOT TARGET dropout_cli)
  message(STATUS "family cli test: not registered (DROPOUT_BUILD_CLI is OFF: no dropout tool)")
else()
  find_program(DROPOUT_FAMILY_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT DROPOUT_FAMILY_PYTHON3)
    find_program(DROPOUT_FAMILY_PYTHON3 NAMES python3)
  endif()
  if(DROPOUT_FAMILY_PYTHON3)
    add_test(NAME test_family_cli
             COMMAND ${DROPOUT_FAMILY_PYTHON3} ${DROPOUT_FAMILY_TESTS_DIR}/test_family_cli.py
                     $<TARGET_FILE:dropout_cli> ${PROJECT_SOURCE_DIR})
  else()
    message(SEND_ERROR "family cli test: no python3 found (apt-get install -y python3); "
                       "test_family_cli is registered and fails")
    add_test(NAME test_family_cli COMMAND ${CMAKE_COMMAND} -E false)
  endif()
  set_tests_properties(test_family_cli PROPERTIES LABELS family)
endif()
