/*
 * tb_native_conv.c (dsp) - int8 CONV_2D with the Arm DSP extension's packed 16-bit
 * multiply-accumulate (SMLAD).
 *
 * For each six output pixels the filter window of each pixel (its "patch", the
 * L = k_h * k_w * in_c taps in the weights' [ky][kx][ic] order) is expanded once into
 * scratch as int16 with the input offset already added; taps in the padding are 0, so
 * they add nothing, exactly as reference skips them. Then every output channel runs over
 * the six patches at once (6 pixels x 1 channel per pass): each weight word, read as four
 * int8 and widened with SXTB16, serves six pixels, and the channel's requantization,
 * loaded once, serves six outputs, requantized as soon as the pass ends.
 *
 * SXTB16 of a weight word gives its bytes 0 and 2, SXTB16 ROR 8 bytes 1 and 3, so the
 * patch stores every group of four taps as (t0, t2), (t1, t3): one SMLAD per half of a
 * group. What sxtab16 makes of a word of input is that layout already. The last L % 4
 * taps are stored in order and summed one by one.
 *
 * A 1x1 convolution without padding has no window: the pixel's channels are the patch,
 * expanded straight from the input row, with no clipping to compute.
 */
#include <string.h>

#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"
#include "tb_native_simd.h"

/* conv_pixels is specialised per requantization by inlining it into one wrapper each. */
#if defined(__GNUC__)
#define TB_ALWAYS_INLINE inline __attribute__((always_inline))
#define TB_NOINLINE __attribute__((noinline))
#else
#define TB_ALWAYS_INLINE inline
#define TB_NOINLINE
#endif

/* Output pixels per pass. */
#define PIXELS 6

/*
 * Patch layout. The PIXELS patches share one buffer, group by group: group g (taps 4g..4g+3)
 * is 4 * PIXELS int16 at 24g, pixel 0's (t0, t2, t1, t3), then pixel 1's, ..., so one pointer
 * walks all of them. The last group of a tap count that is not a multiple of 4 holds its taps
 * in order.
 */
static int32_t group_count(const tb_native_conv_t *p)
{
    return (p->k_h * p->k_w * p->in_c + 3) >> 2;
}

uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p)
{
    return (uint32_t)group_count(p) * 4u * PIXELS * (uint32_t)sizeof(int16_t);
}

/* Where tap t of a pixel's patch lives (relative to the pixel's first group). */
static int32_t patch_slot(int32_t t, int32_t grouped)
{
    const int32_t lane = t & 3;
    const int32_t swapped = (t < grouped && (lane == 1 || lane == 2)) ? (lane ^ 3) : lane;
    return (t >> 2) * 4 * PIXELS + swapped;
}

/*
 * n consecutive input bytes, plus the offset, into taps t, t+1, ... of the pixel patch at
 * `patch`, whose first `grouped` taps are grouped by four.
 */
static inline void expand_run(int16_t *patch, int32_t t, int32_t grouped, const int8_t *src,
                              int32_t n, int32_t offset)
{
    const uint32_t offsets = tb_simd_pair(offset, offset);
    for (; n > 0 && (t & 3) != 0; --n) {
        patch[patch_slot(t++, grouped)] = (int16_t)(*src++ + offset);
    }
    /* t is a multiple of 4 here, so a whole group fits below `grouped` when 4 taps remain. */
    for (; n >= 4; n -= 4) {
        const uint32_t word = tb_simd_load4(src);
        int16_t *group = patch + (t >> 2) * 4 * PIXELS;
        tb_simd_store2x16(group, tb_sxtab16(offsets, word));
        tb_simd_store2x16(group + 2, tb_sxtab16_ror8(offsets, word));
        src += 4;
        t += 4;
    }
    for (; n > 0; --n) {
        patch[patch_slot(t++, grouped)] = (int16_t)(*src++ + offset);
    }
}

/* Whether output pixel (oy, ox)'s window lies wholly inside the input. */
static int window_inside(const tb_native_conv_t *p, int32_t oy, int32_t ox)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    return iy0 >= 0 && ix0 >= 0 && iy0 + p->k_h <= p->in_h && ix0 + p->k_w <= p->in_w;
}

