/*
 * tb_stm32f4_calc.c - register values computed from clocks: no register is
 * touched here, so that tests/firmware compiles this file for the host and
 * checks it against the numbers in ../shared/BOARDS.md §2.
 */
#include "tb_stm32f4.h"

#define TB_PLLCFGR_Q_RESET (4u << 24)
#define TB_PLLCFGR_R_RESET (2u << 28) /* PLLR exists on the F446; reserved (reset 2) on the F405 */
#define TB_WAIT_STATE_HZ (30u * 1000000u)

uint32_t tb_stm32f4_pllcfgr(uint32_t m, uint32_t n, uint32_t p)
{
    return TB_PLLCFGR_R_RESET | TB_PLLCFGR_Q_RESET | (((p / 2u) - 1u) << 16) | (n << 6) | m;
}

uint32_t tb_stm32f4_pllcfgr_from_hsi(uint32_t sysclk_hz)
{
    uint32_t mhz = sysclk_hz / 1000000u;

    if (sysclk_hz % 1000000u != 0u || mhz < 50u || mhz > 180u) {
        return 0u;
    }
    return tb_stm32f4_pllcfgr(TB_STM32F4_HSI_HZ / 2000000u, mhz, 2u);
}

uint32_t tb_stm32f4_usart_brr(uint32_t pclk_hz, uint32_t baud)
{
    uint32_t brr;

    if (baud == 0u) {
        return 0u;
    }
    brr = (pclk_hz + baud / 2u) / baud;
    return (brr < 16u || brr > 0xffffu) ? 0u : brr;
}

uint32_t tb_stm32f4_flash_latency(uint32_t hclk_hz)
{
    return hclk_hz == 0u ? 0u : (hclk_hz - 1u) / TB_WAIT_STATE_HZ;
}
