/*
 * tile_loop.h — the one tile loop of every SIMD operation that draws keep
 * bits (included by avx2.c and avx512.c, after their tile functions),
 * software pipelined: while the elements of tile t are written (loads,
 * stores, a multiply), the Philox of tile t + 1 runs (multiplies and
 * logic), tile t's elements written between its rounds (tile_filler.h), so
 * the two kinds of work overlap in the core instead of taking turns.  The
 * ties of tile t + 1 are resolved before its own elements are written.
 *
 * There is no software prefetch: the hardware's stream prefetchers keep up
 * with these sequential reads, and prefetch instructions for the next tile
 * made large calls slower (measured on Zen 4, AVX-512 f32 forward at
 * n = 2^24: 0.69-1.05 ns per element with them, 0.26-0.36 without).
 *
 * An ISA file defines, besides what tile_filler.h needs:
 *   TILE, GROUP    elements per tile and per Philox call
 *   TILE_TIES      elements per tile where ties are drawn (>= TILE; the
 *                  tile arrays' size), TILE_LAST the most of a last tile
 *   OUT_NONE       out_t.kind of the mask op (no elements)
 *   philox_t, philox_init(px, ms)
 *   tile_t, tile_begin(t, first, len), tile_group(t, px, g, fill, kind, ties)
 *              (ties: 0 when tlow == 0, so no r == t0 needs a tie draw),
 *   tile_finish(t, ms, px), tile_keep(t) (the keep data for out_range),
 *   tile_store_mask(t, mask)   packed bits of the finished tile
 *   stream_fence()             after streaming stores
 *   VECTOR_BYTES               the alignment streaming stores need
 * and out_t with the fields kind, x, y, s, s64, stream, head, s_finite, and
 * OUT_F32, OUT_F64, OUT_BF16, OUT_F16: the forward slots of every dtype are
 * then defined here (tile_forward_*, TILE_FORWARD_SLOTS), the same for each
 * ISA.
 */
#ifndef DROPOUT_KERNELS_TILE_LOOP_H
#define DROPOUT_KERNELS_TILE_LOOP_H

/* The length of the next tile, `left` elements to go: `tile`, but the last
 * tile at most TILE_LAST; every tile but the last a multiple of 64 elements
 * (whole mask bytes, whole keep words). */
static inline size_t tile_next_len(size_t left, size_t tile)
{
    if (left <= TILE_LAST)
        return left;
    if (tile > TILE_LAST && left <= tile + TILE_LAST)
        return (left - TILE_LAST + 63) / 64 * 64;
    return left < tile ? left : tile;
}

