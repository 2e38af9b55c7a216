/* tb_native_add.c - int8 elementwise ADD of two same-shape tensors with Helium, four elements
 * per pass in int32 lanes; each step is the reference's, lane by lane (see tb_native_mve.h). */
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

/* tb_fx_div_pot(tb_fx_mul_high(x, multiplier), -shift) for shift <= 0, on four lanes. */
static inline int32x4_t scale_down(int32x4_t x, int32_t multiplier, int32_t shift)
{
    x = vqrdmulhq_n_s32(x, multiplier);
    if (shift < 0) {
        x = vqaddq_s32(x, vshrq_n_s32(x, 31)); /* negative ties round away from zero */
        x = vrshlq_n_s32(x, shift);
    }
    return x;
}

uint32_t tb_native_add_scratch_bytes(const tb_native_add_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_add_s8(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output, void *scratch)
{
    const int32x4_t act_min = vdupq_n_s32(p->act_min);
    const int32x4_t act_max = vdupq_n_s32(p->act_max);
    int32_t i;
    (void)scratch; /* no scratch needed */
    if (p->left_shift < 0 || p->left_shift > 30 || p->input1_shift > 0 || p->input2_shift > 0 ||
        p->output_shift > 0) {
        return -1;
    }
    for (i = 0; i < p->size; i += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(p->size - i));
        int32x4_t a = vaddq_n_s32(vldrbq_z_s32(input1 + i, lanes), p->input1_offset);
        int32x4_t b = vaddq_n_s32(vldrbq_z_s32(input2 + i, lanes), p->input2_offset);
        int32x4_t out;
        a = scale_down(vshlq_r_s32(a, p->left_shift), p->input1_multiplier, p->input1_shift);
        b = scale_down(vshlq_r_s32(b, p->left_shift), p->input2_multiplier, p->input2_shift);
        out = scale_down(vaddq_s32(a, b), p->output_multiplier, p->output_shift);
        out = vaddq_n_s32(out, p->output_offset);
        out = vminq_s32(vmaxq_s32(out, act_min), act_max);
        vstrbq_p_s32(output + i, out, lanes);
    }
    return 0;
}
