/*
 * tb_native_add.c (dsp) - int8 elementwise ADD of two same-shape tensors.
 *
 * Each element takes three requantizations (each input to the common scale,
 * the sum to the output's): reference does each with tb_fx_mul_high (a 64-bit
 * product, a sign-dependent nudge, a division) and tb_fx_div_pot (its mask
 * built in 64 bits), about 125 instructions per element on a Cortex-M4. Here,
 * with the layer's constants prepared once, bytes identical to reference:
 *
 * - The input with the larger scale has the multiplier 0.5 exactly (TF Lite
 *   scales both inputs by scale / (2 * the larger scale)): 2^30 with shift 0,
 *   and tb_fx_mul_high(a, 2^30) is floor((a + 1) / 2), which for the even a =
 *   (x + offset) << left_shift is a / 2: one shifted add, no multiply.
 * - The scaled inputs a are below 2^30 in magnitude when left_shift <= 22
 *   (|x + offset| <= 255; TF Lite's shift is 20), so tb_fx_mul_high(a, m) is
 *   tb_smmulr(2a, m) (see tb_native_simd.h); 2a itself is x << (left_shift +
 *   1) plus the offset shifted the same way. A requantized input is then at
 *   most |a| / 2 + 1 (its multiplier is below 2^30 or its shift >= 1), so the
 *   sum of two is below 2^30 too and takes the same path.
 * - tb_fx_div_pot(r, e) for 1 <= e <= 31 rounds half away from zero: with
 *   r' = r - 1 for r < 0, it is floor((r' + 2^(e-1)) / 2^e), which is
 *   (r' >> e) plus bit e - 1 of r' (no overflow: |r| < 2^30).
 *
 * Anything else (a left shift above 22, an input multiplier with shift 0 that
 * is not 0.5, an output shift of 0 or a shift below -31) takes the general
 * path, reference's arithmetic. Element i is read before it is written, so the
 * output may be one of the inputs (an in-place ADD).
 */
#include "tb_native_fixedpoint.h"
#include "tb_native_kernels.h"
#include "tb_native_simd.h"

/* Reference's: x * multiplier * 2^shift for shift <= 0. */
static int32_t scale_down(int32_t x, int32_t multiplier, int32_t shift)
{
    return tb_fx_div_pot(tb_fx_mul_high(x, multiplier), -shift);
}

static void add_general(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                        int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t a = ((int32_t)input1[i] + p->input1_offset) * ((int32_t)1 << p->left_shift);
        const int32_t b = ((int32_t)input2[i] + p->input2_offset) * ((int32_t)1 << p->left_shift);
        const int32_t sa = scale_down(a, p->input1_multiplier, p->input1_shift);
        const int32_t sb = scale_down(b, p->input2_multiplier, p->input2_shift);
        int32_t out = scale_down(tb_fx_add(sa, sb), p->output_multiplier, p->output_shift);
        out += p->output_offset;
        out = out < p->act_min ? p->act_min : (out > p->act_max ? p->act_max : out);
        output[i] = (int8_t)out;
    }
}

/*
 * tb_fx_div_pot(r, e) for 1 <= e <= 31 and |r| < 2^30 (see the file comment),
 * given e - 1: t = r' >> (e - 1) holds the result's floor above its bit 0
 * and the half-bit in it, so the result is (t >> 1) + (t & 1).
 */
static inline int32_t round_shift(int32_t r, int32_t e_minus_1)
{
    const int32_t down = r + (r >> 31); /* r - 1 for r < 0 */
    const int32_t t = down >> e_minus_1;
    return (t >> 1) + (t & 1);
}

#if defined(__GNUC__)
#define TB_ADD_INLINE __attribute__((always_inline)) inline
#else
#define TB_ADD_INLINE inline
#endif

/* One input's requantization: the 0.5 of the larger-scale input, or SMMULR and a shift. */
typedef struct {
    int32_t offset;     /* half: offset << left_shift; else offset << (left_shift + 1) */
    int32_t shift;      /* half: left_shift; else left_shift + 1 */
    int32_t multiplier; /* not half */
    int32_t exponent;   /* not half: the right shift minus 1, 0..30 */
} add_input_t;

