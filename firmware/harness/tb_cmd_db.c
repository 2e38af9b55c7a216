/* tb_cmd_db.c - the db commands: announced hex loads, binary frames, host files, print. */
#include <string.h>

#include "harness.h"
#include "port.h"
#include "tb_args.h"
#include "tb_cmd.h"
#include "tb_db.h"
#include "tb_out.h"

#define TB_DB_PRINT_BYTES_PER_LINE 32u

static void size_error(const char *command, const char *arg)
{
    tb_out_str("e-[");
    tb_out_str(command);
    tb_out_str(": N must be 1..");
    tb_out_u64(TB_DB_CAPACITY);
    tb_out_str(" (the buffer's capacity), got '");
    tb_out_safe(arg, TB_LINE_MAX);
    tb_out_str("']");
    tb_out_end();
}

static void db_print(char **argv, unsigned argc)
{
    int32_t count = (int32_t)tb_db_loaded();
    int32_t offset = 0;
    uint32_t i;
    uint32_t end;

    if (argc > 4u) {
        tb_out_error("db print: usage: db print [N [offset]]");
        return;
    }
    if (argc >= 3u && (!tb_args_int(argv[2], &count) || count < 0)) {
        tb_out_error_arg("db print: N must be an integer >= 0, got '", argv[2], "'");
        return;
    }
    if (argc == 4u && (!tb_args_int(argv[3], &offset) || offset < 0)) {
        tb_out_error_arg("db print: offset must be an integer >= 0, got '", argv[3], "'");
        return;
    }
    if ((uint32_t)offset > tb_db_loaded() || (uint32_t)count > tb_db_loaded() - (uint32_t)offset) {
        tb_out_error_num("db print: range beyond the ", tb_db_loaded(), " loaded bytes");
        return;
    }
    end = (uint32_t)offset + (uint32_t)count;
    for (i = (uint32_t)offset; i < end; i++) {
        if ((i - (uint32_t)offset) % TB_DB_PRINT_BYTES_PER_LINE == 0u) {
            tb_out_str("m-buffer-");
        }
        tb_out_hex8(tb_db_data()[i]);
        if ((i - (uint32_t)offset) % TB_DB_PRINT_BYTES_PER_LINE ==
                TB_DB_PRINT_BYTES_PER_LINE - 1u ||
            i + 1u == end) {
            tb_out_end();
        }
    }
}

static void db_load(char **argv, unsigned argc)
{
    int32_t n;

    if (argc != 3u) {
        tb_db_reset();
        tb_out_error("db load: usage: db load N");
        return;
    }
    if (!tb_args_int(argv[2], &n) || n <= 0 || (uint32_t)n > TB_DB_CAPACITY) {
        tb_db_reset();
        size_error("db load", argv[2]);
        return;
    }
    (void)tb_db_load((uint32_t)n);
    tb_out_str("m-[Expecting ");
    tb_out_u64((uint64_t)n);
    tb_out_str(" bytes]");
    tb_out_end();
}

#if TB_HARNESS_EXTENSIONS
static void db_bin(char **argv, unsigned argc)
{
    int32_t n;
    uint32_t crc;

    if (argc != 4u) {
        tb_db_reset();
        tb_out_error("db bin: usage: db bin N CRC32HEX");
        return;
    }
    if (!tb_args_int(argv[2], &n) || n <= 0 || (uint32_t)n > TB_DB_CAPACITY) {
        tb_db_reset();
        size_error("db bin", argv[2]);
        return;
    }
    if (!tb_args_hex32(argv[3], &crc)) {
        tb_db_reset();
        tb_out_error_arg("db bin: CRC32 must be 1..8 hex digits, got '", argv[3], "'");
        return;
    }
    (void)tb_db_bin_begin((uint32_t)n, crc);
    tb_out_str("m-[Expecting ");
    tb_out_u64((uint64_t)n);
    tb_out_str(" bytes binary]");
    tb_out_end();
}

