/*
 * tb_latency.h - the per-inference latency record of the last `infer`: the
 * counter delta of each timed run, in a fixed buffer (TB_LATENCY_CAPACITY),
 * and the `latency` command that prints it.
 */
#ifndef TB_LATENCY_H
#define TB_LATENCY_H

#include <stdint.h>

#include "harness.h"

#if TB_LATENCY_CAPACITY < 1
#error "TB_LATENCY_CAPACITY must be at least 1"
#endif

/* Deltas that do not fit in 32 bits are stored as this value. */
#define TB_LATENCY_SATURATED 0xFFFFFFFFu

/* Forgets the record: `latency` then reports that none exists. */
void tb_latency_clear(void);

/*
 * The buffer the LoadGen writes the deltas into while it runs, so the timed
 * loop stores with a plain array write instead of a call per run. Its
 * content only counts once tb_latency_commit() declares it.
 */
uint32_t *tb_latency_slots(void);

/* Declares slots[0..recorded-1] valid; `dropped` more runs were timed but not stored. */
void tb_latency_commit(uint32_t recorded, uint32_t dropped);

/* The `latency` command: summary line, data lines, or an error when there is no record. */
void tb_cmd_latency(char **argv, unsigned argc);

#endif /* TB_LATENCY_H */
