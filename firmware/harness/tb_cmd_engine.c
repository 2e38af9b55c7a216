/*
 * tb_cmd_engine.c - the commands that touch the engine: profile, infer (input
 * conversion + LoadGen + results), results, info. Owns the engine's arena.
 */
#include <string.h>

#include "engine.h"
#include "harness.h"
#include "port.h"
#include "tb_args.h"
#include "tb_cmd.h"
#include "tb_db.h"
#include "tb_latency.h"
#include "tb_loadgen.h"
#include "tb_model.h"
#include "tb_out.h"

static uint8_t s_engine_arena[TB_ARENA_BYTES] __attribute__((aligned(TB_ENGINE_ARENA_ALIGN)));
static tb_engine_status_t s_engine_status = TB_ENGINE_ERR_NOT_READY;
static tb_tensor_view_t s_input;
static tb_tensor_view_t s_output;
/* From the engine at init: how the host encodes an input and what results report. */
static tb_input_format_t s_input_format = TB_INPUT_INT8;
static tb_result_kind_t s_result_kind = TB_RESULT_SCORES;
static int s_have_results;
static float s_mse;

static const char *status_text(tb_engine_status_t status)
{
    switch (status) {
    case TB_ENGINE_OK:
        return "ok";
    case TB_ENGINE_ERR_ARENA_TOO_SMALL:
        return "arena too small";
    case TB_ENGINE_ERR_ARENA_ALIGNMENT:
        return "arena misaligned";
    case TB_ENGINE_ERR_NOT_READY:
        return "engine not ready";
    case TB_ENGINE_ERR_MODEL:
        return "model inconsistent";
    case TB_ENGINE_ERR_KERNEL:
        return "kernel refused its parameters";
    case TB_ENGINE_ERR_INPUT:
        return "input not accepted";
    default:
        return "unknown engine status";
    }
}

static void print_results(void)
{
    uint32_t i;

    tb_out_str("m-results-[");
    if (s_result_kind == TB_RESULT_MSE) {
        tb_out_f3(s_mse);
    } else {
        for (i = 0u; i < s_output.bytes; i++) {
            float value = s_output.scale * (float)((int32_t)s_output.data[i] - s_output.zero_point);
            if (i > 0u) {
                tb_out_char(',');
            }
            tb_out_f3(value);
        }
    }
    tb_out_char(']');
    tb_out_end();
}

#if TB_HARNESS_EXTENSIONS
static void print_results_raw(void)
{
    uint32_t i;

    tb_out_str("m-results-raw-[");
    for (i = 0u; i < s_output.bytes; i++) {
        tb_out_hex8((uint8_t)s_output.data[i]);
    }
    tb_out_char(']');
    tb_out_end();
}
#endif

/*
 * The engine's input is the harness's own db buffer: the loaded input's int8 tensor is
 * built in it (tb_model_input_in_db) and bound, so the engine keeps no copy and never
 * writes it. The caller gives the loaded bytes back (tb_model_restore_db) before the
 * command ends. Returns 0 after printing an error (nothing changed then).
 */
static int bind_loaded_input(const char *command)
{
    int8_t *tensor = tb_model_input_in_db(s_input_format, tb_db_buffer(), TB_DB_CAPACITY, &s_input);
    tb_engine_status_t status;

    if (tensor == NULL) {
        tb_out_str("e-[");
        tb_out_str(command);
        tb_out_str(": the db buffer's ");
        tb_out_u64(TB_DB_CAPACITY);
        tb_out_str(" bytes cannot hold the float32 input and its int8 tensor]");
        tb_out_end();
        return 0;
    }
    status = tb_engine_bind_input(tensor, s_input.bytes);
    if (status != TB_ENGINE_OK) {
        tb_model_restore_db(s_input_format, tb_db_buffer(), &s_input);
        tb_out_str("e-[");
        tb_out_str(command);
        tb_out_str(": the engine refused the input: ");
        tb_out_str(status_text(status));
        tb_out_char(']');
        tb_out_end();
        return 0;
    }
    return 1;
}

void tb_cmd_profile(char **argv, unsigned argc)
{
    const tb_model_info_t *model = tb_engine_model();

    (void)argv;
    (void)argc;
    tb_out_line("m-profile-[" TB_DUT_NAME " " TB_FIRMWARE_VERSION "]");
    tb_out_str("m-model-[");
    tb_out_safe(model != NULL && model->id != NULL ? model->id : "unknown", 32u);
    tb_out_char(']');
    tb_out_end();
}