/* The patch of output pixel (oy, ox): its window clipped to the input (the rest stays 0). */
static void fill_patch(const tb_native_conv_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                       int16_t *patch)
{
    const int32_t grouped = (p->k_h * p->k_w * p->in_c) & ~3;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    int32_t ky_lo, ky_hi, kx_lo, kx_hi, ky, run;
    tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
    tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
    run = (kx_hi - kx_lo) * p->in_c; /* NHWC: the window's part of one input row is contiguous */
    for (ky = ky_lo; ky < ky_hi; ++ky) {
        expand_run(patch, (ky * p->k_w + kx_lo) * p->in_c, grouped,
                   in_batch + ((iy0 + ky) * p->in_w + ix0 + kx_lo) * p->in_c, run, p->input_offset);
    }
}

/*
 * Windows whose rows are not whole groups of four taps (k_w * in_c % 4 != 0: vww01's and
 * ic01's first 3x3 convs on three channels, 9 bytes a row) and of at most GATHER_TAPS taps:
 * an inside window is first copied row by row, a word at a time, into one int8 run, which is
 * then expanded group by group. Expanded row by row, most of its taps were stored one by one.
 */
#define GATHER_TAPS 64

static int gathers(const tb_native_conv_t *p)
{
    return ((p->k_w * p->in_c) & 3) != 0 && p->k_h * p->k_w * p->in_c <= GATHER_TAPS;
}

static void fill_patch_gathered(const tb_native_conv_t *p, const int8_t *in_batch, int32_t oy,
                                int32_t ox, int16_t *patch)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    const int32_t run = p->k_w * p->in_c;
    const int32_t row = p->in_w * p->in_c;
    const int8_t *src =
        in_batch +
        ((oy * p->stride_h - p->pad_h) * p->in_w + ox * p->stride_w - p->pad_w) * p->in_c;
    uint32_t words[(GATHER_TAPS + 4) / 4];
    int8_t *run_at = (int8_t *)words;
    int32_t ky, i;
    for (ky = 0; ky < p->k_h; ++ky, src += row, run_at += run) {
        for (i = 0; i + 4 <= run; i += 4) {
            const uint32_t word = tb_simd_load4(src + i);
            memcpy(run_at + i, &word, sizeof word);
        }
        for (; i < run; ++i) { /* not a word: the input may end after the window's last byte */
            run_at[i] = src[i];
        }
    }
    expand_run(patch, 0, taps & ~3, (const int8_t *)words, taps, p->input_offset);
}

/* The patch of one pixel of a 1x1 convolution without padding: its channels, expanded. */
static void fill_pixel(const tb_native_conv_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                       int16_t *patch)
{
    const int8_t *src = in_batch + ((oy * p->stride_h) * p->in_w + ox * p->stride_w) * p->in_c;
    expand_run(patch, 0, p->in_c & ~3, src, p->in_c, p->input_offset);
}

/*
 * Dot products of the PIXELS (6) patches with one filter of `taps` taps, each started at
 * `start`: acc[k] = start + x_k . w.
 */
static TB_ALWAYS_INLINE void dot_6x1(const int16_t *x, const int8_t *w, int32_t taps, int32_t start,
                                     int32_t acc[6])
{
    int32_t a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start;
    int32_t groups = taps >> 2;
    int32_t t;
#if TB_SIMD_NATIVE
    /*
     * The same loop as the C below, two groups per turn (an odd count enters at the second):
     * 44 instructions per 48 MACs, each weight word widened once for six pixels, 13 registers.
     * LDRD needs the patches 4-byte aligned, which the arena's alignment and the planner's
     * 16-byte offsets give; the caller checks.
     */
#define TB_CONV_PIXEL(a)                                                                           \
    "ldrd %[xa], %[xb], [%[x]], #8\n\t"                                                            \
    "smlad %[" a "], %[xa], %[even], %[" a "]\n\t"                                                 \
    "smlad %[" a "], %[xb], %[raw], %[" a "]\n\t"
#define TB_CONV_GROUP                                                                              \
    "ldr %[raw], [%[w]], #4\n\t"                                                                   \
    "sxtb16 %[even], %[raw]\n\t"                                                                   \
    "sxtb16 %[raw], %[raw], ror #8\n\t" TB_CONV_PIXEL("a0") TB_CONV_PIXEL("a1")                    \
        TB_CONV_PIXEL("a2") TB_CONV_PIXEL("a3") TB_CONV_PIXEL("a4") TB_CONV_PIXEL("a5")
    if (groups > 0) {
        uint32_t raw, even, xa, xb;
        int32_t turns = groups;
        __asm__("lsrs %[n], %[n], #1\n\t"
                "bcc 1f\n\t"
                "adds %[n], %[n], #1\n\t"
                "b 2f\n\t"
                "1:\n\t" TB_CONV_GROUP "2:\n\t" TB_CONV_GROUP "subs %[n], %[n], #1\n\t"
                "bne 1b"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4),
                  [a5] "+r"(a5), [x] "+r"(x), [w] "+r"(w), [n] "+r"(turns), [raw] "=&r"(raw),
                  [even] "=&r"(even), [xa] "=&r"(xa), [xb] "=&r"(xb)
                :
                : "cc", "memory");
    }
