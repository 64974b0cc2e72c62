# include/dropout_mask_v1.h, the portable definition of mask stream v1, in
# every host dialect it promises: C99 and C11, C++11 and C++17, and CUDA
# through nvcc's host pass (when nvcc is found), each with -Werror and
# against the same known answers (Random123's Philox4x32-10 lines and every
# SPEC section 4 row).  The fourth dialect, OpenCL C, is built by the OpenCL
# runtime at test time: tests/opencl.cmake (test_opencl_header).
# The header's CUDA device side is tested with the CUDA backend (tests/cuda).

set(DROPOUT_HEADER_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/header)
set(DROPOUT_MASK_V1_KAT_ARGS ${CMAKE_CURRENT_SOURCE_DIR}/data/philox4x32_10_kat.txt
                             ${CMAKE_CURRENT_SOURCE_DIR}/data/mask_v1_kat.txt)
set(DROPOUT_MASK_V1_STRICT -Wall -Wextra -Wpedantic -Wshadow -Werror)

set(header_tests "")
foreach(std 99 11)
  add_executable(test_mask_v1_c${std} ${DROPOUT_HEADER_TEST_DIR}/test_mask_v1_header.c)
  set_target_properties(test_mask_v1_c${std} PROPERTIES C_STANDARD ${std}
                        C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  list(APPEND header_tests test_mask_v1_c${std})
endforeach()
foreach(std 11 17)
  add_executable(test_mask_v1_cxx${std} ${DROPOUT_HEADER_TEST_DIR}/test_mask_v1_header.cpp)
  set_target_properties(test_mask_v1_cxx${std} PROPERTIES CXX_STANDARD ${std}
                        CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  list(APPEND header_tests test_mask_v1_cxx${std})
endforeach()
foreach(name ${header_tests})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include
                             ${DROPOUT_HEADER_TEST_DIR})
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${name} PRIVATE ${DROPOUT_MASK_V1_STRICT})
  endif()
  add_test(NAME ${name} COMMAND ${name} ${DROPOUT_MASK_V1_KAT_ARGS})
endforeach()

# nvcc's host pass: the .cu only includes the C test, so nvcc compiles host
# code with every function __host__ __device__ (no GPU needed, no device code
# run).  Built with nvcc directly, so this needs no CUDA language in CMake.
find_program(DROPOUT_NVCC nvcc PATHS /usr/local/cuda/bin DOC "nvcc, for the header's CUDA test")
if(DROPOUT_NVCC)
  set(nvcc_exe ${CMAKE_CURRENT_BINARY_DIR}/test_mask_v1_nvcc)
  add_custom_command(OUTPUT ${nvcc_exe}
    COMMAND ${DROPOUT_NVCC} -ccbin ${CMAKE_CXX_COMPILER} -I${PROJECT_SOURCE_DIR}/include
            -I${DROPOUT_HEADER_TEST_DIR} -Xcompiler -Wall,-Wextra,-Wshadow,-Werror
            ${DROPOUT_HEADER_TEST_DIR}/test_mask_v1_header.cu -o ${nvcc_exe}
    DEPENDS ${DROPOUT_HEADER_TEST_DIR}/test_mask_v1_header.cu
            ${DROPOUT_HEADER_TEST_DIR}/test_mask_v1_header.c
            ${DROPOUT_HEADER_TEST_DIR}/mask_v1_vectors.h ${PROJECT_SOURCE_DIR}/include/dropout_mask_v1.h
    COMMENT "nvcc (host pass): tests/header/test_mask_v1_header.cu" VERBATIM)
  add_custom_target(test_mask_v1_nvcc_build ALL DEPENDS ${nvcc_exe})
  add_test(NAME test_mask_v1_nvcc COMMAND ${nvcc_exe} ${DROPOUT_MASK_V1_KAT_ARGS})
  list(APPEND header_tests test_mask_v1_nvcc)
else()
  message(STATUS "header tests: no nvcc found; the CUDA host-pass test of "
                 "include/dropout_mask_v1.h is not registered (install the CUDA toolkit)")
endif()
set_tests_properties(${header_tests} PROPERTIES LABELS "core;opencl")
