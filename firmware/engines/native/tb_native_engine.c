/*
 * tb_native_engine.c - the plan runner behind engine.h.
 *
 * The host compiler decided every tensor's place in the arena; this file only
 * checks the plan against the arena it is given and calls the kernels in
 * order. The input tensor is not in the arena: ops read it from the caller's
 * buffer (tb_engine_bind_input), which nothing here writes, so an invoke never
 * changes the input and the arena holds only what the ops need alive. The
 * kernels come from one kernel set
 * (a directory beside this file, chosen by the build); this file is the same
 * for every set.
 */
#include <string.h>

#include "engine.h"
#include "tb_native_kernels.h"
#include "tb_native_plan.h"

/*
 * A firmware build has the compiled model's header on its include path: its op kinds let the
 * dispatch below leave out the kernels the model does not use, which --gc-sections then drops
 * (ad01, all FULLY_CONNECTED, needs none of the convolutions). Without the header (the host
 * library, built once for every plan) every kernel is linked. An op whose kernel was left out
 * fails like an unknown kind, but the plan and the header come from one compile.
 */
#if defined(__has_include)
#if __has_include("tb_native_model.h")
#include "tb_native_model.h"
#endif
#endif
#ifdef TB_NATIVE_USES_OP_KINDS
#define TB_NATIVE_USES(kind) TB_NATIVE_USES_##kind
#else
#define TB_NATIVE_USES(kind) 1
#endif

#define TB_NATIVE_ENGINE_VERSION "0.2.0"

static uint8_t *g_arena;
static const int8_t *g_input; /* the caller's input tensor; NULL until bound */
static tb_engine_op_hook_t g_hook;
static void *g_hook_context;

const char *tb_engine_name(void)
{
    return "native";
}

/* "<engine version>+<kernel set>", e.g. "0.2.0+reference"; longer set names are cut. */
const char *tb_engine_version(void)
{
    static char version[40];
    if (version[0] == '\0') {
        const char *part = TB_NATIVE_ENGINE_VERSION "+";
        const char *set = tb_native_kernel_set();
        size_t n = 0u;
        while (*part != '\0') {
            version[n++] = *part++;
        }
        while (*set != '\0' && n < sizeof(version) - 1u) {
            version[n++] = *set++;
        }
        version[n] = '\0';
    }
    return version;
}

const tb_model_info_t *tb_engine_model(void)
{
    static tb_model_info_t info;
    info.id = tb_native_plan.model_id;
    info.sha256 = tb_native_plan.model_sha256;
    info.input_format = tb_native_plan.input_format;
    info.result_kind = tb_native_plan.result_kind;
    return &info;
}

size_t tb_engine_arena_required(void)
{
    return (size_t)tb_native_plan.arena_bytes;
}

size_t tb_engine_arena_used(void)
{
    return g_arena != 0 ? (size_t)tb_native_plan.arena_bytes : 0u;
}

static int tensor_fits(const tb_native_tensor_t *t)
{
    return t->offset <= tb_native_plan.arena_bytes &&
           t->bytes <= tb_native_plan.arena_bytes - t->offset && t->rank <= TB_ENGINE_MAX_RANK;
}

/* The input tensor lives in the caller's buffer; any other offset is a plan from elsewhere. */
static int input_is_bound(const tb_native_tensor_t *t)
{
    return t->offset == TB_NATIVE_BOUND_INPUT && t->rank <= TB_ENGINE_MAX_RANK;
}

static int operand_fits(uint32_t offset)
{
    return offset == TB_NATIVE_BOUND_INPUT || offset < tb_native_plan.arena_bytes;
}

