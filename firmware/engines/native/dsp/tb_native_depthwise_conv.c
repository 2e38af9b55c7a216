/*
 * tb_native_depthwise_conv.c (dsp) - int8 DEPTHWISE_CONV_2D with the Arm DSP extension.
 *
 * Depth multiplier 1 (every depthwise layer of the catalogue models): channels are processed
 * four at a time ("lanes"), one pass of the output per group of four. A filter tap is one word
 * load of four int8 inputs; SXTAB16 adds the input offset to two of them at once while it
 * widens them to int16 pairs, and SMLABB/SMLATT multiply each lane by its weight into four
 * int32 accumulators that stay in registers across the taps (a depthwise tap is one MAC per
 * channel, so there is nothing for SMLAD to sum). For a 3x3 filter the weights of the group are
 * widened once per pass into int16 pairs on the stack (one LDRD per tap instead of a load and
 * two extensions), and a pixel whose window lies wholly inside the input runs the nine taps
 * unrolled with no bounds checks; border pixels loop over their clipped window. A 10x4 filter
 * (DS-CNN's first layer shape) has its own interior path: ten rows of four unrolled taps.
 *
 * Requantization is fused into the pass and gives exactly tb_fx_requantize's result. For a
 * channel with a right shift e in [1, 31] and a multiplier m of 0 or in [2^30, 2^31) (all that
 * the compiler's QuantizeMultiplier produces for a scale below 1) the two roundings of
 * tb_fx_requantize - the doubling high multiply, (p + 2^30) >> 31 with p = acc * m, then the
 * rounding divide by 2^e, ties away from zero - collapse into one 64-bit sum:
 *     r = (p + 2^30 + 2^(30+e) - (acc < 0 ? 2^31 : 0)) >> (31 + e)
 * which is one SMLAL onto a per-channel constant and one shift of the high word. (For acc >= 0,
 * floor(floor(a / 2^31) / 2^e) = floor(a / 2^(31+e)) with the rounding terms moved inside; for
 * acc < 0 the product is <= -2^30, the first rounding result is <= 0 and the divide rounds with
 * 2^(e-1) - 1, i.e. 2^(30+e) - 2^31 inside.) Any other channel (a left shift, e = 0) takes
 * tb_fx_requantize itself. tests/native/test_dsp_depthwise.py checks both against tflite-micro.
 *
 * Channels left over after the groups of four, and depth multipliers above 1, take a plain
 * per-channel path.
 */
#include <stddef.h>

#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"
#include "tb_native_simd.h"

#define DW_LANES 4 /* channels per pass: one word of int8 */

/*
 * The hot loops' assembly blocks: on a core with the DSP extension, when optimising. Unoptimised
 * GCC keeps r7 as the frame pointer and (hard-float) cannot give a block its 12 registers; the
 * portable C beside each block is the same arithmetic (the host tests run it).
 */
#if TB_SIMD_NATIVE && defined(__OPTIMIZE__)
#define DW_ASM 1
#else
#define DW_ASM 0
#endif

/* The pixel runs stay functions of their own: inlined into the pass, GCC spills their registers. */
#if defined(__GNUC__) || defined(__clang__)
#define DW_NOINLINE __attribute__((noinline))
#define DW_INLINE inline __attribute__((always_inline))
#else
#define DW_NOINLINE
#define DW_INLINE inline
#endif
#define DW_TAPS_3X3 9

/*
 * One channel of a pass: its requantization constants, laid out so that two LDRDs fetch them,
 * and its bias (the accumulator's start).
 */
typedef struct {
    int64_t rounding;   /* fused: 2^30 + 2^(30+e) + output_offset * 2^(31+e) */
    int32_t multiplier; /* the plan's */
    int32_t shift;      /* fused: e - 1; exact: the plan's shift */
    int32_t bias;
} dw_lane_t;

/* The four channels of a pass. */
typedef struct {
    dw_lane_t lane[DW_LANES];
    int fused;      /* all four lanes take the fused requantization */
    int full_range; /* the activation clamp is the int8 range: SSAT alone */
} dw_quant_t;

/* The filter window as clipped to the input. */
typedef struct {
    int32_t ky_lo, ky_hi, kx_lo, kx_hi;
} dw_window_t;

/*
 * Everything one pass (four channels over the whole output) reads: the requantization, the
 * widened 3x3 weights (both pairs of a tap in one 64-bit word, so one LDRD fetches a tap), the
 * group's int8 weights in the plan, and the strides in bytes.
 */
