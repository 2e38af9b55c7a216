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

/* Ends the program with an exit code (semihosting under QEMU, exit() on the host). */
void tb_port_exit(int code);

#ifdef __cplusplus
}
#endif

#endif /* TB_PORT_H */
