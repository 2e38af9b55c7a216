/* tb_native_depthwise_conv.c - int8 DEPTHWISE_CONV_2D with Helium: depth multiplier 1 in
 * blocks of eight channels (int16 inputs, int32 products), the block's requantization
 * constants and weight sums set up once for all pixels; other multipliers take a scalar loop.
 */
#include "tb_native_conv_util.h"
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

uint32_t tb_native_depthwise_conv_scratch_bytes(const tb_native_conv_t *p)
{
    (void)p;
    return 0u;
}

/*
 * One block of eight channels starting at c, over every output pixel. A tap widens eight
 * inputs and eight weights to int16 and multiplies them into int32 (VMULLB: the even
 * channels, VMULLT: the odd ones), so each multiply does four exact MACs; the even and odd
 * accumulators are requantized with their channels' constants (gathered once per block) and
 * interleaved again by the narrowing moves. Inside the input, sum w * (x + offset) is
 * sum w * x + offset * sum w with the block's weight sums (exact in int32); a window clipped
 * by the padding adds (x + offset) * w over its inside taps only. `n` (1..8) channels are
 * active; `tail` is a constant at each call, so a full block loads without predication.
 */
static inline __attribute__((always_inline)) void depthwise_block(const tb_native_conv_t *p,
                                                                  const int8_t *in_batch,
                                                                  int8_t *out_batch, int32_t c,
                                                                  int32_t n, int tail)
{
    const int32_t in_row = p->in_w * p->in_c;
    const int32_t w_row = p->k_w * p->out_c;
    const mve_pred16_t lanes16 = vctp16q((uint32_t)n);
    const mve_pred16_t even = vctp32q((uint32_t)(n + 1) / 2u);
    const mve_pred16_t odd = vctp32q((uint32_t)n / 2u);
    const uint32x4_t pairs = vmulq_n_u32(vidupq_n_u32(0u, 1), 2u); /* 0, 2, 4, 6 */
    const uint32x4_t pairs_odd = vaddq_n_u32(pairs, 1u);
    tb_mve_quant_t q_even, q_odd;
    int32x4_t base_even, base_odd, bias_even, bias_odd;
    int32x4_t sums_even = vdupq_n_s32(0), sums_odd = vdupq_n_s32(0);
    int32_t oy, ox, ky, kx;
    q_even.multiplier = vldrwq_gather_shifted_offset_z_s32(p->multiplier + c, pairs, even);
    q_odd.multiplier = vldrwq_gather_shifted_offset_z_s32(p->multiplier + c, pairs_odd, odd);
    {
        const int32x4_t shift_even = vldrwq_gather_shifted_offset_z_s32(p->shift + c, pairs, even);
        const int32x4_t shift_odd =
            vldrwq_gather_shifted_offset_z_s32(p->shift + c, pairs_odd, odd);
        q_even.left = vmaxq_s32(shift_even, vdupq_n_s32(0));
        q_even.right = vminq_s32(shift_even, vdupq_n_s32(0));
        q_odd.left = vmaxq_s32(shift_odd, vdupq_n_s32(0));
        q_odd.right = vminq_s32(shift_odd, vdupq_n_s32(0));
    }
    if (p->bias != 0) {
        bias_even = vldrwq_gather_shifted_offset_z_s32(p->bias + c, pairs, even);
        bias_odd = vldrwq_gather_shifted_offset_z_s32(p->bias + c, pairs_odd, odd);
    } else {
        bias_even = vdupq_n_s32(0);
        bias_odd = vdupq_n_s32(0);
    }
    for (ky = 0; ky < p->k_h * p->k_w; ++ky) {
        const int8_t *w = p->weights + ky * p->out_c + c;
        sums_even = vaddq_s32(sums_even, vldrbq_gather_offset_z_s32(w, pairs, even));
        sums_odd = vaddq_s32(sums_odd, vldrbq_gather_offset_z_s32(w, pairs_odd, odd));
    }
    base_even = vmlaq_n_s32(bias_even, sums_even, p->input_offset);
    base_odd = vmlaq_n_s32(bias_odd, sums_odd, p->input_offset);
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int32_t ky_lo, ky_hi;
        tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
        for (ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w;
            const int32_t x0 = iy0 * in_row + ix0 * p->in_c + c; /* may lie before the input */
            const int8_t *w0 = p->weights + c;
            int8_t *out = out_batch + (oy * p->out_w + ox) * p->out_c + c;
            int32_t kx_lo, kx_hi;
            int32x4_t acc_even, acc_odd;
            int16x8_t packed;
            tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
            if (ky_lo == 0 && ky_hi == p->k_h && kx_lo == 0 && kx_hi == p->k_w) {
                acc_even = base_even;
                acc_odd = base_odd;
                for (ky = 0; ky < p->k_h; ++ky) {
                    const int8_t *x = in_batch + x0 + ky * in_row;
                    const int8_t *w = w0 + ky * w_row;
                    for (kx = 0; kx < p->k_w; ++kx) {
                        const int16x8_t xv = tail ? vldrbq_z_s16(x, lanes16) : vldrbq_s16(x);
                        const int16x8_t wv = tail ? vldrbq_z_s16(w, lanes16) : vldrbq_s16(w);
                        acc_even = vaddq_s32(acc_even, vmullbq_int_s16(xv, wv));
                        acc_odd = vaddq_s32(acc_odd, vmulltq_int_s16(xv, wv));
                        x += p->in_c;
                        w += p->out_c;
                    }
                }
            } else {
                acc_even = bias_even;
                acc_odd = bias_odd;
                for (ky = ky_lo; ky < ky_hi; ++ky) {
                    const int8_t *x = in_batch + (x0 + ky * in_row + kx_lo * p->in_c);
                    const int8_t *w = w0 + ky * w_row + kx_lo * p->out_c;
                    for (kx = kx_lo; kx < kx_hi; ++kx) {
                        /* |x + offset| <= 255: exact in int16 */
                        const int16x8_t xv =
                            vaddq_n_s16(vldrbq_z_s16(x, lanes16), (int16_t)p->input_offset);
                        const int16x8_t wv = vldrbq_z_s16(w, lanes16);
                        acc_even = vaddq_s32(acc_even, vmullbq_int_s16(xv, wv));
                        acc_odd = vaddq_s32(acc_odd, vmulltq_int_s16(xv, wv));
                        x += p->in_c;
                        w += p->out_c;
                    }
                }
            }
            acc_even = vaddq_n_s32(tb_mve_requantize(acc_even, &q_even), p->output_offset);
            acc_odd = vaddq_n_s32(tb_mve_requantize(acc_odd, &q_odd), p->output_offset);
            acc_even =
                vminq_s32(vmaxq_s32(acc_even, vdupq_n_s32(p->act_min)), vdupq_n_s32(p->act_max));
            acc_odd =
                vminq_s32(vmaxq_s32(acc_odd, vdupq_n_s32(p->act_min)), vdupq_n_s32(p->act_max));
            packed = vmovnbq_s32(vdupq_n_s16(0), acc_even);
            packed = vmovntq_s32(packed, acc_odd);
            if (tail) {
                vstrbq_p_s16(out, packed, lanes16);
            } else {
                vstrbq_s16(out, packed);
            }
        }
    }
}