typedef struct {
    const tb_native_conv_t *p;
    dw_quant_t q;
    uint64_t w3[DW_TAPS_3X3]; /* lanes 0/2 in the low word, 1/3 in the high word */
    const int8_t *w;          /* the plan's weights of the group's tap (0, 0) */
    uint32_t offsets;         /* the input offset in both halves */
    int32_t stride;           /* bytes between horizontally adjacent input pixels: in_c */
    int32_t row;              /* bytes between input rows */
    int32_t in_step;          /* input bytes between horizontally adjacent windows */
    int is3x3, is10x4;
    int32_t ox_lo, ox_hi, oy_lo, oy_hi; /* the outputs whose windows lie inside the input */
} dw_pass_t;

/*
 * The fused requantization holds for a right shift e in [1, 31] with the multiplier 0 or in
 * [2^30, 2^31); e <= 23 also keeps output_offset * 2^(31+e) within the 64-bit sum.
 */
static int dw_fusable(int32_t multiplier, int32_t shift)
{
    return shift <= -1 && shift >= -23 && (multiplier == 0 || multiplier >= (INT32_C(1) << 30));
}

static void dw_quant_setup(const tb_native_conv_t *p, int32_t c0, dw_quant_t *q)
{
    int32_t lane;
    q->fused = 1;
    q->full_range = p->act_min <= -128 && p->act_max >= 127;
    for (lane = 0; lane < DW_LANES; ++lane) {
        const int32_t c = c0 + lane;
        q->lane[lane].bias = p->bias != 0 ? p->bias[c] : 0;
        q->lane[lane].multiplier = p->multiplier[c];
        q->fused = q->fused && dw_fusable(p->multiplier[c], p->shift[c]);
    }
    for (lane = 0; lane < DW_LANES; ++lane) {
        const int32_t c = c0 + lane;
        dw_lane_t *l = &q->lane[lane];
        if (q->fused) {
            /*
             * 2^30 + 2^(30+e) + output_offset * 2^(31+e), assembled from 32-bit halves (a
             * variable 64-bit shift is a library call on Cortex-M): output_offset * 2^(e-1)
             * fits in 30 bits for e <= 23.
             */
            const int32_t e = -p->shift[c];
            const uint32_t lo = 0x40000000u | (e == 1 ? 0x80000000u : 0u);
            const uint32_t hi =
                (e >= 2 ? 1u << (e - 2) : 0u) + ((uint32_t)p->output_offset << (e - 1));
            l->shift = e - 1;
            l->rounding = (int64_t)(((uint64_t)hi << 32) | lo);
        } else {
            l->shift = p->shift[c];
            l->rounding = 0;
        }
    }
}

/*
 * tb_fx_requantize(acc, multiplier, -(shift + 1)) + output_offset, fused (see the top), for a
 * lane with the full int8 clamp: SSAT to 8 bits.
 */
static inline int32_t dw_requantize_fused(int32_t acc, const dw_lane_t *l)
{
    /* Two SMLALs: acc * m, then 1 * -2^31 when acc < 0 (0 * -2^31 otherwise). */
    int64_t sum = tb_smlal(l->rounding, acc, l->multiplier);
    sum = tb_smlal(sum, (int32_t)((uint32_t)acc >> 31), INT32_MIN);
    return (int32_t)(sum >> 32) >> l->shift;
}

#if DW_ASM
/* The assembly below addresses the lanes as 24-byte records: rounding, multiplier, shift. */
typedef char dw_lane_layout_check[sizeof(dw_lane_t) == 24 && offsetof(dw_lane_t, multiplier) == 8 &&
                                          offsetof(dw_lane_t, shift) == 12
                                      ? 1
                                      : -1];

/*
 * One lane: two LDRDs, SMLAL, LSR, SMLAL, ASR, SSAT, STRB. Written out because GCC spills
 * around the 64-bit values.
 */
#define DW_REQUANT_ASM(a, rec, w, i)                                                               \
    "ldrd %[lo], %[hi], [%[l], #" rec "]\n\t"                                                      \
    "ldrd %[m], %[sh], [%[l], #" w "]\n\t"                                                         \
    "smlal %[lo], %[hi], %[" a "], %[m]\n\t"                                                       \
    "lsr %[m], %[" a "], #31\n\t"                                                                  \
    "smlal %[lo], %[hi], %[m], %[min]\n\t"                                                         \
    "asr %[hi], %[hi], %[sh]\n\t"                                                                  \
    "ssat %[hi], #8, %[hi]\n\t"                                                                    \
    "strb %[hi], [%[out], #" i "]\n\t"