#undef TB_CONV_GROUP
#undef TB_CONV_PIXEL
#else
    for (; groups > 0; --groups) {
        const uint32_t raw = tb_simd_load4(w);
        const uint32_t even = tb_sxtb16(raw), odd = tb_sxtb16_ror8(raw);
        a0 = tb_smlad(tb_simd_load2x16(x + 2), odd, tb_smlad(tb_simd_load2x16(x), even, a0));
        a1 = tb_smlad(tb_simd_load2x16(x + 6), odd, tb_smlad(tb_simd_load2x16(x + 4), even, a1));
        a2 = tb_smlad(tb_simd_load2x16(x + 10), odd, tb_smlad(tb_simd_load2x16(x + 8), even, a2));
        a3 = tb_smlad(tb_simd_load2x16(x + 14), odd, tb_smlad(tb_simd_load2x16(x + 12), even, a3));
        a4 = tb_smlad(tb_simd_load2x16(x + 18), odd, tb_smlad(tb_simd_load2x16(x + 16), even, a4));
        a5 = tb_smlad(tb_simd_load2x16(x + 22), odd, tb_smlad(tb_simd_load2x16(x + 20), even, a5));
        w += 4;
        x += 24;
    }
#endif
    for (t = 0; t < (taps & 3); ++t) {
        const int32_t v = w[t];
        a0 += (int32_t)x[t] * v;
        a1 += (int32_t)x[4 + t] * v;
        a2 += (int32_t)x[8 + t] * v;
        a3 += (int32_t)x[12 + t] * v;
        a4 += (int32_t)x[16 + t] * v;
        a5 += (int32_t)x[20 + t] * v;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = a4;
    acc[5] = a5;
}

/*
 * One channel's requantization, loaded once per pass and applied to both pixels: what
 * tb_conv_finish computes, in fewer instructions. tb_fx_mul_high's (product + nudge) / 2^31,
 * truncated, equals floor((product + 2^30) / 2^31) for either sign of the product (for a
 * negative one, truncation is the ceiling of (product + 1 - 2^30) / 2^31), which is one
 * arithmetic shift; its saturation needs a multiplier of INT32_MIN, which QuantizeMultiplier
 * never gives (tb_native_conv_s8 sends such a plan to tb_conv_finish). The rounding shift is
 * tb_fx_div_pot with its mask and half mask computed once.
 */
typedef struct {
    int32_t bias, multiplier, left, right, mask, half, half_up, negative;
} requant_t;

/* The output's zero point and activation clamp, held in locals: every int8 store may alias *p. */
typedef struct {
    int32_t offset, lo, hi;
} out_range_t;

static inline void requant_load(const tb_native_conv_t *p, int32_t c, requant_t *q)
{
    const int32_t shift = p->shift[c];
    q->bias = p->bias != 0 ? p->bias[c] : 0;
    q->multiplier = p->multiplier[c];
    q->left = (int32_t)((uint32_t)shift & ~(uint32_t)(shift >> 31)); /* shift > 0 ? shift : 0 */
    q->right = q->left - shift;
    q->mask = (int32_t)((1u << q->right) - 1u);
    q->half = q->mask >> 1;
    q->half_up = q->mask - q->half; /* 2^(right-1), or 0 */
    q->negative = q->right > 0 ? -1 : 0;
}