/* Taps of the fast path's filters (3x3: 9, 5x5: 25); larger filters take depthwise_block. */
#define DW_MAX_TAPS 32

/* acc_even + acc_odd[i] += x * w over the eight channels at x and w (int16 products in int32). */
#define DW_TAP(x, w)                                                                               \
    do {                                                                                           \
        const int16x8_t xv_ = vldrbq_s16(x);                                                       \
        const int16x8_t wv_ = vldrbq_s16(w);                                                       \
        acc_even = vaddq_s32(acc_even, vmullbq_int_s16(xv_, wv_));                                 \
        acc_odd = vaddq_s32(acc_odd, vmulltq_int_s16(xv_, wv_));                                   \
    } while (0)

/*
 * The fast path: depth multiplier 1, a full block of eight channels from c, filters of at most
 * DW_MAX_TAPS taps. The block's weights are first packed tap by tap (8 bytes each) so that the
 * tap loop walks them with post-incremented loads, and the taps' input offsets go in a table,
 * so a pixel inside the input is one flat loop of 8 instructions per tap (8 MACs) from the
 * base value bias + offset * (the block's weight sums); a 3x3 filter (`three`) is unrolled
 * instead, its packed weights at immediate offsets and its input walked by adds. A pixel whose
 * window is clipped adds (x + offset) * w over the taps inside, from the bias.
 * Requantization as in depthwise_block, with two savings that leave the results unchanged:
 * without a left shift in the block (`left` 0) the shift by 0 is left out, and the clamp runs
 * on the int16 lanes after a saturating narrowing (clamping to [act_min, act_max] within int16
 * after saturating to int16 is clamping in int32). Both keep vector registers free, which
 * GCC would otherwise fill with reloads of the block's constants in every pixel.
 */
