/*
 * dropout.h — inverted dropout for C11 and C++, exact and reproducible.
 *
 * This header is the whole public API and its manual.
 *
 * ---------------------------------------------------------------------------
 * What dropout does
 * ---------------------------------------------------------------------------
 * During training each activation x[i] is zeroed with probability p, and the
 * survivors are scaled by s = 1/(1-p), so E[y[i]] = x[i]:
 *
 *     y[i] = keep[i] ? x[i] * s : +0.0
 *
 * During evaluation the layer is the identity (y = x, bitwise): the scaling
 * already happened in training.  Backward applies the same mask and scale to
 * the incoming gradient: dx[i] = keep[i] ? dy[i] * s : +0.0.
 *
 * The mask is a pure function of (seed, stream, element index, p), defined
 * bit for bit in docs/SPEC.md ("mask stream v1": Philox4x32-10, 8 random bits
 * per element plus an exact tie draw, keep probability T/2^32 within 2^-33 of
 * 1-p).  The same inputs give the same bits on every ISA, thread count,
 * chunking and dtype.
 *
 * ---------------------------------------------------------------------------
 * The API in tiers
 * ---------------------------------------------------------------------------
 *   1. The module object (dropout_layer): the nn.Dropout of C.  Holds p, the
 *      mode (train/eval) and its RNG state (seed, next stream) as plain data.
 *      Its forward/backward are wrappers of the tier 2 f32/f64 calls.
 *   2. Typed operations, for all four dtypes alike (f32, f64, bf16, f16):
 *      forward / backward_mask / backward_regen on a slice [first, first + n)
 *      of a tensor's mask index space, given (p, seed, stream, first) in a
 *      dropout_params, and dropout_mask (the keep bits alone).  The bf16/f16
 *      entry points are wrappers of the shaped calls below (their
 *      one-dimensional case); backward_regen is the forward run on dy.
 *   3. Shaped masks and variants: dropout_shaped_* (broadcast dimensions,
 *      alpha and gaussian dropout) in any dtype.
 *   4. Fused: dropout_bias_residual_* (y = residual + dropout(x + bias)).
 *   5. Runtime control: which ISA variant runs, how many threads.
 *   6. Building blocks: Philox4x32-10, the keep threshold, one keep bit,
 *      dtype sizes and the bf16/f16 conversions.
 *
 * Errors are values: every operation returns an int status (a
 * dropout_status, DROPOUT_OK == 0; dropout_status_string() names each one).
 * The exceptions, which cannot fail, return their result instead and are
 * marked "no status" below: the version and status strings, the sizes
 * (dropout_mask_bytes, dropout_dtype_size, dropout_shape_*elements),
 * dropout_isa, dropout_threads, the building blocks and the conversions.
 * On error no output byte is written.  The library never aborts, exits or
 * prints.  Each function's comment lists the statuses it returns besides
 * DROPOUT_OK; "the usual errors" of an operation are:
 *   DROPOUT_ERROR_NULL_POINTER     params, or a buffer of an n > 0 call, NULL
 *   DROPOUT_ERROR_INVALID_P        p is NaN or outside [0, 1]
 *   DROPOUT_ERROR_INVALID_MODE     mode is neither DROPOUT_TRAIN nor EVAL
 *   DROPOUT_ERROR_RANGE            first + n exceeds 2^64
 *   DROPOUT_ERROR_OVERLAP          input and output partially overlap
 *   DROPOUT_ERROR_INVALID_ARGUMENT n * element size exceeds SIZE_MAX
 *   DROPOUT_ERROR_MASK_TOO_SMALL   mask_size < ceil(n / 8) where a mask is used
 *
 * Floating point: every call computes in the IEEE default mode (round to
 * nearest even, subnormals kept), whatever the caller's thread is set to
 * (FTZ/DAZ, e.g. torch.set_flush_denormal; fesetround), on every thread it
 * uses; the caller's mode is restored on return (docs/SPEC.md section 6).
 *
 * Sizes and indices are 64-bit (size_t, uint64_t) throughout.  Arrays may
 * start at any byte address (no alignment is required, e.g. NumPy views).
 * In-place operation (y == x, dx == dy) is allowed everywhere.  Partially
 * overlapping input and output buffers are not, and a packed mask may not
 * share a byte with any buffer the call writes, nor (when the call writes the
 * mask) with any it reads: DROPOUT_ERROR_OVERLAP, nothing written.  (A mask a
 * backward only reads may lie inside dy, which it only reads too.)
 */
