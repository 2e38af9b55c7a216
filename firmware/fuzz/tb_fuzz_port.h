/* tb_fuzz_port.h - what the fuzz driver controls in the fuzz port (tb_fuzz_port.c). */
#ifndef TB_FUZZ_PORT_H
#define TB_FUZZ_PORT_H

#include <setjmp.h>
#include <stdint.h>

#include "port.h"

#define TB_FUZZ_COUNTER_HZ 1000000u

/* Zeroes the clock and the sink; `exit` will longjmp to exit_jump (with 1). */
void tb_fuzz_port_reset(jmp_buf *exit_jump);
/* Moves the virtual counter forward (idle time between bytes). */
void tb_fuzz_port_advance(uint64_t ticks);
/* Bytes the harness wrote since the last reset. */
uint64_t tb_fuzz_port_sink_bytes(void);

#endif /* TB_FUZZ_PORT_H */