/*
 * One `infer n w` on the loaded input, everything but the argument parsing and the results
 * line: the checks, the input binding, the LoadGen (printing its lines, or quiet for the
 * batch command) and the MSE. Errors are printed with the command's name; returns 1 when the
 * results are ready.
 */
static int infer_loaded(const char *command, uint32_t n, uint32_t w, int quiet,
                        tb_loadgen_record_t *record)
{
    uint32_t want;
    uint64_t ticks;
    tb_engine_status_t status;

    /* A failed infer leaves neither results nor a latency record behind. */
    s_have_results = 0;
    tb_latency_clear();
    if (s_engine_status != TB_ENGINE_OK) {
        tb_out_str("e-[");
        tb_out_str(command);
        tb_out_str(": engine not ready: ");
        tb_out_str(status_text(s_engine_status));
        tb_out_char(']');
        tb_out_end();
        return 0;
    }
    if (!tb_db_complete()) {
        tb_out_str("e-[");
        tb_out_str(command);
        tb_out_str(": no complete db load (");
        tb_out_u64(tb_db_loaded());
        tb_out_str(" of ");
        tb_out_u64(tb_db_expected());
        tb_out_str(" bytes)]");
        tb_out_end();
        return 0;
    }
    want = tb_model_input_bytes(s_input_format, s_input.bytes);
    if (tb_db_loaded() != want) {
        tb_out_str("e-[");
        tb_out_str(command);
        tb_out_str(": loaded ");
        tb_out_u64(tb_db_loaded());
        tb_out_str(" bytes but model ");
        tb_out_safe(tb_engine_model()->id, 32u);
        tb_out_str(" expects ");
        tb_out_u64(want);
        tb_out_str("]");
        tb_out_end();
        return 0;
    }
    if (!bind_loaded_input(command)) {
        return 0;
    }
    if (quiet) {
        status = tb_loadgen_run_quiet(n, w, record);
    } else {
        status = tb_loadgen_run(n, w, &ticks);
    }
    tb_model_restore_db(s_input_format, tb_db_buffer(), &s_input);
    if (status != TB_ENGINE_OK) {
        tb_out_str("e-[");
        tb_out_str(command);
        tb_out_str(": invoke failed: ");
        tb_out_str(status_text(status));
        tb_out_char(']');
        tb_out_end();
        return 0;
    }
    if (s_result_kind == TB_RESULT_MSE) {
        if (s_output.bytes != s_input.bytes) {
            tb_latency_clear();
            tb_out_str("e-[");
            tb_out_str(command);
            tb_out_str(": output and input sizes differ; no MSE]");
            tb_out_end();
            return 0;
        }
        s_mse = tb_model_mse(tb_db_data(), &s_output);
    }
    s_have_results = 1;
    return 1;
}

void tb_cmd_infer(char **argv, unsigned argc)
{
    int32_t n;
    int32_t w = 10;

    s_have_results = 0;
    tb_latency_clear();
    if (argc < 2u || argc > 3u) {
        tb_out_error("infer: usage: infer N [W]");
        return;
    }
    if (!tb_args_int(argv[1], &n) || n <= 0) {
        tb_out_error_arg("infer: N must be an integer > 0, got '", argv[1], "'");
        return;
    }
    if (argc == 3u && (!tb_args_int(argv[2], &w) || w < 0)) {
        tb_out_error_arg("infer: W must be an integer >= 0, got '", argv[2], "'");
        return;
    }
    if (infer_loaded("infer", (uint32_t)n, (uint32_t)w, 0, NULL)) {
        print_results();
    }
}

#if TB_HARNESS_EXTENSIONS
uint32_t tb_cmd_engine_input_bytes(void)
{
    return s_engine_status == TB_ENGINE_OK ? tb_model_input_bytes(s_input_format, s_input.bytes)
                                           : 0u;
}

int tb_cmd_engine_infer_quiet(const char *command, uint32_t n, uint32_t w,
                              tb_loadgen_record_t *record)
{
    return infer_loaded(command, n, w, 1, record);
}

void tb_cmd_engine_output(tb_cmd_output_t *output)
{
    output->raw = (const uint8_t *)s_output.data;
    output->raw_bytes = s_have_results ? s_output.bytes : 0u;
    output->scale = s_output.scale;
    output->zero_point = s_output.zero_point;
    output->mse = s_result_kind == TB_RESULT_MSE ? s_mse : 0.0f;
    output->is_mse = s_result_kind == TB_RESULT_MSE;
}
#endif