/*
 * `plain` (chosen per op by pick_requantization): 0, the general case; 1, every shift <= 0 (no
 * left shift) and the activation clamps to [-128, 127], which is then one SSAT; 2, plain and
 * |acc + bias| < 2^30 for any input, so tb_fx_mul_high is one SMMULR: floor((x * m + 2^30) /
 * 2^31) = floor((2x * m + 2^31) / 2^32) when 2x fits in int32 (2x = 2 * acc + 2 * bias is
 * one instruction). The four models' convolutions are all 2.
 */
static inline int8_t requant_apply(const requant_t *q, out_range_t r, int32_t acc, int plain)
{
    int32_t high;
    if (plain == 2) {
        high = tb_smmulr(2 * acc + 2 * q->bias, q->multiplier);
    } else {
        const int32_t x = plain ? acc + q->bias : (int32_t)((uint32_t)(acc + q->bias) << q->left);
        high = (int32_t)(((int64_t)x * q->multiplier + ((int64_t)1 << 30)) >> 31);
    }
    int32_t out;
    if (plain == 2) {
        /*
         * tb_fx_div_pot without its compare (|high| < 2^30 here, so nothing overflows):
         * rounding half away from zero is floor((high + 2^(right-1) - (high < 0)) / 2^right)
         * for right >= 1; for right == 0 half_up and negative are 0 and high stays as it is.
         */
        out = ((high + q->half_up + ((high >> 31) & q->negative)) >> q->right) + r.offset;
    } else {
        const int32_t threshold = q->half + (int32_t)((uint32_t)high >> 31);
        out = (high >> q->right) + ((high & q->mask) > threshold ? 1 : 0) + r.offset;
    }
    if (plain) {
        return (int8_t)tb_ssat8(out);
    }
    /* tb_conv_clamp, as two conditional moves rather than branches */
    out = out < r.lo ? r.lo : out;
    out = out > r.hi ? r.hi : out;
    return (int8_t)out;
}

/*
 * All output channels of the six pixels whose patches the buffer holds, into out0..out5 (a
 * pixel computed twice, in an image of fewer than six, has the same patch and stores the same
 * bytes).
 */
#define TB_CONV_PIXELS_ARGS                                                                        \
    const tb_native_conv_t *p, const int16_t *patches, int8_t *out0, int8_t *out1, int8_t *out2,   \
        int8_t *out3, int8_t *out4, int8_t *out5
#define TB_CONV_PIXELS_PASS p, patches, out0, out1, out2, out3, out4, out5

static TB_ALWAYS_INLINE void conv_pixels(TB_CONV_PIXELS_ARGS, int plain)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    const int32_t out_c = p->out_c;
    const out_range_t range = { p->output_offset, p->act_min, p->act_max };
    const int8_t *w = p->weights;
    int32_t oc;
    int32_t acc[PIXELS];
    requant_t q;
    for (oc = 0; oc < out_c; ++oc) {
        dot_6x1(patches, w, taps, 0, acc);
        requant_load(p, oc, &q);
        out5[oc] = requant_apply(&q, range, acc[5], plain);
        out4[oc] = requant_apply(&q, range, acc[4], plain);
        out3[oc] = requant_apply(&q, range, acc[3], plain);
        out2[oc] = requant_apply(&q, range, acc[2], plain);
        out1[oc] = requant_apply(&q, range, acc[1], plain);
        out0[oc] = requant_apply(&q, range, acc[0], plain);
        w += taps;
    }
}

static void conv_pixels_plain(TB_CONV_PIXELS_ARGS)
{
    conv_pixels(TB_CONV_PIXELS_PASS, 1);
}

static void conv_pixels_narrow(TB_CONV_PIXELS_ARGS)
{
    conv_pixels(TB_CONV_PIXELS_PASS, 2);
}

static void conv_pixels_general(TB_CONV_PIXELS_ARGS)
{
    conv_pixels(TB_CONV_PIXELS_PASS, 0);
}

