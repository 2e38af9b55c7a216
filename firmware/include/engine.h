/*
 * engine.h - the one interface between the harness and an inference engine.
 *
 * An engine knows one model and how to run it in a caller-owned arena. It knows
 * nothing of UARTs, timers or the serial protocol. Two engines implement it:
 * `native` (a plan compiled ahead of time on the host) and `tflm` (upstream
 * TF Lite Micro). Exactly one is linked into a firmware image.
 */
#ifndef TB_ENGINE_H
#define TB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TB_ENGINE_OK = 0,
    TB_ENGINE_ERR_ARENA_TOO_SMALL, /* init: arena_bytes < tb_engine_arena_required() */
    TB_ENGINE_ERR_ARENA_ALIGNMENT, /* init: arena not aligned to TB_ENGINE_ARENA_ALIGN */
    TB_ENGINE_ERR_NOT_READY,       /* invoke/tensor access before a successful init */
    TB_ENGINE_ERR_MODEL,           /* the embedded model is inconsistent */
    TB_ENGINE_ERR_KERNEL,          /* a kernel refused its parameters */
    TB_ENGINE_ERR_INPUT            /* bind_input: NULL, misaligned or not the input's size */
} tb_engine_status_t;

/* Arenas handed to tb_engine_init must be aligned to this many bytes. */
#define TB_ENGINE_ARENA_ALIGN 16u

/* Maximum tensor rank exposed through a tensor view. */
#define TB_ENGINE_MAX_RANK 4u

/* A view of an int8 input or output tensor and its (per-tensor) quantization. */
typedef struct {
    int8_t *data;   /* output: in the arena, valid after init; input: see tb_engine_input */
    uint32_t bytes; /* number of int8 elements */
    uint32_t rank;
    int32_t dims[TB_ENGINE_MAX_RANK];
    float scale; /* real = scale * (q - zero_point) */
    int32_t zero_point;
} tb_tensor_view_t;

/*
 * How the host encodes one input in the db buffer; the harness converts it
 * into the int8 input tensor. Written into the engine's model by the host
 * (native: the compiled plan; tflm: the embedded model's header) from the
 * model manifest, so the harness knows no model ids.
 */
typedef enum {
    TB_INPUT_INT8 = 0,         /* bytes are the int8 tensor as is */
    TB_INPUT_UINT8_OFFSET = 1, /* uint8 values; tensor = value - 128 */
    TB_INPUT_FLOAT32 = 2       /* little-endian float32; quantized on the device */
} tb_input_format_t;

/* What `m-results-[...]` reports. */
typedef enum {
    TB_RESULT_SCORES = 0, /* the dequantized outputs */
    TB_RESULT_MSE = 1     /* mse(dequantized output, float32 input): autoencoders */
} tb_result_kind_t;

/* What the firmware reports about its model (info line, profile) and how it is fed. */
typedef struct {
    const char *id;        /* "kws01", "vww01", "ic01", "ad01" or a user's model id */
    const char *sha256;    /* 64 lowercase hex digits of the .tflite file */
    uint32_t input_format; /* a tb_input_format_t */
    uint32_t result_kind;  /* a tb_result_kind_t */
} tb_model_info_t;

/* Called before (phase 0) and after (phase 1) every op when set; NULL disables it. */
typedef void (*tb_engine_op_hook_t)(void *context, uint32_t op_index, const char *op_name,
                                    uint32_t phase);

const char *tb_engine_name(void);
const char *tb_engine_version(void);
const tb_model_info_t *tb_engine_model(void);

/* Bytes of arena this model needs (exact for `native`, sized with margin for `tflm`). */
size_t tb_engine_arena_required(void);

/* Bytes of the arena actually used after init (the planner's peak). */
size_t tb_engine_arena_used(void);

tb_engine_status_t tb_engine_init(uint8_t *arena, size_t arena_bytes);

/*
 * The input tensor's size and quantization. Its data is the buffer last bound
 * with tb_engine_bind_input (NULL before), or an engine's own copy (tflm).
 */
tb_engine_status_t tb_engine_input(tb_tensor_view_t *view);
tb_engine_status_t tb_engine_output(tb_tensor_view_t *view);

/*
 * Hands the engine the caller's int8 input tensor: `bytes` (the input view's
 * bytes) values at `data`, aligned to TB_ENGINE_ARENA_ALIGN, which the caller
 * keeps unchanged until the next bind. Call it after init and before invoke.
 * The native engine reads the input from there and gives it no arena memory;
 * the tflm engine copies it into its own input (TF Lite Micro reuses the input
 * tensor's memory). Either way the caller's buffer is never written.
 */
tb_engine_status_t tb_engine_bind_input(const int8_t *data, size_t bytes);

/*
 * Runs the model once on the bound input (TB_ENGINE_ERR_NOT_READY when none
 * is bound). The input is never changed, so a second invoke on it gives the
 * same output.
 */
tb_engine_status_t tb_engine_invoke(void);

void tb_engine_set_op_hook(tb_engine_op_hook_t hook, void *context);

#ifdef __cplusplus
}
#endif

#endif /* TB_ENGINE_H */