void tb_cmd_results(char **argv, unsigned argc)
{
#if TB_HARNESS_EXTENSIONS
    if (argc > 2u || (argc == 2u && strcmp(argv[1], "raw") != 0)) {
        tb_out_error("results: usage: results [raw]");
        return;
    }
#else
    (void)argv;
    if (argc != 1u) {
        tb_out_error("results: usage: results");
        return;
    }
#endif
    if (!s_have_results) {
        tb_out_error("results: no successful inference yet");
        return;
    }
#if TB_HARNESS_EXTENSIONS
    if (argc == 2u) {
        print_results_raw();
        return;
    }
#endif
    print_results();
}

#if TB_HARNESS_EXTENSIONS
/*
 * Per-op profile: the op hook reads the counter around every op and keeps each
 * op's delta in the latency record's slots, so profiling adds no RAM (and
 * clears the latency record). Without the hook set, invoke does no reading.
 */
typedef struct {
    uint32_t *slots;
    uint32_t ops;      /* ops seen: highest index + 1 */
    uint32_t overflow; /* ops beyond the slots' capacity */
    uint64_t op_start;
} opprofile_t;

static void opprofile_hook(void *context, uint32_t op_index, const char *op_name, uint32_t phase)
{
    opprofile_t *profile = (opprofile_t *)context;
    uint64_t now = tb_port_counter();
    uint64_t delta;

    (void)op_name;
    if (phase == 0u) {
        profile->op_start = now;
        return;
    }
    if (op_index >= TB_LATENCY_CAPACITY) {
        profile->overflow = 1u;
        return;
    }
    delta = now - profile->op_start;
    profile->slots[op_index] =
        delta > TB_LATENCY_SATURATED ? TB_LATENCY_SATURATED : (uint32_t)delta;
    if (op_index + 1u > profile->ops) {
        profile->ops = op_index + 1u;
    }
}

/* The names the engine gave each op, recorded on a second pass without timing. */
static void opprofile_print_hook(void *context, uint32_t op_index, const char *op_name,
                                 uint32_t phase)
{
    const uint32_t *slots = (const uint32_t *)context;

    if (phase != 1u || op_index >= TB_LATENCY_CAPACITY) {
        return;
    }
    tb_out_str("m-op-[");
    tb_out_u64(op_index);
    tb_out_char(',');
    tb_out_safe(op_name != NULL ? op_name : "unknown", 32u);
    tb_out_char(',');
    tb_out_u64(slots[op_index]);
    tb_out_char(']');
    tb_out_end();
}

void tb_cmd_opprofile(char **argv, unsigned argc)
{
    opprofile_t profile;
    tb_engine_status_t status;
    uint64_t start;
    uint64_t ticks;

    (void)argv;
    /* The op deltas take the latency record's slots; the results get recomputed. */
    tb_latency_clear();
    s_have_results = 0;
    if (argc != 1u) {
        tb_out_error("opprofile: usage: opprofile");
        return;
    }
    if (s_engine_status != TB_ENGINE_OK) {
        tb_out_error_arg("opprofile: engine not ready: ", status_text(s_engine_status), "");
        return;
    }
    if (!tb_db_complete() ||
        tb_db_loaded() != tb_model_input_bytes(s_input_format, s_input.bytes)) {
        tb_out_error("opprofile: load one complete input first (db load / db bin / db file)");
        return;
    }
    if (!bind_loaded_input("opprofile")) {
        return;
    }
    profile.slots = tb_latency_slots();
    profile.ops = 0u;
    profile.overflow = 0u;
    profile.op_start = 0u;
    tb_engine_set_op_hook(opprofile_hook, &profile);
    /* As the timed loop: re-arm, then one reading before and one after the inference. */
    tb_port_counter_rearm();
    start = tb_port_counter();
    status = tb_engine_invoke();
    ticks = tb_port_counter() - start;
    tb_engine_set_op_hook(NULL, NULL);
    if (status != TB_ENGINE_OK) {
        tb_model_restore_db(s_input_format, tb_db_buffer(), &s_input);
        tb_out_error_arg("opprofile: invoke failed: ", status_text(status), "");
        return;
    }
    if (profile.overflow != 0u) {
        tb_model_restore_db(s_input_format, tb_db_buffer(), &s_input);
        tb_out_error("opprofile: the model has more ops than the latency record holds");
        return;
    }
    /* A second, untimed pass prints each op's line with the engine's own op name. */
    tb_engine_set_op_hook(opprofile_print_hook, profile.slots);
    status = tb_engine_invoke();
    tb_engine_set_op_hook(NULL, NULL);
    tb_model_restore_db(s_input_format, tb_db_buffer(), &s_input);
    if (status != TB_ENGINE_OK) {
        tb_out_error_arg("opprofile: invoke failed: ", status_text(status), "");
        return;
    }
    tb_out_str("m-op-total-[ops=");
    tb_out_u64(profile.ops);
    tb_out_str(",ticks=");
    tb_out_u64(ticks);
    tb_out_char(']');
    tb_out_end();
}
#endif

