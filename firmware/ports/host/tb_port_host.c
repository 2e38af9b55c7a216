/*
 * tb_port_host.c - the firmware as a Linux process: the host link is
 * stdin/stdout, the counter is CLOCK_MONOTONIC in nanoseconds.
 *
 * TB_HOST_COUNTER_SCALE=K (environment, default 1) makes the counter run K
 * times faster than real time, so a soak run covers a day of the DUT's time
 * in minutes (bench/soak.py). Timing figures of such a run are not real.
 */
#define _POSIX_C_SOURCE 200809L

#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TB_HOST_RX_BYTES 4096
#define TB_HOST_IDLE_WAIT_MS 1

static uint8_t s_rx[TB_HOST_RX_BYTES];
static size_t s_rx_len;
static size_t s_rx_pos;
static uint64_t s_epoch_ns;
static uint64_t s_counter_scale = 1u;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tb_port_init(void)
{
    int flags = fcntl(STDIN_FILENO, F_GETFL, 0);
    const char *scale = getenv("TB_HOST_COUNTER_SCALE");

    if (scale != NULL) {
        char *end = NULL;
        unsigned long long value = strtoull(scale, &end, 10);

        if (end != scale && *end == '\0' && value > 0u) {
            s_counter_scale = (uint64_t)value;
        }
    }
    if (flags >= 0) {
        (void)fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);
    }
    s_epoch_ns = monotonic_ns();
}

void tb_port_write(const uint8_t *data, size_t len)
{
    while (len > 0u) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            exit(1); /* the host went away */
        }
        data += n;
        len -= (size_t)n;
    }
}

int tb_port_read_byte(void)
{
    if (s_rx_pos == s_rx_len) {
        ssize_t n = read(STDIN_FILENO, s_rx, sizeof(s_rx));
        if (n == 0) {
            exit(0); /* end of input: the host closed the link */
        }
        if (n < 0) {
            return -1;
        }
        s_rx_len = (size_t)n;
        s_rx_pos = 0u;
    }
    return s_rx[s_rx_pos++];
}

void tb_port_idle(void)
{
    /* Nap up to 1 ms (less when a byte arrives) so an idle DUT does not spin a core. */
    struct pollfd pfd;

    pfd.fd = STDIN_FILENO;
    pfd.events = POLLIN;
    pfd.revents = 0;
    (void)poll(&pfd, 1, TB_HOST_IDLE_WAIT_MS);
}

uint64_t tb_port_counter(void)
{
    return (monotonic_ns() - s_epoch_ns) * s_counter_scale;
}

uint32_t tb_port_counter_hz(void)
{
    return 1000000000u;
}

uint32_t tb_port_cpu_hz(void)
{
    return 0u; /* unknown on a host */
}

const char *tb_port_counter_kind(void)
{
    return "host-monotonic";
}

void tb_port_counter_rearm(void)
{
}

int tb_port_stack_usage(uint32_t *used_bytes, uint32_t *reserved_bytes)
{
    /* The process's stack belongs to the OS: no reserve of ours to paint or scan. */
    (void)used_bytes;
    (void)reserved_bytes;
    return 0;
}

void tb_port_timestamp_pulse(void)
{
}

void tb_port_exit(int code)
{
    exit(code);
}

long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf, uint32_t cap)
{
    FILE *f = fopen(path, "rb");
    long size;
    long result;

    if (f == NULL) {
        return TB_PORT_FILE_NOT_FOUND;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
        (void)fclose(f);
        return TB_PORT_FILE_IO;
    }
    if ((long)offset > size) {
        (void)fclose(f);
        return TB_PORT_FILE_RANGE;
    }
    if (len == 0u) {
        if (size - (long)offset > (long)cap) {
            (void)fclose(f);
            return TB_PORT_FILE_RANGE;
        }
        len = (uint32_t)(size - (long)offset);
    } else if (len > cap || (long)len > size - (long)offset) {
        (void)fclose(f);
        return TB_PORT_FILE_RANGE;
    }
    result = (long)len;
    if (fseek(f, (long)offset, SEEK_SET) != 0 || fread(buf, 1u, len, f) != len) {
        result = TB_PORT_FILE_IO;
    }
    (void)fclose(f);
    return result;
}

long tb_port_file_write(const char *path, const uint8_t *data, uint32_t len, int mode)
{
    FILE *f = fopen(path, mode == TB_PORT_FILE_APPEND ? "ab" : "wb");
    long result = (long)len;

    if (f == NULL) {
        return TB_PORT_FILE_NOT_FOUND;
    }
    if (len > 0u && fwrite(data, 1u, len, f) != len) {
        result = TB_PORT_FILE_IO;
    }
    if (fclose(f) != 0) {
        result = TB_PORT_FILE_IO;
    }
    return result;
}
