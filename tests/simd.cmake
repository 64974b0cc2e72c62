# SIMD kernels, dispatch and threads (src/kernels, src/dispatch.c,
# src/parallel.c): every ISA variant bit-identical to the scalar reference.
#
# test_simd_kernels ISA   one kernel table against scalar.c, directly
# test_simd_avx512_model  avx512.c on a plain-C model of its intrinsics
# test_simd_api           the public API: DROPOUT_ISA / dropout_set_isa
#                         variants and thread counts 1..8 give the same bits
# simd_neon_qemu          the AArch64 build (NEON) under qemu-user, when the
#                         cross compiler and qemu are installed
#
# A variant is tested only where the build machine runs it; CMake says so
# for any variant it leaves out (nothing is skipped silently).

set(DROPOUT_SIMD_TESTS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/simd)

function(dropout_simd_executable name)
  add_executable(${name} ${DROPOUT_SIMD_TESTS_DIR}/${name}.c)
  target_link_libraries(${name} PRIVATE dropout_internal Threads::Threads m)
  target_compile_options(${name} PRIVATE ${DROPOUT_WARNINGS})
  if(DROPOUT_SANITIZE)
    target_compile_definitions(${name} PRIVATE DROPOUT_TEST_SANITIZE=1)
  endif()
endfunction()

find_package(Threads REQUIRED)
dropout_simd_executable(test_simd_kernels)
dropout_simd_executable(test_simd_api)

set(simd_built scalar)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    list(APPEND simd_built avx2 avx512)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
    list(APPEND simd_built neon)
  endif()
endif()

# Which variants can this machine run?  A cross build assumes the target
# runs every variant built (its tests run under an emulator or there).
set(DROPOUT_SIMD_RUNNABLE scalar)
if(CMAKE_CROSSCOMPILING)
  set(DROPOUT_SIMD_RUNNABLE ${simd_built})
else()
  try_run(simd_run_result simd_compile_result
    ${CMAKE_CURRENT_BINARY_DIR}/simd_cpu_features
    ${DROPOUT_SIMD_TESTS_DIR}/cpu_features.c
    RUN_OUTPUT_VARIABLE simd_cpu_output)
  if(simd_compile_result AND simd_run_result EQUAL 0)
    set(DROPOUT_SIMD_RUNNABLE ${simd_cpu_output})
  else()
    message(WARNING "simd tests: could not detect this CPU's SIMD features; testing scalar only")
  endif()
endif()

foreach(isa ${simd_built})
  if(isa IN_LIST DROPOUT_SIMD_RUNNABLE)
    add_test(NAME test_simd_kernels_${isa} COMMAND test_simd_kernels ${isa})
    set_tests_properties(test_simd_kernels_${isa} PROPERTIES LABELS simd)
  else()
    message(STATUS "simd tests: NOT testing the ${isa} kernels: this machine's CPU/OS cannot run them")
  endif()
