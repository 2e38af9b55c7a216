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
 * Builds the int8 input tensor (input->bytes values, quantized as input says)
 * of a complete db load (exactly tb_model_input_bytes() bytes) inside the db
 * buffer itself, so the board holds one copy of the input and the engine's
 * arena none: an int8 load is the tensor as it is; a uint8-offset load is
 * converted in place (tb_model_restore_db gives the loaded bytes back); a
 * float32 load is quantized into the buffer after the floats, which the MSE
 * still reads. Returns the tensor, aligned to TB_ENGINE_ARENA_ALIGN, or NULL
 * when a float32 load leaves too little of the buffer's capacity for it.
 */
int8_t *tb_model_input_in_db(tb_input_format_t format, uint8_t *db, uint32_t capacity,
                             const tb_tensor_view_t *input);

/* Undoes what tb_model_input_in_db did to the loaded bytes (uint8-offset: back to uint8). */
void tb_model_restore_db(tb_input_format_t format, uint8_t *db, const tb_tensor_view_t *input);

/* Mean squared error between the dequantized output and the float32 input. */
float tb_model_mse(const uint8_t *float_input, const tb_tensor_view_t *output);

#endif /* TB_MODEL_H */
