# The Python package (python/dropout): NumPy front end, the PyTorch drop-in and
# its PyTorch-derived conformance checks, loading and installing, the example.
# Each test is a unittest module run by Debian's /usr/bin/python3 (the one with
# python3-numpy and python3-torch), against the libdropout.so of this build.

if(DROPOUT_SANITIZE)
  # libdropout.so is then linked against the ASan (or TSan) runtime, which
  # must be the first DSO of the process; an uninstrumented python cannot
  # dlopen it.
  message(STATUS "python tests: not registered in DROPOUT_SANITIZE=${DROPOUT_SANITIZE} builds "
                 "(the sanitizer runtime cannot be loaded into python through ctypes)")
  return()
endif()

find_program(DROPOUT_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH
             DOC "Python with python3-numpy and python3-torch (Debian's /usr/bin/python3)")
if(NOT DROPOUT_PYTHON3)
  find_program(DROPOUT_PYTHON3 NAMES python3)
endif()

set(python_tests python_numpy python_torch python_torch_family python_torchvision python_package python_example
    python_kat python_fpenv)

if(NOT DROPOUT_PYTHON3)
  message(WARNING "python tests: no python3 found; they are registered and will fail. "
                  "Install: apt-get install -y python3 python3-numpy python3-torch")
  foreach(name ${python_tests} python_ddp_mnist)
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo
             "${name}: no python3 found (apt-get install -y python3-numpy python3-torch)")
    # The echo succeeds; a pass pattern that cannot match makes the test fail.
    set_tests_properties(${name} PROPERTIES LABELS python
                         PASS_REGULAR_EXPRESSION "^a pattern that never matches$")
  endforeach()
  return()
endif()

# Say now, at configure time, if numpy or torch is missing: the tests still run
# and fail with the ImportError (never skipped).
foreach(module numpy torch torchvision)
  execute_process(COMMAND ${DROPOUT_PYTHON3} -c "import ${module}"
                  RESULT_VARIABLE import_status OUTPUT_QUIET ERROR_QUIET)
  if(NOT import_status EQUAL 0)
    message(WARNING "python tests: ${DROPOUT_PYTHON3} cannot import ${module}; "
                    "the python tests will fail. Install: apt-get install -y python3-numpy python3-torch python3-torchvision")
  endif()
endforeach()

# The offline install test needs Debian's pip and setuptools
# (apt-get install -y python3-pip python3-setuptools).
execute_process(COMMAND ${DROPOUT_PYTHON3} -c "import setuptools, pip"
                RESULT_VARIABLE pip_status OUTPUT_QUIET ERROR_QUIET)
if(pip_status EQUAL 0)
  list(APPEND python_tests python_install)
else()
  message(STATUS "python_install test: not registered, ${DROPOUT_PYTHON3} lacks pip or setuptools "
                 "(apt-get install -y python3-pip python3-setuptools)")
endif()

set(python_env
  DROPOUT_LIBRARY_PATH=$<TARGET_FILE_DIR:dropout>
  PYTHONPATH=${PROJECT_SOURCE_DIR}/python
  PYTHONDONTWRITEBYTECODE=1
  DROPOUT_SOURCE_DIR=${PROJECT_SOURCE_DIR})

foreach(name ${python_tests})
  string(REPLACE "python_" "test_" module ${name})
  add_test(NAME ${name}
           COMMAND ${DROPOUT_PYTHON3} -m unittest -v ${module}
           WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/python)
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "${python_env}"
    LABELS python
    TIMEOUT 300)
endforeach()

# examples/python/ddp_mnist.py --check: DistributedDataParallel on gloo with 2
# processes against 1 process; the masks every rank applied must be exactly
# the rows of the 1-process masks, the loss curves agree within 1e-4.
add_test(NAME python_ddp_mnist
         COMMAND ${DROPOUT_PYTHON3} ${PROJECT_SOURCE_DIR}/examples/python/ddp_mnist.py --check
                 --world 2 --synthetic --synthetic-size 1200 --epochs 2 --hidden 64 --batch 50)
set_tests_properties(python_ddp_mnist PROPERTIES ENVIRONMENT "${python_env}"
                     LABELS "python;ddp" TIMEOUT 300)
