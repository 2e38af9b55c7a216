/*
 * tb_native_depthwise_conv.c (dsp) - int8 DEPTHWISE_CONV_2D with the Arm DSP extension.
 *
 * Depth multiplier 1 (every depthwise layer of the catalogue models): channels are processed
 * four at a time ("lanes"), one pass of the output per group of four. A filter tap is one word
 * load of four int8 inputs; SXTAB16 adds the input offset to two of them at once while it
 * widens them to int16 pairs, and SMLABB/SMLATT multiply each lane by its weight into four
 * int32 accumulators that stay in registers across the taps (a depthwise tap is one MAC per
 * channel, so there is nothing for SMLAD to sum). For a 3x3 filter the weights of the group are
 * widened once per pass into int16 pairs on the stack (one LDRD per tap instead of a load and
 * two extensions), and a pixel whose window lies wholly inside the input runs the nine taps
 * unrolled with no bounds checks; border pixels loop over their clipped window. A 10x4 filter
 * (DS-CNN's first layer shape) has its own interior path: ten rows of four unrolled taps.
 *
 * Requantization is fused into the pass and gives exactly tb_fx_requantize's result. For a
 * channel with a right shift e in [1, 31] and a multiplier m of 0 or in [2^30, 2^31) (all that
 * the compiler's QuantizeMultiplier produces for a scale below 1) the two roundings of
 * tb_fx_requantize - the doubling high multiply, (p + 2^30) >> 31 with p = acc * m, then the
 * rounding divide by 2^e, ties away from zero - collapse into one 64-bit sum:
 *     r = (p + 2^30 + 2^(30+e) - (acc < 0 ? 2^31 : 0)) >> (31 + e)
 * which is one SMLAL onto a per-channel constant and one shift of the high word. (For acc >= 0,
 * floor(floor(a / 2^31) / 2^e) = floor(a / 2^(31+e)) with the rounding terms moved inside; for
 * acc < 0 the product is <= -2^30, the first rounding result is <= 0 and the divide rounds with
 * 2^(e-1) - 1, i.e. 2^(30+e) - 2^31 inside.) Any other channel (a left shift, e = 0) takes
 * tb_fx_requantize itself. tests/native/test_dsp_depthwise.py checks both against tflite-micro.
 *
 * Channels left over after the groups of four, and depth multipliers above 1, take a plain
 * per-channel path.
 */
#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"
#include "tb_native_simd.h"

#define DW_LANES 4 /* channels per pass: one word of int8 */
#define DW_TAPS_3X3 9

/* The four channels of a pass: accumulator start (bias) and requantization constants. */
typedef struct {
    int32_t bias[DW_LANES];
    int32_t multiplier[DW_LANES];
    int32_t shift[DW_LANES];    /* fused: e - 1; exact: the plan's shift */
    int64_t rounding[DW_LANES]; /* fused: 2^30 + 2^(30+e) + output_offset * 2^(31+e) */
    int fused;                  /* all four lanes take the fused requantization */
    int full_range;             /* the activation clamp is the int8 range: SSAT alone */
} dw_quant_t;

/* The filter window as clipped to the input. */
typedef struct {
    int32_t ky_lo, ky_hi, kx_lo, kx_hi;
} dw_window_t;

/*
 * Everything one pass (four channels over the whole output) reads: the requantization, the
 * widened 3x3 weights (lanes 0/2 then 1/3 per tap, adjacent so one LDRD fetches a tap), the
 * group's int8 weights in the plan, and the strides in bytes.
 */
typedef struct {
    const tb_native_conv_t *p;
    dw_quant_t q;
    uint32_t w3[DW_TAPS_3X3][2];
    const int8_t *w;  /* the plan's weights of the group's tap (0, 0) */
    uint32_t offsets; /* the input offset in both halves */
    int32_t stride;   /* bytes between horizontally adjacent input pixels: in_c */
    int32_t row;      /* bytes between input rows */
    int32_t in_step;  /* input bytes between horizontally adjacent windows */
    int is3x3, is10x4;
} dw_pass_t;

/*
 * The fused requantization holds for a right shift e in [1, 31] with the multiplier 0 or in
 * [2^30, 2^31); e <= 23 also keeps output_offset * 2^(31+e) within the 64-bit sum.
 */
static int dw_fusable(int32_t multiplier, int32_t shift)
{
    return shift <= -1 && shift >= -23 && (multiplier == 0 || multiplier >= (INT32_C(1) << 30));
}

