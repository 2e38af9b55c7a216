/*
 * tb_tflm_ops.h - the op resolver of the tflm engine.
 *
 * The host generates tb_tflm_ops.cc into the model's plan directory: one
 * registration per op the model uses (the `_INT8()` kernels), nothing else, so
 * the linker keeps only those kernels.
 */
#ifndef TB_TFLM_OPS_H
#define TB_TFLM_OPS_H

#include "tb_tflm_model.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

using TbTflmOpResolver = tflite::MicroMutableOpResolver<TB_TFLM_OP_COUNT>;

/* Adds the model's ops to the resolver; false when one cannot be added. */
bool tb_tflm_register_ops(TbTflmOpResolver &resolver);

#endif /* TB_TFLM_OPS_H */
