/* tb_loadgen.c - warm-up, measured region and the raw counter delta. */
#include "tb_loadgen.h"

#include "port.h"
#include "tb_out.h"

static uint64_t ticks_to_us(uint64_t ticks)
{
    uint64_t hz = tb_port_counter_hz();

    if (hz == 0u) {
        return 0u;
    }
    return (ticks / hz) * 1000000u + ((ticks % hz) * 1000000u) / hz;
}

void tb_loadgen_timestamp(void)
{
    uint64_t now;

    tb_port_timestamp_pulse();
    now = tb_port_counter();
    tb_out_str("m-lap-us-");
    tb_out_u64(ticks_to_us(now));
    tb_out_end();
}

tb_engine_status_t tb_loadgen_run(uint32_t n, uint32_t w, uint64_t *ticks)
{
    tb_engine_status_t status = TB_ENGINE_OK;
    uint64_t start;
    uint64_t stop;
    uint32_t i;

    *ticks = 0u;
    tb_out_str("m-warmup-start-");
    tb_out_u64(w);
    tb_out_end();
    for (i = 0u; i < w && status == TB_ENGINE_OK; i++) {
        status = tb_engine_invoke();
    }
    if (status != TB_ENGINE_OK) {
        return status;
    }
    tb_out_line("m-warmup-done");
    tb_out_str("m-infer-start-");
    tb_out_u64(n);
    tb_out_end();
    tb_loadgen_timestamp();

    /* Measured region: nothing but the invocations. */
    tb_port_counter_rearm();
    start = tb_port_counter();
    for (i = 0u; i < n && status == TB_ENGINE_OK; i++) {
        status = tb_engine_invoke();
    }
    stop = tb_port_counter();

    tb_loadgen_timestamp();
    if (status != TB_ENGINE_OK) {
        return status;
    }
    *ticks = stop - start;
    tb_out_str("m-infer-counter-");
    tb_out_u64(*ticks);
    tb_out_end();
    tb_out_line("m-infer-done");
    return TB_ENGINE_OK;
}
