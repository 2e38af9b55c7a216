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
 *
 * Pixels go in tiles: for each group of four output channels (its filters' addresses and its
 * requantization constants set up once) every pixel of the tile is one dot product of its
 * column with the four filters. The tile is longer where columns are short, where that set-up
 * would otherwise cost as much as the MACs; tile_pixels() and scratch.py's _mve_conv agree.
 */
#define CONV_TILE_MAX 16

static int conv_is_pointwise(const tb_native_conv_t *p)
{
    return p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0;
}

static int32_t column_bytes(const tb_native_conv_t *p)
{
    return (p->k_h * p->k_w * p->in_c + 15) & ~15;
}

/* Pixels per tile: in place 16; copied columns as many as fit in about 1 KiB, 1 to 8. */
static int32_t tile_pixels(const tb_native_conv_t *p)
{
    int32_t tile;
    if (conv_is_pointwise(p)) {
        return CONV_TILE_MAX;
    }
    tile = 1024 / column_bytes(p);
    return tile < 1 ? 1 : (tile > 8 ? 8 : tile);
}

uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p)
{
    if (conv_is_pointwise(p)) {
        return 0u;
    }
    return (uint32_t)(tile_pixels(p) * column_bytes(p));
}

static void fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    const int8x16_t v = vdupq_n_s8(value);
    int32_t k;
    for (k = n >> 4; k > 0; --k) {
        vst1q_s8(dst, v);
        dst += 16;
    }
    if ((n & 15) != 0) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)(n & 15)));
    }
}

static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t k;
    for (k = n >> 4; k > 0; --k) {
        vst1q_s8(dst, vld1q_s8(src));
        dst += 16;
        src += 16;
    }
    if ((n & 15) != 0) {
        const mve_pred16_t lanes = vctp8q((uint32_t)(n & 15));
        vstrbq_p_s8(dst, vldrbq_z_s8(src, lanes), lanes);
    }
}

