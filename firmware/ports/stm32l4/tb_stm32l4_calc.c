/*
 * tb_stm32l4_calc.c - register values computed from clocks: no register is
 * touched here, so that tests/firmware compiles this file for the host and
 * checks it against the numbers in ../shared/BOARDS.md §1.
 */
#include "tb_stm32l4.h"

#define TB_PLLCFGR_PLLREN (1u << 24)
#define TB_LPUART_BRR_MIN 0x300u
#define TB_LPUART_BRR_MAX 0xfffffu
#define TB_MHZ 1000000u
#define TB_WAIT_STATE_HZ (20u * TB_MHZ)

uint32_t tb_stm32l4_pllcfgr(uint32_t source, uint32_t m, uint32_t n, uint32_t r)
{
    return (((r / 2u) - 1u) << 25) | TB_PLLCFGR_PLLREN | (n << 8) | ((m - 1u) << 4) | source;
}

uint32_t tb_stm32l4_pllcfgr_from_hsi16(uint32_t sysclk_hz)
{
    if (sysclk_hz % (4u * TB_MHZ) != 0u || sysclk_hz < 32u * TB_MHZ || sysclk_hz > 120u * TB_MHZ) {
        return 0u;
    }
    return tb_stm32l4_pllcfgr(TB_STM32L4_PLLSRC_HSI16, 2u, sysclk_hz / (4u * TB_MHZ), 2u);
}

uint32_t tb_stm32l4_lpuart_brr(uint32_t clock_hz, uint32_t baud)
{
    uint64_t brr;

    if (baud == 0u || (uint64_t)clock_hz < 3u * (uint64_t)baud ||
        (uint64_t)clock_hz > 4096u * (uint64_t)baud) {
        return 0u;
    }
    brr = (256u * (uint64_t)clock_hz + baud / 2u) / baud;
    return (brr < TB_LPUART_BRR_MIN || brr > TB_LPUART_BRR_MAX) ? 0u : (uint32_t)brr;
}

uint32_t tb_stm32l4_flash_latency(uint32_t hclk_hz)
{
    return hclk_hz == 0u ? 0u : (hclk_hz - 1u) / TB_WAIT_STATE_HZ;
}
