# The dropout family (bf16/f16, broadcast masks, alpha, gaussian, fused
# bias + dropout + residual).  Included by src/CMakeLists.txt.  ISA flags go
# on the one file that needs them, never on the whole build.
list(APPEND DROPOUT_SOURCES
  family/half.c
  family/elements.c
  family/shaped.c
  family/gaussian.c
  family/residual.c
  family/apply_scalar.c)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  list(APPEND DROPOUT_SOURCES family/apply_avx2.c family/apply_avx512.c)
  set_source_files_properties(family/apply_avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2;-mf16c")
  set_source_files_properties(family/apply_avx512.c PROPERTIES COMPILE_OPTIONS "-mavx512f")
  set_source_files_properties(family/apply_scalar.c PROPERTIES COMPILE_DEFINITIONS DROPOUT_FAMILY_X86=1)
endif()
