/* tb_native_fully_connected.c - int8 FULLY_CONNECTED with Helium: four output rows per pass
 * share every input load; requantization on four lanes. */
#include "tb_native_kernels.h"
#include "tb_native_mve.h"

uint32_t tb_native_fully_connected_scratch_bytes(const tb_native_fc_t *p)
{
    (void)p;
    return 0u;
}

/* sum w * (x + offset) == sum w * x + offset * sum w, exactly. */
int tb_native_fully_connected_s8(const tb_native_fc_t *p, const int8_t *input, int8_t *output,
                                 void *scratch)
{
    const int32_t n = p->in_depth;
    int32_t b, o;
    (void)scratch; /* no scratch needed */
    if (p->weights == 0 || p->multiplier == 0 || p->shift == 0) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * n;
        int8_t *out = output + b * p->out_depth;
        for (o = 0; o < p->out_depth; o += 4) {
            const int32_t left = p->out_depth - o;
            const mve_pred16_t lanes = tb_mve_lanes4(left);
            const int8_t *w = p->weights + o * n;
            const tb_mve_quant_t q = tb_mve_quant_load(p->multiplier + o, p->shift + o, lanes);
            int32x4_t acc;
            int32x4_t sums;
            if (left >= 4) {
                acc = tb_mve_dot4(x, n, w, n);
            } else {
                int32_t part[4] = { 0, 0, 0, 0 };
                int32_t j;
                for (j = 0; j < left; ++j) {
                    part[j] = tb_mve_dot1(x, n, w + j * n);
                }
                acc = vldrwq_s32(part);
            }
            if (p->weight_sums != 0) {
                sums = vldrwq_z_s32(p->weight_sums + o, lanes);
            } else {
                int32_t part[4] = { 0, 0, 0, 0 };
                int32_t j;
                for (j = 0; j < left && j < 4; ++j) {
                    part[j] = tb_mve_sum(w + j * n, n);
                }
                sums = vldrwq_s32(part);
            }
            acc = vmlaq_n_s32(acc, sums, p->input_offset);
            if (p->bias != 0) {
                acc = vaddq_s32(acc, vldrwq_z_s32(p->bias + o, lanes));
            }
            tb_mve_store4(out + o, acc, &q, p->output_offset, p->act_min, p->act_max, lanes);
        }
    }
    return 0;
}
