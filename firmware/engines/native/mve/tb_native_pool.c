/* tb_native_pool.c - int8 AVERAGE_POOL_2D and MAX_POOL_2D with Helium: channels in vectors
 * (sums in int32 lanes, maxima in int8 lanes); the average's rounding division is the
 * reference's, one channel at a time. */
#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

/* Channels per block of the average: its sums live on the stack (4 B each). */
#define POOL_BLOCK 64

typedef enum { POOL_AVERAGE, POOL_MAX } pool_kind_t;

/* The channels [c0, c0 + n) of one output pixel, window rows [ky_lo, ky_hi) x [kx_lo, kx_hi). */
static void average_block(const tb_native_pool_t *p, const int8_t *corner, int32_t c0, int32_t n,
                          int32_t rows, int32_t cols, int8_t *out)
{
    const int32_t row_stride = p->in_w * p->channels;
    const int32_t count = rows * cols;
    int32_t sums[POOL_BLOCK];
    int32_t c, ky, kx;
    for (c = 0; c < n; c += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(n - c));
        int32x4_t acc = vdupq_n_s32(0);
        for (ky = 0; ky < rows; ++ky) {
            const int8_t *x = corner + ky * row_stride + c0 + c;
            for (kx = 0; kx < cols; ++kx) {
                acc = vaddq_s32(acc, vldrbq_z_s32(x, lanes));
                x += p->channels;
            }
        }
        vstrwq_p_s32(sums + c, acc, lanes);
    }
    for (c = 0; c < n; ++c) {
        const int32_t acc = sums[c];
        /* Round half away from zero, as the reference does. */
        const int32_t avg = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        out[c0 + c] = (int8_t)tb_conv_clamp(avg, p->act_min, p->act_max);
    }
}

static void max_pixel(const tb_native_pool_t *p, const int8_t *corner, int32_t rows, int32_t cols,
                      int8_t *out)
{
    const int32_t row_stride = p->in_w * p->channels;
    const int8x16_t lo = vdupq_n_s8((int8_t)tb_conv_clamp(p->act_min, -128, 127));
    const int8x16_t hi = vdupq_n_s8((int8_t)tb_conv_clamp(p->act_max, -128, 127));
    int32_t c, ky, kx;
    for (c = 0; c < p->channels; c += 16) {
        const mve_pred16_t lanes = vctp8q((uint32_t)(p->channels - c));
        int8x16_t m = vdupq_n_s8(-128);
        for (ky = 0; ky < rows; ++ky) {
            const int8_t *x = corner + ky * row_stride + c;
            for (kx = 0; kx < cols; ++kx) {
                m = vmaxq_s8(m, vldrbq_z_s8(x, lanes));
                x += p->channels;
            }
        }
        vstrbq_p_s8(out + c, vminq_s8(vmaxq_s8(m, lo), hi), lanes);
    }
}

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
            int32_t ky_lo, ky_hi;
            tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx_lo, kx_hi;
                const int8_t *corner;
                tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
                if (ky_hi <= ky_lo || kx_hi <= kx_lo) {
                    return -1; /* a window entirely in the padding */
                }
                corner = in_batch + ((iy0 + ky_lo) * p->in_w + ix0 + kx_lo) * p->channels;
                if (kind == POOL_MAX) {
                    max_pixel(p, corner, ky_hi - ky_lo, kx_hi - kx_lo, output);
                } else {
                    for (c = 0; c < p->channels; c += POOL_BLOCK) {
                        const int32_t n =
                            p->channels - c < POOL_BLOCK ? p->channels - c : POOL_BLOCK;
                        average_block(p, corner, c, n, ky_hi - ky_lo, kx_hi - kx_lo, output);
                    }
                }
                output += p->channels;
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
