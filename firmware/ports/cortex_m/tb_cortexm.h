/*
 * tb_cortexm.h - the shared Cortex-M layer (firmware/ports/cortex_m): the few
 * system registers the ports touch (ARMv7-M / ARMv8-M System Control Space,
 * as volatile structs) and what the layer expects from a board port.
 *
 * The layer provides: the vector table and reset (tb_cm_startup.c),
 * semihosting exit and file reads (tb_cm_semihost.c), weak defaults for the
 * optional port.h functions (tb_cm_defaults.c) and one counter, chosen by the
 * manifest's [counter] kind (counter/tb_cm_systick.c or counter/tb_cm_dwt.c).
 * A board port adds tb_port_init (clock, UART, then tb_cm_counter_start),
 * the UART functions and, if it has one, the timestamp pin.
 */
#ifndef TB_CORTEXM_H
#define TB_CORTEXM_H

#include <stdint.h>

typedef struct {
    volatile uint32_t ctrl;  /* 0x00 SYST_CSR: ENABLE bit0, TICKINT bit1, CLKSOURCE bit2 */
    volatile uint32_t load;  /* 0x04 SYST_RVR: reload value, 24 bits */
    volatile uint32_t val;   /* 0x08 SYST_CVR: current value; any write clears it */
    volatile uint32_t calib; /* 0x0c SYST_CALIB */
} tb_systick_regs_t;

#define TB_SYSTICK ((tb_systick_regs_t *)0xe000e010u)
#define TB_SYSTICK_CTRL_ENABLE (1u << 0)
#define TB_SYSTICK_CTRL_TICKINT (1u << 1)
#define TB_SYSTICK_CTRL_CLKSOURCE_CPU (1u << 2)
#define TB_SYSTICK_MAX_RELOAD 0x00ffffffu

/* SCB Interrupt Control and State Register. */
#define TB_SCB_ICSR (*(volatile uint32_t *)0xe000ed04u)
#define TB_SCB_ICSR_PENDSTSET (1u << 26)
#define TB_SCB_ICSR_PENDSTCLR (1u << 25)

/* NVIC interrupt set-enable registers: line n is bit n % 32 of word n / 32. */
#define TB_NVIC_ISER ((volatile uint32_t *)0xe000e100u)
/* NVIC interrupt set-pending registers, the same layout: software raises a line. */
#define TB_NVIC_ISPR ((volatile uint32_t *)0xe000e200u)

/* CPUID: the part number (bits 15:4) tells a Cortex-M7 (0xc27) from the rest. */
#define TB_SCB_CPUID (*(volatile uint32_t *)0xe000ed00u)
#define TB_CPUID_PARTNO(cpuid) (((cpuid) >> 4) & 0xfffu)
#define TB_CPUID_PARTNO_CORTEX_M7 0xc27u

/* Debug Exception and Monitor Control: TRCENA powers the DWT. */
#define TB_DEMCR (*(volatile uint32_t *)0xe000edfcu)
#define TB_DEMCR_TRCENA (1u << 24)

/* Data Watchpoint and Trace unit: the cycle counter. */
#define TB_DWT_CTRL (*(volatile uint32_t *)0xe0001000u)
#define TB_DWT_CTRL_CYCCNTENA (1u << 0)
#define TB_DWT_CTRL_NOCYCCNT (1u << 25)
#define TB_DWT_CYCCNT (*(volatile uint32_t *)0xe0001004u)
#define TB_DWT_LAR (*(volatile uint32_t *)0xe0001fb0u) /* Cortex-M7 only: write-unlock */
#define TB_DWT_LAR_UNLOCK 0xc5acce55u

/* Coprocessor Access Control Register: CP10/CP11 full access = FPU (and MVE) on. */
#define TB_SCB_CPACR_ADDR 0xe000ed88u

static inline uint32_t tb_cm_irq_save(void)
{
    uint32_t primask;

    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    return primask;
}

static inline void tb_cm_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" : : "r"(primask) : "memory");
}

/* Cortex-M7 only: invalidates and enables the L1 instruction and data caches
 * (tb_cm_cache.c). A board port with such a core calls it early in tb_port_init. */
void tb_cm_caches_enable(void);

/* Starts the counter the build chose (SysTick or DWT); tb_port_init calls it last. */
void tb_cm_counter_start(void);

/* Exception handlers of the vector table. */
void tb_cm_systick_handler(void); /* the SysTick counter's; a weak no-op otherwise */
void tb_cm_irq_handler(void);     /* every external line; the board port's (weak: returns) */

#endif /* TB_CORTEXM_H */
