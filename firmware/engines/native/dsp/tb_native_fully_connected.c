/*
 * tb_native_fully_connected.c (dsp) - int8 FULLY_CONNECTED with SMLAD.
 *
 * Each weight is used once per inference, so the work per MAC is bounded by
 * loading the weights (one word per 4), sign-extending them into 16-bit pairs
 * (SXTB16 and SXTB16 ROR #8: two per word) and the SMLADs (two per word).
 * What can be shared is the input: four output rows are computed per pass, so
 * each input word is loaded and extended once for four rows (23 instructions
 * per 16 MACs in the inner loop; one row per pass would need 7 per 4). With
 * row-major weights the input is extended in registers (no scratch); the
 * interleaved layout below extends it once into scratch.
 *
 * The input offset is folded out as in reference (sum w * x + offset * sum w,
 * exact in int32), so the inner loop multiplies raw int8 values. The pairing
 * of SXTB16 (bytes 0 and 2) with SXTB16 ROR #8 (bytes 1 and 3) is the same on
 * weights and inputs, so each SMLAD adds two products of matching positions.
 * The requantization is tb_fx_requantize's result exactly (see requantize).
 *
 * With the compiler's interleaved weights (TB_NATIVE_FC_ROWS4, compiler/layout.py)
 * the four rows' words of one step are adjacent, so one LDM loads all four, and
 * the input row is extended to int16 pairs once per batch into the op's scratch
 * (2 bytes per input), so one LDRD loads a word's two pairs for four rows: 18
 * instructions per 16 MACs (dot_blocks_asm), against 23 with row-major weights.
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

/*
 * The input row x (n a multiple of 4) extended once: word k becomes the pairs
 * (x0, x2) at pairs[2k] and (x1, x3) at pairs[2k + 1], what SXTB16 and SXTB16
 * ROR #8 of a weight word meet in dot_block4_c and dot_blocks_asm.
 */
static void extend_input(const int8_t *x, int32_t n, uint32_t *pairs)
{
    const int8_t *const end = x + n;
    for (; x != end; x += 4, pairs += 2) {
        const uint32_t in = tb_simd_load4(x);
        pairs[0] = tb_sxtb16(in);
        pairs[1] = tb_sxtb16_ror8(in);
    }
}

/*
 * acc[r] += the words [first, last) of row r of one TB_NATIVE_FC_ROWS4 block:
 * w points at the block's word `first`, 16 bytes per word (one of each row).
 */
static void dot_block4_c(const uint32_t *pairs, const int8_t *w, int32_t first, int32_t last,
                         int32_t acc[4])
{
    int32_t k, r;
    w += 16 * first;
    for (k = first; k < last; ++k, w += 16) {
        const uint32_t in_even = pairs[2 * k];
        const uint32_t in_odd = pairs[2 * k + 1];
        for (r = 0; r < 4; ++r) {
            acc[r] = mac4(w + 4 * r, in_even, in_odd, acc[r]);
        }
    }
}

#if TB_SIMD_NATIVE && defined(__thumb2__)
/*
 * dot_blocks_asm: every block from the weights at w on, in assembly, until dots_end: dots
 * receives each block's four sums, each from zero over the words [0, (pairs_end
 * - pairs) / 2), at least 2. The loop needs 14 registers
 * (4 accumulators, 4 weight words, the 2 input pairs, a temporary, 3 pointers),
 * every one but SP and PC, which only a whole function may take. Per word: LDRD
 * of the input pairs, LDM of the four rows' words, and per row SXTB16, SMLAD,
 * SXTB16 ROR #8, SMLAD (18 instructions per 16 MACs); up to eight words per
 * iteration, so the compare and branch add 2 per 128 MACs; the blocks follow
 * each other in the weights, so between two only the sums are stored and the
 * input pointer rewound (11 instructions). The pointers are word aligned (LDRD
 * and LDM need it): the arena's scratch and the weight arrays are 16-byte
 * aligned, a block is 4 * n bytes. TB_FC_WORD is one word of the four rows.
 */
