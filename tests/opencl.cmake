# The OpenCL backend (libdropout_opencl) and the header's OpenCL C dialect,
# run on whatever OpenCL runtime the machine has (PoCL in CI: scripts/deps.sh
# installs pocl-opencl-icd).  ctest label `opencl` (with tests/header.cmake's
# host dialects).  Without the backend the tests are registered all the same
# and fail, saying why: never skipped silently.
#
#   test_opencl_header  include/dropout_mask_v1.h built as OpenCL C 1.2 and 3.0
#                       by the runtime, against the Random123 and SPEC
#                       section 4 known answers
#   test_opencl         every operation and dtype bit for bit against the CPU
#                       library, every error path, events
#   opencl_cli          dropout mask/forward/backward --device opencl print
#                       exactly what --device cpu prints; --version; errors
#   opencl_pyopencl     examples/opencl/dropout_pyopencl.py (docs/device.md's
#                       PyOpenCL example) gives the CPU's bits
#
# PoCL compiles a program at its first use in a process (about 1-3 s here;
# it caches the result under ~/.cache/pocl), so each test builds it once.

set(DROPOUT_OPENCL_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/opencl)
set(opencl_tests test_opencl_header test_opencl opencl_cli opencl_pyopencl)

find_package(Threads REQUIRED)
if(NOT TARGET dropout_opencl)
  foreach(name ${opencl_tests})
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo
             "${name}: libdropout_opencl is not built (no OpenCL headers and ICD loader; "
             "apt-get install -y opencl-headers ocl-icd-opencl-dev pocl-opencl-icd)")
    set_tests_properties(${name} PROPERTIES LABELS opencl
                         PASS_REGULAR_EXPRESSION "^a pattern that never matches$")
  endforeach()
  return()
endif()

set(header_kernels_c ${CMAKE_CURRENT_BINARY_DIR}/header_kernels_source.c)
add_custom_command(OUTPUT ${header_kernels_c}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${DROPOUT_OPENCL_TEST_DIR}/header_kernels.cl
          -DHEADER=${PROJECT_SOURCE_DIR}/include/dropout_mask_v1.h -DOUTPUT=${header_kernels_c}
          -DNAME=dropout_test_header_kernels -P ${PROJECT_SOURCE_DIR}/src/opencl/embed.cmake
  DEPENDS ${DROPOUT_OPENCL_TEST_DIR}/header_kernels.cl ${PROJECT_SOURCE_DIR}/src/opencl/embed.cmake
          ${PROJECT_SOURCE_DIR}/include/dropout_mask_v1.h
  COMMENT "OpenCL test kernels: header_kernels.cl + dropout_mask_v1.h" VERBATIM)
add_executable(test_opencl_header ${DROPOUT_OPENCL_TEST_DIR}/test_opencl_header.c
               ${header_kernels_c})
target_include_directories(test_opencl_header PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/header)
add_test(NAME test_opencl_header COMMAND test_opencl_header ${DROPOUT_MASK_V1_KAT_ARGS})

add_executable(test_opencl ${DROPOUT_OPENCL_TEST_DIR}/test_opencl.c)
target_include_directories(test_opencl PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME test_opencl COMMAND test_opencl)

foreach(name test_opencl_header test_opencl)
  target_link_libraries(${name} PRIVATE dropout::opencl Threads::Threads m)
  target_compile_options(${name} PRIVATE ${DROPOUT_WARNINGS})
endforeach()

if(TARGET dropout_cli)
  find_program(DROPOUT_OPENCL_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT DROPOUT_OPENCL_PYTHON3)
    find_program(DROPOUT_OPENCL_PYTHON3 NAMES python3)
  endif()
  if(DROPOUT_OPENCL_PYTHON3)
    add_test(NAME opencl_cli COMMAND ${DROPOUT_OPENCL_PYTHON3}
             ${DROPOUT_OPENCL_TEST_DIR}/test_opencl_cli.py $<TARGET_FILE:dropout_cli>)
  else()
    add_test(NAME opencl_cli COMMAND ${CMAKE_COMMAND} -E false)
    message(SEND_ERROR "opencl tests: no python3 for opencl_cli (apt-get install -y python3)")
  endif()
else()
  add_test(NAME opencl_cli COMMAND ${CMAKE_COMMAND} -E echo "opencl_cli: DROPOUT_BUILD_CLI is OFF")
  set_tests_properties(opencl_cli PROPERTIES PASS_REGULAR_EXPRESSION "^never$")
endif()

# Debian's python3-pyopencl; without it the test runs and fails on the import.
if(DROPOUT_SANITIZE)
  # The ASan runtime must be the first DSO of a process; python is not built with it.
  message(STATUS "opencl tests: opencl_pyopencl is not registered in DROPOUT_SANITIZE builds "
                 "(an instrumented libdropout_opencl.so cannot be loaded into python)")
  list(REMOVE_ITEM opencl_tests opencl_pyopencl)
elseif(DROPOUT_OPENCL_PYTHON3)
  execute_process(COMMAND ${DROPOUT_OPENCL_PYTHON3} -c "import pyopencl, numpy"
                  RESULT_VARIABLE pyopencl_status OUTPUT_QUIET ERROR_QUIET)
  if(NOT pyopencl_status EQUAL 0)
    message(WARNING "opencl tests: ${DROPOUT_OPENCL_PYTHON3} cannot import pyopencl and numpy; "
                    "opencl_pyopencl will fail (apt-get install -y python3-pyopencl python3-numpy)")
  endif()
  add_test(NAME opencl_pyopencl COMMAND ${DROPOUT_OPENCL_PYTHON3}
           ${PROJECT_SOURCE_DIR}/examples/opencl/dropout_pyopencl.py
           $<TARGET_FILE_DIR:dropout_opencl>)
else()
  add_test(NAME opencl_pyopencl COMMAND ${CMAKE_COMMAND} -E false)
endif()
set_tests_properties(${opencl_tests} PROPERTIES LABELS opencl TIMEOUT 300)
