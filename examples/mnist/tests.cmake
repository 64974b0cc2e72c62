# Tests of the MNIST demo: tiny synthetic IDX data made by test_mnist itself.
add_executable(test_mnist ${MNIST_DIR}/test_mnist.c)
target_compile_options(test_mnist PRIVATE ${DROPOUT_WARNINGS})
target_link_libraries(test_mnist PRIVATE mnist_core)

foreach(t idx gradcheck eval smoke resume consistency shards)
  add_test(NAME mnist_${t} COMMAND test_mnist ${t})
  set_tests_properties(mnist_${t} PROPERTIES LABELS mnist)
endforeach()
if(MNIST_BLAS_LIBS)
  add_test(NAME mnist_gemm_blas_vs_reference COMMAND test_mnist gemm)
  set_tests_properties(mnist_gemm_blas_vs_reference PROPERTIES LABELS mnist)
else()
  message(STATUS "mnist: test mnist_gemm_blas_vs_reference not registered: this build has no OpenBLAS")
endif()

# The command line on synthetic data (--no-verify: not the real files).
set(MNIST_T ${CMAKE_CURRENT_BINARY_DIR}/mnist-test)
set(MNIST_CLI $<TARGET_FILE:mnist-mlp> --data ${MNIST_T}/data --no-verify
    --hidden 32,16 --batch 25 --seed 3 --threads 2)
add_test(NAME mnist_cli_setup COMMAND test_mnist write-idx ${MNIST_T}/data)
add_test(NAME mnist_cli_setup_truncated COMMAND test_mnist write-idx ${MNIST_T}/bad truncated)
set_tests_properties(mnist_cli_setup mnist_cli_setup_truncated PROPERTIES
  FIXTURES_SETUP mnist_data LABELS mnist)

# One epoch end to end, all outputs.
add_test(NAME mnist_cli_smoke COMMAND ${MNIST_CLI} --epochs 2 --mc 1,3 --compare --out ${MNIST_T}/out)
set_tests_properties(mnist_cli_smoke PROPERTIES FIXTURES_REQUIRED mnist_data LABELS mnist
  PASS_REGULAR_EXPRESSION "with dropout.*without dropout.*Monte-Carlo.*summary.json")
# Interrupted and resumed == uninterrupted, bitwise (through the files).
add_test(NAME mnist_cli_resume_full COMMAND ${MNIST_CLI} --epochs 3 --no-compare --mc "" --checkpoint ${MNIST_T}/full.ckpt)
add_test(NAME mnist_cli_resume_part1 COMMAND ${MNIST_CLI} --epochs 3 --no-compare --mc "" --checkpoint ${MNIST_T}/part.ckpt --stop-after 1)
add_test(NAME mnist_cli_resume_part2 COMMAND ${MNIST_CLI} --epochs 3 --no-compare --mc "" --checkpoint ${MNIST_T}/part.ckpt --resume)
add_test(NAME mnist_cli_resume_equal COMMAND test_mnist ckpt-equal ${MNIST_T}/full.ckpt ${MNIST_T}/part.ckpt)
set_tests_properties(mnist_cli_resume_full mnist_cli_resume_part1 mnist_cli_resume_part2 mnist_cli_resume_equal
  PROPERTIES FIXTURES_REQUIRED mnist_data LABELS mnist)
set_tests_properties(mnist_cli_resume_full mnist_cli_resume_part1 PROPERTIES FIXTURES_SETUP mnist_ckpt_a)
set_tests_properties(mnist_cli_resume_part2 PROPERTIES DEPENDS mnist_cli_resume_part1 FIXTURES_SETUP mnist_ckpt_b FIXTURES_REQUIRED "mnist_data;mnist_ckpt_a")
set_tests_properties(mnist_cli_resume_equal PROPERTIES DEPENDS mnist_cli_resume_part2 FIXTURES_REQUIRED "mnist_data;mnist_ckpt_a;mnist_ckpt_b")
# A resume with any option that changes the result is refused: one line
# naming the option with both values, and a non-zero exit.  (--epochs may
# grow: the schedule depends on the epoch number only.)
set(MNIST_EXPECT_FAIL sh -c [=["$@" 2>&1 || echo "exit status $?"]=] sh)
add_test(NAME mnist_cli_refuse_setup COMMAND ${MNIST_CLI} --epochs 3 --no-compare --mc ""
  --checkpoint ${MNIST_T}/refuse.ckpt --stop-after 1)
