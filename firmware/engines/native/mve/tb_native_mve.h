/*
 * tb_native_mve.h - what the mve (Helium) kernels share: four-lane requantization that gives
 * exactly tb_fx_requantize's result, the requantize-clamp-store of up to four outputs, and the
 * dot products of one int8 vector with four filters. Static inline, as tb_native_conv_util.h.
 *
 * Exactness of the requantization, lane by lane:
 * - VQRDMULH computes sat((2ab + 2^31) >> 32): round half up of ab / 2^31, saturating only for
 *   INT32_MIN * INT32_MIN. tb_fx_mul_high adds 2^30 (or 1 - 2^30 when ab < 0) and truncates
 *   toward zero, which is also round half up; the two agree on every input.
 * - VRSHL by -e rounds x / 2^e half up; tb_fx_div_pot rounds half away from zero. Subtracting
 *   1 from a negative x first (e > 0 only) moves exactly the negative ties down; the
 *   saturating add keeps INT32_MIN, whose quotient is exact anyway.
 * - VSHL by a positive amount wraps like the reference's unsigned shift.
 */
#ifndef TB_NATIVE_MVE_H
#define TB_NATIVE_MVE_H

#ifndef __ARM_FEATURE_MVE
#error                                                                                             \
    "the mve kernel set needs Helium (MVE): build for Cortex-M55 (-mcpu=cortex-m55 -mfloat-abi=hard); the host cannot build it"
#endif

#include <arm_mve.h>
#include <stdint.h>

#include "tb_native_plan.h"

/* Per-lane shift split once: left = max(shift, 0), right = min(shift, 0). */
typedef struct {
    int32x4_t multiplier;
    int32x4_t left;
    int32x4_t right;
} tb_mve_quant_t;

static inline tb_mve_quant_t tb_mve_quant_load(const int32_t *multiplier, const int32_t *shift,
                                               mve_pred16_t lanes)
{
    tb_mve_quant_t q;
    const int32x4_t s = vldrwq_z_s32(shift, lanes);
    q.multiplier = vldrwq_z_s32(multiplier, lanes);
    q.left = vmaxq_s32(s, vdupq_n_s32(0));
    q.right = vminq_s32(s, vdupq_n_s32(0));
    return q;
}

static inline int32x4_t tb_mve_requantize(int32x4_t x, const tb_mve_quant_t *q)
{
    x = vshlq_s32(x, q->left);
    x = vqrdmulhq_s32(x, q->multiplier);
    /* (x & right) has its sign bit set iff x < 0 and right < 0: then add -1. */
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, q->right), 31));
    return vrshlq_s32(x, q->right);
}

/* Requantized acc + output offset, clamped, stored as int8 in the active lanes. */
static inline void tb_mve_store4(int8_t *out, int32x4_t acc, const tb_mve_quant_t *q,
                                 int32_t output_offset, int32_t act_min, int32_t act_max,
                                 mve_pred16_t lanes)
{
    int32x4_t v = vaddq_n_s32(tb_mve_requantize(acc, q), output_offset);
    v = vmaxq_s32(v, vdupq_n_s32(act_min));
    v = vminq_s32(v, vdupq_n_s32(act_max));
    vstrbq_p_s32(out, v, lanes);
}

/*
 * out[j] = sum_k x[k] * w_j[k] for the four filters w_j = w + j * w_stride, k < n. The loop counts
 * whole vectors down to 0 so that GCC uses post-incremented loads and a low-overhead loop
 * (10 instructions per 64 MACs); the tail loads with predication (inactive lanes are 0 and
 * nothing past the end is read).
 */
