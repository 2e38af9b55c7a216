/*
 * tb_tflm_engine.cc - engine.h on top of upstream TF Lite Micro.
 *
 * The model is the .tflite file embedded by the host (tb_tflm_model.c in the
 * plan directory); the op resolver registers only the model's ops
 * (tb_tflm_ops.cc, generated). The interpreter and the resolver live in static
 * storage, constructed in place by tb_engine_init: no heap, nothing built
 * before main().
 *
 * Input: TF Lite Micro's planner reuses the input tensor's memory for later
 * tensors, so a second Invoke() on the same tensor contents is wrong. The
 * harness's input (tb_engine_bind_input) is therefore copied once into a copy
 * owned by this engine (tb_engine_input points at it), and every invoke copies
 * that into the input tensor before Invoke(): the input never changes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <new>

#include "engine.h"
#include "tb_tflm_model.h"
#include "tb_tflm_ops.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

#ifndef TB_TFLM_VERSION
#define TB_TFLM_VERSION "unknown"
#endif

namespace {

/* Forwards TF Lite Micro's per-op events to the engine.h op hook. */
class OpHookProfiler : public tflite::MicroProfilerInterface {
public:
    void set(tb_engine_op_hook_t hook, void *context)
    {
        hook_ = hook;
        context_ = context;
    }

    void start_invoke() { op_index_ = 0u; }

    uint32_t BeginEvent(const char *tag) override
    {
        const uint32_t index = op_index_++;
        tag_ = tag;
        if (hook_ != nullptr) {
            hook_(context_, index, tag, 0u);
        }
        return index;
    }

    void EndEvent(uint32_t event_handle) override
    {
        if (hook_ != nullptr) {
            hook_(context_, event_handle, tag_, 1u);
        }
    }

private:
    tb_engine_op_hook_t hook_ = nullptr;
    void *context_ = nullptr;
    const char *tag_ = "";
    uint32_t op_index_ = 0u;
};

alignas(TbTflmOpResolver) unsigned char s_resolver_storage[sizeof(TbTflmOpResolver)];
alignas(
    tflite::MicroInterpreter) unsigned char s_interpreter_storage[sizeof(tflite::MicroInterpreter)];
alignas(OpHookProfiler) unsigned char s_profiler_storage[sizeof(OpHookProfiler)];

TbTflmOpResolver *s_resolver = nullptr;
tflite::MicroInterpreter *s_interpreter = nullptr;
OpHookProfiler *s_profiler = nullptr;
TfLiteTensor *s_input_tensor = nullptr;
TfLiteTensor *s_output_tensor = nullptr;
bool s_ready = false;
bool s_bound = false; /* an input was bound since init */
bool s_allocation_failed = false;
tb_engine_op_hook_t s_hook = nullptr;
void *s_hook_context = nullptr;

/* The bound input's copy: copied into the input tensor before every Invoke(). */
alignas(16) int8_t s_input_copy[TB_TFLM_INPUT_BYTES];

/*
 * TF Lite Micro reports arena shortage only as a log line ("Failed to allocate tail
 * memory. Requested: N, available M, missing: K"); remember that it happened.
 */
void on_debug_log(const char *text)
{
    if (text != nullptr && strstr(text, "missing: ") != nullptr) {
        s_allocation_failed = true;
    }
}

void reset(void)
{
    s_ready = false;
    s_input_tensor = nullptr;
    s_output_tensor = nullptr;
    if (s_interpreter != nullptr) {
        s_interpreter->~MicroInterpreter();
        s_interpreter = nullptr;
    }
    if (s_resolver != nullptr) {
        s_resolver->~TbTflmOpResolver();
        s_resolver = nullptr;
    }
}

bool tensor_is_viewable(const TfLiteTensor *t)
{
    return t != nullptr && t->type == kTfLiteInt8 && t->data.int8 != nullptr &&
           t->dims != nullptr && t->dims->size >= 0 &&
           static_cast<uint32_t>(t->dims->size) <= TB_ENGINE_MAX_RANK;
}

void fill_view(const TfLiteTensor *t, int8_t *data, tb_tensor_view_t *view)
{
    const uint32_t rank = static_cast<uint32_t>(t->dims->size);
    view->data = data;
    view->bytes = static_cast<uint32_t>(t->bytes);
    view->rank = rank;
    for (uint32_t i = 0; i < TB_ENGINE_MAX_RANK; ++i) {
        view->dims[i] = i < rank ? t->dims->data[i] : 0;
    }
    view->scale = t->params.scale;
    view->zero_point = t->params.zero_point;
}

} // namespace

