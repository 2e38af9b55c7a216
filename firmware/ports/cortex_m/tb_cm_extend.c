/* tb_cm_extend.c - 32-bit to 64-bit counter extension (see tb_cm_extend.h). */
#include "tb_cm_extend.h"

#define TB_EXTEND_WRAP ((uint64_t)1u << 32)

void tb_cm_extend_reset(tb_cm_extend_t *state, uint32_t raw)
{
    state->last = raw;
    state->upper = 0u;
}

uint64_t tb_cm_extend_update(tb_cm_extend_t *state, uint32_t raw)
{
    if (raw < state->last) {
        state->upper += TB_EXTEND_WRAP;
    }
    state->last = raw;
    return state->upper | raw;
}
