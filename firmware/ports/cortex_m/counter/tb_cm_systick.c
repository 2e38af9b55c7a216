/*
 * tb_cm_systick.c - the port.h counter from SysTick on the core clock
 * (CLKSOURCE = 1), extended to 64 bits by counting wraps in its interrupt.
 * For cores without a DWT cycle counter, and under QEMU, which models none:
 * with -icount a tick is an exact number of instructions.
 */
#include "port.h"

#include "tb_board_config.h"
#include "tb_cortexm.h"

#define TB_SYSTICK_PERIOD (TB_SYSTICK_MAX_RELOAD + 1u)

static volatile uint32_t s_wraps; /* SysTick reached 0 this many times */
static uint64_t s_base;           /* ticks folded in by tb_port_counter_rearm */

void tb_cm_systick_handler(void)
{
    s_wraps++;
}

void tb_cm_counter_start(void)
{
    TB_SYSTICK->ctrl = 0u;
    TB_SYSTICK->load = TB_SYSTICK_MAX_RELOAD;
    TB_SYSTICK->val = 0u;
    TB_SYSTICK->ctrl =
        TB_SYSTICK_CTRL_CLKSOURCE_CPU | TB_SYSTICK_CTRL_TICKINT | TB_SYSTICK_CTRL_ENABLE;
}

/*
 * Position in the current period: 0 when the counter reads 0 (the moment the
 * wrap is signalled), then 1 after the reload to LOAD, ... LOAD at 1.
 */
static uint32_t period_position(uint32_t val)
{
    return (TB_SYSTICK_PERIOD - val) & TB_SYSTICK_MAX_RELOAD;
}

static uint64_t counter_locked(void)
{
    uint64_t wraps = s_wraps;
    uint32_t val = TB_SYSTICK->val;

    if ((TB_SCB_ICSR & TB_SCB_ICSR_PENDSTSET) != 0u) {
        /* Wrapped but the handler has not run yet: read again after the wrap. */
        val = TB_SYSTICK->val;
        wraps++;
    }
    return s_base + wraps * TB_SYSTICK_PERIOD + period_position(val);
}

uint64_t tb_port_counter(void)
{
    uint32_t primask = tb_cm_irq_save();
    uint64_t now = counter_locked();

    tb_cm_irq_restore(primask);
    return now;
}

/* Both count the core clock, so the rate is the clock the port actually set up (a port
 * whose PLL did not lock reports its fallback clock, and the count stays true). */
uint32_t tb_port_counter_hz(void)
{
    return tb_port_cpu_hz();
}

const char *tb_port_counter_kind(void)
{
    return "systick";
}

void tb_port_counter_rearm(void)
{
    uint32_t primask = tb_cm_irq_save();

    s_base = counter_locked();
    s_wraps = 0u;
    /* Clear the counter, then wait for the reload: the region starts on a tick edge. */
    TB_SYSTICK->val = 0u;
    while (TB_SYSTICK->val == 0u) {
    }
    TB_SCB_ICSR = TB_SCB_ICSR_PENDSTCLR;
    {
        uint32_t position = period_position(TB_SYSTICK->val);
        s_base = s_base >= position ? s_base - position : 0u;
    }
    tb_cm_irq_restore(primask);
}
