/* tb_native_pool.c - int8 AVERAGE_POOL_2D and MAX_POOL_2D (no requantization). */
#include "tb_native_kernels.h"

typedef enum { POOL_AVERAGE, POOL_MAX } pool_kind_t;

static int pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output, pool_kind_t kind)
{
    int32_t b, oy, ox, c;
    if (p->stride_h <= 0 || p->stride_w <= 0) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * p->channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
            const int32_t ky_hi = (p->in_h - iy0) < p->k_h ? (p->in_h - iy0) : p->k_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
                const int32_t kx_hi = (p->in_w - ix0) < p->k_w ? (p->in_w - ix0) : p->k_w;
                const int32_t count = (ky_hi - ky_lo) * (kx_hi - kx_lo);
                if (ky_hi <= ky_lo || kx_hi <= kx_lo) {
                    return -1; /* a window entirely in the padding */
                }
                for (c = 0; c < p->channels; ++c) {
                    int32_t acc = kind == POOL_AVERAGE ? 0 : -128;
                    int32_t ky, kx;
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        const int8_t *x = in_batch + ((iy0 + ky) * p->in_w) * p->channels + c;
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            const int32_t v = x[(ix0 + kx) * p->channels];
                            if (kind == POOL_AVERAGE) {
                                acc += v;
                            } else if (v > acc) {
                                acc = v;
                            }
                        }
                    }
                    if (kind == POOL_AVERAGE) {
                        /* Round half away from zero, as the reference does. */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    acc = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
                    *output++ = (int8_t)acc;
                }
            }
        }
    }
    return 0;
}

uint32_t tb_native_avg_pool_scratch_bytes(const tb_native_pool_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_avg_pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output,
                          void *scratch)
{
    (void)scratch;
    return pool_s8(p, input, output, POOL_AVERAGE);
}

uint32_t tb_native_max_pool_scratch_bytes(const tb_native_pool_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_max_pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output,
                          void *scratch)
{
    (void)scratch;
    return pool_s8(p, input, output, POOL_MAX);
}
