# test_install.cmake — the packaging checks, run by ctest as
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=...
#         [-DSANITIZE_FLAGS="..."] -P test_install.cmake
#
#  1. `cmake --install` the build into a fresh prefix under WORK_DIR;
#  2. a consumer project outside the tree: find_package(dropout CONFIG
#     REQUIRED), linked to dropout::dropout and dropout::dropout_static,
#     configured, built and run;
#  3. the same consumer compiled with `pkg-config --cflags --libs dropout`
#     and run (pkg-config must exist: the check fails loudly without it);
#  4. libdropout.so exports only dropout_* symbols (nm -D) and has the
#     SONAME libdropout.so.0.2 (objdump -p).
# Any failure stops the script with FATAL_ERROR, which fails the test.

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "test_install: ${var} not set")
  endif()
endforeach()
set(consumer_src ${SOURCE_DIR}/tests/packaging/consumer)
set(prefix ${WORK_DIR}/prefix)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${what}: ${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "test_install: ${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
endfunction()

# ---- 1. install -------------------------------------------------------------
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(header dropout.h dropout_mask_v1.h)
  if(NOT EXISTS ${prefix}/include/${header})
    message(FATAL_ERROR "test_install: include/${header} was not installed")
  endif()
endforeach()
file(GLOB_RECURSE config_files ${prefix}/*/dropoutConfig.cmake)
file(GLOB_RECURSE pc_files ${prefix}/*/dropout.pc)
file(GLOB_RECURSE so_files ${prefix}/*/libdropout.so)
file(GLOB_RECURSE a_files ${prefix}/*/libdropout.a)
foreach(kind config_files pc_files so_files a_files)
  list(LENGTH ${kind} count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "test_install: expected one of ${kind} under ${prefix}, found '${${kind}}'")
  endif()
endforeach()
get_filename_component(libdir ${so_files} DIRECTORY)
get_filename_component(pcdir ${pc_files} DIRECTORY)
foreach(name libdropout.so.0.2 libdropout.so.0.2.0)
  if(NOT EXISTS ${libdir}/${name})
    message(FATAL_ERROR "test_install: ${libdir}/${name} missing")
  endif()
endforeach()

# ---- 2. a CMake consumer ------------------------------------------------------
set(sanitize_args)
if(SANITIZE_FLAGS)
  # An instrumented library needs an instrumented (or at least linked) program.
  set(sanitize_args "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
endif()
run("configure the consumer" ${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_BUILD_TYPE=Release
    ${sanitize_args})
run("build the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
# No LD_LIBRARY_PATH: the imported target's location must reach the RPATH.
run("consumer_shared (find_package, dropout::dropout)" ${WORK_DIR}/consumer/consumer_shared)
run("consumer_static (dropout::dropout_static)" ${WORK_DIR}/consumer/consumer_static)

# ---- 3. a pkg-config consumer -------------------------------------------------
find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG_EXECUTABLE)
  message(FATAL_ERROR "test_install: pkg-config not found; install it (Debian package "
                      "pkg-config or pkgconf) to check dropout.pc")
endif()
set(ENV{PKG_CONFIG_PATH} ${pcdir})
set(ENV{PKG_CONFIG_LIBDIR} ${pcdir})
execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --modversion dropout
                OUTPUT_VARIABLE pc_version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT pc_version STREQUAL "0.2.0")
  message(FATAL_ERROR "test_install: pkg-config --modversion dropout gave '${pc_version}' (${rc})")
endif()
execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --cflags --libs dropout
                OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test_install: pkg-config --cflags --libs dropout failed")
endif()
message(STATUS "pkg-config --cflags --libs dropout: ${pc_flags}")
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(sanitize_list UNIX_COMMAND "${SANITIZE_FLAGS}")
run("compile with pkg-config flags" ${C_COMPILER} -std=c11 ${sanitize_list}
    ${consumer_src}/consumer.c ${pc_flags} -o ${WORK_DIR}/consumer_pc)
run("consumer_pc (pkg-config)" ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir}
    ${WORK_DIR}/consumer_pc)

# ---- 4. exported symbols and SONAME ---------------------------------------------
find_program(NM_EXECUTABLE nm)
find_program(OBJDUMP_EXECUTABLE objdump)
if(NOT NM_EXECUTABLE OR NOT OBJDUMP_EXECUTABLE)
  message(FATAL_ERROR "test_install: nm and objdump (Debian package binutils) are needed")
endif()
execute_process(COMMAND ${NM_EXECUTABLE} -D --defined-only ${libdir}/libdropout.so.0.2.0
                OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test_install: nm -D failed")
endif()
string(REPLACE "\n" ";" symbols "${symbols}")
set(exported 0)
set(foreign "")
foreach(line IN LISTS symbols)
  if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] +([^ ]+)$")
    set(name ${CMAKE_MATCH_1})
    if(name MATCHES "^dropout_")
      math(EXPR exported "${exported} + 1")
    else()
      list(APPEND foreign ${name})
    endif()
  endif()
endforeach()
if(foreign)
  message(FATAL_ERROR "test_install: libdropout.so exports symbols outside dropout_*: ${foreign}")
endif()
if(exported LESS 20)
  message(FATAL_ERROR "test_install: only ${exported} dropout_* symbols exported")
endif()
message(STATUS "nm -D: ${exported} symbols exported, all dropout_*")
execute_process(COMMAND ${OBJDUMP_EXECUTABLE} -p ${libdir}/libdropout.so.0.2.0
                OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
if(NOT headers MATCHES "SONAME +libdropout\\.so\\.0\\.2\n")
  message(FATAL_ERROR "test_install: SONAME is not libdropout.so.0.2:\n${headers}")
endif()
message(STATUS "objdump -p: SONAME libdropout.so.0.2")
message(STATUS "test_install: OK")