#ifndef DROPOUT_H
#define DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(DROPOUT_SHARED_BUILD)
#  define DROPOUT_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#  define DROPOUT_API __attribute__((visibility("default")))
#else
#  define DROPOUT_API
#endif

#define DROPOUT_VERSION_MAJOR 0
#define DROPOUT_VERSION_MINOR 2
#define DROPOUT_VERSION_PATCH 0
#define DROPOUT_VERSION_STRING "0.2.0"
/* The mask stream this library implements (docs/SPEC.md section 2). */
#define DROPOUT_MASK_STREAM_VERSION 1

/* "0.2.0": the version of the library actually linked. */
DROPOUT_API const char *dropout_version_string(void);

/* ===========================================================================
 * Status codes
 * ======================================================================== */
typedef enum dropout_status {
    DROPOUT_OK = 0,
    DROPOUT_ERROR_INVALID_P = 1,        /* p is NaN, negative or > 1          */
    DROPOUT_ERROR_NULL_POINTER = 2,     /* a required pointer is NULL, n > 0  */
    DROPOUT_ERROR_MASK_TOO_SMALL = 3,   /* mask buffer < ceil(n/8) bytes      */
    DROPOUT_ERROR_INVALID_MODE = 4,     /* mode is not TRAIN or EVAL          */
    DROPOUT_ERROR_RANGE = 5,            /* first + n exceeds 2^64             */
    DROPOUT_ERROR_INVALID_ARGUMENT = 6, /* any other bad argument             */
    DROPOUT_ERROR_UNSUPPORTED_ISA = 7,  /* ISA unknown or not on this CPU     */
    DROPOUT_ERROR_BAD_STATE = 8,        /* serialized state corrupt/unknown   */
    DROPOUT_ERROR_OVERLAP = 9,          /* buffers that must be apart overlap */
    DROPOUT_ERROR_INVALID_SHAPE = 10,   /* bad dropout_shape or row length    */
    DROPOUT_ERROR_INVALID_DTYPE = 11,   /* dtype is not a dropout_dtype       */
    DROPOUT_ERROR_DEVICE = 12           /* device backend: no device/driver,
                                         * or its runtime refused the call    */
} dropout_status;

/* A short English sentence for a status code; never NULL (unknown codes get
 * "unknown dropout status"). */
DROPOUT_API const char *dropout_status_string(int status);

/* ===========================================================================
 * Modes and parameters
 * ======================================================================== */
typedef enum dropout_mode {
    DROPOUT_TRAIN = 0, /* random mask, survivors scaled by 1/(1-p)   */
    DROPOUT_EVAL = 1   /* identity; no random numbers, no mask write */
} dropout_mode;

/* Which slice of which mask.  A zero-initialized struct with p set is a
 * valid training call on stream 0 of seed 0, starting at element 0. */
typedef struct dropout_params {
    double p;        /* drop probability, 0 <= p <= 1                       */
    uint64_t seed;   /* Philox key                                          */
    uint64_t stream; /* one per forward pass; the layer object counts them  */
    uint64_t first;  /* mask index of element 0 of this call (for slices)   */
    int mode;        /* DROPOUT_TRAIN or DROPOUT_EVAL                       */
} dropout_params;

/* Bytes of a packed mask for n elements: ceil(n / 8). */
#define DROPOUT_MASK_BYTES(n) (((n) / 8u) + (((n) % 8u) != 0u))
DROPOUT_API size_t dropout_mask_bytes(size_t n);

/* ===========================================================================
 * Tier 1: the module object
 * ===========================================================================
 * Plain data; copy it, store it, put it in your own structs.  Every training
 * forward takes stream `next_stream` and increments it; backward uses the
 * stream of the most recent forward.  Saving (seed, next_stream) — or the
 * whole struct via dropout_layer_save() — and restoring it later reproduces
 * the very same masks.
 *
 *     dropout_layer layer;
 *     dropout_layer_init(&layer, 0.5, 1234);          // p = 0.5, seed 1234
 *     dropout_layer_forward_f32(&layer, y, x, n);     // training: mask drawn
 *     dropout_layer_backward_f32(&layer, dx, dy, n);  // same mask
 *     dropout_layer_set_mode(&layer, DROPOUT_EVAL);
 *     dropout_layer_forward_f32(&layer, y, x, n);     // identity
 */