/* The same for a plan with a multiplier of INT32_MIN: tb_conv_finish itself. */
static void conv_pixels_exact(TB_CONV_PIXELS_ARGS)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    int32_t oc;
    int32_t acc[PIXELS];
    for (oc = 0; oc < p->out_c; ++oc) {
        dot_6x1(patches, p->weights + oc * taps, taps, 0, acc);
        out5[oc] = tb_conv_finish(p, acc[5], oc);
        out4[oc] = tb_conv_finish(p, acc[4], oc);
        out3[oc] = tb_conv_finish(p, acc[3], oc);
        out2[oc] = tb_conv_finish(p, acc[2], oc);
        out1[oc] = tb_conv_finish(p, acc[1], oc);
        out0[oc] = tb_conv_finish(p, acc[0], oc);
    }
}

/*
 * The fused requantization of the depthwise kernel (its top comment has the proof), for a
 * channel with a right shift e in [2, 31] and a multiplier of 0 or in [2^30, 2^31), with the
 * int8 clamp: tb_conv_finish(acc) = SSAT8((S >> (31 + e)) + output_offset), x = acc + bias,
 *     S = x * m + 2^30 + 2^(30+e) - (x < 0 ? 2^31 : 0).
 * For e >= 2 the constant's low word is 2^30 alone, so S starts with a low word of 2^30, or
 * of 2^30 + 2^31 with a borrow of 1 from the high word when x < 0: the sign bit of x or-ed
 * into 2^30, and a high word of high_k + (x >> 31), high_k = 2^(e-2). When every channel of
 * the op has e <= 23 the output offset folds in too (high_k += output_offset * 2^(e-1), which
 * then fits in 32 bits). The bias starts the accumulators; per output AND, ORR, ADD, SMLAL,
 * ASR, (ADD,) SSAT, STRB. vww01's layers from op 10 on have many channels of tiny scale
 * (e 24-31, biases near -2^30) and a few with e <= 1; those take tb_conv_finish.
 */
typedef struct {
    int32_t high, multiplier, shift; /* high_k, m, e - 1 */
} fused_t;

/* max_e: 23 (the offset folded) or 31. */
static int fusable(int32_t multiplier, int32_t shift, int32_t max_e)
{
    return shift <= -2 && shift >= -max_e && (multiplier == 0 || multiplier >= (INT32_C(1) << 30));
}

static inline void fused_load(const tb_native_conv_t *p, int32_t c, int fold, fused_t *f)
{
    const int32_t e = -p->shift[c];
    const uint32_t offset = fold ? (uint32_t)p->output_offset << (e - 1) : 0u;
    f->high = (int32_t)((1u << (e - 2)) + offset);
    f->multiplier = p->multiplier[c];
    f->shift = e - 1;
}

static inline int8_t fused_apply(const fused_t *f, int32_t x, int32_t late_offset)
{
    const uint32_t low = 0x40000000u | ((uint32_t)x & 0x80000000u);
    const uint32_t high = (uint32_t)f->high + (uint32_t)(x >> 31);
    const int64_t sum = (int64_t)(((uint64_t)high << 32) | low) + (int64_t)x * f->multiplier;
    return (int8_t)tb_ssat8(((int32_t)(sum >> 32) >> f->shift) + late_offset);
}

#if TB_SIMD_NATIVE && defined(__OPTIMIZE__)
/* One output: x is the accumulator, `at` the store's address operand, `add` "" or the offset's. */
#define TB_FUSED_ASM(x, at, add)                                                                   \
    "and %[lo], %[" x "], #0x80000000\n\t"                                                         \
    "orr %[lo], %[lo], #0x40000000\n\t"                                                            \
    "add %[hi], %[high], %[" x "], asr #31\n\t"                                                    \
    "smlal %[lo], %[hi], %[" x "], %[m]\n\t"                                                       \
    "asr %[hi], %[hi], %[sh]\n\t" add "ssat %[hi], #8, %[hi]\n\t"                                  \
    "strb %[hi], " at "\n\t"
#define TB_FUSED_SIX(add)                                                                          \
    TB_FUSED_ASM("a0", "[%[o]]", add)                                                              \
    TB_FUSED_ASM("a1", "[%[o], %[s]]", add)                                                        \
    "add %[o], %[o], %[s], lsl #1\n\t" TB_FUSED_ASM("a2", "[%[o]]", add)                           \
        TB_FUSED_ASM("a3", "[%[o], %[s]]", add) "add %[o], %[o], %[s], lsl #1\n\t" TB_FUSED_ASM(   \
            "a4", "[%[o]]", add) TB_FUSED_ASM("a5", "[%[o], %[s]]", add)
