/*
 * tb_model.h - turning the host's encoding of an input into the int8 input
 * tensor, and the MSE result. Which encoding and which result a model uses is
 * not known here: the engine reports it (tb_model_info_t of engine.h), written
 * into the engine's model by the host from the model manifest.
 */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include <stdint.h>

#include "engine.h"

/*
 * 1 when the engine reported a format and a result kind this harness knows,
 * in a combination it can run (an MSE result needs float32 input).
 */
int tb_model_info_valid(const tb_model_info_t *info);

/* Bytes the db buffer must hold for an input tensor of tensor_bytes elements. */
uint32_t tb_model_input_bytes(tb_input_format_t format, uint32_t tensor_bytes);

/* Quantizes one float as the device does: clamp(roundf(x / scale) + zp, -128, 127). */
int8_t tb_model_quantize(float x, float scale, int32_t zero_point);

/*
 * Converts the db content (exactly tb_model_input_bytes() bytes) into the
 * input tensor.
 */
void tb_model_convert_input(tb_input_format_t format, const uint8_t *src,
                            const tb_tensor_view_t *input);

/* Mean squared error between the dequantized output and the float32 input. */
float tb_model_mse(const uint8_t *float_input, const tb_tensor_view_t *output);

#endif /* TB_MODEL_H */