typedef struct dropout_layer {
    double p;             /* drop probability                                */
    int mode;             /* DROPOUT_TRAIN or DROPOUT_EVAL                   */
    uint64_t seed;        /* RNG key                                         */
    uint64_t next_stream; /* stream the next training forward will use       */
    /* What the most recent forward did, for backward: */
    uint64_t last_stream; /* stream it used                                  */
    int last_mode;        /* its mode; DROPOUT_EVAL before any forward       */
} dropout_layer;

/* p in [0, 1]; mode starts as DROPOUT_TRAIN, next_stream as 0. */
DROPOUT_API int dropout_layer_init(dropout_layer *layer, double p, uint64_t seed);
DROPOUT_API int dropout_layer_set_mode(dropout_layer *layer, int mode);
DROPOUT_API int dropout_layer_set_p(dropout_layer *layer, double p);

/* Forward of n elements, mask index space [0, n).  Training mode uses stream
 * next_stream and increments it; evaluation mode is the identity.  On error
 * the layer and y are untouched. */
DROPOUT_API int dropout_layer_forward_f32(dropout_layer *layer, float *y,
                                          const float *x, size_t n);
DROPOUT_API int dropout_layer_forward_f64(dropout_layer *layer, double *y,
                                          const double *x, size_t n);
/* Backward of the most recent forward, regenerating its mask (no memory).
 * After an evaluation-mode forward, dx = dy. */
DROPOUT_API int dropout_layer_backward_f32(const dropout_layer *layer,
                                           float *dx, const float *dy,
                                           size_t n);
DROPOUT_API int dropout_layer_backward_f64(const dropout_layer *layer,
                                           double *dx, const double *dy,
                                           size_t n);

/* Portable serialization (little-endian, versioned) of the whole layer:
 * p, mode, seed, next_stream, last_stream, last_mode. */
#define DROPOUT_LAYER_STATE_BYTES 48
DROPOUT_API int dropout_layer_save(const dropout_layer *layer,
                                   uint8_t out[DROPOUT_LAYER_STATE_BYTES]);
/* Validates magic, version, p and modes; on error `layer` is untouched. */
DROPOUT_API int dropout_layer_load(dropout_layer *layer,
                                   const uint8_t in[DROPOUT_LAYER_STATE_BYTES]);

/* ===========================================================================
 * Tier 2: typed operations on a slice [first, first + n) (f32, f64 here;
 * bf16, f16 below, with the same rules)
 * ===========================================================================
 * Element k of the call is element first + k of the mask index space: a
 * chunk or shard that passes its own offset as `first` computes exactly its
 * slice of the whole tensor's mask.
 *
 * Packed masks (docs/SPEC.md section 3): bit k % 8 of byte k / 8 (least
 * significant bit first) is the keep bit of element k of the call; unused
 * high bits of the last byte are zero.  mask_size is the buffer's size in
 * bytes and must be >= ceil(n / 8).
 */

/* Training: y = keep ? x * s : +0.0, and the packed mask if mask != NULL.
 * Evaluation: y = x bitwise; mask is not written.
 * The f32 variant multiplies by s = (float)(1.0 / (1.0 - p)).
 * Errors: the usual ones (MASK_TOO_SMALL only in training with a mask). */
DROPOUT_API int dropout_forward_f32(const dropout_params *params, float *y,
                                    const float *x, size_t n,
                                    uint8_t *mask, size_t mask_size);
DROPOUT_API int dropout_forward_f64(const dropout_params *params, double *y,
                                    const double *x, size_t n,
                                    uint8_t *mask, size_t mask_size);

/* Backward from a packed mask written by a forward: only params->p and
 * params->mode are used (seed, stream, first are ignored).
 * dx = keep ? dy * s : +0.0 in training, dx = dy in evaluation (the mask is
 * then not read and may be NULL).  Errors: the usual ones. */
DROPOUT_API int dropout_backward_mask_f32(const dropout_params *params,
                                          float *dx, const float *dy,
                                          size_t n, const uint8_t *mask,
                                          size_t mask_size);
DROPOUT_API int dropout_backward_mask_f64(const dropout_params *params,
                                          double *dx, const double *dy,
                                          size_t n, const uint8_t *mask,
                                          size_t mask_size);

/* Backward that regenerates the mask from (seed, stream, first, p): pass the
 * same params as the forward.  Costs no memory.  A wrapper of the forward
 * kernel run on dy.  Errors: the usual ones but MASK_TOO_SMALL. */
