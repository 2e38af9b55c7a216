/*
 * tb_native_fixedpoint.h - the integer requantization arithmetic of TF Lite
 * (gemmlowp-style Q-format helpers), written to be bit-exact with the
 * reference kernels in the default double-rounding configuration.
 *
 * Fixed-point values are int32 with an implied number of integer bits: a value
 * "Qm" has m integer bits and 31 - m fractional bits.
 */
#ifndef TB_NATIVE_FIXEDPOINT_H
#define TB_NATIVE_FIXEDPOINT_H

#include <stdint.h>

/* Wrapping int32 addition and subtraction (two's complement, no UB). */
static inline int32_t tb_fx_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t tb_fx_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* round(a * b / 2^31), saturating the single overflow case INT32_MIN * INT32_MIN. */
static inline int32_t tb_fx_mul_high(int32_t a, int32_t b)
{
    int64_t product;
    int64_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    product = (int64_t)a * (int64_t)b;
    nudge = product >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, which is the rounding the scheme needs. */
    return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t tb_fx_div_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent with saturation, 0 < exponent < 31. */
static inline int32_t tb_fx_sat_shl(int32_t x, int32_t exponent)
{
    const int32_t limit = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > limit) {
        return INT32_MAX;
    }
    if (x < -limit) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* x * multiplier * 2^shift with the multiplier in Q0.31 (two roundings). */
static inline int32_t tb_fx_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tb_fx_div_pot(tb_fx_mul_high((int32_t)((uint32_t)x << left), multiplier), right);
}

#endif /* TB_NATIVE_FIXEDPOINT_H */