static inline __attribute__((always_inline)) void
depthwise_block8_with(const tb_native_conv_t *p, const int8_t *in_batch, int8_t *out_batch,
                      int32_t c, int left, int three)
{
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
    const int32_t in_row = p->in_w * in_c;
    const int32_t k_h = p->k_h, k_w = p->k_w, taps = k_h * k_w;
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t stride_h = p->stride_h, stride_w = p->stride_w;
    const int32_t pad_h = p->pad_h, pad_w = p->pad_w;
    const int32_t in_h = p->in_h, in_w = p->in_w;
    const int32_t output_offset = p->output_offset;
    const int16x8_t lo = vdupq_n_s16((int16_t)p->act_min);
    const int16x8_t hi = vdupq_n_s16((int16_t)p->act_max);
    const uint32x4_t pairs = vmulq_n_u32(vidupq_n_u32(0u, 1), 2u); /* 0, 2, 4, 6 */
    const uint32x4_t pairs_odd = vaddq_n_u32(pairs, 1u);
    int8_t wblk[DW_MAX_TAPS * 8];
    int32_t offs[DW_MAX_TAPS];
    tb_mve_quant_t q_even, q_odd;
    const int16_t input_offset = (int16_t)p->input_offset;
    int32x4_t base_even, base_odd, bias_even, bias_odd;
    int32x4_t sums_even = vdupq_n_s32(0), sums_odd = vdupq_n_s32(0);
    int32_t oy, ox, t, ky, kx;
    {
        const int32x4_t shift_even = vldrwq_gather_shifted_offset_s32(p->shift + c, pairs);
        const int32x4_t shift_odd = vldrwq_gather_shifted_offset_s32(p->shift + c, pairs_odd);
        q_even.multiplier = vldrwq_gather_shifted_offset_s32(p->multiplier + c, pairs);
        q_odd.multiplier = vldrwq_gather_shifted_offset_s32(p->multiplier + c, pairs_odd);
        q_even.left = vmaxq_s32(shift_even, vdupq_n_s32(0));
        q_even.right = vminq_s32(shift_even, vdupq_n_s32(0));
        q_odd.left = vmaxq_s32(shift_odd, vdupq_n_s32(0));
        q_odd.right = vminq_s32(shift_odd, vdupq_n_s32(0));
    }
    for (ky = 0; ky < k_h; ++ky) {
        for (kx = 0; kx < k_w; ++kx) {
            const int32_t tap = ky * k_w + kx;
            int8_t *dst = wblk + tap * 8;
            vstrbq_s16(dst, vldrbq_s16(p->weights + tap * out_c + c));
            offs[tap] = ky * in_row + kx * in_c;
            sums_even = vaddq_s32(sums_even, vldrbq_gather_offset_s32(dst, pairs));
            sums_odd = vaddq_s32(sums_odd, vldrbq_gather_offset_s32(dst, pairs_odd));
        }
    }
    if (p->bias != 0) {
        bias_even = vldrwq_gather_shifted_offset_s32(p->bias + c, pairs);
        bias_odd = vldrwq_gather_shifted_offset_s32(p->bias + c, pairs_odd);
    } else {
        bias_even = vdupq_n_s32(0);
        bias_odd = vdupq_n_s32(0);
    }
    base_even = vmlaq_n_s32(bias_even, sums_even, p->input_offset);
    base_odd = vmlaq_n_s32(bias_odd, sums_odd, p->input_offset);
    for (oy = 0; oy < out_h; ++oy) {
        const int32_t iy0 = oy * stride_h - pad_h;
        const int rows_inside = iy0 >= 0 && iy0 + k_h <= in_h;
        for (ox = 0; ox < out_w; ++ox) {
            const int32_t ix0 = ox * stride_w - pad_w;
            int32x4_t acc_even = base_even;
            int32x4_t acc_odd = base_odd;
            int16x8_t packed;
            if (rows_inside && ix0 >= 0 && ix0 + k_w <= in_w) {
                const int8_t *x = in_batch + iy0 * in_row + ix0 * in_c + c;
                if (three) {
                    for (ky = 0; ky < 3; ++ky) {
                        DW_TAP(x, wblk + 24 * ky);
                        DW_TAP(x + in_c, wblk + 24 * ky + 8);
                        DW_TAP(x + 2 * in_c, wblk + 24 * ky + 16);
                        x += in_row;
                    }
                } else {
                    const int8_t *w = wblk;
                    for (t = 0; t < taps; ++t) {
                        DW_TAP(x + offs[t], w);
                        w += 8;
                    }
                }
            } else {
                /* The window's inside: rows ky_lo.. and columns kx_lo.., walked by pointers
                 * that step a row at a time (no index arithmetic per row). */
                int32_t ky_lo, ky_hi, kx_lo, kx_hi, rows, cols;
                const int8_t *x_row;
                const int8_t *w_row;
                tb_conv_window(iy0, k_h, in_h, &ky_lo, &ky_hi);
                tb_conv_window(ix0, k_w, in_w, &kx_lo, &kx_hi);
                rows = ky_hi - ky_lo;
                cols = kx_hi - kx_lo;
                x_row = in_batch + ((iy0 + ky_lo) * in_row + (ix0 + kx_lo) * in_c + c);
                w_row = wblk + (ky_lo * k_w + kx_lo) * 8;
                acc_even = bias_even;
                acc_odd = bias_odd;
                for (ky = rows; ky > 0 && cols > 0; --ky) {
                    const int8_t *x = x_row;
                    const int8_t *wt = w_row;
                    for (kx = cols; kx > 0; --kx) {
                        /* |x + offset| <= 255: exact in int16 */
                        const int16x8_t xv = vaddq_n_s16(vldrbq_s16(x), input_offset);
                        const int16x8_t wv = vldrbq_s16(wt);
                        acc_even = vaddq_s32(acc_even, vmullbq_int_s16(xv, wv));
                        acc_odd = vaddq_s32(acc_odd, vmulltq_int_s16(xv, wv));
                        x += in_c;
                        wt += 8;
                    }
                    x_row += in_row;
                    w_row += k_w * 8;
                }
            }
            if (left) {
                acc_even = vshlq_s32(acc_even, q_even.left);
                acc_odd = vshlq_s32(acc_odd, q_odd.left);
            }
            acc_even = vqrdmulhq_s32(acc_even, q_even.multiplier);
            acc_odd = vqrdmulhq_s32(acc_odd, q_odd.multiplier);
            acc_even = vqaddq_s32(acc_even, vshrq_n_s32(vandq_s32(acc_even, q_even.right), 31));
            acc_odd = vqaddq_s32(acc_odd, vshrq_n_s32(vandq_s32(acc_odd, q_odd.right), 31));
            acc_even = vaddq_n_s32(vrshlq_s32(acc_even, q_even.right), output_offset);
            acc_odd = vaddq_n_s32(vrshlq_s32(acc_odd, q_odd.right), output_offset);
            packed = vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), acc_even), acc_odd);
            vstrbq_s16(out_batch + (oy * out_w + ox) * out_c + c,
                       vminq_s16(vmaxq_s16(packed, lo), hi));
        }
    }
}