#define TB_FC_WORD                                                                                 \
    "ldrd r11, r12, [r0], #8\n\t"                                                                  \
    "ldm r1!, {r7, r8, r9, r10}\n\t"                                                               \
    "sxtb16 lr, r7\n\t"                                                                            \
    "smlad r3, lr, r11, r3\n\t"                                                                    \
    "sxtb16 r7, r7, ror #8\n\t"                                                                    \
    "smlad r3, r7, r12, r3\n\t"                                                                    \
    "sxtb16 lr, r8\n\t"                                                                            \
    "smlad r4, lr, r11, r4\n\t"                                                                    \
    "sxtb16 r8, r8, ror #8\n\t"                                                                    \
    "smlad r4, r8, r12, r4\n\t"                                                                    \
    "sxtb16 lr, r9\n\t"                                                                            \
    "smlad r5, lr, r11, r5\n\t"                                                                    \
    "sxtb16 r9, r9, ror #8\n\t"                                                                    \
    "smlad r5, r9, r12, r5\n\t"                                                                    \
    "sxtb16 lr, r10\n\t"                                                                           \
    "smlad r6, lr, r11, r6\n\t"                                                                    \
    "sxtb16 r10, r10, ror #8\n\t"                                                                  \
    "smlad r6, r10, r12, r6\n\t"

#define TB_FC_WORDS2 TB_FC_WORD TB_FC_WORD
#define TB_FC_WORDS4 TB_FC_WORDS2 TB_FC_WORDS2
#define TB_FC_WORDS8 TB_FC_WORDS4 TB_FC_WORDS4

/*
 * One dot_blocks_asm for a number of words per iteration (`words`, 2, 4 or 8:
 * the words per row must be a multiple). The arguments arrive in r0-r3 and on
 * the stack (AAPCS); a naked function does not name them. After the push,
 * [sp] is pairs, [sp, #4] dots and [sp, #44] dots_end.
 */
#define TB_FC_DOT_BLOCKS_ASM(name, words)                                                          \
    __attribute__((naked, noinline)) static void name(                                             \
        const uint32_t *pairs __attribute__((unused)), const int8_t *w __attribute__((unused)),    \
        const uint32_t *pairs_end __attribute__((unused)), int32_t *dots __attribute__((unused)),  \
        const int32_t *dots_end __attribute__((unused)))                                           \
    {                                                                                              \
        __asm__ volatile("push {r0, r3-r11, lr}\n\t"                                               \
                         "2:\n\t"                                                                  \
                         "mov r3, #0\n\t"                                                          \
                         "mov r4, #0\n\t"                                                          \
                         "mov r5, #0\n\t"                                                          \
                         "mov r6, #0\n\t"                                                          \
                         "1:\n\t" words "cmp r0, r2\n\t"                                           \
                         "bne 1b\n\t"                                                              \
                         "ldr r7, [sp, #4]\n\t"                                                    \
                         "stm r7!, {r3, r4, r5, r6}\n\t"                                           \
                         "str r7, [sp, #4]\n\t"                                                    \
                         "ldr r0, [sp]\n\t"                                                        \
                         "ldr r8, [sp, #44]\n\t"                                                   \
                         "cmp r7, r8\n\t"                                                          \
                         "bne 2b\n\t"                                                              \
                         "pop {r0, r3-r11, pc}\n\t");                                              \
    }

TB_FC_DOT_BLOCKS_ASM(dot_blocks_asm2, TB_FC_WORDS2)
TB_FC_DOT_BLOCKS_ASM(dot_blocks_asm4, TB_FC_WORDS4)
TB_FC_DOT_BLOCKS_ASM(dot_blocks_asm8, TB_FC_WORDS8)
#endif

/* dots[4b + r] = row r of block b against the extended input, for blocks [0, blocks). */
static void dot_blocks(const uint32_t *pairs, const int8_t *w, int32_t words, int32_t blocks,
                       int32_t *dots)
{
    int32_t b;
#if TB_SIMD_NATIVE && defined(__thumb2__)
    /* the widest unrolling that divides the words (all of ad01's layers: 8 or 2) */
    if (words > 0 && (words & 7) == 0) {
        dot_blocks_asm8(pairs, w, pairs + 2 * words, dots, dots + 4 * blocks);
        return;
    }
    if (words > 0 && (words & 3) == 0) {
        dot_blocks_asm4(pairs, w, pairs + 2 * words, dots, dots + 4 * blocks);
        return;
    }
    if (words > 0 && (words & 1) == 0) {
        dot_blocks_asm2(pairs, w, pairs + 2 * words, dots, dots + 4 * blocks);
        return;
    }
#endif
    for (b = 0; b < blocks; ++b) {
        int32_t *acc = dots + 4 * b;
        acc[0] = acc[1] = acc[2] = acc[3] = 0;
        dot_block4_c(pairs, w + 16 * words * b, 0, words, acc);
    }
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
    /* the input row as int16 pairs (extend_input), then the four-row blocks' sums */
    return p->weights_layout == TB_NATIVE_FC_ROWS4
               ? 2u * (uint32_t)p->in_depth + 4u * ((uint32_t)p->out_depth & ~3u)
               : 0u;
}

