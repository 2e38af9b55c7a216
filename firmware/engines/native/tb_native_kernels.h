/*
 * tb_native_kernels.h - portable C99 int8 kernels of the native engine.
 *
 * Each kernel reads its parameters from a struct of tb_native_plan.h and works
 * on caller-provided buffers; none allocates. They return 0 on success and -1
 * when the parameters are inconsistent.
 */
#ifndef TB_NATIVE_KERNELS_H
#define TB_NATIVE_KERNELS_H

#include <stdint.h>

#include "tb_native_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output);
int tb_native_depthwise_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output);
int tb_native_fully_connected_s8(const tb_native_fc_t *p, const int8_t *input, int8_t *output);
int tb_native_avg_pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output);
int tb_native_max_pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output);
int tb_native_add_s8(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output);
int tb_native_softmax_s8(const tb_native_softmax_t *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_NATIVE_KERNELS_H */
