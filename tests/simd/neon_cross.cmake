# NEON: cross-build for AArch64 and run the SIMD tests under qemu-user, when
# the tools are installed (Debian: gcc-aarch64-linux-gnu qemu-user).
if(CMAKE_CROSSCOMPILING OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  return() # on AArch64 itself test_simd_kernels_neon runs natively
endif()
# The cross build is Release whatever this build's type, so one build of a CI
# matrix is enough: the others pass -DDROPOUT_TEST_NEON_QEMU=OFF.
option(DROPOUT_TEST_NEON_QEMU "Cross-build for AArch64 and run the NEON tests under qemu-user" ON)
if(NOT DROPOUT_TEST_NEON_QEMU)
  message(STATUS "simd tests: NOT testing the neon kernels under qemu (DROPOUT_TEST_NEON_QEMU=OFF)")
  return()
endif()
find_program(DROPOUT_AARCH64_GCC aarch64-linux-gnu-gcc)
find_program(DROPOUT_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(NOT DROPOUT_AARCH64_GCC OR NOT DROPOUT_QEMU_AARCH64)
  message(STATUS "simd tests: NOT testing the neon kernels: aarch64-linux-gnu-gcc or "
                 "qemu-aarch64 not found (apt-get install gcc-aarch64-linux-gnu qemu-user)")
elseif(DROPOUT_SANITIZE)
  message(STATUS "simd tests: NOT testing the neon kernels under qemu in a sanitizer build "
                 "(the cross build has no sanitizers; the normal build runs it)")
else()
  add_test(NAME simd_neon_qemu
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/neon_cross.sh ${PROJECT_SOURCE_DIR}
            ${CMAKE_CURRENT_BINARY_DIR}/neon-cross)
  set_tests_properties(simd_neon_qemu PROPERTIES LABELS simd TIMEOUT 600)
endif()
