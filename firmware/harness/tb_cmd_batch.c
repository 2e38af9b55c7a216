/*
 * tb_cmd_batch.c - (ext) `batch IN OUT COUNT N W`: COUNT inputs read from the host file IN
 * (back to back, each one db load's bytes), each run exactly as `db file IN offset length`
 * then `infer N W` would run it, and one record per input written to the host file OUT. The
 * link carries one summary line instead of each infer's dozen: emulated runs go at the
 * emulator's speed. Needs the port's file read and write (semihosting, the host port).
 *
 * Record (little-endian, TB_BATCH_HEADER_BYTES then the raw output):
 *   u32 index, u32 raw_bytes, u64 lap_start_us, u64 lap_end_us, u64 ticks,
 *   f32 scale, i32 zero_point, f32 mse, u32 flags (bit 0: the result is the MSE),
 *   raw_bytes int8 output values.
 */
#include <string.h>

#include "harness.h"
#include "port.h"
#include "tb_args.h"
#include "tb_cmd.h"
#include "tb_db.h"
#include "tb_out.h"

#if TB_HARNESS_EXTENSIONS

#define TB_BATCH_HEADER_BYTES 48u
#define TB_BATCH_FLAG_MSE 1u
#define TB_BATCH_NAME_MAX 32u

static void put_u32(uint8_t *at, uint32_t value)
{
    at[0] = (uint8_t)value;
    at[1] = (uint8_t)(value >> 8);
    at[2] = (uint8_t)(value >> 16);
    at[3] = (uint8_t)(value >> 24);
}

static void put_u64(uint8_t *at, uint64_t value)
{
    put_u32(at, (uint32_t)value);
    put_u32(at + 4, (uint32_t)(value >> 32));
}

static void put_f32(uint8_t *at, float value)
{
    uint32_t bits;

    memcpy(&bits, &value, sizeof(bits));
    put_u32(at, bits);
}

/*
 * A plain file name in the working directory: 1..TB_BATCH_NAME_MAX of [A-Za-z0-9_.-], not
 * starting with '.'. The command writes OUT: no path may reach outside the directory the
 * host shares (a fuzzer's `batch x /etc/passwd ...` must not truncate anything).
 */
static int plain_name(const char *name)
{
    size_t i;

    if (name[0] == '\0' || name[0] == '.') {
        return 0;
    }
    for (i = 0u; name[i] != '\0'; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok || i >= TB_BATCH_NAME_MAX) {
            return 0;
        }
    }
    return 1;
}

static void batch_error(const char *what, uint32_t index, uint32_t count)
{
    tb_out_str("e-[batch: ");
    tb_out_str(what);
    tb_out_str(" at input ");
    tb_out_u64(index);
    tb_out_str(" of ");
    tb_out_u64(count);
    tb_out_str("; records before it are in the output file]");
    tb_out_end();
}

/* Writes input index's record; returns 0 when the file refused it. */
static int write_record(const char *path, uint32_t index, const tb_loadgen_record_t *timing)
{
    uint8_t header[TB_BATCH_HEADER_BYTES];
    tb_cmd_output_t output;

    tb_cmd_engine_output(&output);
    put_u32(header, index);
    put_u32(header + 4, output.raw_bytes);
    put_u64(header + 8, timing->lap_start_us);
    put_u64(header + 16, timing->lap_end_us);
    put_u64(header + 24, timing->ticks);
    put_f32(header + 32, output.scale);
    put_u32(header + 36, (uint32_t)output.zero_point);
    put_f32(header + 40, output.mse);
    put_u32(header + 44, output.is_mse ? TB_BATCH_FLAG_MSE : 0u);
    if (tb_port_file_write(path, header, TB_BATCH_HEADER_BYTES, TB_PORT_FILE_APPEND) !=
        (long)TB_BATCH_HEADER_BYTES) {
        return 0;
    }
    return tb_port_file_write(path, output.raw, output.raw_bytes, TB_PORT_FILE_APPEND) ==
           (long)output.raw_bytes;
}

void tb_cmd_batch(char **argv, unsigned argc)
{
    int32_t count;
    int32_t n;
    int32_t w;
    uint32_t want;
    uint32_t i;
    uint64_t ticks = 0u;
    tb_loadgen_record_t timing;

    if (argc != 6u) {
        tb_out_error("batch: usage: batch IN OUT COUNT N W");
        return;
    }
    if (!plain_name(argv[1]) || !plain_name(argv[2])) {
        tb_out_error_num("batch: IN and OUT must be plain file names (A-Z a-z 0-9 _ . -, not "
                         "starting with '.', at most ",
                         TB_BATCH_NAME_MAX, " characters)");
        return;
    }
    if (!tb_args_int(argv[3], &count) || count <= 0) {
        tb_out_error_arg("batch: COUNT must be an integer > 0, got '", argv[3], "'");
        return;
    }
    if (!tb_args_int(argv[4], &n) || n <= 0) {
        tb_out_error_arg("batch: N must be an integer > 0, got '", argv[4], "'");
        return;
    }
    if (!tb_args_int(argv[5], &w) || w < 0) {
        tb_out_error_arg("batch: W must be an integer >= 0, got '", argv[5], "'");
        return;
    }
    want = tb_cmd_engine_input_bytes();
    if (want == 0u) {
        tb_out_error("batch: engine not ready");
        return;
    }
    /* Input offsets are 32-bit (semihosting's): the whole input file must stay below 4 GiB. */
    if ((uint64_t)(uint32_t)count * want > 0xffffffffu) {
        tb_out_error_num("batch: COUNT inputs of ", want, " bytes exceed a 4 GiB file");
        return;
    }
    if (strcmp(argv[1], argv[2]) == 0) {
        tb_out_error("batch: IN and OUT must be different files");
        return;
    }
    if (tb_port_file_write(argv[2], NULL, 0u, TB_PORT_FILE_TRUNCATE) < 0) {
        tb_out_error_arg("batch: cannot write '", argv[2], "'");
        return;
    }
    for (i = 0u; i < (uint32_t)count; i++) {
        if (tb_db_load_file(argv[1], i * want, want) != (long)want) {
            tb_db_reset();
            batch_error("cannot read the input", i, (uint32_t)count);
            return;
        }
        if (!tb_cmd_engine_infer_quiet("batch", (uint32_t)n, (uint32_t)w, &timing)) {
            batch_error("infer failed", i, (uint32_t)count);
            return;
        }
        if (!write_record(argv[2], i, &timing)) {
            batch_error("cannot write the record", i, (uint32_t)count);
            return;
        }
        ticks += timing.ticks;
    }
    tb_out_str("m-batch-[count=");
    tb_out_u64((uint64_t)count);
    tb_out_str(",ticks=");
    tb_out_u64(ticks);
    tb_out_char(']');
    tb_out_end();
}

#endif /* TB_HARNESS_EXTENSIONS */