#endif

/* The four lanes' fused requantization with the full int8 clamp, stored to out[0..3]. */
static inline void dw_store4_fused(const dw_quant_t *q, const int32_t *acc, int8_t *out)
{
#if DW_ASM
    uint32_t lo, hi, m, sh;
    __asm__ __volatile__(DW_REQUANT_ASM("a0", "0", "8", "0") DW_REQUANT_ASM("a1", "24", "32", "1")
                             DW_REQUANT_ASM("a2", "48", "56", "2")
                                 DW_REQUANT_ASM("a3", "72", "80", "3")
                         : [lo] "=&r"(lo), [hi] "=&r"(hi), [m] "=&r"(m), [sh] "=&r"(sh)
                         : [a0] "r"(acc[0]), [a1] "r"(acc[1]), [a2] "r"(acc[2]), [a3] "r"(acc[3]),
                           [l] "r"(q->lane), [out] "r"(out), [min] "r"(INT32_MIN)
                         : "memory"); /* not memory operands: each would take a register */
#else
    int32_t lane;
    for (lane = 0; lane < DW_LANES; ++lane) {
        out[lane] = (int8_t)tb_ssat8(dw_requantize_fused(acc[lane], &q->lane[lane]));
    }
#endif
}

/* Taking the accumulators by value keeps them in registers in the callers' loops. */
static void dw_store4_general(const tb_native_conv_t *p, const dw_quant_t *q, int32_t acc0,
                              int32_t acc1, int32_t acc2, int32_t acc3, int8_t *out)
{
    const int32_t acc[DW_LANES] = { acc0, acc1, acc2, acc3 };
    int32_t lane;
    for (lane = 0; lane < DW_LANES; ++lane) {
        const dw_lane_t *l = &q->lane[lane];
        const int32_t v =
            q->fused ? dw_requantize_fused(acc[lane], l)
                     : tb_fx_requantize(acc[lane], l->multiplier, l->shift) + p->output_offset;
        out[lane] = (int8_t)tb_conv_clamp(v, p->act_min, p->act_max);
    }
}

static inline void dw_store4(const dw_pass_t *g, const int32_t *acc, int8_t *out)
{
    const dw_quant_t *q = &g->q;
    if (q->fused && q->full_range) { /* every catalogue model's depthwise op */
        dw_store4_fused(q, acc, out);
    } else {
        dw_store4_general(g->p, q, acc[0], acc[1], acc[2], acc[3], out);
    }
}

/* One tap of four lanes: x holds four int8 inputs, even/odd the lanes' widened weights. */
static inline void dw_tap(uint32_t x, uint32_t even, uint32_t odd, uint32_t offsets, int32_t *acc)
{
    const uint32_t x_even = tb_sxtab16(offsets, x);
    const uint32_t x_odd = tb_sxtab16_ror8(offsets, x);
    acc[0] = tb_smlabb(x_even, even, acc[0]);
    acc[2] = tb_smlatt(x_even, even, acc[2]);
    acc[1] = tb_smlabb(x_odd, odd, acc[1]);
    acc[3] = tb_smlatt(x_odd, odd, acc[3]);
}

static inline void dw_tap_wide(uint32_t x, uint64_t w, uint32_t offsets, int32_t *acc)
{
    dw_tap(x, (uint32_t)w, (uint32_t)(w >> 32), offsets, acc);
}

/* One tap with the int8 weights of the plan, widened here. */
static inline void dw_tap_int8(uint32_t x, const int8_t *w, uint32_t offsets, int32_t *acc)
{
    const uint32_t word = tb_simd_load4(w);
    dw_tap(x, tb_sxtb16(word), tb_sxtb16_ror8(word), offsets, acc);
}

static inline void dw_acc_init(const dw_quant_t *q, int32_t *acc)
{
    acc[0] = q->lane[0].bias;
    acc[1] = q->lane[1].bias;
    acc[2] = q->lane[2].bias;
    acc[3] = q->lane[3].bias;
}

#if DW_ASM
/*
 * Per tap: LDR of four inputs, LDRD of the widened weights, two SXTAB16, four SMLAxy (eight
 * instructions for four MACs). Written out because GCC, short of registers with four
 * accumulators live, reloads weights and spills accumulators. The memory read is declared
 * by a "memory" clobber, not memory operands (each would take a register for its address).
 */
