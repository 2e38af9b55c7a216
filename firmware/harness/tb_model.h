/*
 * tb_model.h - what the harness must know about a model id: how the host
 * encodes the input in the db buffer and how results are reported.
 */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include <stdint.h>

#include "engine.h"

typedef enum {
    TB_INPUT_INT8 = 0,      /* bytes are the int8 tensor as is (kws01, unknown ids) */
    TB_INPUT_UINT8_OFFSET,  /* uint8 pixels; tensor = value - 128 (vww01, ic01) */
    TB_INPUT_FLOAT32        /* little-endian float32; quantized on the device (ad01) */
} tb_input_format_t;

typedef enum {
    TB_RESULT_SCORES = 0,   /* m-results-[dequantized outputs] */
    TB_RESULT_MSE           /* m-results-[mse(dequantized output, float input)] */
} tb_result_kind_t;

typedef struct {
    const char *id;
    tb_input_format_t input;
    tb_result_kind_t result;
} tb_model_format_t;

/* The format for a model id; unknown ids get int8-as-is with scores. */
const tb_model_format_t *tb_model_format(const char *id);

/* Bytes the db buffer must hold for an input tensor of tensor_bytes elements. */
uint32_t tb_model_input_bytes(const tb_model_format_t *format, uint32_t tensor_bytes);

/* Quantizes one float as the device does: clamp(roundf(x / scale) + zp, -128, 127). */
int8_t tb_model_quantize(float x, float scale, int32_t zero_point);

/*
 * Converts the db content (exactly tb_model_input_bytes() bytes) into the
 * input tensor.
 */
void tb_model_convert_input(const tb_model_format_t *format, const uint8_t *src,
                            const tb_tensor_view_t *input);

/* Mean squared error between the dequantized output and the float32 input. */
float tb_model_mse(const uint8_t *float_input, const tb_tensor_view_t *output);

#endif /* TB_MODEL_H */
