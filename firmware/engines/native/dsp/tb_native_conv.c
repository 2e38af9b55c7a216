/*
 * tb_native_conv.c (dsp) - int8 CONV_2D with the Arm DSP extension's packed 16-bit
 * multiply-accumulate (SMLAD).
 *
 * For each pair of output pixels the filter window of each pixel (its "patch", the
 * L = k_h * k_w * in_c taps in the weights' [ky][kx][ic] order) is expanded once into
 * scratch as int16 with the input offset already added; taps in the padding are 0, so
 * they add nothing, exactly as reference skips them. Then every pair of output channels
 * runs over both patches at once (2 pixels x 2 channels per pass): each expanded input
 * word serves two channels and each weight word, read as four int8 and widened with
 * SXTB16, serves two pixels. The accumulators are requantized as soon as a pass ends.
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
#else
#define TB_ALWAYS_INLINE inline
#endif

/*
 * Patch layout. Both pixels' patches share one buffer, group by group: group g (taps 4g..4g+3)
 * is 8 int16 at 8g, pixel 0's (t0, t2, t1, t3) then pixel 1's, so one pointer walks both. The
 * last group of a tap count that is not a multiple of 4 holds its taps in order.
 */
static int32_t group_count(const tb_native_conv_t *p)
{
    return (p->k_h * p->k_w * p->in_c + 3) >> 2;
}

uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p)
{
    return (uint32_t)group_count(p) * 8u * (uint32_t)sizeof(int16_t);
}

