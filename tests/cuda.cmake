# The CUDA backend (src/cuda, label `cuda`).  Without a GPU, in CI:
#   test_mask_v1_nvcc  include/dropout_mask_v1.h through nvcc's host pass
#                      against the KATs and SPEC section 4 (tests/header.cmake)
#   test_cuda_header   the backend's cuda_keep_bits16 against the same known
#                      answers (tests/header/mask_v1_vectors.h) and the header
#   test_cuda_ptxas    the library's one compile: sm_80 and sm_90, no stack
#                      frame or spills; Philox on 32-bit mul.hi in the PTX
#   test_cuda_emulate  every kernel's per-thread body run on the CPU for every
#                      (block, thread) of several launch shapes, bit for bit
#                      against libdropout
# With a GPU (cmake/cuda.cmake asks nvcc's device query at configure time):
#   test_cuda_device   the library on the device against libdropout, random
#                      cases; launch shapes; CUDA graphs; errors
# tests/gpu/run.sh builds all of it on a GPU machine and adds the bandwidth
# table (bench_cuda).

if(NOT DROPOUT_CUDA_ENABLED)
  return()
endif()

set(DROPOUT_CUDA_TESTS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/cuda)

# Host-only programs: nvcc's host pass; the device pass compiles no kernel
# (sm_80: thread.cuh's device branches need it).
function(dropout_cuda_host_test name)
  add_executable(${name} ${DROPOUT_CUDA_TESTS_DIR}/${name}.cu)
  set_target_properties(${name} PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON
                                           CUDA_ARCHITECTURES 80-real)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/src/cuda)
  target_compile_options(${name} PRIVATE -Xcompiler=-ffp-contract=off,-Wall,-Wextra)
  target_link_libraries(${name} PRIVATE dropout::dropout m)
endfunction()

dropout_cuda_host_test(test_cuda_header)
target_include_directories(test_cuda_header PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/header)
add_test(NAME test_cuda_header COMMAND test_cuda_header ${DROPOUT_MASK_V1_KAT_ARGS})
# The header itself through nvcc's host pass is tests/header.cmake's test.
if(TEST test_mask_v1_nvcc)
  set_property(TEST test_mask_v1_nvcc APPEND PROPERTY LABELS cuda)
endif()

add_test(NAME test_cuda_ptxas COMMAND ${CMAKE_COMMAND} -DLOG=${DROPOUT_CUDA_PTXAS_LOG}
         -DKEEP=${DROPOUT_CUDA_KEEP_DIR} -P ${DROPOUT_CUDA_TESTS_DIR}/check_ptxas.cmake)

dropout_cuda_host_test(test_cuda_emulate)
add_test(NAME test_cuda_emulate COMMAND test_cuda_emulate)
set_tests_properties(test_cuda_header test_cuda_ptxas test_cuda_emulate PROPERTIES LABELS cuda)

# On the device: built and registered only where there is a GPU to run it
# (or when asked, -DDROPOUT_CUDA_DEVICE_TESTS=ON, to compile it anyway).
option(DROPOUT_CUDA_DEVICE_TESTS "Build the cuda tests that need a GPU even if none is found"
       ${DROPOUT_CUDA_GPU})
if(DROPOUT_CUDA_DEVICE_TESTS)
  foreach(name test_cuda_device bench_cuda)
    if(name STREQUAL bench_cuda)
      add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/gpu/${name}.cu)
    else()
      add_executable(${name} ${DROPOUT_CUDA_TESTS_DIR}/${name}.cu)
    endif()
    set_target_properties(${name} PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
    target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                               ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/src/cuda)
    target_compile_options(${name} PRIVATE -fmad=false -Xcompiler=-ffp-contract=off)
    target_link_libraries(${name} PRIVATE dropout::cuda dropout::dropout m)
  endforeach()
  add_test(NAME test_cuda_device COMMAND test_cuda_device)
  set_tests_properties(test_cuda_device PROPERTIES LABELS cuda)
  if(NOT DROPOUT_CUDA_GPU)
    message(STATUS "cuda tests: test_cuda_device is built and registered without a GPU "
                   "(DROPOUT_CUDA_DEVICE_TESTS=ON): it will fail here")
  endif()
endif()

# The CLI's --device cuda (cli/device_cuda.c): without a GPU, one error line
# and a non-zero exit; with one, the CPU's output.
if(TARGET dropout_cli)
  add_test(NAME cuda_cli COMMAND ${CMAKE_COMMAND} -DDROPOUT=$<TARGET_FILE:dropout_cli>
           -DGPU=${DROPOUT_CUDA_GPU} -P ${DROPOUT_CUDA_TESTS_DIR}/check_cli.cmake)
  set_tests_properties(cuda_cli PROPERTIES LABELS "cuda;cli")
endif()
