/*
 * tb_harness.c - the protocol's front door: assembles lines, dispatches
 * commands, and closes every command line with exactly one m-ready.
 *
 * Errors are e-[...] lines; nothing is truncated and no input can leave the
 * DUT stuck. The handlers live in tb_cmd_db.c and tb_cmd_engine.c.
 */
#include "harness.h"

#include <string.h>

#include "port.h"
#include "tb_args.h"
#include "tb_cmd.h"
#include "tb_db.h"
#include "tb_latency.h"
#include "tb_line.h"
#include "tb_loadgen.h"
#include "tb_out.h"

#define TB_MAX_TOKENS 6u

typedef struct {
    const char *word;
    void (*run)(char **argv, unsigned argc);
    const char *usage;
} tb_command_t;

static tb_line_t s_line;

static void cmd_name(char **argv, unsigned argc)
{
    (void)argv;
    (void)argc;
    tb_out_line("m-name-dut-[" TB_DUT_NAME "]");
}

static void cmd_timestamp(char **argv, unsigned argc)
{
    (void)argv;
    (void)argc;
    tb_loadgen_timestamp();
}

static void cmd_help(char **argv, unsigned argc);

#if TB_HARNESS_EXTENSIONS
static void cmd_exit(char **argv, unsigned argc)
{
    int32_t code = 0;

    if (argc > 2u || (argc == 2u && (!tb_args_int(argv[1], &code) || code < 0 || code > 255))) {
        tb_out_error("exit: usage: exit [code 0..255]");
        return;
    }
    tb_out_str("m-exit-");
    tb_out_u64((uint64_t)code);
    tb_out_end();
    tb_port_exit((int)code);
}

static void cmd_crc(char **argv, unsigned argc)
{
    if (argc == 2u && strcmp(argv[1], "on") == 0) {
        tb_out_reply_crc_enable(1);
    } else if (argc == 2u && strcmp(argv[1], "off") == 0) {
        tb_out_reply_crc_enable(0);
    } else {
        tb_out_error("crc: usage: crc on|off");
    }
}
#endif

static const tb_command_t k_commands[] = {
    { "help", cmd_help, "help : print this information" },
    { "name", cmd_name, "name : print the name of the device" },
    { "profile", tb_cmd_profile, "profile : print the firmware version and model id" },
#if TB_HARNESS_ENERGY
    { "timestamp", cmd_timestamp, "timestamp : pulse the timestamp pin (energy mode: no output)" },
#else
    { "timestamp", cmd_timestamp, "timestamp : pulse the timestamp pin, print m-lap-us" },
#endif
    { "db", tb_cmd_db,
      "db load N | db HEX | db print [N [offset]] : load or print the input buffer" },
    { "infer", tb_cmd_infer, "infer N [W=10] : W warm-up runs, then N timed runs; results" },
    { "results", tb_cmd_results, "results : print the last results as floats" },
#if TB_HARNESS_EXTENSIONS
    /* tinybench extensions */
    { "info", tb_cmd_info, "info : (ext) board, counter, engine, arena and model facts" },
    { "latency", tb_cmd_latency,
      "latency : (ext) counter ticks of each timed run of the last infer" },
    { "opprofile", tb_cmd_opprofile,
      "opprofile : (ext) one inference on the loaded input, counter ticks per op" },
    { "exit", cmd_exit, "exit [code] : (ext) end the program (emulators)" },
    { "batch", tb_cmd_batch,
      "batch IN OUT COUNT N W : (ext) infer N W on COUNT inputs of file IN, records to OUT "
      "(emulators)" },
    { "crc", cmd_crc,
      "crc on|off : (ext) end every reply with m-crc-[CRC-32 of command and reply]" },
#endif
};