#undef DW_TAP

/* One copy per (left shift, 3x3) pair, chosen once per block. */
static __attribute__((noinline)) void
depthwise_block8(const tb_native_conv_t *p, const int8_t *in_batch, int8_t *out_batch, int32_t c)
{
    const int three = p->k_h == 3 && p->k_w == 3;
    int left = 0;
    int32_t i;
    for (i = c; i < c + 8; ++i) {
        left |= p->shift[i] > 0;
    }
    if (left) {
        if (three) {
            depthwise_block8_with(p, in_batch, out_batch, c, 1, 1);
        } else {
            depthwise_block8_with(p, in_batch, out_batch, c, 1, 0);
        }
    } else if (three) {
        depthwise_block8_with(p, in_batch, out_batch, c, 0, 1);
    } else {
        depthwise_block8_with(p, in_batch, out_batch, c, 0, 0);
    }
}

/* Any depth multiplier, one output at a time (the reference loop). */
static void depthwise_general(const tb_native_conv_t *p, const int8_t *in_batch, int8_t *output)
{
    int32_t oy, ox, ic, m, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int32_t ky_lo, ky_hi;
        tb_conv_window(iy0, p->k_h, p->in_h, &ky_lo, &ky_hi);
        for (ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w;
            int32_t kx_lo, kx_hi;
            tb_conv_window(ix0, p->k_w, p->in_w, &kx_lo, &kx_hi);
            for (ic = 0; ic < p->in_c; ++ic) {
                for (m = 0; m < p->depth_multiplier; ++m) {
                    const int32_t oc = ic * p->depth_multiplier + m;
                    int32_t acc = 0;
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

int tb_native_depthwise_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output,
                                void *scratch)
{
    int32_t b, c;
    (void)scratch; /* no scratch needed */
    if (p->requant_layout != TB_NATIVE_REQUANT_ARRAYS || p->stride_h <= 0 || p->stride_w <= 0 ||
        p->depth_multiplier <= 0 || p->weights == 0 || p->multiplier == 0 || p->shift == 0 ||
        p->out_c != p->in_c * p->depth_multiplier) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)(b * p->in_h * p->in_w * p->in_c);
        int8_t *out_batch = output + (int32_t)(b * p->out_h * p->out_w * p->out_c);
        if (p->depth_multiplier != 1) {
            depthwise_general(p, in_batch, out_batch);
            continue;
        }
        for (c = 0; c + 8 <= p->out_c; c += 8) {
            if (p->k_h * p->k_w <= DW_MAX_TAPS) {
                depthwise_block8(p, in_batch, out_batch, c);
            } else {
                depthwise_block(p, in_batch, out_batch, c, 8, 0);
            }
        }
        if (c < p->out_c) {
            depthwise_block(p, in_batch, out_batch, c, p->out_c - c, 1);
        }
    }
    return 0;
}