/* Where tap t of a pixel's patch lives (relative to the pixel's first group). */
static int32_t patch_slot(int32_t t, int32_t grouped)
{
    const int32_t lane = t & 3;
    const int32_t swapped = (t < grouped && (lane == 1 || lane == 2)) ? (lane ^ 3) : lane;
    return (t >> 2) * 8 + swapped;
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
        int16_t *group = patch + (t >> 2) * 8;
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

/* The patch of one pixel of a 1x1 convolution without padding: its channels, expanded. */
static void fill_pixel(const tb_native_conv_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                       int16_t *patch)
{
    const int8_t *src = in_batch + ((oy * p->stride_h) * p->in_w + ox * p->stride_w) * p->in_c;
    expand_run(patch, 0, p->in_c & ~3, src, p->in_c, p->input_offset);
}

/*
 * Dot products of the two pixels' patches with two filters of `taps` taps, w0 and w1 = w0 +
 * w1_offset: acc[0] = x0.w0, acc[1] = x0.w1, acc[2] = x1.w0, acc[3] = x1.w1.
 */
static inline void dot_2x2(const int16_t *x, const int8_t *w0, int32_t w1_offset, int32_t taps,
                           int32_t acc[4])
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t groups = taps >> 2;
    int32_t t;
#if TB_SIMD_NATIVE
    /*
     * The same loop as the C below, in 18 instructions per 16 MACs: the C version needs 23
     * (GCC loads each patch word alone and keeps w1_offset on the stack; with 14 values live
     * there is no register to spare). LDRD needs the patch 4-byte aligned, which the arena's
     * alignment and the planner's 16-byte offsets give; the caller checks.
     */
    if (groups > 0) {
        uint32_t raw0, raw1, even0, even1, xa, xb;
        const int8_t *w = w0;
        __asm__("1:\n\t"
                "ldr %[raw1], [%[w], %[off]]\n\t"
                "ldr %[raw0], [%[w]], #4\n\t"
                "ldrd %[xa], %[xb], [%[x]], #8\n\t"
                "sxtb16 %[even0], %[raw0]\n\t"
                "sxtb16 %[raw0], %[raw0], ror #8\n\t"
                "smlad %[a00], %[xa], %[even0], %[a00]\n\t"
                "smlad %[a00], %[xb], %[raw0], %[a00]\n\t"
                "sxtb16 %[even1], %[raw1]\n\t"
                "sxtb16 %[raw1], %[raw1], ror #8\n\t"
                "smlad %[a01], %[xa], %[even1], %[a01]\n\t"
                "smlad %[a01], %[xb], %[raw1], %[a01]\n\t"
                "ldrd %[xa], %[xb], [%[x]], #8\n\t"
                "smlad %[a10], %[xa], %[even0], %[a10]\n\t"
                "smlad %[a10], %[xb], %[raw0], %[a10]\n\t"
                "smlad %[a11], %[xa], %[even1], %[a11]\n\t"
                "smlad %[a11], %[xb], %[raw1], %[a11]\n\t"
                "subs %[n], %[n], #1\n\t"
                "bne 1b"
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+r"(x),
                  [w] "+r"(w), [n] "+r"(groups), [raw0] "=&r"(raw0), [raw1] "=&r"(raw1),
                  [even0] "=&r"(even0), [even1] "=&r"(even1), [xa] "=&r"(xa), [xb] "=&r"(xb)
                : [off] "r"(w1_offset)
                : "cc", "memory");
        w0 = w;
    }
#else
    for (; groups > 0; --groups) {
        const uint32_t raw0 = tb_simd_load4(w0);
        const uint32_t raw1 = tb_simd_load4(w0 + w1_offset);
        const uint32_t w0_even = tb_sxtb16(raw0), w0_odd = tb_sxtb16_ror8(raw0);
        const uint32_t w1_even = tb_sxtb16(raw1), w1_odd = tb_sxtb16_ror8(raw1);
        uint32_t even = tb_simd_load2x16(x);
        uint32_t odd = tb_simd_load2x16(x + 2);
        a00 = tb_smlad(even, w0_even, a00);
        a00 = tb_smlad(odd, w0_odd, a00);
        a01 = tb_smlad(even, w1_even, a01);
        a01 = tb_smlad(odd, w1_odd, a01);
        even = tb_simd_load2x16(x + 4);
        odd = tb_simd_load2x16(x + 6);
        a10 = tb_smlad(even, w0_even, a10);
        a10 = tb_smlad(odd, w0_odd, a10);
        a11 = tb_smlad(even, w1_even, a11);
        a11 = tb_smlad(odd, w1_odd, a11);
        w0 += 4;
        x += 8;
    }
#endif
    for (t = 0; t < (taps & 3); ++t) {
        const int32_t v0 = w0[t], v1 = w0[w1_offset + t];
        a00 += (int32_t)x[t] * v0;
        a01 += (int32_t)x[t] * v1;
        a10 += (int32_t)x[4 + t] * v0;
        a11 += (int32_t)x[4 + t] * v1;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
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
    int32_t bias, multiplier, left, right, mask, half;
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
    const int32_t threshold = q->half + (int32_t)((uint32_t)high >> 31);
    int32_t out = (high >> q->right) + ((high & q->mask) > threshold ? 1 : 0) + r.offset;
    if (plain) {
        return (int8_t)tb_ssat8(out);
    }
    /* tb_conv_clamp, as two conditional moves rather than branches */
    out = out < r.lo ? r.lo : out;
    out = out > r.hi ? r.hi : out;
    return (int8_t)out;
}

/*
 * All output channels of the two pixels whose patches the buffer holds, into out0 and out1
 * (for a lone last pixel both patches are its own and out1 == out0: pixel 1's stores come
 * first, so pixel 0's stand). Channels go in pairs; an odd last channel runs as a pair with
 * itself (offset 0) and keeps half the results.
 */
static TB_ALWAYS_INLINE void conv_pixels(const tb_native_conv_t *p, const int16_t *patches,
                                         int8_t *out0, int8_t *out1, int plain)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    const int32_t out_c = p->out_c;
    const out_range_t range = { p->output_offset, p->act_min, p->act_max };
    const int8_t *w = p->weights;
    int32_t oc;
    int32_t acc[4];
    requant_t q0, q1;
    for (oc = 0; oc + 2 <= out_c; oc += 2) {
        dot_2x2(patches, w, taps, taps, acc);
        requant_load(p, oc, &q0);
        requant_load(p, oc + 1, &q1);
        out1[oc] = requant_apply(&q0, range, acc[2], plain);
        out1[oc + 1] = requant_apply(&q1, range, acc[3], plain);
        out0[oc] = requant_apply(&q0, range, acc[0], plain);
        out0[oc + 1] = requant_apply(&q1, range, acc[1], plain);
        w += 2 * taps;
    }
    if (oc < out_c) {
        dot_2x2(patches, w, 0, taps, acc);
        requant_load(p, oc, &q0);
        out1[oc] = requant_apply(&q0, range, acc[2], plain);
        out0[oc] = requant_apply(&q0, range, acc[0], plain);
    }
}