static void cmd_help(char **argv, unsigned argc)
{
    size_t i;

    (void)argv;
    (void)argc;
    tb_out_line("m-help-" TB_DUT_NAME " " TB_FIRMWARE_VERSION);
    for (i = 0u; i < sizeof(k_commands) / sizeof(k_commands[0]); i++) {
        tb_out_str("m-help-");
        tb_out_line(k_commands[i].usage);
    }
#if TB_HARNESS_EXTENSIONS
    tb_out_line("m-help-db bin N CRC32 : (ext) binary upload of N raw bytes, CRC-32 checked");
    tb_out_line("m-help-db file PATH [offset length] : (ext) load from a host file "
                "(emulators)");
    tb_out_line("m-help-results raw : (ext) last output tensor as int8 hex");
    tb_out_line("m-ext-[db-bin,db-file,results-raw,info,infer-counter,latency,opprofile,exit,batch,"
                "reply-crc]");
#endif
}

/* ---- line handling -------------------------------------------------------- */

static unsigned split(char *text, char **argv)
{
    unsigned argc = 0u;
    char *p = text;

    for (;;) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            return argc;
        }
        if (argc == TB_MAX_TOKENS) {
            return TB_MAX_TOKENS + 1u;
        }
        argv[argc++] = p;
        while (*p != ' ' && *p != '\0') {
            p++;
        }
        if (*p == ' ') {
            *p++ = '\0';
        }
    }
}

static void dispatch(char *text)
{
    char *argv[TB_MAX_TOKENS];
    unsigned argc = split(text, argv);
    size_t i;

    if (argc == 0u) {
        return; /* an empty line (a lone '%') only gets m-ready: handy to resync */
    }
    if (argc > TB_MAX_TOKENS) {
        if (strcmp(argv[0], "db") == 0) {
            tb_db_reset();
        }
        tb_out_error("Too many arguments");
        return;
    }
    for (i = 0u; i < sizeof(k_commands) / sizeof(k_commands[0]); i++) {
        if (strcmp(argv[0], k_commands[i].word) == 0) {
            k_commands[i].run(argv, argc);
            return;
        }
    }
    tb_out_error_arg("Unknown command: ", argv[0], "");
}

static void handle_line(tb_line_event_t event)
{
    switch (event) {
    case TB_LINE_READY:
        tb_out_reply_begin(s_line.text);
        dispatch(s_line.text);
        break;
    case TB_LINE_TOO_LONG:
        tb_out_reply_begin(s_line.text);
        if (strncmp(s_line.text, "db ", 3u) == 0) {
            tb_db_reset();
        }
        tb_out_error_num("Command longer than ", TB_LINE_MAX, " characters; line discarded");
        break;
    case TB_LINE_BAD_BYTE:
        tb_out_reply_begin(s_line.text);
        if (strncmp(s_line.text, "db ", 3u) == 0) {
            tb_db_reset();
        }
        tb_out_str("e-[Non-printable byte 0x");
        tb_out_hex8(s_line.bad_byte);
        tb_out_str(" in command; line discarded]");
        tb_out_end();
        break;
    case TB_LINE_PENDING:
    default:
        return;
    }
    tb_line_reset(&s_line);
    tb_out_reply_end();
    tb_out_line("m-ready");
}

/* ---- public ------------------------------------------------------------- */

void tb_harness_init(void)
{
    tb_line_reset(&s_line);
    tb_db_reset();
    tb_cmd_engine_init();
#if TB_HARNESS_ENERGY
    tb_port_timestamp_pulse(); /* the boot edge: runners skip the one before the first window */
    tb_out_line("m-timestamp-mode-energy");
#endif
    tb_out_line("m-init-done");
    tb_out_line("m-ready");
}

void tb_harness_feed(uint8_t byte)
{
    if (tb_db_bin_active()) {
        tb_cmd_db_bin_event(tb_db_bin_feed(byte));
        return;
    }
    handle_line(tb_line_feed(&s_line, byte));
}

void tb_harness_poll(void)
{
    if (tb_db_bin_active()) {
        tb_cmd_db_bin_event(tb_db_bin_poll());
    }
}

void tb_harness_run(void)
{
    tb_port_init();
    tb_harness_init();
    for (;;) {
        int c = tb_port_read_byte();
        if (c < 0) {
            tb_harness_poll();
            tb_port_idle();
        } else {
            tb_harness_feed((uint8_t)c);
        }
    }
}
