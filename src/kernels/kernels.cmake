# ISA kernels: added to DROPOUT_SOURCES (src/CMakeLists.txt) with their ISA
# flags on their own files only, so the rest of the library runs on any CPU
# of the architecture and dispatch.c picks a table at run time.  The
# conditions match the DROPOUT_KERNELS_* macros in kernels.h.
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    list(APPEND DROPOUT_SOURCES kernels/avx2.c kernels/avx512.c kernels/avx512_bf16.c)
    set_source_files_properties(kernels/avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2;-mf16c")
    set_source_files_properties(kernels/avx512.c PROPERTIES
      COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl")
    # avx512.c again, with AVX512_BF16 and DQ (vcvtne2ps2bf16, vfpclassps)
    set_source_files_properties(kernels/avx512_bf16.c PROPERTIES
      COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512bf16")
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
    # NEON is part of the AArch64 base ISA: no flag needed.
    list(APPEND DROPOUT_SOURCES kernels/neon.c)
  endif()
endif()
