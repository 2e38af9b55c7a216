/* tb_native_conv.c - int8 CONV_2D with per-channel requantization. */
#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"

/* All output channels of one pixel whose filter window lies wholly inside the input. */
static void conv_pixel_full(const tb_native_conv_t *p, const int8_t *patch, int8_t *out)
{
    const int32_t row_len = p->k_w * p->in_c;
    const int32_t in_stride = p->in_w * p->in_c;
    const int32_t filter_stride = p->k_h * row_len;
    int32_t oc = 0;
    int32_t ky, i;
    /* Four channels at a time share every input load. */
    for (; oc + 4 <= p->out_c; oc += 4) {
        const int8_t *f0 = p->weights + oc * filter_stride;
        const int8_t *f1 = f0 + filter_stride;
        const int8_t *f2 = f1 + filter_stride;
        const int8_t *f3 = f2 + filter_stride;
        int32_t a0 = p->input_offset * p->weight_sums[oc];
        int32_t a1 = p->input_offset * p->weight_sums[oc + 1];
        int32_t a2 = p->input_offset * p->weight_sums[oc + 2];
        int32_t a3 = p->input_offset * p->weight_sums[oc + 3];
        for (ky = 0; ky < p->k_h; ++ky) {
            const int8_t *x = patch + ky * in_stride;
            const int32_t base = ky * row_len;
            for (i = 0; i < row_len; ++i) {
                const int32_t v = x[i];
                a0 += (int32_t)f0[base + i] * v;
                a1 += (int32_t)f1[base + i] * v;
                a2 += (int32_t)f2[base + i] * v;
                a3 += (int32_t)f3[base + i] * v;
            }
        }
        out[oc] = tb_conv_finish(p, a0, oc);
        out[oc + 1] = tb_conv_finish(p, a1, oc + 1);
        out[oc + 2] = tb_conv_finish(p, a2, oc + 2);
        out[oc + 3] = tb_conv_finish(p, a3, oc + 3);
    }
    for (; oc < p->out_c; ++oc) {
        const int8_t *f = p->weights + oc * filter_stride;
        int32_t acc = p->input_offset * p->weight_sums[oc];
        for (ky = 0; ky < p->k_h; ++ky) {
            const int8_t *x = patch + ky * in_stride;
            const int8_t *w = f + ky * row_len;
            for (i = 0; i < row_len; ++i) {
                acc += (int32_t)w[i] * (int32_t)x[i];
            }
        }
        out[oc] = tb_conv_finish(p, acc, oc);
    }
}

/*
 * sum_k w_k * (x_k + offset) is computed as sum_k w_k * x_k + offset * sum_k w_k when the whole
 * filter lies inside the input (exact integer sums, so the result is identical); pixels whose
 * window is clipped by the padding take the general path.
 */
uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output, void *scratch)
{
    int32_t b, oy, ox, oc;
    const int32_t row_len = p->k_w * p->in_c;
    const int32_t filter_stride = p->k_h * row_len;
    (void)scratch; /* the reference kernels need none */
    if (p->requant_layout != TB_NATIVE_REQUANT_ARRAYS || p->stride_h <= 0 || p->stride_w <= 0 ||
        p->weights == 0 || p->multiplier == 0 || p->shift == 0) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky_lo, ky_hi;
            tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx_lo, kx_hi;
                tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
                if (ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == p->k_w &&
                    p->weight_sums != 0) {
                    conv_pixel_full(p, in_batch + (iy0 * p->in_w + ix0) * p->in_c, output);
                    output += p->out_c;
                    continue;
                }
                for (oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *filter = p->weights + oc * filter_stride;
                    int32_t acc = 0;
                    int32_t ky, kx, ic;
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        const int8_t *in_row = in_batch + ((iy0 + ky) * p->in_w) * p->in_c;
                        const int8_t *f_row = filter + ky * row_len;
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            const int8_t *x = in_row + (ix0 + kx) * p->in_c;
                            const int8_t *w = f_row + kx * p->in_c;
                            for (ic = 0; ic < p->in_c; ++ic) {
                                acc += (int32_t)w[ic] * ((int32_t)x[ic] + p->input_offset);
                            }
                        }
                    }
                    *output++ = tb_conv_finish(p, acc, oc);
                }
            }
        }
    }
    return 0;
}
