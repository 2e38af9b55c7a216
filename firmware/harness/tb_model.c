/* tb_model.c - input conversion and MSE, for the format the engine reports. */
#include "tb_model.h"

#include <math.h>
#include <string.h>

int tb_model_info_valid(const tb_model_info_t *info)
{
    if (info == NULL || info->input_format > (uint32_t)TB_INPUT_FLOAT32 ||
        info->result_kind > (uint32_t)TB_RESULT_MSE) {
        return 0;
    }
    /* The MSE compares the output with the float32 input still in the db buffer. */
    return info->result_kind != (uint32_t)TB_RESULT_MSE ||
           info->input_format == (uint32_t)TB_INPUT_FLOAT32;
}

uint32_t tb_model_input_bytes(tb_input_format_t format, uint32_t tensor_bytes)
{
    return format == TB_INPUT_FLOAT32 ? tensor_bytes * 4u : tensor_bytes;
}

int8_t tb_model_quantize(float x, float scale, int32_t zero_point)
{
    float q = roundf(x / scale) + (float)zero_point;

    if (q != q) {
        return (int8_t)zero_point;
    }
    if (q <= -128.0f) {
        return -128;
    }
    if (q >= 127.0f) {
        return 127;
    }
    return (int8_t)q;
}

static float float_at(const uint8_t *src, uint32_t index)
{
    float value;
    uint32_t bits = (uint32_t)src[4u * index] | ((uint32_t)src[4u * index + 1u] << 8) |
                    ((uint32_t)src[4u * index + 2u] << 16) | ((uint32_t)src[4u * index + 3u] << 24);

    memcpy(&value, &bits, sizeof(value));
    return value;
}

/* The uint8 <-> int8 offset of 128 is its own inverse: flip the top bit of every byte. */
static void flip_sign_bits(uint8_t *bytes, uint32_t n)
{
    uint32_t i;

    for (i = 0u; i < n; i++) {
        bytes[i] = (uint8_t)(bytes[i] ^ 0x80u);
    }
}

int8_t *tb_model_input_in_db(tb_input_format_t format, uint8_t *db, uint32_t capacity,
                             const tb_tensor_view_t *input)
{
    uint32_t floats_end;
    int8_t *tensor;
    uint32_t i;

    switch (format) {
    case TB_INPUT_UINT8_OFFSET:
        flip_sign_bits(db, input->bytes);
        return (int8_t *)db;
    case TB_INPUT_FLOAT32:
        floats_end = input->bytes * 4u;
        floats_end = (floats_end + TB_ENGINE_ARENA_ALIGN - 1u) & ~(TB_ENGINE_ARENA_ALIGN - 1u);
        if (floats_end > capacity || input->bytes > capacity - floats_end) {
            return NULL;
        }
        tensor = (int8_t *)(db + floats_end);
        for (i = 0u; i < input->bytes; i++) {
            tensor[i] = tb_model_quantize(float_at(db, i), input->scale, input->zero_point);
        }
        return tensor;
    case TB_INPUT_INT8:
    default:
        return (int8_t *)db;
    }
}

void tb_model_restore_db(tb_input_format_t format, uint8_t *db, const tb_tensor_view_t *input)
{
    if (format == TB_INPUT_UINT8_OFFSET) {
        flip_sign_bits(db, input->bytes);
    }
}

float tb_model_mse(const uint8_t *float_input, const tb_tensor_view_t *output)
{
    double sum = 0.0;
    uint32_t i;

    if (output->bytes == 0u) {
        return 0.0f;
    }
    for (i = 0u; i < output->bytes; i++) {
        float deq = output->scale * (float)((int32_t)output->data[i] - output->zero_point);
        double diff = (double)deq - (double)float_at(float_input, i);
        sum += diff * diff;
    }
    return (float)(sum / (double)output->bytes);
}
