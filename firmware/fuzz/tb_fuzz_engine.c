/*
 * tb_fuzz_engine.c - FUZZ DOUBLE of engine.h for the libFuzzer target.
 *
 * It runs no model: a kws01-shaped int8 classifier (490 input bytes, 12 scores) whose
 * "inference" folds the input into the outputs in one pass, with two named ops for
 * `opprofile`. Each fuzz input may invoke it TB_FUZZ_INVOKE_BUDGET times; later invokes fail
 * with TB_ENGINE_ERR_KERNEL. Without the budget `infer 2000000000` would make every run of
 * the fuzzer a time-out, and the budget also drives the harness's invoke-failure paths.
 */
#include "tb_fuzz_engine.h"

#include <string.h>

#define TB_FUZZ_IN_BYTES 490u
#define TB_FUZZ_OUT_BYTES 12u

static const tb_model_info_t k_model = {
    "fuzz01",
    "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0",
    (uint32_t)TB_INPUT_INT8,
    (uint32_t)TB_RESULT_SCORES,
};

static const char *const k_op_names[2] = { "FUZZ_FOLD", "FUZZ_COPY" };

static int8_t *s_in;
static int8_t *s_out;
static int s_ready;
static int s_bound;
static uint32_t s_invokes_left;
static tb_engine_op_hook_t s_hook;
static void *s_hook_context;

void tb_fuzz_engine_reset(void)
{
    s_invokes_left = TB_FUZZ_INVOKE_BUDGET;
    s_hook = NULL;
    s_hook_context = NULL;
}

const char *tb_engine_name(void)
{
    return "fuzz-double";
}

const char *tb_engine_version(void)
{
    return "0.0.0-fuzz";
}

const tb_model_info_t *tb_engine_model(void)
{
    return &k_model;
}

size_t tb_engine_arena_required(void)
{
    return 512u + 16u; /* the input and the outputs, each 16-byte aligned */
}

size_t tb_engine_arena_used(void)
{
    return s_ready ? tb_engine_arena_required() : 0u;
}

tb_engine_status_t tb_engine_init(uint8_t *arena, size_t arena_bytes)
{
    s_ready = 0;
    s_bound = 0;
    if (((uintptr_t)arena % TB_ENGINE_ARENA_ALIGN) != 0u) {
        return TB_ENGINE_ERR_ARENA_ALIGNMENT;
    }
    if (arena_bytes < tb_engine_arena_required()) {
        return TB_ENGINE_ERR_ARENA_TOO_SMALL;
    }
    s_in = (int8_t *)arena;
    s_out = (int8_t *)(arena + 512u);
    memset(arena, 0, tb_engine_arena_required());
    s_ready = 1;
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_input(tb_tensor_view_t *view)
{
    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    memset(view, 0, sizeof(*view));
    view->data = s_in;
    view->bytes = TB_FUZZ_IN_BYTES;
    view->rank = 4u;
    view->dims[0] = 1;
    view->dims[1] = 49;
    view->dims[2] = 10;
    view->dims[3] = 1;
    view->scale = 0.5f;
    view->zero_point = -3;
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_output(tb_tensor_view_t *view)
{
    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    memset(view, 0, sizeof(*view));
    view->data = s_out;
    view->bytes = TB_FUZZ_OUT_BYTES;
    view->rank = 2u;
    view->dims[0] = 1;
    view->dims[1] = (int32_t)TB_FUZZ_OUT_BYTES;
    view->scale = 1.0f / 256.0f;
    view->zero_point = -128;
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_bind_input(const int8_t *data, size_t bytes)
{
    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    if (data == NULL || ((uintptr_t)data % TB_ENGINE_ARENA_ALIGN) != 0u ||
        bytes != TB_FUZZ_IN_BYTES) {
        return TB_ENGINE_ERR_INPUT;
    }
    memcpy(s_in, data, bytes);
    s_bound = 1;
    return TB_ENGINE_OK;
}

static void call_hook(uint32_t op, uint32_t phase)
{
    if (s_hook != NULL) {
        s_hook(s_hook_context, op, k_op_names[op], phase);
    }
}

tb_engine_status_t tb_engine_invoke(void)
{
    uint32_t i;

    if (!s_ready || !s_bound) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    if (s_invokes_left == 0u) {
        return TB_ENGINE_ERR_KERNEL;
    }
    s_invokes_left--;
    call_hook(0u, 0u);
    memset(s_out, 0, TB_FUZZ_OUT_BYTES);
    for (i = 0u; i < TB_FUZZ_IN_BYTES; i++) {
        s_out[i % TB_FUZZ_OUT_BYTES] =
            (int8_t)(uint8_t)((uint8_t)s_out[i % TB_FUZZ_OUT_BYTES] + (uint8_t)s_in[i]);
    }
    call_hook(0u, 1u);
    call_hook(1u, 0u);
    call_hook(1u, 1u);
    return TB_ENGINE_OK;
}

void tb_engine_set_op_hook(tb_engine_op_hook_t hook, void *context)
{
    s_hook = hook;
    s_hook_context = context;
}
