# check_bench.cmake — `dropout bench --json` prints one well-formed object
# per measurement with the fields the issue names, in that order, numbers as
# JSON numbers; bad input gives one error line and a failure.  Not a timing
# test: any speed passes.  Run as: cmake -DDROPOUT=path/to/dropout -P check_bench.cmake
execute_process(
  COMMAND ${DROPOUT} bench --sizes 4096,70000 --repeats 1 --json
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dropout bench failed (${rc}): ${err}")
endif()
string(REGEX REPLACE "\n$" "" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
list(LENGTH lines count)
# 2 sizes x 2 p x (1 or 2 thread counts) x 2 dtypes x 4 ops
if(count LESS 32)
  message(FATAL_ERROR "expected at least 32 lines, got ${count}:\n${out}")
endif()
set(num "-?[0-9][0-9.eE+-]*")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^{\"op\":\"(forward|backward_mask|backward_regen|mask)\",\"dtype\":\"(f32|f64)\",\"isa\":\"[a-z0-9]+\",\"n\":(4096|70000),\"p\":0\\.(1|5),\"threads\":[0-9]+,\"ns_per_elem\":${num},\"ns_per_elem_min\":${num},\"ns_per_elem_max\":${num},\"gb_per_s\":${num},\"roofline_ns_per_elem\":${num},\"philox_ns_per_elem\":${num},\"ratio\":${num},\"limit\":\"(memory|philox)\"}$")
    message(FATAL_ERROR "malformed line: ${line}")
  endif()
endforeach()
# bad input: one error line, non-zero exit
execute_process(COMMAND ${DROPOUT} bench --sizes 0
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
string(REGEX MATCHALL "\n" newlines "${err}")
list(LENGTH newlines err_lines)
if(rc EQUAL 0 OR NOT err_lines EQUAL 1 OR NOT err MATCHES "^dropout bench: ")
  message(FATAL_ERROR "dropout bench --sizes 0: expected one error line and a failure, got rc=${rc}, stderr: ${err}")
endif()
message(STATUS "dropout bench --json: ${count} well-formed lines; bad input rejected")
