/* tb_db.h - the db buffer: announced loads, hex appends, binary frames. */
#ifndef TB_DB_H
#define TB_DB_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

typedef enum {
    TB_DB_OK = 0,
    TB_DB_ERR_SIZE,    /* load size is 0 or over TB_DB_CAPACITY */
    TB_DB_ERR_NO_LOAD, /* append without an announced, still valid load */
    TB_DB_ERR_ODD,     /* odd number of hex digits */
    TB_DB_ERR_NOT_HEX, /* a character that is not a hex digit */
    TB_DB_ERR_OVERFLOW /* more bytes than announced */
} tb_db_status_t;

typedef enum {
    TB_DB_BIN_MORE = 0,  /* frame still receiving */
    TB_DB_BIN_DONE,      /* all bytes received and the CRC matched: load complete */
    TB_DB_BIN_CRC_ERROR, /* all bytes received, CRC mismatch: load invalidated */
    TB_DB_BIN_TIMEOUT    /* no byte for TB_BIN_TIMEOUT_MS: load invalidated */
} tb_db_bin_event_t;

void tb_db_reset(void);

/* Starts a load of n bytes (1..TB_DB_CAPACITY); discards any previous content. */
tb_db_status_t tb_db_load(uint32_t n);

/*
 * Appends the bytes of one hex token. All-or-nothing: on any error nothing is
 * appended and the load is invalidated. *bad_index receives the offending
 * character's index for TB_DB_ERR_NOT_HEX.
 */
tb_db_status_t tb_db_append_hex(const char *hex, size_t *bad_index);

/* Starts a binary frame of n bytes whose CRC-32 must equal crc. */
tb_db_status_t tb_db_bin_begin(uint32_t n, uint32_t crc);
int tb_db_bin_active(void);
tb_db_bin_event_t tb_db_bin_feed(uint8_t byte);
/* Checks the inactivity time-out; returns TB_DB_BIN_MORE or TB_DB_BIN_TIMEOUT. */
tb_db_bin_event_t tb_db_bin_poll(void);
/* CRC-32 computed over the received frame (valid after DONE or CRC_ERROR). */
uint32_t tb_db_bin_crc(void);

/*
 * Loads the buffer from a host file (see tb_port_file_read; len 0 = the whole
 * rest of the file). Returns the bytes loaded (> 0, the load is then
 * complete), 0 for an empty range, or a negative TB_PORT_FILE_* code; on
 * anything but success the buffer holds no load.
 */
long tb_db_load_file(const char *path, uint32_t offset, uint32_t len);

/* Bytes announced by the current load (0 when none). */
uint32_t tb_db_expected(void);
/* Bytes received so far for the current load. */
uint32_t tb_db_loaded(void);
/* Non-zero when the current load is complete and valid. */
int tb_db_complete(void);
/* The buffer (its first tb_db_loaded() bytes are meaningful). */
const uint8_t *tb_db_data(void);

/*
 * The whole buffer (TB_DB_CAPACITY bytes, aligned to TB_ENGINE_ARENA_ALIGN), writable: the
 * infer and opprofile commands build the engine's input tensor in it (tb_model_input_in_db)
 * and give the loaded bytes back unchanged before the command ends.
 */
uint8_t *tb_db_buffer(void);

#endif /* TB_DB_H */