DROPOUT_API int dropout_backward_regen_f32(const dropout_params *params,
                                           float *dx, const float *dy,
                                           size_t n);
DROPOUT_API int dropout_backward_regen_f64(const dropout_params *params,
                                           double *dx, const double *dy,
                                           size_t n);

/* The packed mask alone of elements [first, first + n): training mode
 * semantics, params->mode is ignored (so DROPOUT_ERROR_INVALID_MODE never
 * comes back).  n comes before the mask buffer, as in every other call
 * (since 0.2.0; 0.1 had (params, mask, mask_size, n)).  Errors: the usual
 * ones but OVERLAP.  The typed forwards with a mask write the same bits. */
DROPOUT_API int dropout_mask(const dropout_params *params, size_t n,
                             uint8_t *mask, size_t mask_size);

/* ===========================================================================
 * The dropout family: bf16/f16 (tier 2), shaped masks and variants
 * (tier 3), fused bias + dropout + residual (tier 4)
 * ===========================================================================
 * Every member draws its keep bits from the same mask stream v1, so the same
 * (seed, stream, index, p) gives the same decision in every dtype, shape and
 * variant (docs/family.md lists each beside its PyTorch / Keras / Flax
 * equivalent; docs/SPEC.md section 5 defines the gaussian noise).
 */

/* Element types.  bf16 and f16 are stored as uint16_t bit patterns. */
typedef enum dropout_dtype {
    DROPOUT_DTYPE_F32 = 0,
    DROPOUT_DTYPE_F64 = 1,
    DROPOUT_DTYPE_BF16 = 2, /* bfloat16: the high half of an f32          */
    DROPOUT_DTYPE_F16 = 3   /* IEEE binary16                              */
} dropout_dtype;

/* Bytes per element of a dtype; 0 for an unknown one. */
DROPOUT_API size_t dropout_dtype_size(int dtype);

/* Conversions, the ones the library itself uses: to bf16/f16 rounds to
 * nearest-even once (a NaN stays a NaN, quieted), from bf16/f16 is exact. */
DROPOUT_API uint16_t dropout_bf16_from_f32(float value);
DROPOUT_API float dropout_f32_from_bf16(uint16_t value);
DROPOUT_API uint16_t dropout_f16_from_f32(float value);
DROPOUT_API float dropout_f32_from_f16(uint16_t value);

/* ---- bf16 and f16: the tier 2 operations in half precision -----------------
 * A kept element is (float)x * s_f32 rounded to nearest-even once, with
 * s_f32 = (float)(1.0 / (1.0 - p)); a dropped one is +0.0.  The mask is the
 * f32 mask of the same params, bit for bit; p == 0 copies x bitwise. */
DROPOUT_API int dropout_forward_bf16(const dropout_params *params, uint16_t *y,
                                     const uint16_t *x, size_t n,
                                     uint8_t *mask, size_t mask_size);
DROPOUT_API int dropout_forward_f16(const dropout_params *params, uint16_t *y,
                                    const uint16_t *x, size_t n,
                                    uint8_t *mask, size_t mask_size);
DROPOUT_API int dropout_backward_mask_bf16(const dropout_params *params,
                                           uint16_t *dx, const uint16_t *dy,
                                           size_t n, const uint8_t *mask,
                                           size_t mask_size);
DROPOUT_API int dropout_backward_mask_f16(const dropout_params *params,
                                          uint16_t *dx, const uint16_t *dy,
                                          size_t n, const uint8_t *mask,
                                          size_t mask_size);
DROPOUT_API int dropout_backward_regen_bf16(const dropout_params *params,
                                            uint16_t *dx, const uint16_t *dy,
                                            size_t n);
DROPOUT_API int dropout_backward_regen_f16(const dropout_params *params,
                                           uint16_t *dx, const uint16_t *dy,
                                           size_t n);

/* ---- shaped dropout: broadcast masks and variants --------------------------
 * A row-major tensor (last dimension fastest) of up to DROPOUT_MAX_DIMS
 * dimensions, and the set of dimensions along which the mask is shared
 * (TensorFlow's noise_shape, Flax's broadcast_dims).  The mask has the
 * tensor's shape with those dimensions collapsed to size 1; an element's mask
 * index is params->first plus its flat index in that mask shape.
 *
 *   channel dropout, (N, C, L...):  broadcast = every dim from 2 on
 *                                   (PyTorch Dropout1d/2d/3d)
 *   drop path, (N, ...):            broadcast = every dim but 0
 *   time-locked RNN dropout, (T, N, H): broadcast = dim 0
 */