static void conv_pixels_plain(const tb_native_conv_t *p, const int16_t *patches, int8_t *out0,
                              int8_t *out1)
{
    conv_pixels(p, patches, out0, out1, 1);
}

static void conv_pixels_narrow(const tb_native_conv_t *p, const int16_t *patches, int8_t *out0,
                               int8_t *out1)
{
    conv_pixels(p, patches, out0, out1, 2);
}

static void conv_pixels_general(const tb_native_conv_t *p, const int16_t *patches, int8_t *out0,
                                int8_t *out1)
{
    conv_pixels(p, patches, out0, out1, 0);
}

/* The same for a plan with a multiplier of INT32_MIN: tb_conv_finish itself. */
static void conv_pixels_exact(const tb_native_conv_t *p, const int16_t *patches, int8_t *out0,
                              int8_t *out1)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    int32_t oc;
    int32_t acc[4];
    for (oc = 0; oc < p->out_c; ++oc) {
        dot_2x2(patches, p->weights + oc * taps, 0, taps, acc);
        out1[oc] = tb_conv_finish(p, acc[2], oc);
        out0[oc] = tb_conv_finish(p, acc[0], oc);
    }
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

typedef void (*conv_pixels_fn)(const tb_native_conv_t *, const int16_t *, int8_t *, int8_t *);

/* The fastest requantization whose results equal tb_conv_finish's for this op's parameters. */
static conv_pixels_fn pick_requantization(const tb_native_conv_t *p)
{
    int plain = p->act_min == -128 && p->act_max == 127;
    int32_t oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        if (p->multiplier[oc] == INT32_MIN) {
            return conv_pixels_exact;
        }
        plain &= p->shift[oc] <= 0;
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
    int16_t *patches = (int16_t *)scratch;
    conv_pixels_fn run_pixels;
    int32_t b, pix, k;
    if (p->stride_h <= 0 || p->stride_w <= 0 || p->weights == 0 || p->multiplier == 0 ||
        p->shift == 0 || scratch == 0 || ((uintptr_t)scratch & 3u) != 0u || group_count(p) <= 0) {
        return -1;
    }
    run_pixels = pick_requantization(p);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        int8_t *out_batch = output + (int32_t)(b * pixels * p->out_c);
        for (pix = 0; pix < pixels; pix += 2) {
            const int32_t second = pix + 1 < pixels ? pix + 1 : pix; /* a lone last pixel twice */
            const int32_t at[2] = { pix, second };
            if (pointwise) {
                for (k = 0; k < 2; ++k) {
                    fill_pixel(p, in_batch, at[k] / p->out_w, at[k] % p->out_w, patches + 4 * k);
                }
            } else {
                if (!window_inside(p, pix / p->out_w, pix % p->out_w) ||
                    !window_inside(p, second / p->out_w, second % p->out_w)) {
                    memset(patches, 0, tb_native_conv_scratch_bytes(p)); /* padding taps: 0 */
                }
                for (k = 0; k < 2; ++k) {
                    fill_patch(p, in_batch, at[k] / p->out_w, at[k] % p->out_w, patches + 4 * k);
                }
            }
            run_pixels(p, patches, out_batch + pix * p->out_c, out_batch + second * p->out_c);
        }
    }
    return 0;
}
