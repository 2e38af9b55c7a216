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

/* Two pixels' patches, each L int16. */
uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p)
{
    return (uint32_t)(2 * p->k_h * p->k_w * p->in_c) * (uint32_t)sizeof(int16_t);
}

/* Where tap t lives in the patch: inside a group of four, taps 1 and 2 trade places. */
static int32_t patch_slot(int32_t t, int32_t grouped)
{
    const int32_t lane = t & 3;
    return (t < grouped && (lane == 1 || lane == 2)) ? (t ^ 3) : t;
}

/*
 * n consecutive input bytes, plus the offset, into taps t, t+1, ... of a patch whose first
 * `grouped` taps are grouped by four.
 */
static void expand_run(int16_t *patch, int32_t t, int32_t grouped, const int8_t *src, int32_t n,
                       int32_t offset)
{
    const uint32_t offsets = tb_simd_pair(offset, offset);
    for (; n > 0 && (t & 3) != 0; --n) {
        patch[patch_slot(t++, grouped)] = (int16_t)(*src++ + offset);
    }
    /* t is a multiple of 4 here, so a whole group fits below `grouped` when 4 taps remain. */
    for (; n >= 4; n -= 4) {
        const uint32_t word = tb_simd_load4(src);
        tb_simd_store2x16(patch + t, tb_sxtab16(offsets, word));
        tb_simd_store2x16(patch + t + 2, tb_sxtab16_ror8(offsets, word));
        src += 4;
        t += 4;
    }
    for (; n > 0; --n) {
        patch[patch_slot(t++, grouped)] = (int16_t)(*src++ + offset);
    }
}

/* The patch of output pixel (oy, ox): the window clipped to the input, zeros outside it. */
static void fill_patch(const tb_native_conv_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                       int16_t *patch)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    const int32_t grouped = taps & ~3;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    int32_t ky_lo, ky_hi, kx_lo, kx_hi, ky, run;
    tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
    tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
    if (ky_lo != 0 || ky_hi != p->k_h || kx_lo != 0 || kx_hi != p->k_w) {
        memset(patch, 0, (size_t)taps * sizeof(int16_t));
    }
    run = (kx_hi - kx_lo) * p->in_c; /* NHWC: the window's part of one input row is contiguous */
    for (ky = ky_lo; ky < ky_hi; ++ky) {
        expand_run(patch, (ky * p->k_w + kx_lo) * p->in_c, grouped,
                   in_batch + ((iy0 + ky) * p->in_w + ix0 + kx_lo) * p->in_c, run, p->input_offset);
    }
}

/*
 * Dot products of two patches (x0, x1) with two filters (w0, w1) of `taps` taps:
 * acc[0] = x0.w0, acc[1] = x0.w1, acc[2] = x1.w0, acc[3] = x1.w1.
 */