#define DROPOUT_MAX_DIMS 8
typedef struct dropout_shape {
    size_t ndim;                   /* 1 ... DROPOUT_MAX_DIMS                  */
    size_t dims[DROPOUT_MAX_DIMS]; /* sizes, dims[ndim - 1] fastest           */
    uint32_t broadcast;            /* bit d set: the mask is shared along d   */
} dropout_shape;

/* Bit d of dropout_shape.broadcast. */
#define DROPOUT_BROADCAST_DIM(d) ((uint32_t)1 << (d))

/* Elements of the tensor / of its mask (product of the non-broadcast
 * dimensions).  0 for an invalid shape (see dropout_shape_check). */
DROPOUT_API size_t dropout_shape_elements(const dropout_shape *shape);
DROPOUT_API size_t dropout_shape_mask_elements(const dropout_shape *shape);
/* DROPOUT_OK, or DROPOUT_ERROR_INVALID_SHAPE when ndim is 0 or above
 * DROPOUT_MAX_DIMS, a broadcast bit names a dimension >= ndim, or the element
 * count overflows size_t.  Dimensions of size 0 are valid (nothing to do). */
DROPOUT_API int dropout_shape_check(const dropout_shape *shape);

/* What a kept / dropped element becomes (docs/family.md has the derivations). */
typedef enum dropout_variant {
    /* inverted dropout: keep ? x * s : +0.0, s = 1 / (1 - p) */
    DROPOUT_VARIANT_STANDARD = 0,
    /* alpha dropout for SELU networks (PyTorch AlphaDropout; with channel
     * broadcast, FeatureAlphaDropout): keep ? a * x + b : a * alpha' + b,
     * alpha' = -1.7580993408473766, a = ((1 - p)(1 + p alpha'^2))^-1/2,
     * b = -a alpha' p.  Keeps mean 0 and variance 1 of standard-normal x.
     * Backward: keep ? dy * a : +0.0.  p == 1 gives +0.0 everywhere. */
    DROPOUT_VARIANT_ALPHA = 1,
    /* gaussian dropout (Keras GaussianDropout): y = x * noise,
     * noise = 1 + sqrt(p / (1 - p)) z, z standard normal from the
     * deterministic transform of docs/SPEC.md section 5.  No keep bits, so no
     * mask: forward takes mask == NULL, backward is regenerating only
     * (dx = dy * noise).  Needs p < 1. */
    DROPOUT_VARIANT_GAUSSIAN = 2
} dropout_variant;

/* y = variant(x) over `shape`, for any dtype; `mask`, if not NULL, receives
 * the packed mask of the mask shape (dropout_shape_mask_elements bits).
 * Evaluation mode and p == 0 copy x bitwise.  y == x is allowed. */
DROPOUT_API int dropout_shaped_forward(const dropout_params *params, int variant,
                                       int dtype, const dropout_shape *shape,
                                       void *y, const void *x,
                                       uint8_t *mask, size_t mask_size);
/* dx from dy and the packed mask of the forward (standard and alpha). */
DROPOUT_API int dropout_shaped_backward_mask(const dropout_params *params,
                                             int variant, int dtype,
                                             const dropout_shape *shape,
                                             void *dx, const void *dy,
                                             const uint8_t *mask,
                                             size_t mask_size);
/* dx from dy, regenerating the forward's mask or noise from params. */
DROPOUT_API int dropout_shaped_backward_regen(const dropout_params *params,
                                              int variant, int dtype,
                                              const dropout_shape *shape,
                                              void *dx, const void *dy);

/* ---- fused bias + dropout + residual --------------------------------------
 * y = residual + dropout(x + bias), with x, residual, y of n elements (rows
 * of d) and bias of d elements, broadcast along the rows.  Bitwise equal to
 * the three separate steps, each rounded to the dtype: t = x + bias;
 * u = dropout_forward(t) (same params, mask index = element index);
 * y = residual + u, except that any NaN in y (and in dbias) is the canonical
 * quiet NaN, the same bits on every path (docs/SPEC.md section 7).
 * y may be x or residual.
 *
 * Backward: dresidual = dy; dx = keep ? dy * s : +0.0; dbias[j] = the sum of
 * dx[r * d + j] over rows r = 0, 1, ... in that order, accumulated in double
 * and rounded once to the dtype (for bf16/f16 via f32).  dresidual may be
 * NULL (it equals dy) or dy itself; dx may be dy.  Threads split the columns
 * (when there are enough of them), each column summed by one thread. */