#define DW_TAP_ASM(load, wofs)                                                                     \
    load "\n\t"                                                                                    \
         "ldrd %[t2], %[t3], [%[w], #" wofs "]\n\t"                                                \
         "sxtab16 %[t1], %[off], %[t0], ror #8\n\t"                                                \
         "sxtab16 %[t0], %[off], %[t0]\n\t"                                                        \
         "smlabb %[a0], %[t0], %[t2], %[a0]\n\t"                                                   \
         "smlatt %[a2], %[t0], %[t2], %[a2]\n\t"                                                   \
         "smlabb %[a1], %[t1], %[t3], %[a1]\n\t"                                                   \
         "smlatt %[a3], %[t1], %[t3], %[a3]\n\t"
#define DW_TAP0 DW_TAP_ASM("ldr %[t0], [%[x]]", "0")
#define DW_TAP1 DW_TAP_ASM("ldr %[t0], [%[x], %[s]]", "8")
#define DW_TAP2 DW_TAP_ASM("ldr %[t0], [%[x], %[s], lsl #1]", "16")
#define DW_TAPS_ASM(code)                                                                          \
    do {                                                                                           \
        uint32_t t0, t1, t2, t3;                                                                   \
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];                                \
        __asm__(code                                                                               \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t0] "=&r"(t0),      \
                  [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)                                   \
                : [x] "r"(x), [s] "r"(stride), [w] "r"(w), [off] "r"(offsets)                      \
                : "memory");                                                                       \
        acc[0] = a0;                                                                               \
        acc[1] = a1;                                                                               \
        acc[2] = a2;                                                                               \
        acc[3] = a3;                                                                               \
    } while (0)
#endif

/* The first n (1-3) taps of one filter row; w: the row's first widened tap. */
static inline void dw_row1(const int8_t *x, int32_t stride, const uint64_t *w, uint32_t offsets,
                           int32_t *acc)
{
#if DW_ASM
    DW_TAPS_ASM(DW_TAP0);
#else
    (void)stride;
    dw_tap_wide(tb_simd_load4(x), w[0], offsets, acc);
#endif
}

static inline void dw_row2(const int8_t *x, int32_t stride, const uint64_t *w, uint32_t offsets,
                           int32_t *acc)
{
#if DW_ASM
    DW_TAPS_ASM(DW_TAP0 DW_TAP1);
#else
    dw_tap_wide(tb_simd_load4(x), w[0], offsets, acc);
    dw_tap_wide(tb_simd_load4(x + stride), w[1], offsets, acc);
#endif
}

static inline void dw_3x3_row(const int8_t *x, int32_t stride, const uint64_t *w, uint32_t offsets,
                              int32_t *acc)
{
#if DW_ASM
    DW_TAPS_ASM(DW_TAP0 DW_TAP1 DW_TAP2);
#else
    dw_tap_wide(tb_simd_load4(x), w[0], offsets, acc);
    dw_tap_wide(tb_simd_load4(x + stride), w[1], offsets, acc);
    dw_tap_wide(tb_simd_load4(x + 2 * stride), w[2], offsets, acc);
#endif
}

/*
 * A rectangle of output pixels whose windows the border clips alike (or not at all): nx by ny
 * pixels, the input and output advancing by in_dx / out_dx bytes along a row of the
 * rectangle and by in_dy / out_dy from one row to the next.
 */
typedef struct {
    int32_t nx, ny;
    int32_t in_dx, in_dy, out_dx, out_dy;
} dw_rect_t;

/*
 * 3x3 windows wholly inside the input: nine taps unrolled, no bounds checks. x: the group's
 * input byte at the first window's top-left pixel. fast: fused requantization with the full
 * int8 clamp (a constant where it is inlined, so each loop is compiled without the test).
 */