/*
 * The element loop, twice the requantized sum (2s, for SMMULR) computed as
 * the two inputs' kinds allow; half1 and half2 are constants at each call, so
 * each instance keeps only its own arithmetic.
 */
static TB_ADD_INLINE void add_loop(const tb_native_add_t *p, const int8_t *input1,
                                   const int8_t *input2, int8_t *output, add_input_t in1,
                                   add_input_t in2, int half1, int half2)
{
    const int32_t mo = p->output_multiplier;
    const int32_t eo = -p->output_shift - 1; /* the right shift minus 1 */
    const int32_t out_offset = p->output_offset;
    const int32_t act_min = p->act_min;
    const int32_t act_max = p->act_max;
    const int32_t size = p->size;
    int32_t i;
    for (i = 0; i < size; ++i) {
        /* 2 * (sa + sb), where a half input's sa is a / 2, so 2 * sa = a. */
        const uint32_t x1 = (uint32_t)(int32_t)input1[i];
        const uint32_t x2 = (uint32_t)(int32_t)input2[i];
        const int32_t a = in1.offset + (int32_t)(x1 << in1.shift);
        const int32_t b = in2.offset + (int32_t)(x2 << in2.shift);
        const int32_t sa2 = half1 ? a : 2 * round_shift(tb_smmulr(a, in1.multiplier), in1.exponent);
        const int32_t sb2 = half2 ? b : 2 * round_shift(tb_smmulr(b, in2.multiplier), in2.exponent);
        int32_t out = round_shift(tb_smmulr(sa2 + sb2, mo), eo) + out_offset;
        out = out < act_min ? act_min : out;
        out = out > act_max ? act_max : out;
        output[i] = (int8_t)out;
    }
}

/* The input's kind and constants; 0 when neither fast kind applies. */
static int prepare_input(int32_t offset, int32_t multiplier, int32_t shift, int32_t left_shift,
                         add_input_t *in)
{
    in->offset = in->shift = in->multiplier = in->exponent = 0;
    if (shift == 0 && multiplier == ((int32_t)1 << 30)) {
        in->shift = left_shift;
        in->offset = (int32_t)((uint32_t)offset << left_shift);
        return 2; /* half */
    }
    if (shift >= 0 || shift < -31) {
        return 0;
    }
    in->shift = left_shift + 1;
    in->offset = (int32_t)((uint32_t)offset << (left_shift + 1));
    in->multiplier = multiplier;
    in->exponent = -shift - 1;
    return 1;
}

uint32_t tb_native_add_scratch_bytes(const tb_native_add_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_add_s8(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output, void *scratch)
{
    add_input_t in1, in2;
    int kind1, kind2;
    (void)scratch; /* none needed */
    if (p->left_shift < 0 || p->left_shift > 30 || p->input1_shift > 0 || p->input2_shift > 0 ||
        p->output_shift > 0) {
        return -1;
    }
    kind1 =
        prepare_input(p->input1_offset, p->input1_multiplier, p->input1_shift, p->left_shift, &in1);
    kind2 =
        prepare_input(p->input2_offset, p->input2_multiplier, p->input2_shift, p->left_shift, &in2);
    if (p->left_shift < 1 || p->left_shift > 22 || kind1 == 0 || kind2 == 0 ||
        p->output_shift == 0 || p->output_shift < -31) {
        add_general(p, input1, input2, output);
    } else if (kind1 == 2 && kind2 == 2) {
        add_loop(p, input1, input2, output, in1, in2, 1, 1);
    } else if (kind1 == 2) {
        add_loop(p, input1, input2, output, in1, in2, 1, 0);
    } else if (kind2 == 2) {
        add_loop(p, input1, input2, output, in1, in2, 0, 1);
    } else {
        add_loop(p, input1, input2, output, in1, in2, 0, 0);
    }
    return 0;
}