static inline void tb_mve_dot4(const int8_t *x, int32_t n, const int8_t *w, int32_t w_stride,
                               int32_t *out)
{
    const int8_t *w0 = w;
    const int8_t *w1 = w0 + w_stride;
    const int8_t *w2 = w1 + w_stride;
    const int8_t *w3 = w2 + w_stride;
    const int32_t rest = n & 15;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int32_t k;
    for (k = n >> 4; k > 0; --k) {
        const int8x16_t v = vld1q_s8(x);
        a0 = vmladavaq_s8(a0, v, vld1q_s8(w0));
        a1 = vmladavaq_s8(a1, v, vld1q_s8(w1));
        a2 = vmladavaq_s8(a2, v, vld1q_s8(w2));
        a3 = vmladavaq_s8(a3, v, vld1q_s8(w3));
        x += 16;
        w0 += 16;
        w1 += 16;
        w2 += 16;
        w3 += 16;
    }
    if (rest > 0) {
        const mve_pred16_t tail = vctp8q((uint32_t)rest);
        const int8x16_t v = vldrbq_z_s8(x, tail);
        a0 = vmladavaq_s8(a0, v, vldrbq_z_s8(w0, tail));
        a1 = vmladavaq_s8(a1, v, vldrbq_z_s8(w1, tail));
        a2 = vmladavaq_s8(a2, v, vldrbq_z_s8(w2, tail));
        a3 = vmladavaq_s8(a3, v, vldrbq_z_s8(w3, tail));
    }
    out[0] = a0;
    out[1] = a1;
    out[2] = a2;
    out[3] = a3;
}

/* sum_k x[k] * w[k], k < n. */
static inline int32_t tb_mve_dot1(const int8_t *x, int32_t n, const int8_t *w)
{
    const int32_t rest = n & 15;
    int32_t a = 0;
    int32_t k;
    for (k = n >> 4; k > 0; --k) {
        a = vmladavaq_s8(a, vld1q_s8(x), vld1q_s8(w));
        x += 16;
        w += 16;
    }
    if (rest > 0) {
        const mve_pred16_t tail = vctp8q((uint32_t)rest);
        a = vmladavaq_s8(a, vldrbq_z_s8(x, tail), vldrbq_z_s8(w, tail));
    }
    return a;
}

/*
 * out[j] = clamp(requantize(acc[j] + offset * sums[j] + bias[j]) + output_offset) for j < n,
 * four lanes per pass; sums and bias may be NULL (nothing to add).
 */
static inline void tb_mve_requantize_block(const int32_t *acc, int32_t n, const int32_t *sums,
                                           int32_t offset, const int32_t *bias,
                                           const int32_t *multiplier, const int32_t *shift,
                                           int32_t output_offset, int32_t act_min, int32_t act_max,
                                           int8_t *out)
{
    const int32x4_t lo = vdupq_n_s32(act_min);
    const int32x4_t hi = vdupq_n_s32(act_max);
    int32_t j;
    for (j = 0; j < n; j += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(n - j));
        const tb_mve_quant_t q = tb_mve_quant_load(multiplier + j, shift + j, lanes);
        int32x4_t v = vldrwq_z_s32(acc + j, lanes);
        if (sums != 0) {
            v = vmlaq_n_s32(v, vldrwq_z_s32(sums + j, lanes), offset);
        }
        if (bias != 0) {
            v = vaddq_s32(v, vldrwq_z_s32(bias + j, lanes));
        }
        v = vaddq_n_s32(tb_mve_requantize(v, &q), output_offset);
        vstrbq_p_s32(out + j, vminq_s32(vmaxq_s32(v, lo), hi), lanes);
    }
}

/* sum_k w[k], k < n (a filter's weight sum when the plan has none). */
static inline int32_t tb_mve_sum(const int8_t *w, int32_t n)
{
    int32_t a = 0;
    int32_t k;
    for (k = n; k > 0; k -= 16) {
        a = vaddvaq_s8(a, vldrbq_z_s8(w, vctp8q((uint32_t)k)));
        w += 16;
    }
    return a;
}

/* Lanes c < n of a group of four. */
static inline mve_pred16_t tb_mve_lanes4(int32_t n)
{
    return vctp32q((uint32_t)(n < 4 ? n : 4));
}

#endif /* TB_NATIVE_MVE_H */