DROPOUT_API int dropout_bias_residual_forward(const dropout_params *params,
                                              int dtype, void *y,
                                              const void *x, const void *bias,
                                              const void *residual, size_t n,
                                              size_t d, uint8_t *mask,
                                              size_t mask_size);
DROPOUT_API int dropout_bias_residual_backward_mask(
    const dropout_params *params, int dtype, void *dx, void *dbias,
    void *dresidual, const void *dy, size_t n, size_t d, const uint8_t *mask,
    size_t mask_size);
DROPOUT_API int dropout_bias_residual_backward_regen(
    const dropout_params *params, int dtype, void *dx, void *dbias,
    void *dresidual, const void *dy, size_t n, size_t d);

/* ===========================================================================
 * Tier 5: runtime control
 * ===========================================================================
 * The kernel variant ("scalar", "avx2", "avx512", "neon") is chosen once,
 * thread-safely, from the CPU (cpuid + xgetbv) or from the environment
 * variable DROPOUT_ISA.  Every variant gives bit-identical results.
 */
/* Name of the variant in use, e.g. "avx512". */
DROPOUT_API const char *dropout_isa(void);
/* Force a variant by name; DROPOUT_ERROR_UNSUPPORTED_ISA if unknown or the
 * CPU/OS lacks it (the current choice is then unchanged).  NULL or "auto"
 * re-selects the best available. */
DROPOUT_API int dropout_set_isa(const char *name);
/* What became of the environment variable DROPOUT_ISA (read once, at the
 * first call that needs a kernel): DROPOUT_OK if it is unset, empty, "auto"
 * or a variant this machine runs; DROPOUT_ERROR_UNSUPPORTED_ISA if it names
 * an unknown variant or one the CPU/OS lacks.  In that case the library,
 * which never prints or aborts, runs the best available variant; programs
 * should check this and report the error (the dropout CLI does). */
DROPOUT_API int dropout_isa_status(void);

/* Threads used for large n (results are bit-identical for any count: the
 * call's elements are split into equal chunks, chunk 0 on the calling
 * thread, the rest on a persistent pool created at the first large call).
 * 0 means "all cores"; at most 256 (else DROPOUT_ERROR_INVALID_ARGUMENT).
 * The initial value comes from DROPOUT_THREADS (0 ... 256) if set and valid,
 * else all cores; dropout_threads() returns the count in use (>= 1).
 * A call goes parallel only when each thread gets enough work to pay for
 * the hand-off (about 20 us, estimated from the bytes the operation moves
 * and the random numbers it draws: a 2^16-element f32 forward stays on the
 * calling thread, a 2^18 one does not), and uses at most 32 threads; a
 * thread done with its chunk takes any chunk not yet started.  After a call
 * the pool's threads spin for up to 200 us, watching for the next call,
 * before they sleep (waking a sleeping thread costs more than that).
 *
 * Calls from several threads at once are safe.  The pool serves one call at
 * a time; a call that finds it busy runs on its own thread instead of
 * waiting.  Inside your own thread pool (OpenMP, a framework's workers),
 * call dropout_set_threads(1) and split the work yourself: pass each part's
 * offset as params.first and the masks are those of one big call. */
DROPOUT_API int dropout_set_threads(unsigned threads);
DROPOUT_API unsigned dropout_threads(void);

/* ===========================================================================
 * Tier 6: building blocks (docs/SPEC.md section 2)
 * ======================================================================== */
/* Random123 Philox4x32 with 10 rounds: out = philox(counter, key).  No
 * status (void): with any pointer NULL it does nothing. */
DROPOUT_API void dropout_philox4x32_10(const uint32_t counter[4],
                                       const uint32_t key[2],
                                       uint32_t out[4]);
/* T = (uint64_t)((1.0 - p) * 2^32 + 0.5); keep probability is T / 2^32.
 * No status: returns 0 both for an invalid p (NaN, outside [0, 1]) and for
 * p = 1 (which keeps nothing), so check p first to tell them apart. */
DROPOUT_API uint64_t dropout_keep_threshold(double p);
/* The keep bit of one element: 1 keep, 0 drop.  No status: 0 also for an
 * invalid p. */
DROPOUT_API int dropout_keep(uint64_t seed, uint64_t stream, uint64_t index,
                             double p);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DROPOUT_H */
