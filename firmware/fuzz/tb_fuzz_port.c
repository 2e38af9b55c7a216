/*
 * tb_fuzz_port.c - FUZZ DOUBLE of port.h for the libFuzzer target (tb_fuzz_harness.c).
 *
 * Like the host port (firmware/ports/host) the firmware is a Linux process, but nothing
 * touches a file descriptor: replies go to a sink that only counts bytes, the counter is
 * virtual (it advances a fixed step per reading, so a run is deterministic and the `db bin`
 * time-out is reachable), `exit` jumps back to the fuzz driver instead of ending the
 * process, and `db file` finds no files (the fuzzer must not read the machine's disk).
 */
#include "tb_fuzz_port.h"

#include <setjmp.h>

/* Ticks per counter reading: 1 us of a 1 MHz counter. */
#define TB_FUZZ_TICKS_PER_READ 1u

static uint64_t s_now;
static uint64_t s_sink_bytes;
static uint8_t s_sink_last;
static jmp_buf *s_exit_jump;

void tb_fuzz_port_reset(jmp_buf *exit_jump)
{
    s_now = 0u;
    s_sink_bytes = 0u;
    s_sink_last = 0u;
    s_exit_jump = exit_jump;
}

void tb_fuzz_port_advance(uint64_t ticks)
{
    s_now += ticks;
}

uint64_t tb_fuzz_port_sink_bytes(void)
{
    return s_sink_bytes;
}

void tb_port_init(void)
{
}

void tb_port_write(const uint8_t *data, size_t len)
{
    /* Read every byte so ASan checks the whole reply buffer the harness hands over. */
    size_t i;

    for (i = 0u; i < len; i++) {
        s_sink_last ^= data[i];
    }
    s_sink_bytes += len;
}

int tb_port_read_byte(void)
{
    return -1; /* the driver feeds bytes with tb_harness_feed() */
}

void tb_port_idle(void)
{
}

uint64_t tb_port_counter(void)
{
    s_now += TB_FUZZ_TICKS_PER_READ;
    return s_now;
}

uint32_t tb_port_counter_hz(void)
{
    return TB_FUZZ_COUNTER_HZ;
}

uint32_t tb_port_cpu_hz(void)
{
    return 0u;
}

const char *tb_port_counter_kind(void)
{
    return "fuzz-virtual";
}

void tb_port_counter_rearm(void)
{
}

int tb_port_stack_usage(uint32_t *used_bytes, uint32_t *reserved_bytes)
{
    (void)used_bytes;
    (void)reserved_bytes;
    return 0;
}

void tb_port_timestamp_pulse(void)
{
}

void tb_port_exit(int code)
{
    (void)code;
    if (s_exit_jump != 0) {
        longjmp(*s_exit_jump, 1);
    }
}

long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf, uint32_t cap)
{
    (void)path;
    (void)offset;
    (void)len;
    (void)buf;
    (void)cap;
    return TB_PORT_FILE_NOT_FOUND;
}

/* The `batch` command's records: read in full (so ASan checks the buffer) and dropped, as
 * the UART output is; a real file would let one fuzz input change what the next one sees. */
long tb_port_file_write(const char *path, const uint8_t *data, uint32_t len, int mode)
{
    (void)path;
    (void)mode;
    tb_port_write(data, len);
    return (long)len;
}