set_tests_properties(mnist_cli_refuse_setup PROPERTIES FIXTURES_REQUIRED mnist_data
  FIXTURES_SETUP mnist_refuse LABELS mnist)
set(MNIST_REFUSE "--lr|0.5|0.05" "--lr-decay|0.9|0.98" "--max-norm|2|3.5"
    "--momentum|0.5,0.9,20|0.5,0.95,20" "--threads|1|2" "--seed|4|3" "--p-input|0.1|0.2"
    "--p-hidden|0.4|0.5" "--batch|20|25" "--hidden|32,17|32,16" "--train-size|200|300")
if(MNIST_BLAS_LIBS)
  list(APPEND MNIST_REFUSE "--gemm|reference|openblas")
endif()
foreach(case IN LISTS MNIST_REFUSE)
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 opt)
  list(GET parts 1 now)
  list(GET parts 2 then)
  string(REPLACE "-" "" name "${opt}")
  add_test(NAME mnist_cli_resume_refuses_${name} COMMAND ${MNIST_EXPECT_FAIL} ${MNIST_CLI}
    --epochs 3 --no-compare --mc "" --checkpoint ${MNIST_T}/refuse.ckpt --resume ${opt} ${now})
  string(REPLACE "." "[.]" re "${opt} ${now} differs from the checkpoint's ${opt} ${then}")
  set_tests_properties(mnist_cli_resume_refuses_${name} PROPERTIES LABELS mnist
    FIXTURES_REQUIRED "mnist_data;mnist_refuse"
    PASS_REGULAR_EXPRESSION "mnist-mlp: cannot resume from [^\n]*: ${re}[^\n]*\nexit status [1-9]")
endforeach()
# What does not change the result is accepted: more epochs, other outputs
# (on a copy: the refusals above read the original at the same time).
add_test(NAME mnist_cli_resume_more_epochs COMMAND sh -c [=[cp "$1" "$1.more" && shift && exec "$@"]=] sh
  ${MNIST_T}/refuse.ckpt ${MNIST_CLI} --epochs 4 --no-compare --mc 1
  --checkpoint ${MNIST_T}/refuse.ckpt.more --resume --stop-after 1 --out ${MNIST_T}/refuse-out)
set_tests_properties(mnist_cli_resume_more_epochs PROPERTIES LABELS mnist
  FIXTURES_REQUIRED "mnist_data;mnist_refuse" PASS_REGULAR_EXPRESSION "resumed from .* at epoch 1")
# Errors: one readable line, non-zero exit, never a crash.
add_test(NAME mnist_cli_truncated_data COMMAND $<TARGET_FILE:mnist-mlp> --data ${MNIST_T}/bad --no-verify --epochs 1)
set_tests_properties(mnist_cli_truncated_data PROPERTIES FIXTURES_REQUIRED mnist_data LABELS mnist
  PASS_REGULAR_EXPRESSION "mnist-mlp: training set: IDX size mismatch.*truncated")
add_test(NAME mnist_cli_bad_sha COMMAND $<TARGET_FILE:mnist-mlp> --data ${MNIST_T}/data --epochs 1)
set_tests_properties(mnist_cli_bad_sha PROPERTIES FIXTURES_REQUIRED mnist_data LABELS mnist
  PASS_REGULAR_EXPRESSION "sha256 mismatch")
