/*
 * tb_cmd.h - the command handlers behind the dispatcher in tb_harness.c.
 * Each handler gets the words of one line (argv[0] is the command) and prints
 * its reply lines; the dispatcher prints the closing m-ready.
 */
#ifndef TB_CMD_H
#define TB_CMD_H

#include <stdint.h>

#include "tb_db.h"
#include "tb_loadgen.h"

/* tb_cmd_db.c: db load / db <hex> / db print / db bin / db file. */
void tb_cmd_db(char **argv, unsigned argc);
/* Prints the outcome of a binary frame (and m-ready) once it is decided. */
void tb_cmd_db_bin_event(tb_db_bin_event_t event);

/* tb_cmd_engine.c: everything that touches the engine. */
void tb_cmd_engine_init(void); /* init the engine in the harness's arena; reports failures */
void tb_cmd_profile(char **argv, unsigned argc);
void tb_cmd_infer(char **argv, unsigned argc);
void tb_cmd_results(char **argv, unsigned argc);
void tb_cmd_info(char **argv, unsigned argc);
void tb_cmd_opprofile(char **argv, unsigned argc); /* (ext) per-op counter deltas */

/* The last inference's output, for the batch command. */
typedef struct {
    const uint8_t *raw; /* the output tensor's int8 bytes */
    uint32_t raw_bytes; /* 0 when the last inference failed */
    float scale;        /* the output's quantization, as the results line applies it */
    int32_t zero_point;
    float mse; /* the MSE result (MSE models), else 0 */
    int is_mse;
} tb_cmd_output_t;

/* (ext) Wire bytes of one input (what a db load must hold); 0 when the engine is not ready. */
uint32_t tb_cmd_engine_input_bytes(void);
/* (ext) `infer n w` on the loaded input without a line on the link unless it fails (an e-[...]
 * line naming `command`). Returns 1 when the results are ready. */
int tb_cmd_engine_infer_quiet(const char *command, uint32_t n, uint32_t w,
                              tb_loadgen_record_t *record);
void tb_cmd_engine_output(tb_cmd_output_t *output);

/* tb_cmd_batch.c: (ext) batch IN OUT COUNT N W, a loop of infers over a host file. */
void tb_cmd_batch(char **argv, unsigned argc);

#endif /* TB_CMD_H */
