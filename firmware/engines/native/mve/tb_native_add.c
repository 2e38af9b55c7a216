/* tb_native_add.c - int8 elementwise ADD of two same-shape tensors with Helium, four elements
 * per pass in int32 lanes; each step is the reference's, lane by lane (see tb_native_mve.h). */
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

/*
 * tb_fx_div_pot(tb_fx_mul_high(x, multiplier), -shift) for shift <= 0, on four lanes; `shift`
 * is the shift in every lane, so (x & shift) has its sign bit set iff x < 0 and shift < 0:
 * negative ties then round away from zero (see tb_native_mve.h).
 */
static inline int32x4_t scale_down(int32x4_t x, int32_t multiplier, int32x4_t shift)
{
    x = vqrdmulhq_n_s32(x, multiplier);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, shift), 31));
    return vrshlq_s32(x, shift);
}

uint32_t tb_native_add_scratch_bytes(const tb_native_add_t *p)
{
    (void)p;
    return 0u;
}

/* The parameters as the loop uses them (in locals: every int8 store could alias the plan's). */
typedef struct {
    int32_t offset1, offset2, left_shift;
    int32_t multiplier1, multiplier2, output_multiplier, output_offset;
    int32x4_t shift1, shift2, output_shift, act_min, act_max;
} add_consts_t;

static inline int32x4_t add4(int32x4_t a, int32x4_t b, const add_consts_t *k)
{
    int32x4_t out;
    a = vaddq_n_s32(a, k->offset1);
    b = vaddq_n_s32(b, k->offset2);
    a = scale_down(vshlq_r_s32(a, k->left_shift), k->multiplier1, k->shift1);
    b = scale_down(vshlq_r_s32(b, k->left_shift), k->multiplier2, k->shift2);
    out = scale_down(vaddq_s32(a, b), k->output_multiplier, k->output_shift);
    out = vaddq_n_s32(out, k->output_offset);
    return vminq_s32(vmaxq_s32(out, k->act_min), k->act_max);
}

int tb_native_add_s8(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output, void *scratch)
{
    const int32_t size = p->size;
    add_consts_t k;
    int32_t i;
    (void)scratch; /* no scratch needed */
    if (p->left_shift < 0 || p->left_shift > 30 || p->input1_shift > 0 || p->input2_shift > 0 ||
        p->output_shift > 0) {
        return -1;
    }
    k.offset1 = p->input1_offset;
    k.offset2 = p->input2_offset;
    k.left_shift = p->left_shift;
    k.multiplier1 = p->input1_multiplier;
    k.multiplier2 = p->input2_multiplier;
    k.output_multiplier = p->output_multiplier;
    k.output_offset = p->output_offset;
    k.shift1 = vdupq_n_s32(p->input1_shift);
    k.shift2 = vdupq_n_s32(p->input2_shift);
    k.output_shift = vdupq_n_s32(p->output_shift);
    k.act_min = vdupq_n_s32(p->act_min);
    k.act_max = vdupq_n_s32(p->act_max);
    /* Whole vectors with post-incremented loads and stores, then the predicated tail. */
    for (i = size >> 2; i > 0; --i) {
        vstrbq_s32(output, add4(vldrbq_s32(input1), vldrbq_s32(input2), &k));
        input1 += 4;
        input2 += 4;
        output += 4;
    }
    if ((size & 3) != 0) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(size & 3));
        const int32x4_t out = add4(vldrbq_z_s32(input1, lanes), vldrbq_z_s32(input2, lanes), &k);
        vstrbq_p_s32(output, out, lanes);
    }
    return 0;
}