uint32_t tb_native_op_scratch_bytes(const tb_native_op_t *op)
{
    switch ((tb_native_op_kind_t)op->kind) {
#if TB_NATIVE_USES(CONV_2D)
    case TB_NATIVE_OP_CONV_2D:
        return tb_native_conv_scratch_bytes(op->params.conv);
#endif
#if TB_NATIVE_USES(DEPTHWISE_CONV_2D)
    case TB_NATIVE_OP_DEPTHWISE_CONV_2D:
        return tb_native_depthwise_conv_scratch_bytes(op->params.conv);
#endif
#if TB_NATIVE_USES(FULLY_CONNECTED)
    case TB_NATIVE_OP_FULLY_CONNECTED:
        return tb_native_fully_connected_scratch_bytes(op->params.fc);
#endif
#if TB_NATIVE_USES(AVERAGE_POOL_2D)
    case TB_NATIVE_OP_AVERAGE_POOL_2D:
        return tb_native_avg_pool_scratch_bytes(op->params.pool);
#endif
#if TB_NATIVE_USES(MAX_POOL_2D)
    case TB_NATIVE_OP_MAX_POOL_2D:
        return tb_native_max_pool_scratch_bytes(op->params.pool);
#endif
#if TB_NATIVE_USES(ADD)
    case TB_NATIVE_OP_ADD:
        return tb_native_add_scratch_bytes(op->params.add);
#endif
#if TB_NATIVE_USES(SOFTMAX)
    case TB_NATIVE_OP_SOFTMAX:
        return tb_native_softmax_scratch_bytes(op->params.softmax);
#endif
    case TB_NATIVE_OP_RESHAPE:
    default:
        return 0u;
    }
}

/* An op's scratch lies inside the arena and is at least what the linked kernel set asks. */
static int scratch_fits(const tb_native_op_t *op)
{
    if (op->scratch_bytes == 0u) {
        return tb_native_op_scratch_bytes(op) == 0u;
    }
    return op->scratch_offset <= tb_native_plan.arena_bytes &&
           op->scratch_bytes <= tb_native_plan.arena_bytes - op->scratch_offset &&
           op->scratch_bytes >= tb_native_op_scratch_bytes(op);
}

static int plan_is_consistent(void)
{
    uint32_t i;
    if (tb_native_plan.version != TB_NATIVE_PLAN_VERSION || tb_native_plan.ops == 0 ||
        tb_native_plan.op_count == 0 || !input_is_bound(&tb_native_plan.input) ||
        !tensor_fits(&tb_native_plan.output) ||
        tb_native_plan.input_format > (uint32_t)TB_INPUT_FLOAT32 ||
        tb_native_plan.result_kind > (uint32_t)TB_RESULT_MSE) {
        return 0;
    }
    for (i = 0; i < tb_native_plan.op_count; ++i) {
        const tb_native_op_t *op = &tb_native_plan.ops[i];
        if (!operand_fits(op->input[0]) || !operand_fits(op->input[1]) ||
            op->output >= tb_native_plan.arena_bytes || op->params.conv == 0 || !scratch_fits(op)) {
            return 0;
        }
    }
    return 1;
}

tb_engine_status_t tb_engine_init(uint8_t *arena, size_t arena_bytes)
{
    g_arena = 0;
    g_input = 0;
    if (arena == 0 || ((uintptr_t)arena % TB_ENGINE_ARENA_ALIGN) != 0u) {
        return TB_ENGINE_ERR_ARENA_ALIGNMENT;
    }
    if (arena_bytes < (size_t)tb_native_plan.arena_bytes) {
        return TB_ENGINE_ERR_ARENA_TOO_SMALL;
    }
    if (!plan_is_consistent()) {
        return TB_ENGINE_ERR_MODEL;
    }
    g_arena = arena;
    return TB_ENGINE_OK;
}

static void fill_view(const tb_native_tensor_t *t, int8_t *data, tb_tensor_view_t *view)
{
    uint32_t i;
    view->data = data;
    view->bytes = t->bytes;
    view->rank = t->rank;
    for (i = 0; i < TB_ENGINE_MAX_RANK; ++i) {
        view->dims[i] = i < t->rank ? t->dims[i] : 0;
    }
    view->scale = t->scale;
    view->zero_point = t->zero_point;
}

