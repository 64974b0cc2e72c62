# The manual pages (man/): tests/man/test_man.py installs each page with
# `cmake --install --component man`, renders it with `man --warnings=w`
# (by path and through the installed man path), and checks that every option
# the program's --help prints (and, for dropout, each subcommand's) is an item
# of the page, and that the page documents no option the program lacks.

find_program(DROPOUT_MAN_COMMAND man DOC "man (Debian man-db, with groff-base) for the man page tests")
if(NOT DROPOUT_MAN_COMMAND)
  message(WARNING "man page tests: 'man' not found (apt-get install -y man-db groff-base); "
                  "the man_* tests are registered and fail")
endif()
find_program(DROPOUT_CLI_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)

# man_<page>: the page, the program whose --help it documents, extra arguments.
function(dropout_man_test page program)
  if(DROPOUT_MAN_COMMAND AND DROPOUT_CLI_PYTHON3)
    add_test(NAME man_${page}
             COMMAND ${DROPOUT_CLI_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/man/test_man.py
                     --build-dir ${PROJECT_BINARY_DIR} --work ${CMAKE_CURRENT_BINARY_DIR}/man_${page}
                     --page ${page} --program $<TARGET_FILE:${program}>
                     --version ${PROJECT_VERSION} ${ARGN})
  else()
    add_test(NAME man_${page} COMMAND ${CMAKE_COMMAND} -E false) # never skipped silently
  endif()
  set_tests_properties(man_${page} PROPERTIES LABELS man)
endfunction()

if(TARGET dropout_cli)
  dropout_man_test(dropout dropout_cli --subcommands --env DROPOUT_ISA,DROPOUT_THREADS)
endif()
if(TARGET mnist-mlp AND TARGET mnist-mlp-mpi)
  dropout_man_test(mnist-mlp mnist-mlp --env DROPOUT_ISA
                   --also mnist-mlp-mpi=$<TARGET_FILE:mnist-mlp-mpi>)
elseif(TARGET mnist-mlp)
  dropout_man_test(mnist-mlp mnist-mlp --env DROPOUT_ISA)
else()
  message(STATUS "man page tests: mnist-mlp is not built, so man_mnist-mlp is not registered")
endif()
