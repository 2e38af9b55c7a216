/*
 * tb_cm_cache.c - the Cortex-M7 L1 caches on (ARMv7-M architectural cache
 * maintenance registers; ARM DDI 0403 B2.2 and the Cortex-M7 TRM): invalidate,
 * then enable, the instruction cache, then the data cache by set/way. A board
 * port calls it from tb_port_init on a core that has them (the STM32H7 port);
 * the QEMU boards never do, so their instruction counts do not move.
 *
 * Polled UART and TCM need no maintenance; anything shared with DMA would.
 */
#include <stdint.h>

#include "tb_cortexm.h"

/* System Control Block cache registers (addresses from the ARMv7-M ARM, B3.2). */
#define TB_SCB_CCR (*(volatile uint32_t *)0xe000ed14u)
#define TB_SCB_CCR_DC (1u << 16)
#define TB_SCB_CCR_IC (1u << 17)
#define TB_SCB_CCSIDR (*(volatile uint32_t *)0xe000ed80u) /* of the level CSSELR selects */
#define TB_SCB_CSSELR (*(volatile uint32_t *)0xe000ed84u) /* 0: level 1 data cache */
#define TB_SCB_ICIALLU (*(volatile uint32_t *)0xe000ef50u)
#define TB_SCB_DCISW (*(volatile uint32_t *)0xe000ef60u)

static inline void barriers(void)
{
    __asm volatile("dsb\n\tisb" : : : "memory");
}

/* log2 of a power of two, rounded up for the rest (the way field's width). */
static uint32_t bits_for(uint32_t count)
{
    uint32_t bits = 0u;

    while ((1u << bits) < count) {
        bits++;
    }
    return bits;
}

static void dcache_invalidate_all(void)
{
    uint32_t ccsidr;
    uint32_t sets;
    uint32_t ways;
    uint32_t set_shift;
    uint32_t way_shift;
    uint32_t set;
    uint32_t way;

    TB_SCB_CSSELR = 0u;
    barriers();
    ccsidr = TB_SCB_CCSIDR;
    sets = ((ccsidr >> 13) & 0x7fffu) + 1u; /* NumSets bits 27:13, minus one */
    ways = ((ccsidr >> 3) & 0x3ffu) + 1u;   /* Associativity bits 12:3, minus one */
    set_shift = (ccsidr & 0x7u) + 4u;       /* LineSize: log2(words per line) - 2 */
    way_shift = 32u - bits_for(ways);       /* the way index sits in the top bits */
    for (set = 0u; set < sets; set++) {
        for (way = 0u; way < ways; way++) {
            TB_SCB_DCISW = (way << way_shift) | (set << set_shift);
        }
    }
    barriers();
}

void tb_cm_caches_enable(void)
{
    if ((TB_SCB_CCR & TB_SCB_CCR_IC) == 0u) {
        barriers();
        TB_SCB_ICIALLU = 0u;
        barriers();
        TB_SCB_CCR |= TB_SCB_CCR_IC;
        barriers();
    }
    if ((TB_SCB_CCR & TB_SCB_CCR_DC) == 0u) {
        dcache_invalidate_all();
        TB_SCB_CCR |= TB_SCB_CCR_DC;
        barriers();
    }
}