static void fill_column(const tb_native_conv_t *p, const int8_t *in_batch, int32_t iy0, int32_t ix0,
                        int8_t *col)
{
    const int8_t pad = (int8_t)(-p->input_offset);
    const int32_t row_len = p->k_w * p->in_c;
    int32_t kx_lo, kx_hi, ky;
    tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
    if (iy0 >= 0 && iy0 + p->k_h <= p->in_h && kx_lo == 0 && kx_hi == p->k_w) {
        /* The window lies inside the input: k_h rows, copied as they are. */
        const int32_t in_row = p->in_w * p->in_c;
        const int8_t *src = in_batch + (iy0 * p->in_w + ix0) * p->in_c;
        if (row_len <= 16) {
            const mve_pred16_t lanes = vctp8q((uint32_t)row_len);
            for (ky = p->k_h; ky > 0; --ky) {
                vstrbq_p_s8(col, vldrbq_z_s8(src, lanes), lanes);
                col += row_len;
                src += in_row;
            }
            return;
        }
        for (ky = p->k_h; ky > 0; --ky) {
            copy_bytes(col, src, row_len);
            col += row_len;
            src += in_row;
        }
        return;
    }
    if (kx_hi < kx_lo) {
        kx_hi = kx_lo;
    }
    if (row_len <= 16) {
        /* A row is one vector: lanes [kx_lo, kx_hi) * in_c come from the input, the others
         * are the pad value; the row's address may lie outside the input, but a predicated
         * load reads only its active lanes (all inside). */
        const int8x16_t pad_v = vdupq_n_s8(pad);
        const mve_pred16_t row = vctp8q((uint32_t)row_len);
        const mve_pred16_t inside = (mve_pred16_t)(vctp8q((uint32_t)(kx_hi * p->in_c)) &
                                                   ~vctp8q((uint32_t)(kx_lo * p->in_c)));
        const int32_t in_row = p->in_w * p->in_c;
        const int32_t start = (iy0 * p->in_w + ix0) * p->in_c;
        for (ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky;
            int8x16_t v = pad_v;
            if (iy >= 0 && iy < p->in_h && inside != 0) {
                const int8_t *src =
                    (const int8_t *)((uintptr_t)in_batch + (uintptr_t)(start + ky * in_row));
                v = vpselq_s8(vldrbq_z_s8(src, inside), pad_v, inside);
            }
            vstrbq_p_s8(col, v, row);
            col += row_len;
        }
        return;
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

/* A tile's pixels: col[i] is pixel i's column of n bytes (in place for a 1x1 filter, else
 * copied into the scratch). */
typedef struct {
    const int8_t *col[CONV_TILE_MAX];
    int32_t count;
    int32_t n;
} conv_tile_t;

/*
 * Output channels [oc, oc + 4) of the tile's pixels, out + i * out_c for pixel i. The plan's
 * fields are read into locals: every int8 store could alias them otherwise, and GCC would
 * reload them after each. A column of at most 16 bytes is one vector: the four filters are
 * loaded once for the whole tile.
 */
static void conv_tile_group(const tb_native_conv_t *p, const conv_tile_t *t, int32_t oc,
                            int8_t *out)
{
    const int32_t out_c = p->out_c;
    const int32_t n = t->n;
    const int8_t *w = p->weights + oc * n;
    const int32x4_t shift = vld1q_s32(p->shift + oc);
    const int32x4_t lo = vdupq_n_s32(p->act_min);
    const int32x4_t hi = vdupq_n_s32(p->act_max);
    const int32_t output_offset = p->output_offset;
    int32x4_t base = p->bias != 0 ? vld1q_s32(p->bias + oc) : vdupq_n_s32(0);
    int32_t acc[CONV_TILE_MAX][4];
    tb_mve_quant_t q;
    int32_t i;
    q.multiplier = vld1q_s32(p->multiplier + oc);
    q.left = vmaxq_s32(shift, vdupq_n_s32(0));
    q.right = vminq_s32(shift, vdupq_n_s32(0));
    if (p->weight_sums != 0) {
        base = vmlaq_n_s32(base, vld1q_s32(p->weight_sums + oc), p->input_offset);
    } else {
        int32_t part[4];
        for (i = 0; i < 4; ++i) {
            part[i] = p->input_offset * tb_mve_sum(w + i * n, n);
        }
        base = vaddq_s32(base, vld1q_s32(part));
    }
    /* The dot products of every pixel first, then the requantization of every pixel: two
     * loops whose registers hold everything they use (one loop would spill the constants). */
    if (n <= 16) {
        const mve_pred16_t lanes = vctp8q((uint32_t)n);
        const int8x16_t w0 = vldrbq_z_s8(w, lanes);
        const int8x16_t w1 = vldrbq_z_s8(w + n, lanes);
        const int8x16_t w2 = vldrbq_z_s8(w + 2 * n, lanes);
        const int8x16_t w3 = vldrbq_z_s8(w + 3 * n, lanes);
        for (i = 0; i < t->count; ++i) {
            const int8x16_t x = vldrbq_z_s8(t->col[i], lanes);
            acc[i][0] = vmladavq_s8(x, w0);
            acc[i][1] = vmladavq_s8(x, w1);
            acc[i][2] = vmladavq_s8(x, w2);
            acc[i][3] = vmladavq_s8(x, w3);
        }
    } else if (n <= 32) {
        /* Two vectors, the second predicated: no loop, no branch per pixel. */
        const mve_pred16_t lanes = vctp8q((uint32_t)(n - 16));
        for (i = 0; i < t->count; ++i) {
            const int8x16_t xa = vld1q_s8(t->col[i]);
            const int8x16_t xb = vldrbq_z_s8(t->col[i] + 16, lanes);
            acc[i][0] = vmladavaq_s8(vmladavq_s8(xa, vld1q_s8(w)), xb, vldrbq_z_s8(w + 16, lanes));
            acc[i][1] =
                vmladavaq_s8(vmladavq_s8(xa, vld1q_s8(w + n)), xb, vldrbq_z_s8(w + n + 16, lanes));
            acc[i][2] = vmladavaq_s8(vmladavq_s8(xa, vld1q_s8(w + 2 * n)), xb,
                                     vldrbq_z_s8(w + 2 * n + 16, lanes));
            acc[i][3] = vmladavaq_s8(vmladavq_s8(xa, vld1q_s8(w + 3 * n)), xb,
                                     vldrbq_z_s8(w + 3 * n + 16, lanes));
        }
    } else {
        for (i = 0; i < t->count; ++i) {
            tb_mve_dot4(t->col[i], n, w, n, acc[i]);
        }
    }
    for (i = 0; i < t->count; ++i) {
        int32x4_t v = vaddq_s32(vld1q_s32(acc[i]), base);
        v = vaddq_n_s32(tb_mve_requantize(v, &q), output_offset);
        vstrbq_s32(out + i * out_c + oc, vminq_s32(vmaxq_s32(v, lo), hi));
    }
}

/* The last out_c % 4 channels of pixel i: one filter at a time, predicated lanes. */
static void conv_pixel_tail(const tb_native_conv_t *p, const conv_tile_t *t, int32_t i, int32_t oc,
                            int8_t *out)
{
    const int32_t n = t->n;
    const int32_t left = p->out_c - oc;
    const mve_pred16_t lanes = tb_mve_lanes4(left);
    int32_t acc[4] = { 0, 0, 0, 0 };
    int32_t j;
    for (j = 0; j < left; ++j) {
        const int8_t *w = p->weights + (oc + j) * n;
        const int32_t sum = p->weight_sums != 0 ? p->weight_sums[oc + j] : tb_mve_sum(w, n);
        acc[j] = tb_mve_dot1(t->col[i], n, w) + p->input_offset * sum;
    }
    {
        const tb_mve_quant_t q = tb_mve_quant_load(p->multiplier + oc, p->shift + oc, lanes);
        int32x4_t v = vld1q_s32(acc);
        if (p->bias != 0) {
            v = vaddq_s32(v, vldrwq_z_s32(p->bias + oc, lanes));
        }
        tb_mve_store4(out + oc, v, &q, p->output_offset, p->act_min, p->act_max, lanes);
    }
}

/*
 * Pointwise path (TB_NATIVE_REQUANT_GROUPS4, which the compiler emits only for a 1x1 filter
 * without padding, in_c = 16 * v with v <= 4 and every shift <= 0): the pixel stays in v
 * vector registers while the loop walks every output channel, four per pass; the tiles above
 * store the four sums of each pixel and load them back, and load the pixel again for every
 * group of four channels. A group's twelve requantization constants are consecutive, so one
 * pointer walks them; with four arrays (bias, sums, multipliers, shifts) GCC keeps their
 * pointers on the stack and reloads and stores them in every pass.
 */
static int pointwise_groups4(const tb_native_conv_t *p)
{
    return conv_is_pointwise(p) && (p->in_c & 15) == 0 && p->in_c > 0 && p->in_c <= 64 &&
           p->requant != 0;
}

/* 16 weight bytes at w + offset (a multiple of 16: the plan aligns weights to 16): a word load,
 * whose immediate offset reaches 508 bytes where a byte load's reaches 127. */
static inline __attribute__((always_inline)) int8x16_t pointwise_weights(const int8_t *w,
                                                                         int32_t offset)
{
    return vreinterpretq_s8_s32(vld1q_s32((const int32_t *)(const void *)(w + offset)));
}

/* The pixel x0..x3 (the first v used) dotted with the filter at w + offset. */
static inline __attribute__((always_inline)) int32_t pointwise_dot(int32_t v, int8x16_t x0,
                                                                   int8x16_t x1, int8x16_t x2,
                                                                   int8x16_t x3, const int8_t *w,
                                                                   int32_t offset)
{
    int32_t a = vmladavq_s8(x0, pointwise_weights(w, offset));
    if (v > 1) {
        a = vmladavaq_s8(a, x1, pointwise_weights(w, offset + 16));
    }
    if (v > 2) {
        a = vmladavaq_s8(a, x2, pointwise_weights(w, offset + 32));
    }
    if (v > 3) {
        a = vmladavaq_s8(a, x3, pointwise_weights(w, offset + 48));
    }
    return a;
}

/* The output side of the requantization, in locals: an int8 store could alias the plan, and
 * GCC would reload its fields after every store. */
typedef struct {
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} pointwise_out_t;

/* clamp(requantize(acc + folded bias) + output offset) of one group, from its constants rq
 * (bias, multipliers, shifts): tb_mve_requantize without the left shift, as every shift is
 * <= 0. */
static inline __attribute__((always_inline)) int32x4_t
pointwise_requantize(int32x4_t acc, const int32_t *rq, const pointwise_out_t *o)
{
    const int32x4_t shift = vld1q_s32(rq + 8);
    acc = vqrdmulhq_s32(vaddq_s32(acc, vld1q_s32(rq)), vld1q_s32(rq + 4));
    acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, shift), 31));
    acc = vaddq_n_s32(vrshlq_s32(acc, shift), o->output_offset);
    return vminq_s32(vmaxq_s32(acc, vdupq_n_s32(o->act_min)), vdupq_n_s32(o->act_max));
}

