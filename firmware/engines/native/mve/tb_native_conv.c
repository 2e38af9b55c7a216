/* tb_native_conv.c - int8 CONV_2D with Helium: every output pixel is one dot product per
 * output channel over a contiguous column of the filter's size, four channels per pass. */
#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

/*
 * The column of a pixel is its input patch in filter order [ky][kx][ic]. A 1x1 convolution
 * without padding reads it in place; any other filter copies it into the scratch, with the
 * padding filled by the input zero point, so that (x + input_offset) is 0 there and
 * sum w * (x + offset) == sum w * x + offset * sum w holds for every pixel (exact in int32).
 */
static int conv_is_pointwise(const tb_native_conv_t *p)
{
    return p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0;
}

uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p)
{
    if (conv_is_pointwise(p)) {
        return 0u;
    }
    return ((uint32_t)(p->k_h * p->k_w * p->in_c) + 15u) & ~15u;
}

static void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    const int8x16_t v = vdupq_n_s8(value);
    for (; n > 0; n -= 16) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
        dst += 16;
    }
}

static void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n > 0; n -= 16) {
        const mve_pred16_t lanes = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, lanes), lanes);
        dst += 16;
        src += 16;
    }
}

static void fill_column(const tb_native_conv_t *p, const int8_t *in_batch, int32_t iy0, int32_t ix0,
                        int8_t *col)
{
    const int8_t pad = (int8_t)(-p->input_offset);
    const int32_t row_len = p->k_w * p->in_c;
    int32_t kx_lo, kx_hi, ky;
    tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
    if (kx_hi < kx_lo) {
        kx_hi = kx_lo;
    }
    for (ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky;
        int8_t *dst = col + ky * row_len;
        if (iy < 0 || iy >= p->in_h || kx_hi == kx_lo) {
            fill_bytes(dst, pad, row_len);
            continue;
        }
        fill_bytes(dst, pad, kx_lo * p->in_c);
        copy_bytes(dst + kx_lo * p->in_c, in_batch + (iy * p->in_w + ix0 + kx_lo) * p->in_c,
                   (kx_hi - kx_lo) * p->in_c);
        fill_bytes(dst + kx_hi * p->in_c, pad, (p->k_w - kx_hi) * p->in_c);
    }
}

/* The four filters' weight sums from oc (the plan's, else summed here). */
static int32x4_t filter_sums(const tb_native_conv_t *p, int32_t oc, int32_t left, int32_t n,
                             mve_pred16_t lanes)
{
    int32_t part[4] = { 0, 0, 0, 0 };
    int32_t j;
    if (p->weight_sums != 0) {
        return vldrwq_z_s32(p->weight_sums + oc, lanes);
    }
    for (j = 0; j < left && j < 4; ++j) {
        part[j] = tb_mve_sum(p->weights + (oc + j) * n, n);
    }
    return vld1q_s32(part);
}

/*
 * All output channels of one pixel from its column of n = k_h * k_w * in_c bytes. The plan's
 * fields are read into locals first: every int8 store could alias them otherwise, and GCC
 * would reload them after each.
 */
static void conv_column(const tb_native_conv_t *p, const int8_t *col, int32_t n, int8_t *out)
{
    const int32_t out_c = p->out_c;
    const int32_t input_offset = p->input_offset;
    const int32_t output_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int8_t *weights = p->weights;
    const int32_t *bias = p->bias;
    const int32_t *multiplier = p->multiplier;
    const int32_t *shift = p->shift;
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 4) {
        const int32_t left = out_c - oc;
        const mve_pred16_t lanes = tb_mve_lanes4(left);
        const tb_mve_quant_t q = tb_mve_quant_load(multiplier + oc, shift + oc, lanes);
        int32x4_t acc;
        if (left >= 4) {
            acc = tb_mve_dot4(col, n, weights + oc * n, n);
        } else {
            int32_t part[4] = { 0, 0, 0, 0 };
            int32_t j;
            for (j = 0; j < left; ++j) {
                part[j] = tb_mve_dot1(col, n, weights + (oc + j) * n);
            }
            acc = vld1q_s32(part);
        }
        acc = vmlaq_n_s32(acc, filter_sums(p, oc, left, n, lanes), input_offset);
        if (bias != 0) {
            acc = vaddq_s32(acc, vldrwq_z_s32(bias + oc, lanes));
        }
        tb_mve_store4(out + oc, acc, &q, output_offset, act_min, act_max, lanes);
    }
}

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t n = p->k_h * p->k_w * p->in_c;
    const int pointwise = conv_is_pointwise(p);
    int32_t b, oy, ox;
    if (p->stride_h <= 0 || p->stride_w <= 0 || p->weights == 0 || p->multiplier == 0 ||
        p->shift == 0 || (!pointwise && scratch == 0)) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int8_t *col;
                if (pointwise) {
                    col = in_batch + (iy0 * p->in_w + ix0) * p->in_c;
                } else {
                    fill_column(p, in_batch, iy0, ix0, (int8_t *)scratch);
                    col = (const int8_t *)scratch;
                }
                conv_column(p, col, n, output);
                output += p->out_c;
            }
        }
    }
    return 0;
}
