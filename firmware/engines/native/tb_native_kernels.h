/*
 * tb_native_kernels.h - the interface every kernel set of the native engine
 * implements.
 *
 * A kernel set is one directory under firmware/engines/native/ (`reference`:
 * portable C99; later sets such as `dsp` or `mve` use the same file and
 * function names), chosen at build time. Each kernel reads its parameters from
 * a struct of tb_native_plan.h and works on caller-provided buffers; none
 * allocates. They return 0 on success and -1 when the parameters are
 * inconsistent.
 *
 * Scratch: as CMSIS-NN's `_get_buffer_size`, each kernel has a query that
 * says how many bytes of scratch memory it needs for given parameters. The
 * host compiler asks the same sizes when it plans the arena (a scratch buffer
 * lives for its one op, next to the tensors), the plan records offset and size
 * per op, and the engine core passes the kernel a pointer into the arena (NULL
 * when the size is 0). The engine refuses a plan whose scratch is smaller than
 * the query, so a plan compiled for another kernel set cannot overrun.
 */
#ifndef TB_NATIVE_KERNELS_H
#define TB_NATIVE_KERNELS_H

#include <stdint.h>

#include "tb_native_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The set's name (its directory), e.g. "reference": part of tb_engine_version(). */
const char *tb_native_kernel_set(void);

int tb_native_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output,
                      void *scratch);
uint32_t tb_native_conv_scratch_bytes(const tb_native_conv_t *p);

int tb_native_depthwise_conv_s8(const tb_native_conv_t *p, const int8_t *input, int8_t *output,
                                void *scratch);
uint32_t tb_native_depthwise_conv_scratch_bytes(const tb_native_conv_t *p);

int tb_native_fully_connected_s8(const tb_native_fc_t *p, const int8_t *input, int8_t *output,
                                 void *scratch);
uint32_t tb_native_fully_connected_scratch_bytes(const tb_native_fc_t *p);

int tb_native_avg_pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output,
                          void *scratch);
uint32_t tb_native_avg_pool_scratch_bytes(const tb_native_pool_t *p);

int tb_native_max_pool_s8(const tb_native_pool_t *p, const int8_t *input, int8_t *output,
                          void *scratch);
uint32_t tb_native_max_pool_scratch_bytes(const tb_native_pool_t *p);

int tb_native_add_s8(const tb_native_add_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output, void *scratch);
uint32_t tb_native_add_scratch_bytes(const tb_native_add_t *p);

int tb_native_softmax_s8(const tb_native_softmax_t *p, const int8_t *input, int8_t *output,
                         void *scratch);
uint32_t tb_native_softmax_scratch_bytes(const tb_native_softmax_t *p);

/*
 * Defined by the engine core: the scratch bytes the linked kernel set needs
 * for one op of a plan (dispatches on the op kind; RESHAPE needs none).
 */
uint32_t tb_native_op_scratch_bytes(const tb_native_op_t *op);

#ifdef __cplusplus
}
#endif

#endif /* TB_NATIVE_KERNELS_H */