# Data that is not a regular file (idx.c idx_open_regular): a symlink to
# /dev/zero once hung the sha256 check and, with --no-verify, ate all memory.
file(MAKE_DIRECTORY ${MNIST_T}/devzero)
file(CREATE_LINK /dev/zero ${MNIST_T}/devzero/train-images-idx3-ubyte SYMBOLIC)
add_test(NAME mnist_cli_dev_zero COMMAND $<TARGET_FILE:mnist-mlp> --data ${MNIST_T}/devzero --epochs 1)
add_test(NAME mnist_cli_dev_zero_no_verify COMMAND $<TARGET_FILE:mnist-mlp> --data ${MNIST_T}/devzero --no-verify --epochs 1)
set_tests_properties(mnist_cli_dev_zero mnist_cli_dev_zero_no_verify PROPERTIES LABELS mnist TIMEOUT 20
  PASS_REGULAR_EXPRESSION "train-images-idx3-ubyte is not a regular file \\(a device\\)")
foreach(bad "--bogus" "--epochs;0" "--p-hidden;1.5" "--hidden;abc" "--threads" "--mc;0" "--resume")
  string(REPLACE ";" "_" name "${bad}")
  string(REPLACE "-" "" name "${name}")
  add_test(NAME mnist_cli_bad_flag_${name} COMMAND $<TARGET_FILE:mnist-mlp> ${bad})
  set_tests_properties(mnist_cli_bad_flag_${name} PROPERTIES LABELS mnist WILL_FAIL TRUE)
endforeach()

