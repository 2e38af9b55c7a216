/* tb_loadgen.c - warm-up, measured region, the raw counter delta and per-run deltas. */
#include "tb_loadgen.h"

#include "harness.h"
#include "port.h"
#include "tb_latency.h"
#include "tb_out.h"

#if !TB_HARNESS_ENERGY
static uint64_t ticks_to_us(uint64_t ticks)
{
    uint64_t hz = tb_port_counter_hz();

    if (hz == 0u) {
        return 0u;
    }
    return (ticks / hz) * 1000000u + ((ticks % hz) * 1000000u) / hz;
}
#endif

#if TB_HARNESS_ENERGY
/* The edge is the message: a monitor sees it, the UART is quiet and no time is read. */
static uint64_t timestamp(int print)
{
    (void)print;
    tb_port_timestamp_pulse();
    return 0u;
}
#else
/* Pulses the pin and reads the time; prints m-lap-us when printing. */
static uint64_t timestamp(int print)
{
    uint64_t us;

    tb_port_timestamp_pulse();
    us = ticks_to_us(tb_port_counter());
    if (print) {
        tb_out_str("m-lap-us-");
        tb_out_u64(us);
        tb_out_end();
    }
    return us;
}
#endif

void tb_loadgen_timestamp(void)
{
    (void)timestamp(1);
}

/* The LoadGen loop; print = 0 keeps every line off the link (the batch command). */
static tb_engine_status_t run(uint32_t n, uint32_t w, int print, tb_loadgen_record_t *record)
{
    tb_engine_status_t status = TB_ENGINE_OK;
    uint32_t *slots = tb_latency_slots();
    uint32_t kept = n < TB_LATENCY_CAPACITY ? n : TB_LATENCY_CAPACITY;
    uint64_t start;
    uint64_t prev;
    uint64_t now;
    uint64_t delta;
    uint64_t lap_start;
    uint64_t lap_end;
    uint32_t i;

    record->lap_start_us = 0u;
    record->lap_end_us = 0u;
    record->ticks = 0u;
    tb_latency_clear();
    if (print) {
        tb_out_str("m-warmup-start-");
        tb_out_u64(w);
        tb_out_end();
    }
    for (i = 0u; i < w && status == TB_ENGINE_OK; i++) {
        status = tb_engine_invoke();
    }
    if (status != TB_ENGINE_OK) {
        return status;
    }
    if (print) {
        tb_out_line("m-warmup-done");
        tb_out_str("m-infer-start-");
        tb_out_u64(n);
        tb_out_end();
    }
#if TB_HARNESS_ENERGY
    /*
     * Re-armed before the start edge: the edge's counter reading (the QEMU marker) then starts
     * on a tick edge, so a window's counter delta is the same in every run. Read before the
     * re-arm, its sub-tick phase varied with how long the DUT had polled for the host.
     */
    tb_port_counter_rearm();
    lap_start = timestamp(print);
#else
    lap_start = timestamp(print);
    tb_port_counter_rearm();
#endif

    /*
     * Measured region: the invocations and one counter reading after each.
     * Reading i closes run i and opens run i + 1 (N + 1 readings in all), so
     * the per-run deltas add up exactly to the loop's delta, which therefore
     * includes the few instructions per run spent reading and storing. Runs
     * beyond the capacity still read the counter (only the store is skipped),
     * so they cost what recorded runs do within a few instructions.
     */
    start = tb_port_counter();
    prev = start;
    for (i = 0u; i < n && status == TB_ENGINE_OK; i++) {
        status = tb_engine_invoke();
        now = tb_port_counter();
        if (i < kept) {
            delta = now - prev;
            slots[i] = delta > TB_LATENCY_SATURATED ? TB_LATENCY_SATURATED : (uint32_t)delta;
        }
        prev = now;
    }

    lap_end = timestamp(print);
    if (status != TB_ENGINE_OK) {
        return status;
    }
    tb_latency_commit(kept, n - kept);
    record->lap_start_us = lap_start;
    record->lap_end_us = lap_end;
    record->ticks = prev - start;
    if (print) {
#if TB_HARNESS_EXTENSIONS
        tb_out_str("m-infer-counter-"); /* extension (d) */
        tb_out_u64(record->ticks);
        tb_out_end();
#endif
        tb_out_line("m-infer-done");
    }
    return TB_ENGINE_OK;
}

tb_engine_status_t tb_loadgen_run(uint32_t n, uint32_t w, uint64_t *ticks)
{
    tb_loadgen_record_t record;
    tb_engine_status_t status = run(n, w, 1, &record);

    *ticks = record.ticks;
    return status;
}

tb_engine_status_t tb_loadgen_run_quiet(uint32_t n, uint32_t w, tb_loadgen_record_t *record)
{
    return run(n, w, 0, record);
}