extern "C" {

const char *tb_engine_name(void)
{
    return "tflm";
}

const char *tb_engine_version(void)
{
    return TB_TFLM_VERSION;
}

const tb_model_info_t *tb_engine_model(void)
{
    static const tb_model_info_t info = { tb_tflm_model_id, tb_tflm_model_sha256,
                                          static_cast<uint32_t>(TB_TFLM_INPUT_FORMAT),
                                          static_cast<uint32_t>(TB_TFLM_RESULT_KIND) };
    return &info;
}

size_t tb_engine_arena_required(void)
{
    return static_cast<size_t>(TB_TFLM_ARENA_BYTES);
}

size_t tb_engine_arena_used(void)
{
    return s_ready ? s_interpreter->arena_used_bytes() : 0u;
}

tb_engine_status_t tb_engine_init(uint8_t *arena, size_t arena_bytes)
{
    reset();
    if (arena == nullptr || (reinterpret_cast<uintptr_t>(arena) % TB_ENGINE_ARENA_ALIGN) != 0u) {
        return TB_ENGINE_ERR_ARENA_ALIGNMENT;
    }
    if (arena_bytes < tb_engine_arena_required()) {
        return TB_ENGINE_ERR_ARENA_TOO_SMALL;
    }
    const tflite::Model *model = tflite::GetModel(tb_tflm_model_data);
    if (tb_tflm_model_size < 8u || model == nullptr || model->version() != TFLITE_SCHEMA_VERSION) {
        return TB_ENGINE_ERR_MODEL;
    }
    s_resolver = new (s_resolver_storage) TbTflmOpResolver();
    if (!tb_tflm_register_ops(*s_resolver)) {
        reset();
        return TB_ENGINE_ERR_MODEL;
    }
    if (s_profiler == nullptr) {
        s_profiler = new (s_profiler_storage) OpHookProfiler();
    }
    s_profiler->set(s_hook, s_hook_context);
    RegisterDebugLogCallback(on_debug_log);
    s_allocation_failed = false;
    s_interpreter = new (s_interpreter_storage)
        tflite::MicroInterpreter(model, *s_resolver, arena, arena_bytes, nullptr, s_profiler);
    if (s_interpreter->AllocateTensors() != kTfLiteOk) {
        const bool short_of_arena = s_allocation_failed;
        reset();
        return short_of_arena ? TB_ENGINE_ERR_ARENA_TOO_SMALL : TB_ENGINE_ERR_MODEL;
    }
    if (s_interpreter->inputs_size() != 1u || s_interpreter->outputs_size() != 1u) {
        reset();
        return TB_ENGINE_ERR_MODEL;
    }
    s_input_tensor = s_interpreter->input(0);
    s_output_tensor = s_interpreter->output(0);
    if (!tensor_is_viewable(s_input_tensor) || !tensor_is_viewable(s_output_tensor) ||
        s_input_tensor->bytes != sizeof(s_input_copy)) {
        reset();
        return TB_ENGINE_ERR_MODEL;
    }
    memset(s_input_copy, 0, sizeof(s_input_copy));
    s_bound = false;
    s_ready = true;
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_input(tb_tensor_view_t *view)
{
    if (!s_ready || view == nullptr) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    fill_view(s_input_tensor, s_input_copy, view);
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_output(tb_tensor_view_t *view)
{
    if (!s_ready || view == nullptr) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    fill_view(s_output_tensor, s_output_tensor->data.int8, view);
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_bind_input(const int8_t *data, size_t bytes)
{
    if (!s_ready) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    if (data == nullptr || (reinterpret_cast<uintptr_t>(data) % TB_ENGINE_ARENA_ALIGN) != 0u ||
        bytes != sizeof(s_input_copy)) {
        return TB_ENGINE_ERR_INPUT;
    }
    /* Once per bind, outside any timed invoke: the per-invoke restore below is unchanged. */
    memcpy(s_input_copy, data, sizeof(s_input_copy));
    s_bound = true;
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_invoke(void)
{
    if (!s_ready || !s_bound) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    /* Restore the input: the previous Invoke() may have reused its memory. */
    memcpy(s_input_tensor->data.int8, s_input_copy, sizeof(s_input_copy));
    s_profiler->start_invoke();
    return s_interpreter->Invoke() == kTfLiteOk ? TB_ENGINE_OK : TB_ENGINE_ERR_KERNEL;
}

void tb_engine_set_op_hook(tb_engine_op_hook_t hook, void *context)
{
    s_hook = hook;
    s_hook_context = context;
    if (s_profiler != nullptr) {
        s_profiler->set(hook, context);
    }
}

} // extern "C"