# ---- mnist-mlp-mpi (label mpi): the same weights for 1, 2 and 4 ranks ------
if(TARGET mnist-mlp-mpi)
  set(MNIST_MPIRUN env MPIEXEC=${MPIEXEC_EXECUTABLE} sh ${MNIST_DIR}/mpi_check.sh run)
  # --threads 1: up to 4 ranks share the machine's cores.
  set(MNIST_MPI_ARGS --data ${MNIST_T}/data --no-verify --hidden 32,16 --batch 25 --seed 3
      --threads 1 --epochs 3 --lr 0.2 --no-compare --mc 1)
  set(MNIST_M ${MNIST_T}/mpi)
  foreach(np 1 2 4)
    add_test(NAME mnist_mpi_np${np} COMMAND ${MNIST_MPIRUN} ${np} $<TARGET_FILE:mnist-mlp-mpi>
      ${MNIST_MPI_ARGS} --out ${MNIST_M}/np${np})
    set_tests_properties(mnist_mpi_np${np} PROPERTIES LABELS mpi FIXTURES_REQUIRED mnist_data
      FIXTURES_SETUP mnist_mpi_runs PASS_REGULAR_EXPRESSION "weights_sha256 [0-9a-f]+ \\(with dropout, ${np} rank")
  endforeach()
  # One process, the same micro-shards: mnist-mlp computes the same bits.
  add_test(NAME mnist_mpi_serial COMMAND $<TARGET_FILE:mnist-mlp> ${MNIST_MPI_ARGS}
    --micro-shards 4 --out ${MNIST_M}/serial)
  # Interrupted at 2 ranks, continued at 4, finished at 1.
  set(MNIST_MPI_CKPT --checkpoint ${MNIST_T}/mpi-resume.ckpt)
  add_test(NAME mnist_mpi_resume_part1 COMMAND ${MNIST_MPIRUN} 2 $<TARGET_FILE:mnist-mlp-mpi>
    ${MNIST_MPI_ARGS} ${MNIST_MPI_CKPT} --stop-after 1)
  add_test(NAME mnist_mpi_resume_part2 COMMAND ${MNIST_MPIRUN} 4 $<TARGET_FILE:mnist-mlp-mpi>
    ${MNIST_MPI_ARGS} ${MNIST_MPI_CKPT} --resume --stop-after 1)
  add_test(NAME mnist_mpi_resume_part3 COMMAND ${MNIST_MPIRUN} 1 $<TARGET_FILE:mnist-mlp-mpi>
    ${MNIST_MPI_ARGS} ${MNIST_MPI_CKPT} --resume --out ${MNIST_M}/resumed)
  # A chain of fixtures: any subset of these tests (--rerun-failed too)
  # runs the earlier parts first, in order.
  set_tests_properties(mnist_mpi_serial mnist_mpi_resume_part1 mnist_mpi_resume_part2
    mnist_mpi_resume_part3 PROPERTIES LABELS mpi)
  set_tests_properties(mnist_mpi_serial PROPERTIES FIXTURES_REQUIRED mnist_data FIXTURES_SETUP mnist_mpi_runs)
  set_tests_properties(mnist_mpi_resume_part1 PROPERTIES FIXTURES_REQUIRED mnist_data
    FIXTURES_SETUP mnist_mpi_ck1)
  set_tests_properties(mnist_mpi_resume_part2 PROPERTIES FIXTURES_REQUIRED "mnist_data;mnist_mpi_ck1"
    FIXTURES_SETUP mnist_mpi_ck2 PASS_REGULAR_EXPRESSION "resumed from .* at epoch 1")
  set_tests_properties(mnist_mpi_resume_part3 PROPERTIES FIXTURES_REQUIRED "mnist_data;mnist_mpi_ck2"
    FIXTURES_SETUP mnist_mpi_runs PASS_REGULAR_EXPRESSION "resumed from .* at epoch 2")
  # Under DROPOUT_SANITIZE, OpenMPI's plugins leak at MPI_Finalize (LeakSanitizer
  # reports blocks of unloaded modules that no suppression can name): the runs
  # through mpirun check addresses and UB but not leaks; mnist_mpi_serial runs
  # the same sharded training in one process with leak checking.
  if(DROPOUT_SANITIZE)
    message(STATUS "mpi tests: LeakSanitizer off for the runs under mpirun (OpenMPI leaks at MPI_Finalize)")
    set_tests_properties(mnist_mpi_np1 mnist_mpi_np2 mnist_mpi_np4 mnist_mpi_resume_part1
      mnist_mpi_resume_part2 mnist_mpi_resume_part3 PROPERTIES
      ENVIRONMENT "ASAN_OPTIONS=abort_on_error=0:detect_leaks=0")
  endif()
  add_test(NAME mnist_mpi_same_weights COMMAND sh ${MNIST_DIR}/mpi_check.sh same
    ${MNIST_M}/np1 ${MNIST_M}/np2 ${MNIST_M}/np4 ${MNIST_M}/serial ${MNIST_M}/resumed)
  set_tests_properties(mnist_mpi_same_weights PROPERTIES LABELS mpi
    FIXTURES_REQUIRED "mnist_data;mnist_mpi_runs"
    DEPENDS "mnist_mpi_np1;mnist_mpi_np2;mnist_mpi_np4;mnist_mpi_serial;mnist_mpi_resume_part3")
  # Errors: a rank count that does not divide the micro-shards; a resume
  # with other micro-shards.
  add_test(NAME mnist_mpi_bad_rank_count COMMAND ${MNIST_EXPECT_FAIL} ${MNIST_MPIRUN} 3
    $<TARGET_FILE:mnist-mlp-mpi> ${MNIST_MPI_ARGS})
  set_tests_properties(mnist_mpi_bad_rank_count PROPERTIES LABELS mpi FIXTURES_REQUIRED mnist_data
    PASS_REGULAR_EXPRESSION "mnist-mlp-mpi: 3 ranks cannot share --micro-shards 4: run with a rank count that divides it \\(1, 2, 4\\).*exit status [1-9]")
  add_test(NAME mnist_mpi_resume_refuses_micro_shards COMMAND ${MNIST_EXPECT_FAIL} ${MNIST_MPIRUN} 2
    $<TARGET_FILE:mnist-mlp-mpi> ${MNIST_MPI_ARGS} ${MNIST_MPI_CKPT} --resume --micro-shards 2)
  set_tests_properties(mnist_mpi_resume_refuses_micro_shards PROPERTIES LABELS mpi
    FIXTURES_REQUIRED "mnist_data;mnist_mpi_runs" DEPENDS mnist_mpi_resume_part3
    PASS_REGULAR_EXPRESSION "--micro-shards 2 differs from the checkpoint's --micro-shards 4.*exit status [1-9]")
  if(DROPOUT_SANITIZE)
    set_tests_properties(mnist_mpi_bad_rank_count mnist_mpi_resume_refuses_micro_shards PROPERTIES
      ENVIRONMENT "ASAN_OPTIONS=abort_on_error=0:detect_leaks=0")
  endif()
endif()