/*
 * Channels per chunk of a pixel: the dot products of a chunk go to a stack buffer, then one
 * loop requantizes it. In one loop, the pixel's v vectors, the sums and the clamp bounds would
 * need more than the eight vector registers, and GCC would spill in every pass.
 */
#define POINTWISE_CHUNK 64

static inline __attribute__((always_inline)) void
pointwise_pixels(const tb_native_conv_t *p, const int8_t *in_batch, int8_t *out, int32_t v)
{
    const int32_t n = 16 * v;
    const int32_t out_c = p->out_c;
    const int32_t out_h = p->out_h;
    const int32_t out_w = p->out_w;
    const int32_t row_step = p->stride_h * p->in_w * n;
    const int32_t pixel_step = p->stride_w * n;
    const int8_t *const weights = p->weights;
    const int32_t *const requant = p->requant;
    int32_t sums[POINTWISE_CHUNK] TB_NATIVE_ALIGNED(16);
    pointwise_out_t o;
    int32_t oy, ox;
    o.output_offset = p->output_offset;
    o.act_min = p->act_min;
    o.act_max = p->act_max;
    for (oy = 0; oy < out_h; ++oy) {
        const int8_t *x = in_batch + oy * row_step;
        for (ox = 0; ox < out_w; ++ox) {
            const int8_t *w = weights;
            const int32_t *rq = requant;
            int32_t first;
            for (first = 0; first < out_c; first += POINTWISE_CHUNK) {
                /* Loaded again per chunk: kept, the pixel would hold four vector registers
                 * through the requantization loop. */
                const int8x16_t x0 = vld1q_s8(x);
                const int8x16_t x1 = v > 1 ? vld1q_s8(x + 16) : x0;
                const int8x16_t x2 = v > 2 ? vld1q_s8(x + 32) : x0;
                const int8x16_t x3 = v > 3 ? vld1q_s8(x + 48) : x0;
                const int32_t count =
                    out_c - first < POINTWISE_CHUNK ? out_c - first : POINTWISE_CHUNK;
                int32_t *sum = sums;
                int32_t c, g;
                /* Four filters per pass; a last pass of fewer computes those alone. */
                for (c = count; c >= 4; c -= 4) {
                    sum[0] = pointwise_dot(v, x0, x1, x2, x3, w, 0);
                    sum[1] = pointwise_dot(v, x0, x1, x2, x3, w, n);
                    sum[2] = pointwise_dot(v, x0, x1, x2, x3, w, 2 * n);
                    sum[3] = pointwise_dot(v, x0, x1, x2, x3, w, 3 * n);
                    sum += 4;
                    w += 4 * n;
                }
                for (; c > 0; --c) {
                    *sum++ = pointwise_dot(v, x0, x1, x2, x3, w, 0);
                    w += n;
                }
                sum = sums;
                for (g = count; g >= 4; g -= 4) {
                    vstrbq_s32(out, pointwise_requantize(vld1q_s32(sum), rq, &o));
                    sum += 4;
                    rq += 12;
                    out += 4;
                }
                if (g > 0) {
                    vstrbq_p_s32(out, pointwise_requantize(vld1q_s32(sum), rq, &o),
                                 vctp32q((uint32_t)g));
                    rq += 12;
                    out += g;
                }
            }
            x += pixel_step;
        }
    }
}

