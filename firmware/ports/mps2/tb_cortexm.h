/*
 * tb_cortexm.h - the few Cortex-M system registers the ports touch
 * (ARMv7-M / ARMv8-M System Control Space), as volatile structs.
 */
#ifndef TB_CORTEXM_H
#define TB_CORTEXM_H

#include <stdint.h>

typedef struct {
    volatile uint32_t ctrl;   /* 0x00 SYST_CSR: ENABLE bit0, TICKINT bit1, CLKSOURCE bit2 */
    volatile uint32_t load;   /* 0x04 SYST_RVR: reload value, 24 bits */
    volatile uint32_t val;    /* 0x08 SYST_CVR: current value; any write clears it */
    volatile uint32_t calib;  /* 0x0c SYST_CALIB */
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

#endif /* TB_CORTEXM_H */