static DW_INLINE void dw_3x3_run_loop(const dw_pass_t *g, const int8_t *x, int8_t *out,
                                      const dw_rect_t *r, const int fast)
{
    const int32_t stride = g->stride;
    const int32_t row = g->row;
    const uint32_t offsets = g->offsets;
    int32_t acc[DW_LANES];
    int32_t j, i;
    for (j = 0; j < r->ny; ++j, x += r->in_dy, out += r->out_dy) {
        const int8_t *xi = x;
        int8_t *oi = out;
        for (i = r->nx; i > 0; --i, xi += r->in_dx, oi += r->out_dx) {
            dw_acc_init(&g->q, acc);
            dw_3x3_row(xi, stride, &g->w3[0], offsets, acc);
            dw_3x3_row(xi + row, stride, &g->w3[3], offsets, acc);
            dw_3x3_row(xi + 2 * row, stride, &g->w3[6], offsets, acc);
            if (fast) {
                dw_store4_fused(&g->q, acc, oi);
            } else {
                dw_store4_general(g->p, &g->q, acc[0], acc[1], acc[2], acc[3], oi);
            }
        }
    }
}

static DW_NOINLINE void dw_3x3_run(const dw_pass_t *g, const int8_t *x, int8_t *out,
                                   const dw_rect_t *r)
{
    if (g->q.fused && g->q.full_range) {
        dw_3x3_run_loop(g, x, out, r, 1);
    } else {
        dw_3x3_run_loop(g, x, out, r, 0);
    }
}

/* 10x4 windows inside the input: ten rows of four taps unrolled. */
static DW_NOINLINE void dw_10x4_run(const dw_pass_t *g, const int8_t *x, int8_t *out,
                                    const dw_rect_t *r)
{
    const int32_t stride = g->stride;
    const int32_t w_stride = g->p->out_c;
    int32_t acc[DW_LANES];
    int32_t j, i;
    for (j = 0; j < r->ny; ++j, x += r->in_dy, out += r->out_dy) {
        const int8_t *xi = x;
        int8_t *oi = out;
        for (i = r->nx; i > 0; --i, xi += r->in_dx, oi += r->out_dx) {
            const int8_t *xr = xi;
            const int8_t *w = g->w;
            int32_t ky;
            dw_acc_init(&g->q, acc);
            for (ky = 0; ky < 10; ++ky, xr += g->row, w += 4 * w_stride) {
                dw_tap_int8(tb_simd_load4(xr), w, g->offsets, acc);
                dw_tap_int8(tb_simd_load4(xr + stride), w + w_stride, g->offsets, acc);
                dw_tap_int8(tb_simd_load4(xr + 2 * stride), w + 2 * w_stride, g->offsets, acc);
                dw_tap_int8(tb_simd_load4(xr + 3 * stride), w + 3 * w_stride, g->offsets, acc);
            }
            dw_store4(g, acc, oi);
        }
    }
}

/*
 * 3x3 windows that the border clips alike (rows ky_lo..ky_hi, columns kx_lo..kx_hi inside the
 * input): each inside row runs its 1-3 inside columns unrolled; the three-row, two-column
 * window of a left or right border column is unrolled whole. x: the group's input byte at
 * the first window's first inside tap.
 */
static DW_INLINE void dw_3x3_clipped_loop(const dw_pass_t *g, const int8_t *x, int8_t *out,
                                          const dw_rect_t *r, const dw_window_t *win,
                                          const int fast, const int three_by_two)
{
    const int32_t stride = g->stride;
    const int32_t row = g->row;
    const int32_t columns = win->kx_hi - win->kx_lo;
    const int32_t rows = win->ky_hi - win->ky_lo;
    const uint64_t *w0 = &g->w3[win->ky_lo * 3 + win->kx_lo];
    int32_t acc[DW_LANES];
    int32_t j, i;
    for (j = 0; j < r->ny; ++j, x += r->in_dy, out += r->out_dy) {
        const int8_t *xi = x;
        int8_t *oi = out;
        for (i = r->nx; i > 0; --i, xi += r->in_dx, oi += r->out_dx) {
            dw_acc_init(&g->q, acc);
            if (three_by_two) {
                dw_row2(xi, stride, w0, g->offsets, acc);
                dw_row2(xi + row, stride, w0 + 3, g->offsets, acc);
                dw_row2(xi + 2 * row, stride, w0 + 6, g->offsets, acc);
            } else {
                const int8_t *xr = xi;
                const uint64_t *w = w0;
                int32_t k;
                for (k = 0; k < rows; ++k, xr += row, w += 3) {
                    if (columns == 3) {
                        dw_3x3_row(xr, stride, w, g->offsets, acc);
                    } else if (columns == 2) {
                        dw_row2(xr, stride, w, g->offsets, acc);
                    } else if (columns == 1) {
                        dw_row1(xr, stride, w, g->offsets, acc);
                    }
                }
            }
            if (fast) {
                dw_store4_fused(&g->q, acc, oi);
            } else {
                dw_store4_general(g->p, &g->q, acc[0], acc[1], acc[2], acc[3], oi);
            }
        }
    }
}

