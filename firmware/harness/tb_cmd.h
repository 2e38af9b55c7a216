/*
 * tb_cmd.h - the command handlers behind the dispatcher in tb_harness.c.
 * Each handler gets the words of one line (argv[0] is the command) and prints
 * its reply lines; the dispatcher prints the closing m-ready.
 */
#ifndef TB_CMD_H
#define TB_CMD_H

#include "tb_db.h"

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

#endif /* TB_CMD_H */
