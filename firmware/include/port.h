/*
 * port.h - what a board port provides to the harness.
 *
 * A port knows its board: startup, UART, counter, timestamp pin and how to
 * exit. It knows nothing of models or of the serial protocol.
 */
#ifndef TB_PORT_H
#define TB_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, UART, counter. Called once before anything else. */
void tb_port_init(void);

/* Blocking write of len bytes to the host link. */
void tb_port_write(const uint8_t *data, size_t len);

/* Next byte from the host link, or -1 when none is waiting (never blocks). */
int tb_port_read_byte(void);

/*
 * Called by the harness when tb_port_read_byte() found nothing. May sleep
 * until the next received byte or interrupt (WFI on a Cortex-M, a 1 ms poll()
 * on the host) so that an idle DUT neither burns its CPU nor starves an
 * emulator's I/O thread. Must return within about a second even when no byte
 * arrives (the harness checks its time-outs after each call); a no-op is a
 * valid implementation.
 */
void tb_port_idle(void);

/* Free-running 64-bit count of the port's counter (DWT CYCCNT, SysTick ticks, ...). */
uint64_t tb_port_counter(void);

/* Counter ticks per second. */
uint32_t tb_port_counter_hz(void);

/* Core clock in Hz (may differ from the counter's rate, e.g. SysTick on a reference clock). */
uint32_t tb_port_cpu_hz(void);

/* "dwt", "systick" or "host-monotonic": reported in the info line. */
const char *tb_port_counter_kind(void);

/*
 * Re-arms the counter right before a measured region so that the count does
 * not depend on where in a tick the region starts (SysTick under QEMU icount
 * jitters by one tick otherwise). A no-op for counters that need none.
 */
void tb_port_counter_rearm(void);

/* Drives the timestamp GPIO low for >= 1 us (energy mode); a no-op where there is none. */
void tb_port_timestamp_pulse(void);

/* tb_port_file_read() failures (negative return values). */
#define TB_PORT_FILE_UNSUPPORTED (-1L) /* no host file access on this port/build */
#define TB_PORT_FILE_NOT_FOUND (-2L)   /* the file cannot be opened */
#define TB_PORT_FILE_RANGE (-3L)       /* offset + len lies beyond the end of the file */
#define TB_PORT_FILE_IO (-4L)          /* the read failed */

/*
 * Bulk input for emulated runs: reads len bytes at offset of a host file into
 * buf (semihosting under QEMU, stdio on the host port). len == 0 means "from
 * offset to the end of the file", in which case at most cap bytes are read
 * and a longer remainder is TB_PORT_FILE_RANGE. Returns the number of bytes
 * read, or one of the negative TB_PORT_FILE_* codes. Real boards return
 * TB_PORT_FILE_UNSUPPORTED.
 */
long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf,
                       uint32_t cap);

/* Ends the program with an exit code (semihosting under QEMU, exit() on the host). */
void tb_port_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* TB_PORT_H */