static void dw_quant_setup(const tb_native_conv_t *p, int32_t c0, dw_quant_t *q)
{
    int32_t lane;
    q->fused = 1;
    q->full_range = p->act_min <= -128 && p->act_max >= 127;
    for (lane = 0; lane < DW_LANES; ++lane) {
        const int32_t c = c0 + lane;
        q->bias[lane] = p->bias != 0 ? p->bias[c] : 0;
        q->multiplier[lane] = p->multiplier[c];
        q->fused = q->fused && dw_fusable(p->multiplier[c], p->shift[c]);
    }
    for (lane = 0; lane < DW_LANES; ++lane) {
        const int32_t c = c0 + lane;
        if (q->fused) {
            const int32_t e = -p->shift[c];
            q->shift[lane] = e - 1;
            q->rounding[lane] = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) +
                                (int64_t)p->output_offset * ((int64_t)1 << (31 + e));
        } else {
            q->shift[lane] = p->shift[c];
            q->rounding[lane] = 0;
        }
    }
}

/* tb_fx_requantize(acc, multiplier, -(shift + 1)) + output_offset, fused (see the top). */
static inline int32_t dw_requantize_fused(int32_t acc, int32_t multiplier, int64_t rounding,
                                          int32_t shift)
{
    /* Two SMLALs: acc * m, then 1 * -2^31 when acc < 0 (0 * -2^31 otherwise). */
    int64_t sum = tb_smlal(rounding, acc, multiplier);
    sum = tb_smlal(sum, (int32_t)((uint32_t)acc >> 31), INT32_MIN);
    return (int32_t)(sum >> 32) >> shift;
}

static void dw_store4_general(const tb_native_conv_t *p, const dw_quant_t *q, const int32_t *acc,
                              int8_t *out)
{
    int32_t lane;
    for (lane = 0; lane < DW_LANES; ++lane) {
        const int32_t v = q->fused
                              ? dw_requantize_fused(acc[lane], q->multiplier[lane],
                                                    q->rounding[lane], q->shift[lane])
                              : tb_fx_requantize(acc[lane], q->multiplier[lane], q->shift[lane]) +
                                    p->output_offset;
        out[lane] = (int8_t)tb_conv_clamp(v, p->act_min, p->act_max);
    }
}

static inline void dw_store4(const dw_pass_t *g, const int32_t *acc, int8_t *out)
{
    const dw_quant_t *q = &g->q;
    if (q->fused && q->full_range) { /* every catalogue model's depthwise op */
        out[0] = (int8_t)tb_ssat8(
            dw_requantize_fused(acc[0], q->multiplier[0], q->rounding[0], q->shift[0]));
        out[1] = (int8_t)tb_ssat8(
            dw_requantize_fused(acc[1], q->multiplier[1], q->rounding[1], q->shift[1]));
        out[2] = (int8_t)tb_ssat8(
            dw_requantize_fused(acc[2], q->multiplier[2], q->rounding[2], q->shift[2]));
        out[3] = (int8_t)tb_ssat8(
            dw_requantize_fused(acc[3], q->multiplier[3], q->rounding[3], q->shift[3]));
    } else {
        dw_store4_general(g->p, q, acc, out);
    }
}

/* One tap of four lanes: x holds four int8 inputs, w the lanes' widened weights. */
static inline void dw_tap(uint32_t x, const uint32_t *w, uint32_t offsets, int32_t *acc)
{
    const uint32_t x_even = tb_sxtab16(offsets, x);
    const uint32_t x_odd = tb_sxtab16_ror8(offsets, x);
    acc[0] = tb_smlabb(x_even, w[0], acc[0]);
    acc[2] = tb_smlatt(x_even, w[0], acc[2]);
    acc[1] = tb_smlabb(x_odd, w[1], acc[1]);
    acc[3] = tb_smlatt(x_odd, w[1], acc[3]);
}

/* One tap with the int8 weights of the plan, widened here. */
static inline void dw_tap_int8(uint32_t x, const int8_t *w, uint32_t offsets, int32_t *acc)
{
    const uint32_t word = tb_simd_load4(w);
    uint32_t wide[2];
    wide[0] = tb_sxtb16(word);
    wide[1] = tb_sxtb16_ror8(word);
    dw_tap(x, wide, offsets, acc);
}

static inline void dw_acc_init(const dw_quant_t *q, int32_t *acc)
{
    acc[0] = q->bias[0];
    acc[1] = q->bias[1];
    acc[2] = q->bias[2];
    acc[3] = q->bias[3];
}

/* Three taps of one filter row; w: the row's first widened tap. */
static inline void dw_3x3_row(const int8_t *x, int32_t stride, const uint32_t (*w)[2],
                              uint32_t offsets, int32_t *acc)
{
    dw_tap(tb_simd_load4(x), w[0], offsets, acc);
    dw_tap(tb_simd_load4(x + stride), w[1], offsets, acc);
    dw_tap(tb_simd_load4(x + 2 * stride), w[2], offsets, acc);
}

