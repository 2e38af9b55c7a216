/*
 * tb_native_conv_util.h - what every kernel set's convolutions share: the
 * filter window clipped to the input and the per-channel requantization of
 * one accumulator. Static inline so that each set's kernels inline them.
 */
#ifndef TB_NATIVE_CONV_UTIL_H
#define TB_NATIVE_CONV_UTIL_H

#include "tb_native_fixedpoint.h"
#include "tb_native_plan.h"

static inline int32_t tb_conv_clamp(int32_t acc, int32_t lo, int32_t hi)
{
    return acc < lo ? lo : (acc > hi ? hi : acc);
}

/* The part [*lo, *hi) of a filter of size k that lands inside an input of size n. */
static inline void tb_conv_window(int32_t origin, int32_t k, int32_t n, int32_t *lo, int32_t *hi)
{
    *lo = origin < 0 ? -origin : 0;
    *hi = (n - origin) < k ? (n - origin) : k;
}

static inline int8_t tb_conv_finish(const tb_native_conv_t *p, int32_t acc, int32_t oc)
{
    if (p->bias != 0) {
        acc += p->bias[oc];
    }
    acc = tb_fx_requantize(acc, p->multiplier[oc], p->shift[oc]);
    acc += p->output_offset;
    return (int8_t)tb_conv_clamp(acc, p->act_min, p->act_max);
}

#endif /* TB_NATIVE_CONV_UTIL_H */
