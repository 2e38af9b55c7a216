/*
 * tb_native_softmax.c - int8 SOFTMAX in fixed point (int8 in, int8 out with
 * scale 1/256 and zero point -128), bit-exact with TF Lite's reference:
 * differences to the row maximum are scaled to Q5.26, exponentiated in Q0.31,
 * summed in Q12.19 and divided with a Newton-Raphson reciprocal.
 */
#include "tb_native_fixedpoint.h"
#include "tb_native_kernels.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

static int32_t count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* exp(a) for a in [-1/4, 0), both Q0.31; a 4th-order expansion around -1/8. */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = tb_fx_add(a, (int32_t)1 << 28);
    const int32_t x2 = tb_fx_mul_high(x, x);
    const int32_t x3 = tb_fx_mul_high(x2, x);
    const int32_t x4 = tb_fx_mul_high(x2, x2);
    const int32_t x4_over_4 = tb_fx_div_pot(x4, 2);
    const int32_t poly =
        tb_fx_div_pot(tb_fx_add(tb_fx_mul_high(tb_fx_add(x4_over_4, x3), one_third), x2), 1);
    return tb_fx_add(exp_minus_one_eighth,
                     tb_fx_mul_high(exp_minus_one_eighth, tb_fx_add(x, poly)));
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4 */
    static const int32_t factors[7] = { 1672461947, 1302514674, 790015084, 290630308,
                                        39332535,   720401,     242 };
    const int32_t fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = tb_fx_sub(a & (one_quarter - 1), one_quarter);
    const int32_t remainder = tb_fx_sub(a_mod_quarter_minus_quarter, a);
    int32_t result =
        exp_quarter_interval(tb_fx_sat_shl(a_mod_quarter_minus_quarter, SCALED_DIFF_INTEGER_BITS));
    int32_t k;
    for (k = -2; k <= 4; ++k) {
        if ((remainder & ((int32_t)1 << (fractional_bits + k))) != 0) {
            result = tb_fx_mul_high(result, factors[k + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1) given in Q0.31; result in Q0.31. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int32_t one_q2 = (int32_t)1 << 29;
    const int32_t c48_over_17 = 1515870810;     /* Q2.29 */
    const int32_t neg_32_over_17 = -1010580540; /* Q2.29 */
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = tb_fx_add(c48_over_17, tb_fx_mul_high(half_denominator, neg_32_over_17));
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t hdx = tb_fx_mul_high(half_denominator, x);
        const int32_t one_minus_hdx = tb_fx_sub(one_q2, hdx);
        x = tb_fx_add(x, tb_fx_sat_shl(tb_fx_mul_high(x, one_minus_hdx), 2));
    }
    return tb_fx_sat_shl(x, 1);
}

uint32_t tb_native_softmax_scratch_bytes(const tb_native_softmax_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_softmax_s8(const tb_native_softmax_t *p, const int8_t *input, int8_t *output,
                         void *scratch)
{
    int32_t row, c;
    (void)scratch; /* the reference kernels need none */
    if (p->depth <= 0 || p->input_left_shift < 0 || p->input_left_shift > 31) {
        return -1;
    }
    for (row = 0; row < p->outer; ++row) {
        const int8_t *x = input + row * p->depth;
        int8_t *y = output + row * p->depth;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0;
        int32_t headroom, bits_over_unit, reciprocal;
        for (c = 0; c < p->depth; ++c) {
            if (x[c] > max_in_row) {
                max_in_row = x[c];
            }
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tb_fx_mul_high(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum_of_exps = tb_fx_add(
                    sum_of_exps, tb_fx_div_pot(exp_on_negative_values(scaled), ACCUM_INTEGER_BITS));
            }
        }
        headroom = count_leading_zeros((uint32_t)sum_of_exps);
        bits_over_unit = ACCUM_INTEGER_BITS - headroom;
        reciprocal = one_over_one_plus_x(
            (int32_t)(((uint32_t)sum_of_exps << headroom) - ((uint32_t)1 << 31)));
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tb_fx_mul_high(
                    (int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_on_negative_values(scaled);
                int32_t out = tb_fx_div_pot(tb_fx_mul_high(reciprocal, e), bits_over_unit + 31 - 8);
                out -= 128;
                y[c] = (int8_t)(out < -128 ? -128 : (out > 127 ? 127 : out));
            } else {
                y[c] = -128;
            }
        }
    }
    return 0;
}