#define TB_FUSED_OPERANDS                                                                          \
    [a0] "r"(acc[0]), [a1] "r"(acc[1]), [a2] "r"(acc[2]), [a3] "r"(acc[3]), [a4] "r"(acc[4]),      \
        [a5] "r"(acc[5]), [high] "r"(f.high), [m] "r"(f.multiplier), [sh] "r"(f.shift),            \
        [s] "r"(out_c)
#endif

/*
 * A channel the fused form does not cover: tb_conv_finish of its six x = acc + bias (by value,
 * so that the fused path's accumulators stay in registers).
 */
static TB_NOINLINE void finish_channel(const tb_native_conv_t *p, int32_t oc, int8_t *out,
                                       int32_t x0, int32_t x1, int32_t x2, int32_t x3, int32_t x4,
                                       int32_t x5)
{
    const int32_t x[PIXELS] = { x0, x1, x2, x3, x4, x5 };
    const uint32_t bias = p->bias != 0 ? (uint32_t)p->bias[oc] : 0u;
    int32_t k;
    for (k = 0; k < PIXELS; ++k) {
        out[k * p->out_c] = tb_conv_finish(p, (int32_t)((uint32_t)x[k] - bias), oc);
    }
}

/*
 * All output channels of six consecutive output pixels (out0, out0 + out_c, ...), the fused
 * requantization. Written out on DSP cores: from C, GCC kept the six output pointers on the
 * stack (two memory accesses per output); here one pointer and the pixel stride address all
 * six. fold: every channel has e in [2, 23] (the offset folded, no per-channel test).
 */
static TB_ALWAYS_INLINE void conv_pixels_fused(TB_CONV_PIXELS_ARGS, const int fold)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    const int32_t out_c = p->out_c;
    const int32_t offset = p->output_offset;
    const int8_t *w = p->weights;
    int8_t *out = out0;
    int32_t oc;
    int32_t acc[PIXELS];
    fused_t f;
    (void)out1;
    (void)out2;
    (void)out3;
    (void)out4;
    (void)out5;
    for (oc = 0; oc < out_c; ++oc, w += taps, ++out) {
        dot_6x1(patches, w, taps, p->bias != 0 ? p->bias[oc] : 0, acc);
        if (!fold && !fusable(p->multiplier[oc], p->shift[oc], 31)) {
            finish_channel(p, oc, out, acc[0], acc[1], acc[2], acc[3], acc[4], acc[5]);
            continue;
        }
        fused_load(p, oc, fold, &f);
#if TB_SIMD_NATIVE && defined(__OPTIMIZE__)
        {
            uint32_t lo, hi;
            if (fold) {
                __asm__ __volatile__(TB_FUSED_SIX("")
                                     : [lo] "=&r"(lo), [hi] "=&r"(hi), [o] "+r"(out)
                                     : TB_FUSED_OPERANDS
                                     : "memory");
            } else {
#if defined(__ARM_FEATURE_MVE)
                /* GCC finds no 14th register on Cortex-M55: the offset is read from the stack */
                __asm__ __volatile__(
                    TB_FUSED_SIX("ldr %[lo], %[off]\n\tadd %[hi], %[hi], %[lo]\n\t")
                    : [lo] "=&r"(lo), [hi] "=&r"(hi), [o] "+r"(out)
                    : TB_FUSED_OPERANDS, [off] "m"(offset)
                    : "memory");
#else
                __asm__ __volatile__(TB_FUSED_SIX("add %[hi], %[hi], %[off]\n\t")
                                     : [lo] "=&r"(lo), [hi] "=&r"(hi), [o] "+r"(out)
                                     : TB_FUSED_OPERANDS, [off] "r"(offset)
                                     : "memory");
#endif
            }
            out -= 4 * out_c;
        }
#else
        {
            const int32_t late = fold ? 0 : offset;
            int32_t k;
            for (k = 0; k < PIXELS; ++k) {
                out[k * out_c] = fused_apply(&f, acc[k], late);
            }
        }
#endif
    }
}

static void conv_pixels_folded(TB_CONV_PIXELS_ARGS)
{
    conv_pixels_fused(TB_CONV_PIXELS_PASS, 1);
}