KERNELS_INLINE void run_tiles_with(const mask_stream *ms, uint64_t first, size_t n,
                                   const out_t *out, uint8_t *mask, int ties)
{
    /* read once, before any vector store (which may alias anything): the
     * slot's constant, so each loop below is compiled for its one type
     * (read through `out` after the stores, it was not: every forward slot
     * held the element loops of all four types) */
    const int kind = out->kind;
    /* A tile's ties are resolved in one batch: a chain (positions, tie
     * draws, scatter) that the core cannot hide behind the next tile's
     * Philox, about a third of the Philox time per 2048-element tile at
     * p = 0.1, though its operations cost little (done twice, it costs
     * 0.05 more).  So where ties are drawn, tiles are longer (TILE_TIES)
     * and pay it less often; the last one is short (TILE_LAST), as its
     * elements are written with no Philox left to hide them behind.
     * Without ties, long tiles were slower (f32 forward, p = 0.5, 1.37-1.39
     * -> 1.45-1.47 of the Philox loop at 8192; docs/performance.md). */
    const size_t tile = ties ? TILE_TIES : TILE;
    /* A tile that starts inside a 16-element block needs one Philox group
     * more than its length (a 2048-element tile three groups, not two), so
     * with first % 16 != 0 the first tile ends where the rest start on
     * whole blocks: unless that would put the rest off whole mask bytes.
     * Every tile's streaming head is then its own (tile_out.head). */
    const size_t size = kind == OUT_F64 ? 8 : kind == OUT_F32 ? 4 : 2;
    const int stream = out->stream;
    const char *const y0 = (const char *)out->y;
    const size_t o = (size_t)(first % MASK_BLOCK_ELEMENTS);
    size_t len0 = tile_next_len(n, tile);
    if (o != 0 && (mask == NULL || o % 8 == 0) && n > tile + TILE_LAST)
        len0 = tile - o;
    out_t tile_out = *out;
    philox_t px;
    philox_init(&px, ms);
    tile_t tiles[2];
    tile_t *cur = &tiles[0], *next = &tiles[1];
    tile_begin(cur, first, len0);
    const filler none = {NULL, NULL, 0, 0, 0, 0};
    for (size_t g = 0; g < cur->groups; g++)
        tile_group(cur, &px, g, &none, kind, ties);
    tile_finish(cur, ms, &px);
    for (size_t done = 0, len = 0; done < n; done += len) {
        len = cur->len;
        const size_t next_done = done + len;
        const int more = next_done < n;
        if (more)
            tile_begin(next, first + next_done, tile_next_len(n - next_done, tile));
        /* step c: Philox group c of `next`, and elements [b_c, b_c+1) of
         * `cur`: b_0 = 0, b_c = head + c * GROUP (streaming stores start at
         * the tile's first vector boundary of y) */
        tile_out.head = stream ? kernels_nontemporal_head(y0 + done * size, VECTOR_BYTES, size) : 0;
        const size_t head = tile_out.head;
        const size_t chunks = kind == OUT_NONE ? 0
                              : len <= head         ? 1
                                                    : (len - head + GROUP - 1) / GROUP;
        const size_t steps = more && next->groups > chunks ? next->groups : chunks;
        for (size_t c = 0; c < steps; c++) {
            filler fill = {NULL, tile_keep(cur), len, done, 0, 0};
            if (c < chunks) {
                fill.out = &tile_out;
                fill.begin = c == 0 ? 0 : head + c * GROUP;
                fill.end = head + (c + 1) * GROUP < len ? head + (c + 1) * GROUP : len;
            }
            if (more && c < next->groups)
                tile_group(next, &px, c, &fill, kind, ties); /* cur's elements inside next's Philox */
            else if (fill.out)
                out_range(kind, &tile_out, fill.keep, len, done, fill.begin, fill.end);
        }
        if (more) {
            for (size_t g = steps; g < next->groups; g++)
                tile_group(next, &px, g, &none, kind, ties);
            tile_finish(next, ms, &px);
        }
        if (mask)
            tile_store_mask(cur, mask + done / 8);
        tile_t *swap = cur;
        cur = next;
        next = swap;
    }
    if (stream)
        stream_fence(); /* streaming stores are weakly ordered: done before we return */
}

/* tlow == 0 (every p whose T is a multiple of 2^24: 0.5, 0.25, 0.75, ...):
 * a tie drops like any r > t0, so the groups look for no ties at all (one
 * compare and its bookkeeping less per vector of bytes).  Measured on Zen 4,
 * f32 at n = 2^16, p = 0.5, alternating: see docs/performance.md. */
KERNELS_INLINE void run_tiles(const mask_stream *ms, uint64_t first, size_t n, const out_t *out,
                              uint8_t *mask)
{
    if (ms->tlow == 0)
        run_tiles_with(ms, first, n, out, mask, 0);
    else
        run_tiles_with(ms, first, n, out, mask, 1);
}

/* The fused forward of one element type: streaming stores from y's first
 * VECTOR_BYTES boundary when asked and y is element-aligned. */
KERNELS_INLINE void tile_forward(int kind, size_t elem_size, const mask_stream *ms, uint64_t first,
                                 size_t n, const kernel_consts *c, const void *x, void *y,
                                 uint8_t *mask, int nontemporal)
{
    const int stream = nontemporal && kernels_nontemporal_ok(y, elem_size);
    const out_t out = {.kind = kind, .x = x, .y = y, .s = c->s32, .s64 = c->s,
                       .stream = stream,
                       .head = stream ? kernels_nontemporal_head(y, VECTOR_BYTES, elem_size) : 0,
                       .s_finite = c->s32 <= 3.4028234663852886e38f};
    run_tiles(ms, first, n, &out, mask);
}

KERNELS_FORWARD_SLOT(tile_forward_f32, tile_forward, OUT_F32, 4)
KERNELS_FORWARD_SLOT(tile_forward_f64, tile_forward, OUT_F64, 8)
KERNELS_FORWARD_SLOT(tile_forward_bf16, tile_forward, OUT_BF16, 2)
KERNELS_FORWARD_SLOT(tile_forward_f16, tile_forward, OUT_F16, 2)

#define TILE_FORWARD_SLOTS                                                                   \
    {                                                                                        \
        [DROPOUT_DTYPE_F32] = tile_forward_f32, [DROPOUT_DTYPE_F64] = tile_forward_f64,      \
        [DROPOUT_DTYPE_BF16] = tile_forward_bf16, [DROPOUT_DTYPE_F16] = tile_forward_f16     \
    }

#endif /* DROPOUT_KERNELS_TILE_LOOP_H */