/*
 * count horizontally adjacent 3x3 windows wholly inside the input: nine taps unrolled, no
 * bounds checks. x: the group's input byte at the first window's top-left pixel.
 */
static void dw_3x3_run(const dw_pass_t *g, const int8_t *x, int8_t *out, int32_t count)
{
    const int32_t stride = g->stride;
    const int32_t row = g->row;
    const uint32_t offsets = g->offsets;
    int32_t acc[DW_LANES];
    for (; count > 0; --count, x += g->in_step, out += g->p->out_c) {
        dw_acc_init(&g->q, acc);
        dw_3x3_row(x, stride, &g->w3[0], offsets, acc);
        dw_3x3_row(x + row, stride, &g->w3[3], offsets, acc);
        dw_3x3_row(x + 2 * row, stride, &g->w3[6], offsets, acc);
        dw_store4(g, acc, out);
    }
}

/* count adjacent 10x4 windows inside the input: ten rows of four taps unrolled. */
static void dw_10x4_run(const dw_pass_t *g, const int8_t *x, int8_t *out, int32_t count)
{
    const int32_t stride = g->stride;
    const int32_t w_stride = g->p->out_c;
    int32_t acc[DW_LANES];
    for (; count > 0; --count, x += g->in_step, out += g->p->out_c) {
        const int8_t *xr = x;
        const int8_t *w = g->w;
        int32_t ky;
        dw_acc_init(&g->q, acc);
        for (ky = 0; ky < 10; ++ky, xr += g->row, w += 4 * w_stride) {
            dw_tap_int8(tb_simd_load4(xr), w, g->offsets, acc);
            dw_tap_int8(tb_simd_load4(xr + stride), w + w_stride, g->offsets, acc);
            dw_tap_int8(tb_simd_load4(xr + 2 * stride), w + 2 * w_stride, g->offsets, acc);
            dw_tap_int8(tb_simd_load4(xr + 3 * stride), w + 3 * w_stride, g->offsets, acc);
        }
        dw_store4(g, acc, out);
    }
}

/*
 * One output pixel whose window the border clips (or of a filter with no specialised path):
 * the taps inside the input only. origin: the offset in in_batch of the window's top-left
 * pixel, which may lie outside the input; win: its rows, columns filled in here.
 */
static void dw_pixel(const dw_pass_t *g, const int8_t *in_batch, int32_t origin, int32_t ix0,
                     dw_window_t *win, int8_t *out)
{
    const tb_native_conv_t *p = g->p;
    int32_t acc[DW_LANES];
    int32_t ky, kx;
    tb_conv_window(ix0, p->k_w, p->in_w, &win->kx_lo, &win->kx_hi);
    dw_acc_init(&g->q, acc);
    if (g->is3x3) {
        /* Each row inside the input runs its 1-3 inside columns unrolled. */
        const int32_t columns = win->kx_hi - win->kx_lo;
        const int8_t *x = in_batch + origin + win->ky_lo * g->row + win->kx_lo * g->stride;
        for (ky = win->ky_lo; ky < win->ky_hi; ++ky, x += g->row) {
            const uint32_t(*w)[2] = &g->w3[ky * 3 + win->kx_lo];
            if (columns == 3) {
                dw_3x3_row(x, g->stride, w, g->offsets, acc);
            } else if (columns == 2) {
                dw_tap(tb_simd_load4(x), w[0], g->offsets, acc);
                dw_tap(tb_simd_load4(x + g->stride), w[1], g->offsets, acc);
            } else if (columns == 1) {
                dw_tap(tb_simd_load4(x), w[0], g->offsets, acc);
            }
        }
    } else {
        for (ky = win->ky_lo; ky < win->ky_hi; ++ky) {
            for (kx = win->kx_lo; kx < win->kx_hi; ++kx) {
                const int8_t *x = in_batch + origin + ky * g->row + kx * g->stride;
                dw_tap_int8(tb_simd_load4(x), g->w + (ky * p->k_w + kx) * p->out_c, g->offsets,
                            acc);
            }
        }
    }
    dw_store4(g, acc, out);
}

/* First and one-past-last output column whose window lies inside the input horizontally. */
static void dw_interior_columns(const tb_native_conv_t *p, int32_t *lo, int32_t *hi)
{
    const int32_t last = p->in_w - p->k_w + p->pad_w; /* ox * stride_w <= last */
    *lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
    *hi = last < 0 ? 0 : last / p->stride_w + 1;
    if (*hi > p->out_w) {
        *hi = p->out_w;
    }
    if (*hi < *lo) {
        *hi = *lo;
    }
}