static DW_NOINLINE void dw_3x3_clipped_run(const dw_pass_t *g, const int8_t *x, int8_t *out,
                                           const dw_rect_t *r, const dw_window_t *win)
{
    /* Each combination its own loop: no per-pixel test of the window's shape or the store. */
    const int fast = g->q.fused && g->q.full_range;
    const int three_by_two = win->ky_hi - win->ky_lo == 3 && win->kx_hi - win->kx_lo == 2;
    if (fast && three_by_two) {
        dw_3x3_clipped_loop(g, x, out, r, win, 1, 1);
    } else if (fast) {
        dw_3x3_clipped_loop(g, x, out, r, win, 1, 0);
    } else if (three_by_two) {
        dw_3x3_clipped_loop(g, x, out, r, win, 0, 1);
    } else {
        dw_3x3_clipped_loop(g, x, out, r, win, 0, 0);
    }
}

/*
 * A whole output row oy of 3x3 windows (a top or bottom row that the border clips vertically,
 * or any row of a tiny output), each pixel with its own clipping, in one call: small images
 * have few pixels per group, so calls are counted too.
 */
static DW_INLINE void dw_3x3_border_row_loop(const dw_pass_t *g, const int8_t *in_batch,
                                             int8_t *out, int32_t oy, const int fast)
{
    const tb_native_conv_t *p = g->p;
    const int32_t stride = g->stride;
    const int32_t row = g->row;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    int32_t ky_lo, ky_hi, ox;
    int32_t acc[DW_LANES];
    tb_conv_window(iy0, 3, p->in_h, &ky_lo, &ky_hi);
    for (ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t kx_lo, kx_hi, k;
        const int8_t *xr;
        const uint64_t *w;
        tb_conv_window(ix0, 3, p->in_w, &kx_lo, &kx_hi);
        xr = in_batch + ((iy0 + ky_lo) * p->in_w + ix0 + kx_lo) * p->in_c;
        w = &g->w3[ky_lo * 3 + kx_lo];
        dw_acc_init(&g->q, acc);
        for (k = ky_lo; k < ky_hi; ++k, xr += row, w += 3) {
            if (kx_hi - kx_lo == 3) {
                dw_3x3_row(xr, stride, w, g->offsets, acc);
            } else if (kx_hi - kx_lo == 2) {
                dw_row2(xr, stride, w, g->offsets, acc);
            } else if (kx_hi - kx_lo == 1) {
                dw_row1(xr, stride, w, g->offsets, acc);
            }
        }
        if (fast) {
            dw_store4_fused(&g->q, acc, out);
        } else {
            dw_store4_general(p, &g->q, acc[0], acc[1], acc[2], acc[3], out);
        }
    }
}

static DW_NOINLINE void dw_3x3_border_row(const dw_pass_t *g, const int8_t *in_batch, int8_t *out,
                                          int32_t oy)
{
    if (g->q.fused && g->q.full_range) {
        dw_3x3_border_row_loop(g, in_batch, out, oy, 1);
    } else {
        dw_3x3_border_row_loop(g, in_batch, out, oy, 0);
    }
}

/*
 * One output pixel of a filter with no specialised path, or a 10x4 window the border clips:
 * the taps inside the input only. origin: the offset in in_batch of the window's top-left
 * pixel, which may lie outside the input.
 */
static DW_NOINLINE void dw_pixel(const dw_pass_t *g, const int8_t *in_batch, int32_t origin,
                                 const dw_window_t *win, int8_t *out)
{
    const tb_native_conv_t *p = g->p;
    int32_t acc[DW_LANES];
    int32_t ky, kx;
    dw_acc_init(&g->q, acc);
    for (ky = win->ky_lo; ky < win->ky_hi; ++ky) {
        for (kx = win->kx_lo; kx < win->kx_hi; ++kx) {
            const int8_t *x = in_batch + origin + ky * g->row + kx * g->stride;
            dw_tap_int8(tb_simd_load4(x), g->w + (ky * p->k_w + kx) * p->out_c, g->offsets, acc);
        }
    }
    dw_store4(g, acc, out);
}