endforeach()
# bench/kernel_ab.sh, the A/B tool for kernel work, stays working: the
# working tree against itself, a few rounds (the two sides must agree), on
# AVX2 (the AVX-512 side is the same script with other flags, and compiling
# avx512.c twice more costs CI a minute).  Not in sanitizer builds: the
# tool links libdropout.a without the sanitizer.
foreach(isa avx2)
  if(isa IN_LIST simd_built AND isa IN_LIST DROPOUT_SIMD_RUNNABLE)
    if(DROPOUT_SANITIZE)
      message(STATUS "simd tests: NOT running bench/kernel_ab.sh (${isa}) in a sanitizer build")
    else()
      add_test(NAME bench_kernel_ab_${isa}
        COMMAND env ISA=${isa} BUILD_DIR=${CMAKE_BINARY_DIR} CC=${CMAKE_C_COMPILER}
                bash ${PROJECT_SOURCE_DIR}/bench/kernel_ab.sh . . 0.1 5000 0 3
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
      set_tests_properties(bench_kernel_ab_${isa} PROPERTIES LABELS simd)
    endif()
  endif()
endforeach()

# The AVX-512 kernels' lane logic on any x86-64 machine: avx512.c compiled
# against a plain-C model of the intrinsics it uses (avx512_model/), checked
# against scalar like the real thing.
if("avx512" IN_LIST simd_built)
  add_executable(test_simd_avx512_model ${DROPOUT_SIMD_TESTS_DIR}/test_simd_kernels.c
    ${PROJECT_SOURCE_DIR}/src/kernels/avx512.c ${PROJECT_SOURCE_DIR}/src/kernels/scalar.c
    ${DROPOUT_SIMD_TESTS_DIR}/avx512_model/model_find.c)
  target_include_directories(test_simd_avx512_model BEFORE PRIVATE
    ${DROPOUT_SIMD_TESTS_DIR}/avx512_model ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_compile_definitions(test_simd_avx512_model PRIVATE SIMD_TEST_FIND=model_kernels_find)
  target_compile_options(test_simd_avx512_model PRIVATE ${DROPOUT_WARNINGS})
  target_link_libraries(test_simd_avx512_model PRIVATE m)
  if(DROPOUT_SANITIZE)
    target_compile_definitions(test_simd_avx512_model PRIVATE DROPOUT_TEST_SANITIZE=1)
  endif()
  add_test(NAME test_simd_avx512_model COMMAND test_simd_avx512_model avx512)
  set_tests_properties(test_simd_avx512_model PROPERTIES LABELS simd)
endif()

string(REPLACE ";" "," simd_isa_list "${DROPOUT_SIMD_RUNNABLE}")
add_test(NAME test_simd_api COMMAND test_simd_api ${simd_isa_list})
set_tests_properties(test_simd_api PROPERTIES LABELS simd)

# The environment variables, read once at the first call.
add_test(NAME test_simd_env_scalar COMMAND test_simd_api scalar
  --expect-isa scalar --expect-isa-status 0 --expect-threads 3)
set_tests_properties(test_simd_env_scalar PROPERTIES LABELS simd
  ENVIRONMENT "DROPOUT_ISA=scalar;DROPOUT_THREADS=3")
# An unknown variant: the best one runs and dropout_isa_status() reports
# DROPOUT_ERROR_UNSUPPORTED_ISA (7).
list(GET DROPOUT_SIMD_RUNNABLE -1 simd_best)
add_test(NAME test_simd_env_unknown COMMAND test_simd_api scalar
  --expect-isa ${simd_best} --expect-isa-status 7)
set_tests_properties(test_simd_env_unknown PROPERTIES LABELS simd
  ENVIRONMENT "DROPOUT_ISA=sse9")

include(${DROPOUT_SIMD_TESTS_DIR}/neon_cross.cmake OPTIONAL)

# `dropout bench --json`: the format the issue names (no timing is checked).
if(TARGET dropout_cli)
  add_test(NAME simd_bench_json COMMAND ${CMAKE_COMMAND} -DDROPOUT=$<TARGET_FILE:dropout_cli>
           -P ${DROPOUT_SIMD_TESTS_DIR}/check_bench.cmake)
  set_tests_properties(simd_bench_json PROPERTIES LABELS simd)
  # A DROPOUT_ISA this machine lacks: the tool fails with one line naming it.
  add_test(NAME simd_cli_isa_unknown COMMAND sh -c
    "! \"$0\" --version >/dev/null 2>&1 && \"$0\" --version 2>&1 | grep -q '^dropout: DROPOUT_ISA=sse9: '"
    $<TARGET_FILE:dropout_cli>)
  set_tests_properties(simd_cli_isa_unknown PROPERTIES LABELS simd ENVIRONMENT "DROPOUT_ISA=sse9")
else()
  message(STATUS "simd tests: dropout bench not tested (DROPOUT_BUILD_CLI is OFF)")
endif()
