/* tb_native_add.c - int8 elementwise ADD of two same-shape tensors. */
#include "tb_native_fixedpoint.h"
#include "tb_native_kernels.h"

/* x * multiplier * 2^shift for shift <= 0. */
static int32_t scale_down(int32_t x, int32_t multiplier, int32_t shift)
{
    return tb_fx_div_pot(tb_fx_mul_high(x, multiplier), -shift);
}

uint32_t tb_native_add_scratch_bytes(const tb_native_add_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_add_s8(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output, void *scratch)
{
    int32_t i;
    (void)scratch; /* the reference kernels need none */
    if (p->left_shift < 0 || p->left_shift > 30 || p->input1_shift > 0 || p->input2_shift > 0 ||
        p->output_shift > 0) {
        return -1;
    }
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
    return 0;
}