/* The outputs [*lo, *hi) along one axis whose windows lie wholly inside the input. */
static void dw_interior(int32_t in, int32_t k, int32_t stride, int32_t pad, int32_t out,
                        int32_t *lo, int32_t *hi)
{
    const int32_t last = in - k + pad; /* o * stride <= last */
    *lo = (pad + stride - 1) / stride;
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > out) {
        *hi = out;
    }
    if (*hi < *lo) {
        *hi = *lo;
    }
}

/* What every pass of the op shares. */
static void dw_op_setup(const tb_native_conv_t *p, dw_pass_t *g)
{
    g->p = p;
    g->offsets = tb_simd_pair(p->input_offset, p->input_offset);
    g->stride = p->in_c;
    g->row = p->in_w * p->in_c;
    g->in_step = p->stride_w * p->in_c;
    g->is3x3 = p->k_h == 3 && p->k_w == 3;
    g->is10x4 = p->k_h == 10 && p->k_w == 4;
    dw_interior(p->in_w, p->k_w, p->stride_w, p->pad_w, p->out_w, &g->ox_lo, &g->ox_hi);
    dw_interior(p->in_h, p->k_h, p->stride_h, p->pad_h, p->out_h, &g->oy_lo, &g->oy_hi);
    if (!g->is3x3 && !g->is10x4) {
        g->ox_lo = g->ox_hi = g->oy_lo = g->oy_hi = 0; /* every pixel takes the general path */
    }
}

/* The pass of channels c0..c0+3: their requantization and (3x3) widened weights. */
static void dw_pass_setup(int32_t c0, dw_pass_t *g)
{
    const tb_native_conv_t *p = g->p;
    int32_t t;
    dw_quant_setup(p, c0, &g->q);
    g->w = p->weights + c0;
    if (g->is3x3) {
        for (t = 0; t < DW_TAPS_3X3; ++t) {
            const uint32_t word = tb_simd_load4(g->w + t * p->out_c);
            g->w3[t] = (uint64_t)tb_sxtb16(word) | ((uint64_t)tb_sxtb16_ror8(word) << 32);
        }
    }
}

/* The window of output pixel (oy, ox) clipped to the input, and its top-left's offset. */
static int32_t dw_window_at(const tb_native_conv_t *p, int32_t oy, int32_t ox, dw_window_t *win)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    tb_conv_window(iy0, p->k_h, p->in_h, &win->ky_lo, &win->ky_hi);
    tb_conv_window(ix0, p->k_w, p->in_w, &win->kx_lo, &win->kx_hi);
    return (iy0 * p->in_w + ix0) * p->in_c;
}

/*
 * The pixels (oy, ox0..ox0+nx) x ny rows from oy, all with the window of their first: the
 * specialised run for it, or the general pixel path one by one.
 */
static void dw_block(const dw_pass_t *g, const int8_t *in_batch, int8_t *out_batch, int32_t oy,
                     int32_t ox0, int32_t nx, int32_t ny)
{
    const tb_native_conv_t *p = g->p;
    dw_window_t win;
    dw_rect_t r;
    const int32_t origin = dw_window_at(p, oy, ox0, &win);
    const int inside =
        win.ky_lo == 0 && win.ky_hi == p->k_h && win.kx_lo == 0 && win.kx_hi == p->k_w;
    int8_t *out = out_batch + (oy * p->out_w + ox0) * p->out_c;
    int32_t j, i;
    if (nx <= 0 || ny <= 0) {
        return;
    }
    r.nx = nx;
    r.ny = ny;
    r.in_dx = g->in_step;
    r.in_dy = p->stride_h * g->row;
    r.out_dx = p->out_c;
    r.out_dy = p->out_w * p->out_c;
    if (g->is3x3 && inside) {
        dw_3x3_run(g, in_batch + origin, out, &r);
    } else if (g->is3x3) {
        dw_3x3_clipped_run(g, in_batch + origin + win.ky_lo * g->row + win.kx_lo * g->stride, out,
                           &r, &win);
    } else if (g->is10x4 && inside) {
        dw_10x4_run(g, in_batch + origin, out, &r);
    } else {
        for (j = 0; j < ny; ++j) {
            for (i = 0; i < nx; ++i) {
                const int32_t at = dw_window_at(p, oy + j, ox0 + i, &win);
                dw_pixel(g, in_batch, at, &win, out + j * r.out_dy + i * r.out_dx);
            }
        }
    }
}

