# cuda_cli: `dropout mask|forward|backward --device cuda`.
#   GPU=OFF (no GPU here): each prints exactly one error line
#           "dropout <command>: --device cuda: ..." on stderr, nothing on
#           stdout, and exits non-zero;
#   GPU=ON: each prints exactly what --device cpu prints (tests/gpu/run.sh
#           compares many more cases).
#   cmake -DDROPOUT=path/to/dropout -DGPU=ON|OFF -P check_cli.cmake
set(failures 0)
set(input "${CMAKE_CURRENT_BINARY_DIR}/cuda_cli_input.txt")
file(WRITE "${input}" "1.5 -2 0.25 3e-3 nan -inf 7 8 9 10 11 12 13 14 15 16 17\n")
set(common --p 0.123456789 --seed 0xfedcba9876543210 --stream 4294967297 --first 4294967290)
foreach(command mask forward backward)
  set(args ${command} ${common})
  set(stdin_file "")
  if(command STREQUAL mask)
    list(APPEND args --count 1003)
  else()
    set(stdin_file INPUT_FILE "${input}")
  endif()
  execute_process(COMMAND ${DROPOUT} ${args} --device cuda ${stdin_file}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(GPU)
    execute_process(COMMAND ${DROPOUT} ${args} --device cpu ${stdin_file}
                    RESULT_VARIABLE cpu_rc OUTPUT_VARIABLE cpu_out ERROR_VARIABLE cpu_err)
    if(NOT rc EQUAL cpu_rc OR NOT out STREQUAL cpu_out)
      message(SEND_ERROR "FAIL: dropout ${command} --device cuda differs from --device cpu:\n"
                         "cuda (${rc}): ${out}${err}\ncpu (${cpu_rc}): ${cpu_out}")
      math(EXPR failures "${failures} + 1")
    else()
      message(STATUS "dropout ${command} --device cuda: the same output as --device cpu")
    endif()
  else()
    string(REGEX MATCHALL "\n" newlines "${err}")
    list(LENGTH newlines lines)
    if(rc EQUAL 0 OR NOT out STREQUAL "" OR NOT lines EQUAL 1
       OR NOT err MATCHES "^dropout ${command}: --device cuda: ")
      message(SEND_ERROR "FAIL: dropout ${command} --device cuda without a GPU: exit ${rc}, "
                         "stdout '${out}', stderr '${err}' (want one error line, exit != 0)")
      math(EXPR failures "${failures} + 1")
    else()
      string(STRIP "${err}" err)
      message(STATUS "exit ${rc}: ${err}")
    endif()
  endif()
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "cuda_cli: ${failures} failures")
endif()