static void conv_pixels_late_offset(TB_CONV_PIXELS_ARGS)
{
    conv_pixels_fused(TB_CONV_PIXELS_PASS, 0);
}

/* Whether |acc + bias| < 2^30 for every input: |x + input_offset| <= 255, |w| <= 128. */
static int accumulators_narrow(const tb_native_conv_t *p)
{
    const int64_t acc_max = (int64_t)p->k_h * p->k_w * p->in_c * 255 * 128;
    int32_t oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int64_t bias = p->bias != 0 ? p->bias[oc] : 0;
        if (acc_max + (bias < 0 ? -bias : bias) >= ((int64_t)1 << 30)) {
            return 0;
        }
    }
    return 1;
}

typedef void (*conv_pixels_fn)(TB_CONV_PIXELS_ARGS);

/*
 * The fastest requantization whose results equal tb_conv_finish's for this op's parameters
 * (the fused one needs an image of at least PIXELS pixels: the six of a pass consecutive).
 */
static conv_pixels_fn pick_requantization(const tb_native_conv_t *p, int32_t pixels)
{
    int plain = p->act_min == -128 && p->act_max == 127;
    int fold = 1, fused = 0;
    int32_t oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        if (p->multiplier[oc] == INT32_MIN) {
            return conv_pixels_exact;
        }
        plain &= p->shift[oc] <= 0;
        fold &= fusable(p->multiplier[oc], p->shift[oc], 23);
        fused |= fusable(p->multiplier[oc], p->shift[oc], 31);
    }
    if (p->act_min == -128 && p->act_max == 127 && pixels >= PIXELS && fused) {
        return fold ? conv_pixels_folded : conv_pixels_late_offset;
    }
    if (!plain) {
        return conv_pixels_general;
    }
    return accumulators_narrow(p) ? conv_pixels_narrow : conv_pixels_plain;
}

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t pixels = p->out_h * p->out_w;
    const int pointwise = p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0;
    const int gather = gathers(p);
    int16_t *patches = (int16_t *)scratch;
    conv_pixels_fn run_pixels;
    int32_t b, pix, k;
    if (p->requant_layout != TB_NATIVE_REQUANT_ARRAYS || p->stride_h <= 0 || p->stride_w <= 0 ||
        p->weights == 0 || p->multiplier == 0 || p->shift == 0 || scratch == 0 ||
        ((uintptr_t)scratch & 3u) != 0u || group_count(p) <= 0) {
        return -1;
    }
    run_pixels = pick_requantization(p, pixels);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        int8_t *out_batch = output + (int32_t)(b * pixels * p->out_c);
        for (pix = 0; pix < pixels; pix += PIXELS) {
            /* The last pass ends at the last pixel, redoing some of the previous pass's (the same
             * bytes again) rather than leaving slots idle; in an image of fewer than PIXELS
             * pixels the last one repeats. */
            const int32_t first = pix + PIXELS <= pixels || pixels < PIXELS ? pix : pixels - PIXELS;
            int32_t at[PIXELS];
            int inside = 1;
            for (k = 0; k < PIXELS; ++k) {
                at[k] = first + k < pixels ? first + k : pixels - 1;
                inside =
                    inside && (pointwise || window_inside(p, at[k] / p->out_w, at[k] % p->out_w));
            }
            if (!inside) {
                memset(patches, 0, tb_native_conv_scratch_bytes(p)); /* padding taps: 0 */
            }
            for (k = 0; k < PIXELS; ++k) {
                if (pointwise) {
                    fill_pixel(p, in_batch, at[k] / p->out_w, at[k] % p->out_w, patches + 4 * k);
                } else if (inside && gather) {
                    fill_patch_gathered(p, in_batch, at[k] / p->out_w, at[k] % p->out_w,
                                        patches + 4 * k);
                } else {
                    fill_patch(p, in_batch, at[k] / p->out_w, at[k] % p->out_w, patches + 4 * k);
                }
            }
            run_pixels(p, patches, out_batch + at[0] * p->out_c, out_batch + at[1] * p->out_c,
                       out_batch + at[2] * p->out_c, out_batch + at[3] * p->out_c,
                       out_batch + at[4] * p->out_c, out_batch + at[5] * p->out_c);
        }
    }
    return 0;
}
