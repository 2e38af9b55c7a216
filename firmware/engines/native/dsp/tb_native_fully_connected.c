/*
 * tb_native_fully_connected.c (dsp) - int8 FULLY_CONNECTED with SMLAD.
 *
 * Each weight is used once per inference, so the work per MAC is bounded by
 * loading the weights (one word per 4), sign-extending them into 16-bit pairs
 * (SXTB16 and SXTB16 ROR #8: two per word) and the SMLADs (two per word).
 * What can be shared is the input: four output rows are computed per pass, so
 * each input word is loaded and extended once for four rows (23 instructions
 * per 16 MACs in the inner loop; one row per pass would need 7 per 4). No
 * scratch: the input is extended in registers, not into a buffer, which would
 * save only its one load per 4 rows and cost 2 bytes per input in the arena.
 *
 * The input offset is folded out as in reference (sum w * x + offset * sum w,
 * exact in int32), so the inner loop multiplies raw int8 values. The pairing
 * of SXTB16 (bytes 0 and 2) with SXTB16 ROR #8 (bytes 1 and 3) is the same on
 * weights and inputs, so each SMLAD adds two products of matching positions.
 * The requantization is tb_fx_requantize's result exactly (see requantize).
 */
#include "tb_native_fixedpoint.h"
#include "tb_native_kernels.h"
#include "tb_native_simd.h"

/* sum w[i] * x[i] over the n % 4 trailing elements, after the word loop. */
static inline int32_t dot_tail(const int8_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i;
    for (i = 0; i < (n & 3); ++i) {
        acc += (int32_t)w[i] * (int32_t)x[i];
    }
    return acc;
}

/* One input word (in_even, in_odd: its extended pairs) against the weight word at w. */
static inline int32_t mac4(const int8_t *w, uint32_t in_even, uint32_t in_odd, int32_t acc)
{
    const uint32_t wt = tb_simd_load4(w);
    acc = tb_smlad(tb_sxtb16(wt), in_even, acc);
    return tb_smlad(tb_sxtb16_ror8(wt), in_odd, acc);
}

/*
 * GCC's first scheduling pass hoists the four weight loads of an iteration
 * above the SMLADs; the extra live registers then spill the loop's stride and
 * end to the stack (27 instructions per iteration instead of 25). Without that
 * pass the code keeps its written order and the loop fits the registers. (For
 * the whole file, so that its functions still inline into each other.)
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns")
#endif

/*
 * Four rows w, w + n, w + 2n, w + 3n against x: acc[r] = sum_i w[r * n + i] * x[i].
 * Two row pointers (rows 0 and 2) and the stride address the four rows, so the
 * loop's 13 live values fit the core's registers: per input word 1 load and 2
 * extends for the input, 1 load, 2 extends and 2 SMLADs per row (23), and the
 * compare and branch: 25 instructions per 16 MACs in C, 48 per 32 in the
 * two-word assembly loop the DSP cores run.
 */
