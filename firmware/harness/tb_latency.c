/* tb_latency.c - storage and printing of the per-inference latency record. */
#include "tb_latency.h"

#include "port.h"
#include "tb_out.h"

/*
 * Values per m-latency-data line: 64 values of at most 10 digits plus commas
 * and framing stay under 730 characters, well below a 1 KiB line buffer on
 * the host side.
 */
#define TB_LATENCY_VALUES_PER_LINE 64u

static uint32_t s_latency_slots[TB_LATENCY_CAPACITY];
static uint32_t s_recorded;
static uint32_t s_dropped;
static int s_valid;

void tb_latency_clear(void)
{
    s_valid = 0;
    s_recorded = 0u;
    s_dropped = 0u;
}

uint32_t *tb_latency_slots(void)
{
    return s_latency_slots;
}

void tb_latency_commit(uint32_t recorded, uint32_t dropped)
{
    /* The LoadGen never stores more than the capacity; clamp anyway so a bad
     * count cannot make `latency` read past the buffer. */
    s_recorded = recorded < TB_LATENCY_CAPACITY ? recorded : TB_LATENCY_CAPACITY;
    s_dropped = dropped;
    s_valid = 1;
}

void tb_cmd_latency(char **argv, unsigned argc)
{
    uint32_t i;

    (void)argv;
    if (argc != 1u) {
        tb_out_error("latency: usage: latency");
        return;
    }
    if (!s_valid) {
        tb_out_error("latency: no timed inference recorded");
        return;
    }
    tb_out_str("m-latency-[count=");
    tb_out_u64(s_recorded);
    tb_out_str(",dropped=");
    tb_out_u64(s_dropped);
    tb_out_str(",counter_hz=");
    tb_out_u64(tb_port_counter_hz());
    tb_out_char(']');
    tb_out_end();
    for (i = 0u; i < s_recorded; i++) {
        if (i % TB_LATENCY_VALUES_PER_LINE == 0u) {
            tb_out_str("m-latency-data-[");
        } else {
            tb_out_char(',');
        }
        tb_out_u64(s_latency_slots[i]);
        if (i % TB_LATENCY_VALUES_PER_LINE == TB_LATENCY_VALUES_PER_LINE - 1u ||
            i + 1u == s_recorded) {
            tb_out_char(']');
            tb_out_end();
        }
    }
}
