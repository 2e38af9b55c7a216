/*
 * tb_cm_extend.h - a free-running 32-bit hardware count (DWT CYCCNT) extended
 * to 64 bits in software. Pure logic on the raw reading, so that a host test
 * can drive it through wraps (QEMU models no DWT).
 *
 * Correct as long as it sees the raw count at least once per wrap period
 * (2^32 counts: 35.8 s at 120 MHz): a wrap between two readings is noticed
 * as the reading going down; two wraps look like one.
 */
#ifndef TB_CM_EXTEND_H
#define TB_CM_EXTEND_H

#include <stdint.h>

typedef struct {
    uint32_t last;  /* the previous raw reading */
    uint64_t upper; /* wraps so far, times 2^32 */
} tb_cm_extend_t;

/* Starts the extension at a raw reading (the 64-bit value starts there too). */
void tb_cm_extend_reset(tb_cm_extend_t *state, uint32_t raw);

/* The 64-bit count for a new raw reading. */
uint64_t tb_cm_extend_update(tb_cm_extend_t *state, uint32_t raw);

#endif /* TB_CM_EXTEND_H */
