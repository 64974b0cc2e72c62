# Tests of the dropout family (issue 5): bf16/f16, broadcast masks, alpha and
# gaussian dropout, fused bias + dropout + residual.  Linked against the
# shared library and the public header, except test_family_isa, which calls
# the internal apply tables directly (every ISA against the scalar one).
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

# Internal: the apply tables themselves.
add_executable(test_family_isa ${DROPOUT_FAMILY_TESTS_DIR}/test_family_isa.c)
target_link_libraries(test_family_isa PRIVATE dropout_internal m)
target_compile_options(test_family_isa PRIVATE ${DROPOUT_WARNINGS})
add_test(NAME test_family_isa COMMAND test_family_isa)
set_tests_properties(test_family_isa PROPERTIES LABELS family)
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

# The AVX-512 apply loops' lane logic on any x86-64 machine: apply_avx512.c
# compiled against a plain-C model of the intrinsics it uses
# (family/avx512_model/), checked against the scalar table like the real one.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  add_executable(test_family_avx512_model ${DROPOUT_FAMILY_TESTS_DIR}/test_family_isa.c
    ${PROJECT_SOURCE_DIR}/src/family/apply_avx512.c ${PROJECT_SOURCE_DIR}/src/family/apply_scalar.c)
  target_include_directories(test_family_avx512_model BEFORE PRIVATE
    ${DROPOUT_FAMILY_TESTS_DIR}/avx512_model ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_definitions(test_family_avx512_model PRIVATE FAMILY_TEST_AVX512_MODEL=1)
  target_compile_options(test_family_avx512_model PRIVATE ${DROPOUT_WARNINGS})
  target_link_libraries(test_family_avx512_model PRIVATE m)
  add_test(NAME test_family_avx512_model COMMAND test_family_avx512_model)
  set_tests_properties(test_family_avx512_model PROPERTIES LABELS family)
else()
  message(STATUS "family tests: test_family_avx512_model not registered (not an x86-64 "
                 "GCC/Clang build: there are no AVX-512 apply loops to model)")
endif()