/*
 * One pass of four channels c0..c0+3 over the whole output: the interior rectangle (windows
 * wholly inside the input) in one run, the border columns beside it each in one run of
 * alike-clipped windows, and each border row in one call (3x3; other filters pixel by pixel
 * except the inside columns of a 10x4 row).
 */
static void dw_group(dw_pass_t *pass, const int8_t *input, int8_t *output, int32_t c0)
{
    const dw_pass_t *g = pass;
    const tb_native_conv_t *p = g->p;
    const int32_t ox_lo = g->ox_lo, ox_hi = g->ox_hi, oy_lo = g->oy_lo, oy_hi = g->oy_hi;
    int32_t b, oy, ox;
    dw_pass_setup(c0, pass);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * g->row + c0;
        int8_t *out_batch = output + b * p->out_h * p->out_w * p->out_c + c0;
        if (g->is3x3 && oy_hi - oy_lo <= 1) { /* tiny outputs: fewer calls row by row */
            for (oy = 0; oy < p->out_h; ++oy) {
                dw_3x3_border_row(g, in_batch, out_batch + oy * p->out_w * p->out_c, oy);
            }
            continue;
        }
        dw_block(g, in_batch, out_batch, oy_lo, ox_lo, ox_hi - ox_lo, oy_hi - oy_lo);
        for (ox = 0; ox < p->out_w; ++ox) {
            if (ox == ox_lo && ox_hi > ox_lo) {
                ox = ox_hi - 1;
                continue;
            }
            dw_block(g, in_batch, out_batch, oy_lo, ox, 1, oy_hi - oy_lo);
        }
        for (oy = 0; oy < p->out_h; ++oy) {
            if (oy == oy_lo && oy_hi > oy_lo) {
                oy = oy_hi - 1;
                continue;
            }
            if (g->is3x3) {
                dw_3x3_border_row(g, in_batch, out_batch + oy * p->out_w * p->out_c, oy);
                continue;
            }
            for (ox = 0; ox < p->out_w; ++ox) {
                if (ox == ox_lo && ox_hi > ox_lo) {
                    dw_block(g, in_batch, out_batch, oy, ox, ox_hi - ox_lo, 1);
                    ox = ox_hi - 1;
                    continue;
                }
                dw_block(g, in_batch, out_batch, oy, ox, 1, 1);
            }
        }
    }
}

/* One output channel oc (input channel oc / depth multiplier) over the whole output. */
static void dw_channel(const tb_native_conv_t *p, const int8_t *input, int8_t *output, int32_t oc)
{
    const int32_t ic = oc / p->depth_multiplier;
    int32_t b, oy, ox, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * p->in_c + ic;
        int8_t *out = output + b * p->out_h * p->out_w * p->out_c + oc;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky_lo, ky_hi;
            tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx_lo, kx_hi, acc = 0;
                tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
                for (ky = ky_lo; ky < ky_hi; ++ky) {
                    const int8_t *x = in_batch + (iy0 + ky) * p->in_w * p->in_c;
                    const int8_t *w = p->weights + ky * p->k_w * p->out_c + oc;
                    for (kx = kx_lo; kx < kx_hi; ++kx) {
                        acc += (int32_t)w[kx * p->out_c] *
                               ((int32_t)x[(ix0 + kx) * p->in_c] + p->input_offset);
                    }
                }
                *out = tb_conv_finish(p, acc, oc);
            }
        }
    }
}

uint32_t tb_native_depthwise_conv_scratch_bytes(const tb_native_conv_t *p)
{
    (void)p; /* the widened weights and the constants of a pass live on the stack */
    return 0u;
}

int tb_native_depthwise_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output,
                                void *scratch)
{
    int32_t c = 0;
    (void)scratch;
    if (p->requant_layout != TB_NATIVE_REQUANT_ARRAYS || p->stride_h <= 0 || p->stride_w <= 0 ||
        p->depth_multiplier <= 0 || p->weights == 0 || p->multiplier == 0 || p->shift == 0 ||
        p->out_c != p->in_c * p->depth_multiplier) {
        return -1;
    }
    if (p->depth_multiplier == 1 && p->out_c >= DW_LANES) {
        dw_pass_t g;
        dw_op_setup(p, &g);
        for (; c + DW_LANES <= p->out_c; c += DW_LANES) {
            dw_group(&g, input, output, c);
        }
    }
    for (; c < p->out_c; ++c) {
        dw_channel(p, input, output, c);
    }
    return 0;
}
