/*
 * tb_stm32l4.h - the STM32L4+ (STM32L4R5) registers the port touches (RM0432;
 * addresses and bit positions as collected, with their sources, in
 * ../shared/BOARDS.md §1), and the pure register arithmetic that a host test
 * checks against the numbers there.
 *
 * LPUART1 has the newer USART map (CR1 0x00, BRR 0x0c, ISR 0x1c, ICR 0x20,
 * RDR 0x24, TDR 0x28, PRESC 0x2c), not the F4's SR/DR/BRR/CR1: the port uses
 * ../stm32_common/tb_stm32_usart.h's tb_stm32_usart_regs_t for it.
 */
#ifndef TB_STM32L4_H
#define TB_STM32L4_H

#include <stdint.h>

#define TB_STM32L4_RCC_BASE 0x40021000u
#define TB_STM32L4_RCC_CR (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x00u))
#define TB_STM32L4_RCC_CFGR (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x08u))
#define TB_STM32L4_RCC_PLLCFGR (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x0cu))
#define TB_STM32L4_RCC_AHB2ENR (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x4cu))
#define TB_STM32L4_RCC_APB1ENR1 (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x58u))
#define TB_STM32L4_RCC_APB1ENR2 (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x5cu))
#define TB_STM32L4_RCC_CCIPR (*(volatile uint32_t *)(TB_STM32L4_RCC_BASE + 0x88u))

#define TB_STM32L4_RCC_CR_HSION (1u << 8)
#define TB_STM32L4_RCC_CR_HSIRDY (1u << 10)
#define TB_STM32L4_RCC_CR_PLLON (1u << 24)
#define TB_STM32L4_RCC_CR_PLLRDY (1u << 25)
#define TB_STM32L4_RCC_CFGR_SW_MASK 0x3u
#define TB_STM32L4_RCC_CFGR_SW_PLL 0x3u
#define TB_STM32L4_RCC_CFGR_SWS_MASK 0xcu
#define TB_STM32L4_RCC_CFGR_SWS_PLL 0xcu
#define TB_STM32L4_RCC_CFGR_HPRE_MASK 0xf0u
#define TB_STM32L4_RCC_CFGR_HPRE_DIV2 0x80u
#define TB_STM32L4_RCC_CFGR_PPRE1_MASK 0x700u
#define TB_STM32L4_RCC_CFGR_PPRE1_DIV2 0x400u
#define TB_STM32L4_RCC_CFGR_PPRE2_MASK 0x3800u
#define TB_STM32L4_RCC_APB1ENR1_PWREN (1u << 28)
#define TB_STM32L4_RCC_APB1ENR2_LPUART1EN (1u << 0)
#define TB_STM32L4_RCC_CCIPR_LPUART1SEL_MASK (3u << 10)
#define TB_STM32L4_RCC_CCIPR_LPUART1SEL_HSI16 (2u << 10)

/* PLLCFGR PLLSRC codes. */
#define TB_STM32L4_PLLSRC_MSI 1u
#define TB_STM32L4_PLLSRC_HSI16 2u

/* FLASH_ACR: LATENCY[3:0], PRFTEN bit8, ICEN bit9, DCEN bit10. */
#define TB_STM32L4_FLASH_ACR (*(volatile uint32_t *)0x40022000u)
#define TB_STM32L4_FLASH_ACR_LATENCY_MASK 0xfu
#define TB_STM32L4_FLASH_ACR_CACHES ((1u << 8) | (1u << 9) | (1u << 10))

#define TB_STM32L4_PWR_BASE 0x40007000u
#define TB_STM32L4_PWR_CR1 (*(volatile uint32_t *)(TB_STM32L4_PWR_BASE + 0x00u))
#define TB_STM32L4_PWR_CR2 (*(volatile uint32_t *)(TB_STM32L4_PWR_BASE + 0x04u))
#define TB_STM32L4_PWR_SR2 (*(volatile uint32_t *)(TB_STM32L4_PWR_BASE + 0x14u))
#define TB_STM32L4_PWR_CR5 (*(volatile uint32_t *)(TB_STM32L4_PWR_BASE + 0x80u))
#define TB_STM32L4_PWR_CR1_VOS_MASK (3u << 9)
#define TB_STM32L4_PWR_CR1_VOS_RANGE1 (1u << 9)
#define TB_STM32L4_PWR_CR2_IOSV (1u << 9) /* VDDIO2 valid: powers PG[15:2] */
#define TB_STM32L4_PWR_SR2_VOSF (1u << 10)
#define TB_STM32L4_PWR_CR5_R1MODE (1u << 8) /* 0 = Range 1 boost (needed above 80 MHz) */

typedef struct {
    volatile uint32_t moder;   /* 0x00 two bits per pin: 01 output, 10 alternate function */
    volatile uint32_t otyper;  /* 0x04 */
    volatile uint32_t ospeedr; /* 0x08 */
    volatile uint32_t pupdr;   /* 0x0c */
    volatile uint32_t idr;     /* 0x10 */
    volatile uint32_t odr;     /* 0x14 */
    volatile uint32_t bsrr;    /* 0x18 low half sets, high half resets */
    volatile uint32_t lckr;    /* 0x1c */
    volatile uint32_t afr[2];  /* 0x20 AFRL, 0x24 AFRH: 4 bits per pin */
} tb_stm32l4_gpio_t;

/* GPIOA at 0x48000000, one port every 0x400 (GPIOF 0x48001400, GPIOG 0x48001800); the port's
 * AHB2ENR enable bit is its index. */
#define TB_STM32L4_GPIO(index) ((tb_stm32l4_gpio_t *)(0x48000000u + 0x400u * (index)))
#define TB_STM32L4_GPIOG_INDEX 6u

#define TB_STM32L4_MSI_RESET_HZ 4000000u /* the clock out of reset */
#define TB_STM32L4_HSI16_HZ 16000000u

/* PLLCFGR with the R output enabled: source (PLLSRC code), M 1..16, N 8..86, R 2/4/6/8.
 * The L4's M field is M - 1 and its R field R/2 - 1. */
uint32_t tb_stm32l4_pllcfgr(uint32_t source, uint32_t m, uint32_t n, uint32_t r);

/* The port's PLLCFGR for a SYSCLK that is a multiple of 4 MHz from HSI16: / M2 = 8 MHz into
 * the VCO, x N = SYSCLK / 4 MHz (VCO = 2 x SYSCLK), / R2. 0 outside 32..120 MHz. */
uint32_t tb_stm32l4_pllcfgr_from_hsi16(uint32_t sysclk_hz);

/* LPUART BRR = round(256 * clock / baud), or 0 where the baud rate cannot be reached:
 * outside 3 * baud <= clock <= 4096 * baud, or a BRR outside 0x300..0xfffff. */
uint32_t tb_stm32l4_lpuart_brr(uint32_t clock_hz, uint32_t baud);

/* Flash wait states in Range 1 on the L4+: one per started 20 MHz of HCLK beyond the first. */
uint32_t tb_stm32l4_flash_latency(uint32_t hclk_hz);

#endif /* TB_STM32L4_H */