/* The model manifest's spelling of an input format. */
static const char *input_format_name(tb_input_format_t format)
{
    switch (format) {
    case TB_INPUT_UINT8_OFFSET:
        return "uint8-offset128";
    case TB_INPUT_FLOAT32:
        return "float32";
    case TB_INPUT_INT8:
    default:
        return "int8";
    }
}

static void info_key(const char *key)
{
    tb_out_char(',');
    tb_out_str(key);
    tb_out_char('=');
}

void tb_cmd_info(char **argv, unsigned argc)
{
    const tb_model_info_t *model = tb_engine_model();
    uint32_t stack_used = 0u;
    uint32_t stack_bytes = 0u;

    (void)argv;
    (void)argc;
    tb_out_str("m-info-[fw=" TB_FIRMWARE_VERSION);
    info_key("cpu_hz");
    tb_out_u64(tb_port_cpu_hz());
    info_key("counter");
    tb_out_safe(tb_port_counter_kind(), 32u);
    info_key("counter_hz");
    tb_out_u64(tb_port_counter_hz());
    info_key("engine");
    tb_out_safe(tb_engine_name(), 32u);
    info_key("engine_version");
    tb_out_safe(tb_engine_version(), 32u);
    info_key("engine_status");
    tb_out_safe(status_text(s_engine_status), 32u);
    info_key("arena_bytes");
    tb_out_u64(TB_ARENA_BYTES);
    info_key("arena_required");
    tb_out_u64(tb_engine_arena_required());
    info_key("arena_used");
    tb_out_u64(s_engine_status == TB_ENGINE_OK ? tb_engine_arena_used() : 0u);
    info_key("model");
    tb_out_safe(model != NULL && model->id != NULL ? model->id : "unknown", 32u);
    info_key("model_sha256");
    tb_out_safe(model != NULL && model->sha256 != NULL ? model->sha256 : "unknown", 64u);
    info_key("input_bytes");
    tb_out_u64(s_engine_status == TB_ENGINE_OK ? s_input.bytes : 0u);
    info_key("output_bytes");
    tb_out_u64(s_engine_status == TB_ENGINE_OK ? s_output.bytes : 0u);
    info_key("db_capacity");
    tb_out_u64(TB_DB_CAPACITY);
    info_key("input_format");
    tb_out_str(input_format_name(s_input_format));
    info_key("result");
    tb_out_str(s_result_kind == TB_RESULT_MSE ? "mse" : "scores");
    /* The stack's high-water mark since boot, where the port can tell (not the host port). */
    if (tb_port_stack_usage(&stack_used, &stack_bytes)) {
        info_key("stack_bytes");
        tb_out_u64(stack_bytes);
        info_key("stack_used");
        tb_out_u64(stack_used);
    }
    tb_out_char(']');
    tb_out_end();
}

void tb_cmd_engine_init(void)
{
    const tb_model_info_t *model = tb_engine_model();

    s_have_results = 0;
    if (!tb_model_info_valid(model)) {
        s_engine_status = TB_ENGINE_ERR_MODEL;
        tb_out_error("engine init failed: input format or result kind not supported");
        return;
    }
    s_input_format = (tb_input_format_t)model->input_format;
    s_result_kind = (tb_result_kind_t)model->result_kind;
    s_engine_status = tb_engine_init(s_engine_arena, sizeof(s_engine_arena));
    if (s_engine_status == TB_ENGINE_OK) {
        s_engine_status = tb_engine_input(&s_input);
    }
    if (s_engine_status == TB_ENGINE_OK) {
        s_engine_status = tb_engine_output(&s_output);
    }
    if (s_engine_status != TB_ENGINE_OK) {
        tb_out_error_arg("engine init failed: ", status_text(s_engine_status), "");
    }
}
