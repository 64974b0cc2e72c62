# The CUDA backend (issue 13): enables the CUDA language when a CUDA compiler
# is found and DROPOUT_CUDA is ON, and says so either way.  Sets
# DROPOUT_CUDA_ENABLED for src/cuda and tests/cuda.cmake.
#
#   -DDROPOUT_CUDA=OFF         never build it (CI builds it in one
#                              configuration only: nvcc is slow)
#   -DCMAKE_CUDA_COMPILER=...  a given nvcc (else PATH, then /usr/local/cuda)
#
# Sanitizer builds leave it out by default: -fsanitize is for the host
# compilers, and device code is not instrumented.

if(DROPOUT_SANITIZE)
  set(dropout_cuda_default OFF)
else()
  set(dropout_cuda_default ON)
endif()
option(DROPOUT_CUDA "Build the CUDA backend (libdropout_cuda) when a CUDA compiler is found"
       ${dropout_cuda_default})

set(DROPOUT_CUDA_ENABLED OFF)
if(NOT DROPOUT_CUDA)
  message(STATUS "CUDA backend: not built (DROPOUT_CUDA is OFF)")
  return()
endif()

include(CheckLanguage)
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  find_program(dropout_nvcc_on_path nvcc)
  if(NOT dropout_nvcc_on_path)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
endif()
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "CUDA backend: not built (no CUDA compiler found: install the CUDA toolkit, "
                 "put nvcc on PATH or pass -DCMAKE_CUDA_COMPILER=/path/to/nvcc); "
                 "the cuda tests are not registered")
  return()
endif()

# sm_80 (A100) and sm_90 (H100, H200) machine code, and compute_90 PTX that
# the driver compiles for later GPUs.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80-real 90)
endif()
enable_language(CUDA)
set(DROPOUT_CUDA_ENABLED ON)
message(STATUS "CUDA backend: building libdropout_cuda with ${CMAKE_CUDA_COMPILER} "
               "${CMAKE_CUDA_COMPILER_VERSION} for CUDA_ARCHITECTURES ${CMAKE_CUDA_ARCHITECTURES}")

# Is there a GPU to run on?  nvcc's own device query (what CMake uses for
# CUDA_ARCHITECTURES=native) answers without compiling anything.
set(DROPOUT_CUDA_GPU OFF)
get_filename_component(dropout_cuda_bin ${CMAKE_CUDA_COMPILER} DIRECTORY)
find_program(DROPOUT_CUDA_DEVICE_QUERY __nvcc_device_query HINTS ${dropout_cuda_bin})
if(DROPOUT_CUDA_DEVICE_QUERY)
  execute_process(COMMAND ${DROPOUT_CUDA_DEVICE_QUERY} RESULT_VARIABLE dropout_query_rc
                  OUTPUT_VARIABLE dropout_query_out ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(dropout_query_rc EQUAL 0 AND dropout_query_out MATCHES "^[0-9]")
    set(DROPOUT_CUDA_GPU ON)
    message(STATUS "CUDA backend: a GPU is present (compute capability ${dropout_query_out}): "
                   "the cuda tests that run on the device are registered")
  endif()
endif()
if(NOT DROPOUT_CUDA_GPU)
  message(STATUS "CUDA backend: no GPU found: the cuda tests that need one (test_cuda_device) "
                 "are not registered; the host-pass, compile and host-emulation tests are")
endif()
