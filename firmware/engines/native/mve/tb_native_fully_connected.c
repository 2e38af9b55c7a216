/* tb_native_fully_connected.c - int8 FULLY_CONNECTED with Helium: four output rows per pass
 * share every input load; requantization on four lanes. */
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

uint32_t tb_native_fully_connected_scratch_bytes(const tb_native_fc_t *p)
{
    (void)p;
    return 0u;
}

/* Outputs per block: one block's accumulators live on the stack (4 B each). */
#define FC_OUT_BLOCK 64

/* sum w * (x + offset) == sum w * x + offset * sum w, exactly: a block's dot products, four
 * rows per pass, then its requantization on four lanes. */
int tb_native_fully_connected_s8(const tb_native_fc_t *p, const int8_t *input, int8_t *output,
                                 void *scratch)
{
    const int32_t n = p->in_depth;
    int32_t acc[FC_OUT_BLOCK];
    int32_t b, o0, j;
    (void)scratch; /* no scratch needed */
    if (p->weights == 0 || p->multiplier == 0 || p->shift == 0 ||
        p->weights_layout != TB_NATIVE_FC_ROW_MAJOR) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * n;
        int8_t *out = output + b * p->out_depth;
        for (o0 = 0; o0 < p->out_depth; o0 += FC_OUT_BLOCK) {
            const int32_t count =
                p->out_depth - o0 < FC_OUT_BLOCK ? p->out_depth - o0 : FC_OUT_BLOCK;
            const int8_t *w = p->weights + o0 * n;
            for (j = 0; j + 4 <= count; j += 4) {
                tb_mve_dot4(x, n, w + j * n, n, acc + j);
            }
            for (; j < count; ++j) {
                acc[j] = tb_mve_dot1(x, n, w + j * n);
            }
            if (p->weight_sums == 0) {
                for (j = 0; j < count; ++j) {
                    acc[j] += p->input_offset * tb_mve_sum(w + j * n, n);
                }
            }
            tb_mve_requantize_block(acc, count, p->weight_sums != 0 ? p->weight_sums + o0 : 0,
                                    p->input_offset, p->bias != 0 ? p->bias + o0 : 0,
                                    p->multiplier + o0, p->shift + o0, p->output_offset, p->act_min,
                                    p->act_max, out + o0);
        }
    }
    return 0;
}
