/*
 * tb_cm_ring.h - a byte ring filled by a UART receive interrupt and emptied
 * by tb_port_read_byte: one producer (the handler), one consumer (the main
 * loop), so the indices need no lock. 256 bytes: more than the one command
 * line plus the start of the next that port.h asks a port to hold.
 */
#ifndef TB_CM_RING_H
#define TB_CM_RING_H

#include <stdint.h>

#define TB_CM_RING_BYTES 256u /* a power of two: the indices wrap by masking */

typedef struct {
    volatile uint32_t head; /* written by the producer only */
    volatile uint32_t tail; /* written by the consumer only */
    uint8_t bytes[TB_CM_RING_BYTES];
} tb_cm_ring_t;

static inline void tb_cm_ring_reset(tb_cm_ring_t *ring)
{
    ring->head = 0u;
    ring->tail = 0u;
}

static inline int tb_cm_ring_empty(const tb_cm_ring_t *ring)
{
    return ring->head == ring->tail;
}

static inline int tb_cm_ring_full(const tb_cm_ring_t *ring)
{
    return ring->head - ring->tail == TB_CM_RING_BYTES;
}

/* The caller checks tb_cm_ring_full first. */
static inline void tb_cm_ring_push(tb_cm_ring_t *ring, uint8_t byte)
{
    ring->bytes[ring->head % TB_CM_RING_BYTES] = byte;
    ring->head = ring->head + 1u;
}

/* The oldest byte, or -1 when the ring is empty. */
static inline int tb_cm_ring_pop(tb_cm_ring_t *ring)
{
    int byte;

    if (tb_cm_ring_empty(ring)) {
        return -1;
    }
    byte = ring->bytes[ring->tail % TB_CM_RING_BYTES];
    ring->tail = ring->tail + 1u;
    return byte;
}

#endif /* TB_CM_RING_H */