static inline void dot_rows4(const int8_t *x, const int8_t *w, int32_t n, int32_t acc[4])
{
    const int8_t *w01 = w;
    const int8_t *w23 = w + 2 * n;
    const int8_t *const x_end = x + (n & ~3);
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#if TB_SIMD_NATIVE && defined(__thumb2__)
    if (n >= 8) {
        /*
         * Two input words per iteration, in assembly: in C, GCC folds the
         * second word's row addresses into a second stride register and runs
         * out of registers (52 instructions per 32 MACs instead of 48). The
         * same instructions as the C loop below, in its order.
         */
        const int8_t *const x_pairs_end = x + (n & ~7);
        uint32_t in_even, in_odd, wt, ext;
        __asm__ volatile("1:\n\t"
                         "ldr %[io], [%[x]], #4\n\t"
                         "ldr %[wt], [%[w01], %[n]]\n\t"
                         "sxtb16 %[ie], %[io]\n\t"
                         "sxtb16 %[io], %[io], ror #8\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a1], %[ext], %[ie], %[a1]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a1], %[wt], %[io], %[a1]\n\t"
                         "ldr %[wt], [%[w01]], #4\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a0], %[ext], %[ie], %[a0]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a0], %[wt], %[io], %[a0]\n\t"
                         "ldr %[wt], [%[w23], %[n]]\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a3], %[ext], %[ie], %[a3]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a3], %[wt], %[io], %[a3]\n\t"
                         "ldr %[wt], [%[w23]], #4\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a2], %[ext], %[ie], %[a2]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a2], %[wt], %[io], %[a2]\n\t"
                         "ldr %[io], [%[x]], #4\n\t"
                         "ldr %[wt], [%[w01], %[n]]\n\t"
                         "sxtb16 %[ie], %[io]\n\t"
                         "sxtb16 %[io], %[io], ror #8\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a1], %[ext], %[ie], %[a1]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a1], %[wt], %[io], %[a1]\n\t"
                         "ldr %[wt], [%[w01]], #4\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a0], %[ext], %[ie], %[a0]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a0], %[wt], %[io], %[a0]\n\t"
                         "ldr %[wt], [%[w23], %[n]]\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a3], %[ext], %[ie], %[a3]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a3], %[wt], %[io], %[a3]\n\t"
                         "ldr %[wt], [%[w23]], #4\n\t"
                         "sxtb16 %[ext], %[wt]\n\t"
                         "smlad %[a2], %[ext], %[ie], %[a2]\n\t"
                         "sxtb16 %[wt], %[wt], ror #8\n\t"
                         "smlad %[a2], %[wt], %[io], %[a2]\n\t"
                         "cmp %[x], %[end]\n\t"
                         "bne 1b\n\t"
                         : [x] "+r"(x), [w01] "+r"(w01), [w23] "+r"(w23), [a0] "+r"(a0),
                           [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ie] "=&r"(in_even),
                           [io] "=&r"(in_odd), [wt] "=&r"(wt), [ext] "=&r"(ext)
                         : [n] "r"(n), [end] "r"(x_pairs_end)
                         : "cc", "memory");
    }
#endif
    while (x != x_end) {
        const uint32_t in = tb_simd_load4(x);
        const uint32_t in_even = tb_sxtb16(in);
        const uint32_t in_odd = tb_sxtb16_ror8(in);
        x += 4;
        a1 = mac4(w01 + n, in_even, in_odd, a1);
        a0 = mac4(w01, in_even, in_odd, a0);
        w01 += 4;
        a3 = mac4(w23 + n, in_even, in_odd, a3);
        a2 = mac4(w23, in_even, in_odd, a2);
        w23 += 4;
    }
    acc[0] = dot_tail(x, w01, n, a0);
    acc[1] = dot_tail(x, w01 + n, n, a1);
    acc[2] = dot_tail(x, w23, n, a2);
    acc[3] = dot_tail(x, w23 + n, n, a3);
}

/* Two rows (the last out_depth % 4 rows, two at a time). */
static void dot_rows2(const int8_t *x, const int8_t *w, int32_t n, int32_t acc[2])
{
    const int8_t *w0 = w;
    const int8_t *w1 = w0 + n;
    int32_t a0 = 0, a1 = 0;
    int32_t words;
    for (words = n >> 2; words > 0; --words) {
        const uint32_t in = tb_simd_load4(x);
        const uint32_t in_even = tb_sxtb16(in);
        const uint32_t in_odd = tb_sxtb16_ror8(in);
        uint32_t wt;
        x += 4;
        wt = tb_simd_load4(w0);
        w0 += 4;
        a0 = tb_smlad(tb_sxtb16(wt), in_even, a0);
        a0 = tb_smlad(tb_sxtb16_ror8(wt), in_odd, a0);
        wt = tb_simd_load4(w1);
        w1 += 4;
        a1 = tb_smlad(tb_sxtb16(wt), in_even, a1);
        a1 = tb_smlad(tb_sxtb16_ror8(wt), in_odd, a1);
    }
    acc[0] = dot_tail(x, w0, n, a0);
    acc[1] = dot_tail(x, w1, n, a1);
}

static int32_t dot_row1(const int8_t *x, const int8_t *w, int32_t n)
{
    int32_t a0 = 0;
    int32_t words;
    for (words = n >> 2; words > 0; --words) {
        const uint32_t in = tb_simd_load4(x);
        const uint32_t wt = tb_simd_load4(w);
        x += 4;
        w += 4;
        a0 = tb_smlad(tb_sxtb16(wt), tb_sxtb16(in), a0);
        a0 = tb_smlad(tb_sxtb16_ror8(wt), tb_sxtb16_ror8(in), a0);
    }
    return dot_tail(x, w, n, a0);
}

/*
 * tb_fx_div_pot(r, e) for 0 <= e <= 31 and r > INT32_MIN: a rounding right
 * shift, half away from zero. With r' = r - 1 for r < 0 it is
 * floor((r' + 2^(e-1)) / 2^e) for e >= 1, which is (r' >> e) plus bit e - 1
 * of r' (r' >> e is the floor, the bit says whether the dropped part is at
 * least a half).
 */
static inline int32_t round_shift(int32_t r, int32_t e)
{
    int32_t down;
    if (e == 0) {
        return r;
    }
    down = r + (r >> 31); /* r - 1 for r < 0 */
    return (down >> e) + ((down >> (e - 1)) & 1);
}