static void dw_pass_setup(const tb_native_conv_t *p, int32_t c0, dw_pass_t *g)
{
    int32_t t;
    g->p = p;
    dw_quant_setup(p, c0, &g->q);
    g->w = p->weights + c0;
    g->offsets = tb_simd_pair(p->input_offset, p->input_offset);
    g->stride = p->in_c;
    g->row = p->in_w * p->in_c;
    g->in_step = p->stride_w * p->in_c;
    g->is3x3 = p->k_h == 3 && p->k_w == 3;
    g->is10x4 = p->k_h == 10 && p->k_w == 4;
    for (t = 0; t < DW_TAPS_3X3; ++t) {
        const uint32_t word = g->is3x3 ? tb_simd_load4(g->w + t * p->out_c) : 0u;
        g->w3[t][0] = tb_sxtb16(word);
        g->w3[t][1] = tb_sxtb16_ror8(word);
    }
}

/* One pass of four channels c0..c0+3 over the whole output. */
static void dw_group(const tb_native_conv_t *p, const int8_t *input, int8_t *output, int32_t c0)
{
    dw_pass_t g;
    int32_t ox_lo, ox_hi, b, oy, ox;
    dw_pass_setup(p, c0, &g);
    dw_interior_columns(p, &ox_lo, &ox_hi);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * g.row + c0;
        int8_t *out = output + b * p->out_h * p->out_w * p->out_c + c0;
        for (oy = 0; oy < p->out_h; ++oy, out += p->out_w * p->out_c) {
            dw_window_t win;
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t lo = p->out_w, hi = p->out_w; /* the run of interior pixels, if any */
            tb_conv_window(iy0, p->k_h, p->in_h, &win.ky_lo, &win.ky_hi);
            if (win.ky_lo == 0 && win.ky_hi == p->k_h && (g.is3x3 || g.is10x4)) {
                lo = ox_lo;
                hi = ox_hi;
            }
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t origin = iy0 * g.row + ix0 * g.stride;
                if (ox == lo && hi > lo) {
                    if (g.is3x3) {
                        dw_3x3_run(&g, in_batch + origin, out + ox * p->out_c, hi - lo);
                    } else {
                        dw_10x4_run(&g, in_batch + origin, out + ox * p->out_c, hi - lo);
                    }
                    ox = hi - 1;
                    continue;
                }
                dw_pixel(&g, in_batch, origin, ix0, &win, out + ox * p->out_c);
            }
        }
    }
}

/* One output channel oc (input channel oc / depth multiplier) over the whole output. */
static void dw_channel(const tb_native_conv_t *p, const int8_t *input, int8_t *output, int32_t oc)
{
    const int32_t ic = oc / p->depth_multiplier;
    int32_t b, oy, ox, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * p->in_c + ic;
        int8_t *out = output + b * p->out_h * p->out_w * p->out_c + oc;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky_lo, ky_hi;
            tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < p->out_w; ++ox, out += p->out_c) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx_lo, kx_hi, acc = 0;
                tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
                for (ky = ky_lo; ky < ky_hi; ++ky) {
                    const int8_t *x = in_batch + (iy0 + ky) * p->in_w * p->in_c;
                    const int8_t *w = p->weights + ky * p->k_w * p->out_c + oc;
                    for (kx = kx_lo; kx < kx_hi; ++kx) {
                        acc += (int32_t)w[kx * p->out_c] *
                               ((int32_t)x[(ix0 + kx) * p->in_c] + p->input_offset);
                    }
                }
                *out = tb_conv_finish(p, acc, oc);
            }
        }
    }
}

uint32_t tb_native_depthwise_conv_scratch_bytes(const tb_native_conv_t *p)
{
    (void)p; /* the widened weights and the constants of a pass live on the stack */
    return 0u;
}

int tb_native_depthwise_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output,
                                void *scratch)
{
    int32_t c = 0;
    (void)scratch;
    if (p->stride_h <= 0 || p->stride_w <= 0 || p->depth_multiplier <= 0 || p->weights == 0 ||
        p->multiplier == 0 || p->shift == 0 || p->out_c != p->in_c * p->depth_multiplier) {
        return -1;
    }
    if (p->depth_multiplier == 1) {
        for (; c + DW_LANES <= p->out_c; c += DW_LANES) {
            dw_group(p, input, output, c);
        }
    }
    for (; c < p->out_c; ++c) {
        dw_channel(p, input, output, c);
    }
    return 0;
}
