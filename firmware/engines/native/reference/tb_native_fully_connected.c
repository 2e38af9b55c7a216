/* tb_native_fully_connected.c - int8 FULLY_CONNECTED. */
#include "tb_native_fixedpoint.h"
#include "tb_native_kernels.h"

uint32_t tb_native_fully_connected_scratch_bytes(const tb_native_fc_t *p)
{
    (void)p;
    return 0u;
}

int tb_native_fully_connected_s8(const tb_native_fc_t *p, const int8_t *input, int8_t *output,
                                 void *scratch)
{
    int32_t b, o, i;
    (void)scratch; /* the reference kernels need none */
    if (p->weights == 0 || p->multiplier == 0 || p->shift == 0 ||
        p->weights_layout != TB_NATIVE_FC_ROW_MAJOR) {
        return -1;
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->in_depth;
        for (o = 0; o < p->out_depth; ++o) {
            const int8_t *w = p->weights + o * p->in_depth;
            int32_t acc = 0;
            if (p->weight_sums != 0) {
                /* sum w * (x + offset) == sum w * x + offset * sum w, exactly */
                for (i = 0; i < p->in_depth; ++i) {
                    acc += (int32_t)w[i] * (int32_t)x[i];
                }
                acc += p->input_offset * p->weight_sums[o];
            } else {
                for (i = 0; i < p->in_depth; ++i) {
                    acc += (int32_t)w[i] * ((int32_t)x[i] + p->input_offset);
                }
            }
            if (p->bias != 0) {
                acc += p->bias[o];
            }
            acc = tb_fx_requantize(acc, p->multiplier[o], p->shift[o]);
            acc += p->output_offset;
            acc = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
            output[b * p->out_depth + o] = (int8_t)acc;
        }
    }
    return 0;
}
