/*
 * port.h - what a board port provides to the harness.
 *
 * A port knows its board: startup, UART, counter, timestamp pin and how to
 * exit. It knows nothing of models or of the serial protocol.
 *
 * Required: tb_port_init, tb_port_write, tb_port_read_byte, tb_port_counter,
 * tb_port_counter_hz, tb_port_cpu_hz, tb_port_counter_kind, tb_port_exit.
 * Optional: tb_port_idle, tb_port_counter_rearm, tb_port_timestamp_pulse,
 * tb_port_file_read, tb_port_file_write and tb_port_stack_usage. On Cortex-M, firmware/ports/cortex_m supplies weak
 * defaults (no-ops; file_read and file_write return TB_PORT_FILE_UNSUPPORTED) and the
 * startup, counters and semihosting exit, so a board port is its clock, its
 * UART and its pin. The board's constants (clocks, UART base, NVIC lines) are
 * generated from boards/<board>.toml into tb_board_config.h.
 *
 * RX buffering. The harness reads bytes only between commands and, while a
 * command runs (an inference of up to seconds, a binary upload), not at all.
 * A host may send the next command right after the previous reply, and the
 * MLCommons runner writes one command in two writes (text, then the '%'). So
 * a port must not lose a received byte while nobody calls tb_port_read_byte:
 * either the link applies back-pressure (a UART that holds its byte and a
 * peer that waits, as QEMU's chardev does for the CMSDK UART) or the port
 * keeps an interrupt-filled ring of at least 128 bytes (one command line,
 * 80 characters, plus its terminator and the start of the next).
 *
 * Counter reading. A port that extends a narrower hardware count to 64 bits
 * must see the raw count at least once per wrap period, whatever the harness
 * does: the harness reads tb_port_counter() around every inference and during
 * uploads, but not while it idles between commands, which may last minutes.
 * The Cortex-M SysTick counter counts its wraps in the SysTick interrupt; the
 * DWT counter (32-bit CYCCNT wraps every 2^32 cycles, 35.8 s at 120 MHz)
 * reads CYCCNT from the SysTick interrupt every 2^24 cycles. One timed
 * inference must still be shorter than a wrap period for its delta to hold.
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
 * Optional. Called by the harness when tb_port_read_byte() found nothing. May sleep
 * until the next received byte or interrupt (WFI on a Cortex-M, a 1 ms poll()
 * on the host) so that an idle DUT neither burns its CPU nor starves an
 * emulator's I/O thread. Must return within about a second even when no byte
 * arrives (the harness checks its time-outs after each call); a no-op is a
 * valid implementation.
 */
void tb_port_idle(void);

/* Free-running 64-bit count of the port's counter (DWT CYCCNT, SysTick ticks, ...);
 * see "Counter reading" above for how often it must be read. */
uint64_t tb_port_counter(void);

/* Counter ticks per second. */
uint32_t tb_port_counter_hz(void);

/* Core clock in Hz (may differ from the counter's rate, e.g. SysTick on a reference clock). */
uint32_t tb_port_cpu_hz(void);

/* "dwt", "systick" or "host-monotonic": reported in the info line. */
const char *tb_port_counter_kind(void);

/*
 * Optional. Re-arms the counter right before a measured region so that the count does
 * not depend on where in a tick the region starts (SysTick under QEMU icount
 * jitters by one tick otherwise). A no-op for counters that need none.
 */
void tb_port_counter_rearm(void);

/* Optional. Drives the timestamp GPIO to its active level for >= TB_BOARD_TIMESTAMP_HOLD_US
 * (the manifest's [timestamp] hold_us, >= 1) and back; a no-op where there is no pin. In energy
 * mode the cmsdk port (QEMU, no GPIO) writes `tb-mark <edge> <counter>` on UART1 instead. */
void tb_port_timestamp_pulse(void);

/* tb_port_file_read() failures (negative return values). */
#define TB_PORT_FILE_UNSUPPORTED (-1L) /* no host file access on this port/build */
#define TB_PORT_FILE_NOT_FOUND (-2L)   /* the file cannot be opened */
#define TB_PORT_FILE_RANGE (-3L)       /* offset + len lies beyond the end of the file */
#define TB_PORT_FILE_IO (-4L)          /* the read failed */

/*
 * Optional. Bulk input for emulated runs: reads len bytes at offset of a host file into
 * buf (semihosting under QEMU, stdio on the host port). len == 0 means "from
 * offset to the end of the file", in which case at most cap bytes are read
 * and a longer remainder is TB_PORT_FILE_RANGE. Returns the number of bytes
 * read, or one of the negative TB_PORT_FILE_* codes. Real boards return
 * TB_PORT_FILE_UNSUPPORTED.
 */
long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf, uint32_t cap);

/* tb_port_file_write() modes. */
#define TB_PORT_FILE_TRUNCATE 0 /* create the file or empty it, then write */
#define TB_PORT_FILE_APPEND 1   /* write after what the file holds */

/*
 * Optional. Bulk output for emulated runs (the `batch` command's records): writes len bytes
 * to a host file, opened and closed within the call (semihosting SYS_OPEN "wb"/"ab" and
 * SYS_WRITE under QEMU, stdio on the host port). Returns len, or TB_PORT_FILE_NOT_FOUND when
 * the file cannot be opened, TB_PORT_FILE_IO when fewer bytes were written, and
 * TB_PORT_FILE_UNSUPPORTED on real boards.
 */
long tb_port_file_write(const char *path, const uint8_t *data, uint32_t len, int mode);

/*
 * Optional. The main stack: its reserved size and the deepest it has reached since boot, in
 * bytes (the Cortex-M startup paints the free stack with a pattern; this scans for the lowest
 * overwritten word). Returns 0 when the port cannot tell (the host port: the OS owns the stack),
 * 1 with both filled otherwise. Scanning takes time: never call it in a measured region.
 */
int tb_port_stack_usage(uint32_t *used_bytes, uint32_t *reserved_bytes);

/* Ends the program with an exit code (semihosting under QEMU, exit() on the host). */
void tb_port_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* TB_PORT_H */