static void dot_2x2(const int16_t *x0, const int16_t *x1, const int8_t *w0, const int8_t *w1,
                    int32_t taps, int32_t acc[4])
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t groups = taps >> 2;
    int32_t t;
    for (; groups > 0; --groups) {
        const uint32_t raw0 = tb_simd_load4(w0);
        const uint32_t raw1 = tb_simd_load4(w1);
        const uint32_t w0_even = tb_sxtb16(raw0), w0_odd = tb_sxtb16_ror8(raw0);
        const uint32_t w1_even = tb_sxtb16(raw1), w1_odd = tb_sxtb16_ror8(raw1);
        uint32_t even = tb_simd_load2x16(x0);
        uint32_t odd = tb_simd_load2x16(x0 + 2);
        a00 = tb_smlad(even, w0_even, a00);
        a01 = tb_smlad(even, w1_even, a01);
        a00 = tb_smlad(odd, w0_odd, a00);
        a01 = tb_smlad(odd, w1_odd, a01);
        even = tb_simd_load2x16(x1);
        odd = tb_simd_load2x16(x1 + 2);
        a10 = tb_smlad(even, w0_even, a10);
        a11 = tb_smlad(even, w1_even, a11);
        a10 = tb_smlad(odd, w0_odd, a10);
        a11 = tb_smlad(odd, w1_odd, a11);
        w0 += 4;
        w1 += 4;
        x0 += 4;
        x1 += 4;
    }
    for (t = 0; t < (taps & 3); ++t) {
        a00 += (int32_t)x0[t] * w0[t];
        a01 += (int32_t)x0[t] * w1[t];
        a10 += (int32_t)x1[t] * w0[t];
        a11 += (int32_t)x1[t] * w1[t];
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/*
 * tb_conv_finish's result for one accumulator, with the channel's parameters already loaded:
 * tb_fx_mul_high's (product + nudge) / 2^31, truncated, equals floor((product + 2^30) / 2^31)
 * for either sign of the product (for a negative one, truncation is the ceiling of
 * (product + 1 - 2^30) / 2^31), which is one arithmetic shift.
 */
static int8_t finish(const tb_native_conv_t *p, int32_t acc, int32_t bias, int32_t multiplier,
                     int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t x = (int32_t)((uint32_t)(acc + bias) << left);
    int32_t high;
    if (x == INT32_MIN && multiplier == INT32_MIN) {
        high = INT32_MAX;
    } else {
        high = (int32_t)(((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31);
    }
    high = tb_fx_div_pot(high, right) + p->output_offset;
    return (int8_t)tb_conv_clamp(high, p->act_min, p->act_max);
}

/*
 * All output channels of two pixels whose patches are x0 and x1 (out1 == NULL: one pixel;
 * x1 then repeats x0). An odd last channel runs as a pair with itself.
 */
static void conv_pixels(const tb_native_conv_t *p, const int16_t *x0, const int16_t *x1,
                        int8_t *out0, int8_t *out1)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    int32_t oc;
    int32_t acc[4];
    for (oc = 0; oc < p->out_c; oc += 2) {
        const int32_t oc1 = oc + 1 < p->out_c ? oc + 1 : oc;
        const int32_t bias0 = p->bias != 0 ? p->bias[oc] : 0;
        const int32_t bias1 = p->bias != 0 ? p->bias[oc1] : 0;
        const int32_t mult0 = p->multiplier[oc], mult1 = p->multiplier[oc1];
        const int32_t shift0 = p->shift[oc], shift1 = p->shift[oc1];
        dot_2x2(x0, x1, p->weights + oc * taps, p->weights + oc1 * taps, taps, acc);
        out0[oc] = finish(p, acc[0], bias0, mult0, shift0);
        if (oc1 != oc) {
            out0[oc1] = finish(p, acc[1], bias1, mult1, shift1);
        }
        if (out1 != 0) {
            out1[oc] = finish(p, acc[2], bias0, mult0, shift0);
            if (oc1 != oc) {
                out1[oc1] = finish(p, acc[3], bias1, mult1, shift1);
            }
        }
    }
}

/* The patch of one pixel of a 1x1 convolution without padding: its channels, expanded. */
static void fill_pixel(const tb_native_conv_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                       int16_t *patch)
{
    const int8_t *src = in_batch + ((oy * p->stride_h) * p->in_w + ox * p->stride_w) * p->in_c;
    expand_run(patch, 0, p->in_c & ~3, src, p->in_c, p->input_offset);
}

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    const int32_t pixels = p->out_h * p->out_w;
    const int pointwise = p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0;
    int16_t *patch0 = (int16_t *)scratch;
    int16_t *patch1 = patch0 + taps;
    int32_t b, pix;
    if (p->stride_h <= 0 || p->stride_w <= 0 || p->weights == 0 || p->multiplier == 0 ||
        p->shift == 0 || scratch == 0 || taps <= 0) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        int8_t *out_batch = output + (int32_t)(b * pixels * p->out_c);
        for (pix = 0; pix < pixels; pix += 2) {
            const int two = pix + 1 < pixels;
            const int32_t oy0 = pix / p->out_w, ox0 = pix % p->out_w;
            const int32_t oy1 = (pix + 1) / p->out_w, ox1 = (pix + 1) % p->out_w;
            if (pointwise) {
                fill_pixel(p, in_batch, oy0, ox0, patch0);
            } else {
                fill_patch(p, in_batch, oy0, ox0, patch0);
            }
            if (two) {
                if (pointwise) {
                    fill_pixel(p, in_batch, oy1, ox1, patch1);
                } else {
                    fill_patch(p, in_batch, oy1, ox1, patch1);
                }
            }
            conv_pixels(p, patch0, two ? patch1 : patch0, out_batch + pix * p->out_c,
                        two ? out_batch + (pix + 1) * p->out_c : 0);
        }
    }
    return 0;
}