tb_engine_status_t tb_engine_input(tb_tensor_view_t *view)
{
    if (g_arena == 0 || view == 0) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    /* The view's data is the caller's own buffer (engine.h): this engine never writes it. */
    fill_view(&tb_native_plan.input, (int8_t *)(uintptr_t)g_input, view);
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_output(tb_tensor_view_t *view)
{
    if (g_arena == 0 || view == 0) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    fill_view(&tb_native_plan.output, (int8_t *)(g_arena + tb_native_plan.output.offset), view);
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_engine_bind_input(const int8_t *data, size_t bytes)
{
    if (g_arena == 0) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    if (data == 0 || ((uintptr_t)data % TB_ENGINE_ARENA_ALIGN) != 0u ||
        bytes != (size_t)tb_native_plan.input.bytes) {
        return TB_ENGINE_ERR_INPUT;
    }
    g_input = data;
    return TB_ENGINE_OK;
}

static const int8_t *operand(uint32_t offset)
{
    return offset == TB_NATIVE_BOUND_INPUT ? g_input : (const int8_t *)(g_arena + offset);
}

static int run_op(const tb_native_op_t *op)
{
    const int8_t *in0 = operand(op->input[0]);
    const int8_t *in1 = operand(op->input[1]);
    int8_t *out = (int8_t *)(g_arena + op->output);
    void *scratch = op->scratch_bytes != 0u ? (void *)(g_arena + op->scratch_offset) : 0;
    (void)in1; /* only ADD reads it, and ADD may be left out */
    switch ((tb_native_op_kind_t)op->kind) {
#if TB_NATIVE_USES(CONV_2D)
    case TB_NATIVE_OP_CONV_2D:
        return tb_native_conv_s8(op->params.conv, in0, out, scratch);
#endif
#if TB_NATIVE_USES(DEPTHWISE_CONV_2D)
    case TB_NATIVE_OP_DEPTHWISE_CONV_2D:
        return tb_native_depthwise_conv_s8(op->params.conv, in0, out, scratch);
#endif
#if TB_NATIVE_USES(FULLY_CONNECTED)
    case TB_NATIVE_OP_FULLY_CONNECTED:
        return tb_native_fully_connected_s8(op->params.fc, in0, out, scratch);
#endif
#if TB_NATIVE_USES(AVERAGE_POOL_2D)
    case TB_NATIVE_OP_AVERAGE_POOL_2D:
        return tb_native_avg_pool_s8(op->params.pool, in0, out, scratch);
#endif
#if TB_NATIVE_USES(MAX_POOL_2D)
    case TB_NATIVE_OP_MAX_POOL_2D:
        return tb_native_max_pool_s8(op->params.pool, in0, out, scratch);
#endif
#if TB_NATIVE_USES(ADD)
    case TB_NATIVE_OP_ADD:
        return tb_native_add_s8(op->params.add, in0, in1, out, scratch);
#endif
    case TB_NATIVE_OP_RESHAPE:
        if (out != in0) {
            memmove(out, in0, (size_t)op->params.reshape->bytes);
        }
        return 0;
#if TB_NATIVE_USES(SOFTMAX)
    case TB_NATIVE_OP_SOFTMAX:
        return tb_native_softmax_s8(op->params.softmax, in0, out, scratch);
#endif
    default:
        return -1;
    }
}

tb_engine_status_t tb_engine_invoke(void)
{
    uint32_t i;
    if (g_arena == 0 || g_input == 0) {
        return TB_ENGINE_ERR_NOT_READY;
    }
    for (i = 0; i < tb_native_plan.op_count; ++i) {
        const tb_native_op_t *op = &tb_native_plan.ops[i];
        int rc;
        if (g_hook != 0) {
            g_hook(g_hook_context, i, op->name, 0u);
        }
        rc = run_op(op);
        if (g_hook != 0) {
            g_hook(g_hook_context, i, op->name, 1u);
        }
        if (rc != 0) {
            return TB_ENGINE_ERR_KERNEL;
        }
    }
    return TB_ENGINE_OK;
}

void tb_engine_set_op_hook(tb_engine_op_hook_t hook, void *context)
{
    g_hook = hook;
    g_hook_context = context;
}
