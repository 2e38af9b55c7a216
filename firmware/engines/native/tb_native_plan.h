/*
 * tb_native_plan.h - the compiled-plan format shared by the host compiler
 * (host/tinybench/compiler emits a C file defining `tb_native_plan`) and the
 * native engine (which runs it).
 *
 * Every activation tensor lives at a fixed byte offset in the caller-owned
 * arena; the offsets and the arena size were decided on the host. Constant
 * weights, biases and per-channel requantization parameters are `const`
 * arrays referenced from per-op parameter structs. Quantization conventions
 * follow TF Lite: input_offset = -input zero point, output_offset = output
 * zero point, (multiplier, shift) pairs as produced by QuantizeMultiplier
 * (shift > 0 is a left shift). An op may own a scratch buffer in the arena,
 * placed by the host planner from the kernel set's size query and live only
 * while that op runs (see tb_native_kernels.h). The model input has no place
 * in the arena: ops read it from the caller's buffer (tb_engine_bind_input),
 * which inference never writes; their offset is then TB_NATIVE_BOUND_INPUT.
 */
#ifndef TB_NATIVE_PLAN_H
#define TB_NATIVE_PLAN_H

#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bumped whenever the structs below change; the generated plan records it and
 * the engine refuses any other version. 2: per-op scratch buffers, the model's
 * input format and result kind. 3: the input is read from the caller's buffer
 * (TB_NATIVE_BOUND_INPUT), ADD may run in place. 4: FULLY_CONNECTED's weights_layout.
 * 5: CONV_2D's requant_layout.
 */
#define TB_NATIVE_PLAN_VERSION 5u

/* The "offset" of a tensor read from the bound input buffer instead of the arena. */
#define TB_NATIVE_BOUND_INPUT 0xFFFFFFFFu

#if defined(__GNUC__) || defined(__clang__)
#define TB_NATIVE_ALIGNED(n) __attribute__((aligned(n)))
#else
#define TB_NATIVE_ALIGNED(n)
#endif

typedef enum {
    TB_NATIVE_OP_CONV_2D = 0,
    TB_NATIVE_OP_DEPTHWISE_CONV_2D = 1,
    TB_NATIVE_OP_FULLY_CONNECTED = 2,
    TB_NATIVE_OP_AVERAGE_POOL_2D = 3,
    TB_NATIVE_OP_MAX_POOL_2D = 4,
    TB_NATIVE_OP_ADD = 5,
    TB_NATIVE_OP_RESHAPE = 6,
    TB_NATIVE_OP_SOFTMAX = 7
} tb_native_op_kind_t;

/*
 * Where a convolution's requantization constants are. ARRAYS: bias, multiplier, shift and
 * weight_sums, one array each. GROUPS4 (CONV_2D only, emitted only for a kernel set that reads
 * it): `requant` holds, for each group of four output channels, four folded biases
 * (bias + input_offset * sum of the filter, wrapping as the kernels' int32 sums do), four
 * multipliers and four shifts, twelve int32 per group; a last group of out_c % 4 channels is
 * padded with zeros. bias, multiplier, shift and weight_sums are NULL. The compiler promises
 * shift <= 0 for every channel (compiler/layout.py). A kernel refuses a layout it does not read.
 */
#define TB_NATIVE_REQUANT_ARRAYS 0
#define TB_NATIVE_REQUANT_GROUPS4 1

/* CONV_2D and DEPTHWISE_CONV_2D (NHWC activations). */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;     /* top / left padding; bottom / right follow from the sizes */
    int32_t depth_multiplier; /* depthwise only (out_c == in_c * depth_multiplier) */
    int32_t input_offset;     /* -input zero point */
    int32_t output_offset;    /* output zero point */
    int32_t act_min, act_max;
    const int8_t *weights;      /* conv [out_c][k_h][k_w][in_c]; depthwise [k_h][k_w][out_c] */
    const int32_t *bias;        /* out_c values or NULL */
    const int32_t *multiplier;  /* out_c values */
    const int32_t *shift;       /* out_c values */
    const int32_t *weight_sums; /* conv: out_c sums of each filter (fast path), or NULL */
    int32_t requant_layout;     /* TB_NATIVE_REQUANT_ARRAYS or TB_NATIVE_REQUANT_GROUPS4 */
    const int32_t *requant;     /* GROUPS4: 12 values per group of 4 channels; else NULL */
} tb_native_conv_t;

