/*
 * tb_native_pool.c (dsp) - int8 AVERAGE_POOL_2D and MAX_POOL_2D (no requantization).
 *
 * AVERAGE_POOL_2D sums four channels at once: one word load per window position
 * and two SXTAB16s add its bytes 0, 2 and 1, 3 into 16-bit lanes. A lane holds
 * the sum of up to 256 int8 values exactly (-32768 .. 32512), so windows of at
 * most 256 positions with a channel count that is a multiple of 4 (kws01's
 * 25x5 over 64 channels, vww01's 3x3 over 256, ic01's 8x8 over 64) take that
 * path; others, and MAX_POOL_2D, take the general loop, reference's arithmetic.
 * The division rounds half away from zero, as reference does.
 */
#include "tb_native_kernels.h"
#include "tb_native_simd.h"

typedef enum { POOL_AVERAGE, POOL_MAX } pool_kind_t;

/* The largest window whose 16-bit lane sums cannot overflow (see above). */
#define TB_POOL_LANE_MAX_COUNT 256

typedef struct {
    int32_t iy0, ix0;     /* the window's top-left input position (may be in the padding) */
    int32_t ky_lo, ky_hi; /* the rows of the window inside the input */
    int32_t kx_lo, kx_hi; /* the columns inside the input */
    int32_t count;        /* positions inside the input */
} pool_window_t;

static pool_window_t window_at(const tb_native_pool_t *p, int32_t oy, int32_t ox)
{
    pool_window_t w;
    w.iy0 = oy * p->stride_h - p->pad_h;
    w.ix0 = ox * p->stride_w - p->pad_w;
    w.ky_lo = w.iy0 < 0 ? -w.iy0 : 0;
    w.ky_hi = (p->in_h - w.iy0) < p->k_h ? (p->in_h - w.iy0) : p->k_h;
    w.kx_lo = w.ix0 < 0 ? -w.ix0 : 0;
    w.kx_hi = (p->in_w - w.ix0) < p->k_w ? (p->in_w - w.ix0) : p->k_w;
    w.count = (w.ky_hi - w.ky_lo) * (w.kx_hi - w.kx_lo);
    return w;
}

static inline int32_t average(int32_t sum, int32_t count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

static inline int8_t clamp(const tb_native_pool_t *p, int32_t v)
{
    v = v < p->act_min ? p->act_min : v;
    return (int8_t)(v > p->act_max ? p->act_max : v);
}

/* One output position of an average pool, four channels per pass. */
static void average4(const tb_native_pool_t *p, const int8_t *in_batch, pool_window_t w,
                     int8_t *output)
{
    const int32_t channels = p->channels;
    const int32_t row_step = p->in_w * channels;
    int32_t c;
    for (c = 0; c < channels; c += 4) {
        uint32_t even = 0u; /* channels c and c + 2 */
        uint32_t odd = 0u;  /* c + 1 and c + 3 */
        int32_t ky, kx;
        const int8_t *row =
            in_batch + (w.iy0 + w.ky_lo) * row_step + (w.ix0 + w.kx_lo) * channels + c;
        for (ky = w.ky_lo; ky < w.ky_hi; ++ky) {
            const int8_t *x = row;
            for (kx = w.kx_lo; kx < w.kx_hi; ++kx) {
                const uint32_t word = tb_simd_load4(x);
                even = tb_sxtab16(even, word);
                odd = tb_sxtab16_ror8(odd, word);
                x += channels;
            }
            row += row_step;
        }
        output[c] = clamp(p, average(tb_simd_bottom(even), w.count));
        output[c + 1] = clamp(p, average(tb_simd_bottom(odd), w.count));
        output[c + 2] = clamp(p, average(tb_simd_top(even), w.count));
        output[c + 3] = clamp(p, average(tb_simd_top(odd), w.count));
    }
}

/* One output position, one channel at a time. */
static void general(const tb_native_pool_t *p, const int8_t *in_batch, pool_window_t w,
                    int8_t *output, pool_kind_t kind)
{
    int32_t c;
    for (c = 0; c < p->channels; ++c) {
        int32_t acc = kind == POOL_AVERAGE ? 0 : -128;
        int32_t ky, kx;
        for (ky = w.ky_lo; ky < w.ky_hi; ++ky) {
            const int8_t *x = in_batch + ((w.iy0 + ky) * p->in_w) * p->channels + c;
            for (kx = w.kx_lo; kx < w.kx_hi; ++kx) {
                const int32_t v = x[(w.ix0 + kx) * p->channels];
                if (kind == POOL_AVERAGE) {
                    acc += v;
                } else if (v > acc) {
                    acc = v;
                }
            }
        }
        output[c] = clamp(p, kind == POOL_AVERAGE ? average(acc, w.count) : acc);
    }
}

static int pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output, pool_kind_t kind)
{
    int32_t b, oy, ox;
    if (p->stride_h <= 0 || p->stride_w <= 0) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * p->channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                const pool_window_t w = window_at(p, oy, ox);
                if (w.ky_hi <= w.ky_lo || w.kx_hi <= w.kx_lo) {
                    return -1; /* a window entirely in the padding */
                }
                if (kind == POOL_AVERAGE && (p->channels & 3) == 0 &&
                    w.count <= TB_POOL_LANE_MAX_COUNT) {
                    average4(p, in_batch, w, output);
                } else {
                    general(p, in_batch, w, output, kind);
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