/* One copy per pixel size, outside tb_native_conv_s8: inlined there, the register pressure
 * of the tiles' code would reach into these loops. */
static __attribute__((noinline)) void pointwise_pixels_by_size(const tb_native_conv_t *p,
                                                               const int8_t *in_batch, int8_t *out)
{
    switch (p->in_c >> 4) {
    case 1:
        pointwise_pixels(p, in_batch, out, 1);
        break;
    case 2:
        pointwise_pixels(p, in_batch, out, 2);
        break;
    case 3:
        pointwise_pixels(p, in_batch, out, 3);
        break;
    default:
        pointwise_pixels(p, in_batch, out, 4);
        break;
    }
}

/* The tile's pixels are consecutive in the output, from `out`. */
static void conv_tile(const tb_native_conv_t *p, const conv_tile_t *t, int8_t *out)
{
    int32_t oc, i;
    for (oc = 0; oc + 4 <= p->out_c; oc += 4) {
        conv_tile_group(p, t, oc, out);
    }
    if (oc < p->out_c) {
        for (i = 0; i < t->count; ++i) {
            conv_pixel_tail(p, t, i, oc, out + i * p->out_c);
        }
    }
}

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int pointwise = conv_is_pointwise(p);
    const int32_t tile_max = tile_pixels(p);
    const int32_t pixels = p->out_h * p->out_w;
    conv_tile_t tile;
    int32_t b, first, i;
    if (p->requant_layout == TB_NATIVE_REQUANT_GROUPS4) {
        if (!pointwise_groups4(p) || p->stride_h <= 0 || p->stride_w <= 0 || p->weights == 0) {
            return -1;
        }
        for (b = 0; b < p->batches; ++b) {
            const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
            int8_t *out = output + (int32_t)(b * pixels * p->out_c);
            pointwise_pixels_by_size(p, in_batch, out);
        }
        return 0;
    }
    if (p->requant_layout != TB_NATIVE_REQUANT_ARRAYS || p->stride_h <= 0 || p->stride_w <= 0 ||
        p->weights == 0 || p->multiplier == 0 || p->shift == 0 || (!pointwise && scratch == 0)) {
        return -1;
    }
    tile.n = p->k_h * p->k_w * p->in_c;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        for (first = 0; first < pixels; first += tile_max) {
            tile.count = pixels - first < tile_max ? pixels - first : tile_max;
            for (i = 0; i < tile.count; ++i) {
                const int32_t oy = (first + i) / p->out_w;
                const int32_t ox = (first + i) - oy * p->out_w;
                const int32_t iy0 = oy * p->stride_h - p->pad_h;
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                if (pointwise) {
                    tile.col[i] = in_batch + (iy0 * p->in_w + ix0) * p->in_c;
                } else {
                    int8_t *col = (int8_t *)scratch + i * column_bytes(p);
                    fill_column(p, in_batch, iy0, ix0, col);
                    tile.col[i] = col;
                }
            }
            conv_tile(p, &tile, output + first * p->out_c);
        }
        output += pixels * p->out_c;
    }
    return 0;
}