/*
 * tb_fx_requantize(x, multiplier, shift), bit for bit, in fewer instructions:
 * tb_fx_mul_high's (p + nudge) / 2^31 rounded toward zero, with nudge 2^30 for
 * p >= 0 and 1 - 2^30 for p < 0, equals floor((p + 2^30) / 2^31) for every p
 * (for p < 0: trunc(q / 2^31) = floor((q + 2^31 - 1) / 2^31) with q = p + 1 -
 * 2^30, and q + 2^31 - 1 = p + 2^30), which is one multiply-accumulate into 64
 * bits and a shift. The single saturating case (both factors INT32_MIN) needs
 * a multiplier of INT32_MIN, which the compiler never emits (multipliers are
 * positive); such a plan takes the reference function.
 */
static inline int32_t requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t scaled = (int32_t)((uint32_t)x << left);
    int64_t product;
    if (multiplier == INT32_MIN) {
        return tb_fx_requantize(x, multiplier, shift);
    }
    /* |multiplier| < 2^31: the product is above -2^62 + 2^31, the result above INT32_MIN */
    product = (int64_t)scaled * (int64_t)multiplier + ((int64_t)1 << 30);
    return round_shift((int32_t)(product >> 31), right);
}

/*
 * The per-layer values every output needs, copied out of the plan once: the
 * outputs are int8 stores, which may alias anything, so values read through
 * the plan pointer would be read again after every store.
 */
typedef struct {
    int32_t input_offset, output_offset, act_min, act_max;
    const int32_t *bias, *multiplier, *shift, *weight_sums;
} fc_layer_t;

/* One output: input offset (folded) and bias added, requantized, offset, clamped. */
static inline int8_t finish(const fc_layer_t *l, int32_t o, int32_t dot)
{
    int32_t acc = dot + l->input_offset * l->weight_sums[o] + l->bias[o];
    acc = requantize(acc, l->multiplier[o], l->shift[o]) + l->output_offset;
    acc = acc < l->act_min ? l->act_min : acc;
    acc = acc > l->act_max ? l->act_max : acc;
    return (int8_t)acc;
}

/*
 * A plan without bias or weight sums (the compiler emits both for every
 * FULLY_CONNECTED of the four models): one row at a time, no folding.
 */
static void fc_general(const tb_native_fc_t *p, const int8_t *input, int8_t *output)
{
    int32_t b, o, i;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->in_depth;
        for (o = 0; o < p->out_depth; ++o) {
            const int8_t *w = p->weights + o * p->in_depth;
            int32_t acc = p->bias != 0 ? p->bias[o] : 0;
            for (i = 0; i < p->in_depth; ++i) {
                acc += (int32_t)w[i] * ((int32_t)x[i] + p->input_offset);
            }
            acc = requantize(acc, p->multiplier[o], p->shift[o]) + p->output_offset;
            acc = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
            output[b * p->out_depth + o] = (int8_t)acc;
        }
    }
}

uint32_t tb_native_fully_connected_scratch_bytes(const tb_native_fc_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_fully_connected_s8(const tb_native_fc_t *p, const int8_t *input, int8_t *output,
                                 void *scratch)
{
    const int32_t n = p->in_depth;
    const int32_t out_depth = p->out_depth;
    const int32_t batches = p->batches;
    const int8_t *const weights = p->weights;
    fc_layer_t l;
    int32_t b;
    (void)scratch; /* extended in registers: none needed */
    if (p->weights == 0 || p->multiplier == 0 || p->shift == 0) {
        return -1;
    }
    if (p->weight_sums == 0 || p->bias == 0) {
        fc_general(p, input, output);
        return 0;
    }
    l.input_offset = p->input_offset;
    l.output_offset = p->output_offset;
    l.act_min = p->act_min;
    l.act_max = p->act_max;
    l.bias = p->bias;
    l.multiplier = p->multiplier;
    l.shift = p->shift;
    l.weight_sums = p->weight_sums;
    for (b = 0; b < batches; ++b) {
        const int8_t *x = input + b * n;
        int8_t *out = output + b * out_depth;
        int32_t o = 0;
        int32_t acc[4];
        for (; o + 4 <= out_depth; o += 4) {
            int32_t r;
            dot_rows4(x, weights + o * n, n, acc);
            for (r = 0; r < 4; ++r) {
                out[o + r] = finish(&l, o + r, acc[r]);
            }
        }
        if (o + 2 <= out_depth) {
            dot_rows2(x, weights + o * n, n, acc);
            out[o] = finish(&l, o, acc[0]);
            out[o + 1] = finish(&l, o + 1, acc[1]);
            o += 2;
        }
        if (o < out_depth) {
            out[o] = finish(&l, o, dot_row1(x, weights + o * n, n));
        }
    }
    return 0;
}
