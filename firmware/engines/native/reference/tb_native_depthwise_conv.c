/* tb_native_depthwise_conv.c - int8 DEPTHWISE_CONV_2D with per-channel requantization. */
#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"

#define DW_BLOCK 32

/* Depth multiplier 1: channels in blocks, so the inner loop walks contiguous memory. */
static void depthwise_pixel_m1(const tb_native_conv_t *p, const int8_t *in_batch, int32_t iy0,
                               int32_t ix0, int32_t ky_lo, int32_t ky_hi, int32_t kx_lo,
                               int32_t kx_hi, int8_t *out)
{
    int32_t acc[DW_BLOCK];
    int32_t c0, c, ky, kx;
    for (c0 = 0; c0 < p->in_c; c0 += DW_BLOCK) {
        const int32_t n = (p->in_c - c0) < DW_BLOCK ? (p->in_c - c0) : DW_BLOCK;
        for (c = 0; c < n; ++c) {
            acc[c] = 0;
        }
        for (ky = ky_lo; ky < ky_hi; ++ky) {
            for (kx = kx_lo; kx < kx_hi; ++kx) {
                const int8_t *x = in_batch + ((iy0 + ky) * p->in_w + ix0 + kx) * p->in_c + c0;
                const int8_t *w = p->weights + (ky * p->k_w + kx) * p->out_c + c0;
                for (c = 0; c < n; ++c) {
                    acc[c] += (int32_t)w[c] * ((int32_t)x[c] + p->input_offset);
                }
            }
        }
        for (c = 0; c < n; ++c) {
            out[c0 + c] = tb_conv_finish(p, acc[c], c0 + c);
        }
    }
}

uint32_t tb_native_depthwise_conv_scratch_bytes(const tb_native_conv_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_depthwise_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output,
                                void *scratch)
{
    int32_t b, oy, ox, ic, m;
    (void)scratch; /* the reference kernels need none */
    if (p->requant_layout != TB_NATIVE_REQUANT_ARRAYS || p->stride_h <= 0 || p->stride_w <= 0 ||
        p->depth_multiplier <= 0 || p->weights == 0 || p->multiplier == 0 || p->shift == 0 ||
        p->out_c != p->in_c * p->depth_multiplier) {
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
                if (p->depth_multiplier == 1) {
                    depthwise_pixel_m1(p, in_batch, iy0, ix0, ky_lo, ky_hi, kx_lo, kx_hi, output);
                    output += p->out_c;
                    continue;
                }
                for (ic = 0; ic < p->in_c; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = ic * p->depth_multiplier + m;
                        int32_t acc = 0;
                        int32_t ky, kx;
                        for (ky = ky_lo; ky < ky_hi; ++ky) {
                            const int8_t *x = in_batch + ((iy0 + ky) * p->in_w) * p->in_c + ic;
                            const int8_t *w = p->weights + ky * p->k_w * p->out_c + oc;
                            for (kx = kx_lo; kx < kx_hi; ++kx) {
                                acc += (int32_t)w[kx * p->out_c] *
                                       ((int32_t)x[(ix0 + kx) * p->in_c] + p->input_offset);
                            }
                        }
                        output[oc] = tb_conv_finish(p, acc, oc);
                    }
                }
                output += p->out_c;
            }
        }
    }
    return 0;
}