/* The outputs of a TB_NATIVE_FC_ROWS4 plan: its bias has the input offset folded in. */
typedef struct {
    const int32_t *bias, *multiplier, *shift;
    int32_t output_offset, act_min, act_max;
} fc_outputs_t;

/*
 * Outputs o .. o + count - 1 from their dot products: requantize's result with
 * what the ROWS4 layout promises (tb_native_plan.h), so without its checks.
 * With |v| < 2^30, floor((v * m + 2^30) / 2^31) is SMMULR's rounded top word of
 * (2v) * m. With e = -shift >= 1, round_shift's (d >> e) + ((d >> (e - 1)) & 1)
 * is ((d >> (e - 1)) + 1) >> 1 (both are floor((d + 2^(e-1)) / 2^e)), and
 * e - 1 = ~shift. Not inlined into the row loop: on its own it keeps the
 * layer's values in registers.
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void
finish_outputs(const fc_outputs_t *q, int32_t o, const int32_t *dot, int32_t count, int8_t *out)
{
    const int32_t *bias = q->bias + o;
    const int32_t *multiplier = q->multiplier + o;
    const int32_t *shift = q->shift + o;
    const int32_t output_offset = q->output_offset;
    const int32_t act_min = q->act_min;
    const int32_t act_max = q->act_max;
    int32_t r;
    for (r = 0; r < count; ++r) {
        const int32_t v = dot[r] + bias[r];
        int32_t t = tb_smmulr((int32_t)((uint32_t)v << 1), multiplier[r]);
        t += t >> 31; /* t - 1 for t < 0: the rounding is half away from zero */
        t = (((t >> ~shift[r]) + 1) >> 1) + output_offset;
        t = t < act_min ? act_min : t;
        t = t > act_max ? act_max : t;
        out[r] = (int8_t)t;
    }
}

/* Every batch over TB_NATIVE_FC_ROWS4 weights, the input extended into pairs. */
static void fc_rows4(const tb_native_fc_t *p, const int8_t *input, int8_t *output, uint32_t *pairs)
{
    int32_t *const dots = (int32_t *)(pairs + (p->in_depth >> 1)); /* after 2n bytes */
    const int32_t n = p->in_depth;
    const int32_t out_depth = p->out_depth;
    const int32_t blocks_end = out_depth & ~3;
    fc_outputs_t q;
    int32_t b;
    q.bias = p->bias;
    q.multiplier = p->multiplier;
    q.shift = p->shift;
    q.output_offset = p->output_offset;
    q.act_min = p->act_min;
    q.act_max = p->act_max;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * n;
        int8_t *out = output + b * out_depth;
        int32_t o;
        int32_t acc[4];
        extend_input(x, n, pairs);
        dot_blocks(pairs, p->weights, n >> 2, blocks_end >> 2, dots);
        finish_outputs(&q, 0, dots, blocks_end, out);
        o = blocks_end;
        /* the rows after the blocks are row-major */
        if (o + 2 <= out_depth) {
            dot_rows2(x, p->weights + o * n, n, acc);
            finish_outputs(&q, o, acc, 2, out + o);
            o += 2;
        }
        if (o < out_depth) {
            acc[0] = dot_row1(x, p->weights + o * n, n);
            finish_outputs(&q, o, acc, 1, out + o);
        }
    }
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
    if (p->weights == 0 || p->multiplier == 0 || p->shift == 0) {
        return -1;
    }
    if (p->weights_layout == TB_NATIVE_FC_ROWS4) {
        /* the compiler folds the input offset into the bias of this layout */
        if (scratch == 0 || (n & 3) != 0 || out_depth < 4 || p->bias == 0) {
            return -1;
        }
        fc_rows4(p, input, output, (uint32_t *)scratch);
        return 0;
    }
    if (p->weights_layout != TB_NATIVE_FC_ROW_MAJOR) {
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