static void db_file(char **argv, unsigned argc)
{
    int32_t offset = 0;
    int32_t length = 0;
    long n;

    if (argc != 3u && argc != 5u) {
        tb_db_reset();
        tb_out_error("db file: usage: db file PATH [offset length]");
        return;
    }
    if (argc == 5u && (!tb_args_int(argv[3], &offset) || offset < 0 ||
                       !tb_args_int(argv[4], &length) || length <= 0)) {
        tb_db_reset();
        tb_out_error("db file: offset must be >= 0 and length > 0");
        return;
    }
    n = tb_db_load_file(argv[2], (uint32_t)offset, (uint32_t)length);
    if (n > 0) {
        tb_out_str("m-[Loaded ");
        tb_out_u64((uint64_t)n);
        tb_out_str(" bytes]");
        tb_out_end();
        tb_out_line("m-load-done");
        return;
    }
    switch (n) {
    case 0:
        tb_out_error("db file: nothing to load (empty file or range)");
        break;
    case TB_PORT_FILE_UNSUPPORTED:
        tb_out_error("db file: not supported by this port");
        break;
    case TB_PORT_FILE_NOT_FOUND:
        tb_out_error_arg("db file: cannot open '", argv[2], "'");
        break;
    case TB_PORT_FILE_RANGE:
        tb_out_error_num("db file: range beyond the file or over the buffer's ", TB_DB_CAPACITY,
                         " bytes");
        break;
    default:
        tb_out_error("db file: read failed");
        break;
    }
}

#endif /* TB_HARNESS_EXTENSIONS */

static void db_hex(char **argv, unsigned argc)
{
    size_t bad = 0u;
    tb_db_status_t status;
    uint32_t expected = tb_db_expected();

    if (argc != 2u) {
        tb_db_reset();
        tb_out_error("db: expected exactly one hex argument; load invalidated");
        return;
    }
    status = tb_db_append_hex(argv[1], &bad);
    switch (status) {
    case TB_DB_OK:
        if (tb_db_complete()) {
            tb_out_line("m-load-done");
        }
        break;
    case TB_DB_ERR_NO_LOAD:
        tb_out_error("db: no load in progress; send db load N first");
        break;
    case TB_DB_ERR_ODD:
        tb_out_error("db: odd number of hex digits; load invalidated");
        break;
    case TB_DB_ERR_NOT_HEX:
        tb_out_error_num("db: non-hex digit at position ", (uint64_t)bad, "; load invalidated");
        break;
    case TB_DB_ERR_OVERFLOW:
        tb_out_error_num("db: more bytes than the ", expected, " announced; load invalidated");
        break;
    case TB_DB_ERR_SIZE:
    default:
        tb_out_error("db: internal error");
        break;
    }
}

void tb_cmd_db(char **argv, unsigned argc)
{
    if (argc < 2u) {
        tb_out_error("db: missing argument (load N, print, bin N CRC or hex bytes)");
        return;
    }
    if (strcmp(argv[1], "load") == 0) {
        db_load(argv, argc);
    } else if (strcmp(argv[1], "print") == 0) {
        db_print(argv, argc);
#if TB_HARNESS_EXTENSIONS
    } else if (strcmp(argv[1], "bin") == 0) {
        db_bin(argv, argc);
    } else if (strcmp(argv[1], "file") == 0) {
        db_file(argv, argc);
#endif
    } else {
        db_hex(argv, argc);
    }
}

void tb_cmd_db_bin_event(tb_db_bin_event_t event)
{
    if (event != TB_DB_BIN_MORE) {
        tb_out_reply_begin(""); /* the frame's answer has no command line of its own */
    }
    switch (event) {
    case TB_DB_BIN_DONE:
        tb_out_line("m-load-done");
        break;
    case TB_DB_BIN_CRC_ERROR:
        tb_out_str("e-[db bin: CRC-32 mismatch: received data has ");
        tb_out_hex32(tb_db_bin_crc());
        tb_out_str("; load invalidated]");
        tb_out_end();
        break;
    case TB_DB_BIN_TIMEOUT:
        tb_out_str("e-[db bin: timeout after ");
        tb_out_u64(tb_db_loaded());
        tb_out_str(" of ");
        tb_out_u64(tb_db_expected());
        tb_out_str(" bytes; load invalidated]");
        tb_out_end();
        break;
    case TB_DB_BIN_MORE:
    default:
        return;
    }
    tb_out_reply_end();
    tb_out_line("m-ready");
}