/*
 * FULLY_CONNECTED weight layouts. ROW_MAJOR: [out_depth][in_depth]. ROWS4 (in_depth a
 * multiple of 4, emitted only for a kernel set that reads it): each block of four rows
 * interleaved word by word (word k of rows 4b .. 4b + 3, then word k + 1), the
 * out_depth % 4 last rows row-major after the blocks. With ROWS4 bias holds the
 * folded bias + input_offset * sum(row) (no weight_sums), and the compiler
 * promises shift <= -1, multiplier != INT32_MIN and |sum w * x + bias| < 2^30
 * for every output and any int8 input x (compiler/layout.py). A kernel refuses
 * a layout it does not read.
 */
#define TB_NATIVE_FC_ROW_MAJOR 0
#define TB_NATIVE_FC_ROWS4 1

/* FULLY_CONNECTED: out[b][o] = sum_i w[o][i] * (in[b][i] + input_offset). */
typedef struct {
    int32_t batches;
    int32_t in_depth, out_depth;
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t weights_layout;     /* TB_NATIVE_FC_ROW_MAJOR or TB_NATIVE_FC_ROWS4 */
    const int8_t *weights;      /* in weights_layout's order */
    const int32_t *bias;        /* out_depth values or NULL */
    const int32_t *multiplier;  /* out_depth values (a per-tensor scale is repeated) */
    const int32_t *shift;       /* out_depth values */
    const int32_t *weight_sums; /* out_depth sums of each weight row (fast path), or NULL */
} tb_native_fc_t;

/* AVERAGE_POOL_2D and MAX_POOL_2D (input and output share the quantization). */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t act_min, act_max;
} tb_native_pool_t;

/* ADD of two same-shape tensors, TF Lite's fixed-point scheme (left_shift 20). */
typedef struct {
    int32_t size;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift; /* shifts <= 0 */
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tb_native_add_t;

/* SOFTMAX over the last dimension; int8 output with scale 1/256, zero point -128. */
typedef struct {
    int32_t outer, depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tb_native_softmax_t;

/* RESHAPE: a copy of `bytes` bytes unless the planner aliased input and output. */
typedef struct {
    int32_t bytes;
} tb_native_reshape_t;

typedef struct {
    uint32_t kind;           /* tb_native_op_kind_t */
    const char *name;        /* TF Lite builtin name, for the op hook */
    uint32_t input[2];       /* arena offsets of the activation inputs (input[1]: ADD only),
                                or TB_NATIVE_BOUND_INPUT for the model input */
    uint32_t output;         /* arena offset of the output */
    uint32_t scratch_offset; /* arena offset of this op's scratch (live for this op only) */
    uint32_t scratch_bytes;  /* >= the kernel set's query for the params; 0: none */
    union {
        const tb_native_conv_t *conv;
        const tb_native_fc_t *fc;
        const tb_native_pool_t *pool;
        const tb_native_add_t *add;
        const tb_native_softmax_t *softmax;
        const tb_native_reshape_t *reshape;
    } params;
} tb_native_op_t;

typedef struct {
    uint32_t offset; /* in the arena; the input's is TB_NATIVE_BOUND_INPUT */
    uint32_t bytes;
    uint32_t rank;
    int32_t dims[4];
    float scale;
    int32_t zero_point;
} tb_native_tensor_t;

typedef struct {
    uint32_t version; /* TB_NATIVE_PLAN_VERSION of the compiler that wrote it */
    const char *model_id;
    const char *model_sha256;
    uint32_t input_format; /* tb_input_format_t of engine.h, from the model manifest */
    uint32_t result_kind;  /* tb_result_kind_t of engine.h */
    uint32_t arena_bytes;  /* the planner's peak, a multiple of 16 */
    uint32_t op_count;
    const tb_native_op_t *ops;
    tb_native_tensor_t input;
    tb_native_tensor_t output;
} tb_native_plan_t;

/* Defined by the generated plan source. */
extern const tb_native_plan_t tb_native_plan;

#ifdef __cplusplus
}
#endif

#endif /* TB_NATIVE_PLAN_H */
