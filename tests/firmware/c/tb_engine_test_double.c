/*
 * tb_engine_test_double.c - TEST DOUBLE of engine.h, used only by tests.
 *
 * It runs no model. Its output is a deterministic function of its input that
 * tests recompute in Python:
 *   classifiers (kws01, vww01, ic01): out[k] = (int8)(sum of (uint8)in[i] over
 *     i % n_out == k, modulo 256)
 *   ad01, custom01: out[i] = in[i] (identity; output quantization = input
 *     quantization)
 * Like a real engine it reports each model's input format and result kind;
 * custom01 (float32 input, scores) is a model the harness has never heard of.
 * Select the model with -DTB_DOUBLE_MODEL=0 (kws01), 1 (vww01), 2 (ic01),
 * 3 (ad01), 4 (custom01).
 */
#include "engine.h"

#include <string.h>

#ifndef TB_DOUBLE_MODEL
#define TB_DOUBLE_MODEL 0
#endif

typedef struct {
    const char *id;
    tb_input_format_t input_format;
    tb_result_kind_t result_kind;
    uint32_t in_bytes;
    int32_t in_dims[TB_ENGINE_MAX_RANK];
    uint32_t in_rank;
    float in_scale;
    int32_t in_zero_point;
    uint32_t out_bytes;
    float out_scale;
    int32_t out_zero_point;
} tb_double_spec_t;

static const tb_double_spec_t k_specs[5] = {
    { "kws01",
      TB_INPUT_INT8,
      TB_RESULT_SCORES,
      490u,
      { 1, 49, 10, 1 },
      4u,
      0.5f,
      -3,
      12u,
      1.0f / 256.0f,
      -128 },
    { "vww01",
      TB_INPUT_UINT8_OFFSET,
      TB_RESULT_SCORES,
      27648u,
      { 1, 96, 96, 3 },
      4u,
      1.0f / 128.0f,
      0,
      2u,
      1.0f / 256.0f,
      -128 },
    { "ic01",
      TB_INPUT_UINT8_OFFSET,
      TB_RESULT_SCORES,
      3072u,
      { 1, 32, 32, 3 },
      4u,
      1.0f / 128.0f,
      0,
      10u,
      1.0f / 256.0f,
      -128 },
    { "ad01", TB_INPUT_FLOAT32, TB_RESULT_MSE, 640u, { 1, 640, 0, 0 }, 2u, 0.5f, 3, 640u, 0.5f, 3 },
    { "custom01",
      TB_INPUT_FLOAT32,
      TB_RESULT_SCORES,
      64u,
      { 1, 64, 0, 0 },
      2u,
      0.25f,
      -5,
      64u,
      0.25f,
      -5 },
};

static const tb_double_spec_t *const k_spec = &k_specs[TB_DOUBLE_MODEL];

/* -DTB_DOUBLE_INPUT_FORMAT=N reports format N instead (tests of an engine gone wrong). */
#ifdef TB_DOUBLE_INPUT_FORMAT
#define TB_DOUBLE_REPORTED_FORMAT ((uint32_t)(TB_DOUBLE_INPUT_FORMAT))
#else
#define TB_DOUBLE_REPORTED_FORMAT ((uint32_t)k_specs[TB_DOUBLE_MODEL].input_format)
#endif

static const tb_model_info_t k_model = {
    k_specs[TB_DOUBLE_MODEL].id,
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    TB_DOUBLE_REPORTED_FORMAT,
    (uint32_t)k_specs[TB_DOUBLE_MODEL].result_kind,
};

/*
 * Set by a static constructor that also does float math: proves that a port
 * runs constructors (C++ engines need them) after enabling the FPU.
 */
static volatile float s_ctor_value;

__attribute__((constructor)) static void tb_double_constructor(void)
{
    volatile float a = 1.5f;
    volatile float b = 2.25f;

    s_ctor_value = a * b;
}

static int8_t *s_in;
static int8_t *s_out;
static int s_ready;

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

const char *tb_engine_name(void)
{
    return s_ctor_value == 3.375f ? "test-double" : "test-double-without-constructors";
}

const char *tb_engine_version(void)
{
    return "0.0.0-test";
}

const tb_model_info_t *tb_engine_model(void)
{
    return &k_model;
}

size_t tb_engine_arena_required(void)
{
    return round16(k_spec->in_bytes) + round16(k_spec->out_bytes);
}

size_t tb_engine_arena_used(void)
{
    return s_ready ? tb_engine_arena_required() : 0u;
}

tb_engine_status_t tb_engine_init(uint8_t *arena, size_t arena_bytes)
{
    s_ready = 0;
    if (((uintptr_t)arena % TB_ENGINE_ARENA_ALIGN) != 0u) {
        return TB_ENGINE_ERR_ARENA_ALIGNMENT;
    }
    if (arena_bytes < tb_engine_arena_required()) {
        return TB_ENGINE_ERR_ARENA_TOO_SMALL;
    }
    s_in = (int8_t *)arena;
    s_out = (int8_t *)(arena + round16(k_spec->in_bytes));
    memset(arena, 0, tb_engine_arena_required());
    s_ready = 1;
    return TB_ENGINE_OK;
}

static void fill_view(tb_tensor_view_t *view, int8_t *data, uint32_t bytes, float scale,
                      int32_t zero_point)
{
    memset(view, 0, sizeof(*view));
    view->data = data;
    view->bytes = bytes;
    view->scale = scale;
    view->zero_point = zero_point;
}

tb_engine_status_t tb_engine_input(tb_tensor_view_t *view)
{
    uint32_t i;

    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    fill_view(view, s_in, k_spec->in_bytes, k_spec->in_scale, k_spec->in_zero_point);
    view->rank = k_spec->in_rank;
    for (i = 0u; i < k_spec->in_rank; i++) {
        view->dims[i] = k_spec->in_dims[i];
    }
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_output(tb_tensor_view_t *view)
{
    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    fill_view(view, s_out, k_spec->out_bytes, k_spec->out_scale, k_spec->out_zero_point);
    view->rank = 2u;
    view->dims[0] = 1;
    view->dims[1] = (int32_t)k_spec->out_bytes;
    return TB_ENGINE_OK;
}

/* The caller's input is copied into the double's own arena copy (as the tflm engine does). */
tb_engine_status_t tb_engine_bind_input(const int8_t *data, size_t bytes)
{
    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    if (data == NULL || ((uintptr_t)data % TB_ENGINE_ARENA_ALIGN) != 0u ||
        bytes != k_spec->in_bytes) {
        return TB_ENGINE_ERR_INPUT;
    }
    memcpy(s_in, data, bytes);
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_invoke(void)
{
    uint32_t i;

    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    if (k_spec->in_bytes == k_spec->out_bytes) {
        memcpy(s_out, s_in, k_spec->out_bytes);
        return TB_ENGINE_OK;
    }
    {
        uint8_t sums[16];
        memset(sums, 0, sizeof(sums));
        for (i = 0u; i < k_spec->in_bytes; i++) {
            sums[i % k_spec->out_bytes] = (uint8_t)(sums[i % k_spec->out_bytes] + (uint8_t)s_in[i]);
        }
        for (i = 0u; i < k_spec->out_bytes; i++) {
            s_out[i] = (int8_t)sums[i];
        }
    }
    return TB_ENGINE_OK;
}

void tb_engine_set_op_hook(tb_engine_op_hook_t hook, void *context)
{
    (void)hook;
    (void)context;
}
