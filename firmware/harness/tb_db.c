/* tb_db.c - db buffer with explicit limits: never truncates, never overflows. */
#include "tb_db.h"

#include "engine.h"
#include "port.h"
#include "tb_crc32.h"

typedef enum {
    TB_DB_STATE_EMPTY = 0, /* nothing announced */
    TB_DB_STATE_LOADING,   /* announced, receiving hex lines */
    TB_DB_STATE_BINARY,    /* announced, receiving a binary frame */
    TB_DB_STATE_COMPLETE,  /* all announced bytes received */
    TB_DB_STATE_INVALID    /* a bad append invalidated the load */
} tb_db_state_t;

/* Aligned as an engine input: the harness builds the int8 input tensor in place here. */
static uint8_t s_db_buf[TB_DB_CAPACITY] __attribute__((aligned(TB_ENGINE_ARENA_ALIGN)));
static uint32_t s_expected;
static uint32_t s_loaded;
static tb_db_state_t s_state;
static uint32_t s_bin_crc_expected;
static uint32_t s_bin_crc;
static uint64_t s_bin_last_tick;

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void tb_db_reset(void)
{
    s_expected = 0u;
    s_loaded = 0u;
    s_state = TB_DB_STATE_EMPTY;
}

tb_db_status_t tb_db_load(uint32_t n)
{
    tb_db_reset();
    if (n == 0u || n > TB_DB_CAPACITY) {
        return TB_DB_ERR_SIZE;
    }
    s_expected = n;
    s_state = TB_DB_STATE_LOADING;
    return TB_DB_OK;
}

static void invalidate(void)
{
    s_state = TB_DB_STATE_INVALID;
}

tb_db_status_t tb_db_append_hex(const char *hex, size_t *bad_index)
{
    size_t digits = 0u;
    size_t i;
    uint32_t bytes;

    *bad_index = 0u;
    if (s_state != TB_DB_STATE_LOADING && s_state != TB_DB_STATE_COMPLETE) {
        return TB_DB_ERR_NO_LOAD;
    }
    while (hex[digits] != '\0') {
        if (hex_value(hex[digits]) < 0) {
            *bad_index = digits;
            invalidate();
            return TB_DB_ERR_NOT_HEX;
        }
        digits++;
    }
    if ((digits & 1u) != 0u) {
        invalidate();
        return TB_DB_ERR_ODD;
    }
    bytes = (uint32_t)(digits / 2u);
    if (bytes > s_expected - s_loaded) {
        invalidate();
        return TB_DB_ERR_OVERFLOW;
    }
    for (i = 0u; i < bytes; i++) {
        s_db_buf[s_loaded + i] =
            (uint8_t)((hex_value(hex[2u * i]) << 4) | hex_value(hex[2u * i + 1u]));
    }
    s_loaded += bytes;
    s_state = (s_loaded == s_expected) ? TB_DB_STATE_COMPLETE : TB_DB_STATE_LOADING;
    return TB_DB_OK;
}

tb_db_status_t tb_db_bin_begin(uint32_t n, uint32_t crc)
{
    tb_db_status_t status = tb_db_load(n);

    if (status != TB_DB_OK) {
        return status;
    }
    s_state = TB_DB_STATE_BINARY;
    s_bin_crc_expected = crc;
    s_bin_crc = TB_CRC32_INIT;
    s_bin_last_tick = tb_port_counter();
    return TB_DB_OK;
}

int tb_db_bin_active(void)
{
    return s_state == TB_DB_STATE_BINARY;
}

tb_db_bin_event_t tb_db_bin_feed(uint8_t byte)
{
    if (s_state != TB_DB_STATE_BINARY) {
        return TB_DB_BIN_MORE;
    }
    s_db_buf[s_loaded++] = byte;
    if (s_loaded < s_expected) {
        s_bin_last_tick = tb_port_counter();
        return TB_DB_BIN_MORE;
    }
    s_bin_crc = tb_crc32_update(TB_CRC32_INIT, s_db_buf, s_loaded);
    if (s_bin_crc != s_bin_crc_expected) {
        invalidate();
        return TB_DB_BIN_CRC_ERROR;
    }
    s_state = TB_DB_STATE_COMPLETE;
    return TB_DB_BIN_DONE;
}

tb_db_bin_event_t tb_db_bin_poll(void)
{
    uint64_t limit;

    if (s_state != TB_DB_STATE_BINARY) {
        return TB_DB_BIN_MORE;
    }
    limit = (uint64_t)tb_port_counter_hz() * TB_BIN_TIMEOUT_MS / 1000u;
    if (tb_port_counter() - s_bin_last_tick <= limit) {
        return TB_DB_BIN_MORE;
    }
    invalidate();
    return TB_DB_BIN_TIMEOUT;
}

uint32_t tb_db_bin_crc(void)
{
    return s_bin_crc;
}

long tb_db_load_file(const char *path, uint32_t offset, uint32_t len)
{
    long n;

    tb_db_reset();
    n = tb_port_file_read(path, offset, len, s_db_buf, TB_DB_CAPACITY);
    if (n > 0 && n <= (long)TB_DB_CAPACITY) {
        s_expected = (uint32_t)n;
        s_loaded = (uint32_t)n;
        s_state = TB_DB_STATE_COMPLETE;
    } else if (n > (long)TB_DB_CAPACITY) {
        n = TB_PORT_FILE_RANGE; /* a port that ignored cap */
    }
    return n;
}

uint32_t tb_db_expected(void)
{
    return s_expected;
}

uint32_t tb_db_loaded(void)
{
    return s_loaded;
}

int tb_db_complete(void)
{
    return s_state == TB_DB_STATE_COMPLETE;
}

const uint8_t *tb_db_data(void)
{
    return s_db_buf;
}

uint8_t *tb_db_buffer(void)
{
    return s_db_buf;
}
