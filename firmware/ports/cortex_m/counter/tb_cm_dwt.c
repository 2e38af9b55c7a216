/*
 * tb_cm_dwt.c - the port.h counter from the DWT cycle counter: core cycles,
 * 32 bits in hardware, extended to 64 bits by tb_cm_extend. The extension must
 * see CYCCNT at least once per wrap (2^32 cycles: 35.8 s at 120 MHz), also
 * while the harness idles between commands and reads nothing: SysTick runs as
 * a 2^24-cycle tick whose interrupt takes a reading (a few dozen cycles every
 * 0.14 s at 120 MHz).
 */
#include "port.h"

#include "tb_board_config.h"
#include "tb_cm_extend.h"
#include "tb_cortexm.h"

static tb_cm_extend_t s_extend;
static int s_no_cyccnt; /* DWT_CTRL.NOCYCCNT: this DWT has no cycle counter */

void tb_cm_counter_start(void)
{
    TB_DEMCR |= TB_DEMCR_TRCENA;
    if (TB_CPUID_PARTNO(TB_SCB_CPUID) == TB_CPUID_PARTNO_CORTEX_M7) {
        TB_DWT_LAR = TB_DWT_LAR_UNLOCK; /* the M7's DWT ignores writes until unlocked */
    }
    s_no_cyccnt = (TB_DWT_CTRL & TB_DWT_CTRL_NOCYCCNT) != 0u;
    TB_DWT_CYCCNT = 0u;
    TB_DWT_CTRL |= TB_DWT_CTRL_CYCCNTENA;
    tb_cm_extend_reset(&s_extend, 0u);

    TB_SYSTICK->ctrl = 0u;
    TB_SYSTICK->load = TB_SYSTICK_MAX_RELOAD;
    TB_SYSTICK->val = 0u;
    TB_SYSTICK->ctrl =
        TB_SYSTICK_CTRL_CLKSOURCE_CPU | TB_SYSTICK_CTRL_TICKINT | TB_SYSTICK_CTRL_ENABLE;
}

/* Keeps the extension within one wrap of CYCCNT however long nobody reads the counter. */
void tb_cm_systick_handler(void)
{
    (void)tb_port_counter();
}

uint64_t tb_port_counter(void)
{
    /* Masked: a reading from an interrupt must not interleave with this one. */
    uint32_t primask = tb_cm_irq_save();
    uint64_t now = tb_cm_extend_update(&s_extend, TB_DWT_CYCCNT);

    tb_cm_irq_restore(primask);
    return now;
}

/* Both count the core clock, so the rate is the clock the port actually set up (a port
 * whose PLL did not lock reports its fallback clock, and the count stays true). */
uint32_t tb_port_counter_hz(void)
{
    return tb_port_cpu_hz();
}

/* A part without CYCCNT (optional in ARMv7-M and ARMv8-M; unverified on the nRF52840) would
 * count nothing: it says so, and the host refuses it against the manifest's "dwt". */
const char *tb_port_counter_kind(void)
{
    return s_no_cyccnt ? "dwt-without-cyccnt" : "dwt";
}
