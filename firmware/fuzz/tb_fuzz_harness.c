/*
 * tb_fuzz_harness.c - libFuzzer target over the harness's byte input.
 *
 * Each fuzz input is the byte stream a host sends over the UART: it reaches the line
 * assembler, the dispatcher, the `db` hex and binary decoders and the argument parsers
 * exactly as it would on a board. Before each input the harness is booted afresh
 * (tb_harness_init resets the line, the db buffer and the engine; the latency record is
 * cleared here), so a finding replays from its input alone. After the last byte the
 * link goes quiet for longer than the `db bin` time-out and the harness is polled, as a
 * board's idle loop would. Replies go to the fuzz port's sink; `exit` returns here.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "tb_fuzz_engine.h"
#include "tb_fuzz_port.h"
#include "tb_latency.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static jmp_buf exit_jump;
    size_t i;

    tb_fuzz_port_reset(&exit_jump);
    tb_fuzz_engine_reset();
    tb_latency_clear();
    if (setjmp(exit_jump) != 0) {
        return 0; /* the input ran `exit`: the DUT would be gone, so is the rest of it */
    }
    tb_harness_init();
    for (i = 0u; i < size; i++) {
        tb_harness_feed(data[i]);
    }
    tb_fuzz_port_advance((uint64_t)TB_FUZZ_COUNTER_HZ * (TB_BIN_TIMEOUT_MS / 1000u + 1u));
    tb_harness_poll();
    return 0;
}
