/* tb_loadgen.h - the LoadGen: warm-up runs, timed runs, timestamps, counter delta. */
#ifndef TB_LOADGEN_H
#define TB_LOADGEN_H

#include <stdint.h>

#include "engine.h"

/* Pulses the timestamp pin and prints m-lap-us-<microseconds since boot> (energy mode: the
 * pulse only, nothing printed). */
void tb_loadgen_timestamp(void);

/*
 * Runs W warm-up and N timed invocations, printing m-warmup-start-W,
 * m-warmup-done, m-infer-start-N, m-lap-us (start), m-lap-us (end),
 * m-infer-counter-<ticks> and m-infer-done. The input tensor must be set.
 * Records the counter delta of each of the first TB_LATENCY_CAPACITY timed
 * runs in tb_latency (committed only when all N runs succeed; cleared first).
 * Stops at the first failing invoke and returns its status (nothing more is
 * printed then).
 */
tb_engine_status_t tb_loadgen_run(uint32_t n, uint32_t w, uint64_t *ticks);

/* What tb_loadgen_run would print about its timed loop, kept instead (the batch command). */
typedef struct {
    uint64_t lap_start_us; /* the m-lap-us values of the two timestamps */
    uint64_t lap_end_us;
    uint64_t ticks; /* the m-infer-counter value */
} tb_loadgen_record_t;

/*
 * tb_loadgen_run without a line on the link: the same warm-up, re-arm, timestamps (the pin
 * pulses), counter readings and per-run deltas in the same order, with the timestamps'
 * microseconds and the counter delta stored in *record (zeroed when an invoke fails).
 */
tb_engine_status_t tb_loadgen_run_quiet(uint32_t n, uint32_t w, tb_loadgen_record_t *record);

#endif /* TB_LOADGEN_H */
