/*
 * tb_stm32f4.h - the STM32F4 registers the port touches (RM0390 for the F446,
 * RM0090 for the F405; addresses and bit positions as collected, with their
 * sources, in ../shared/BOARDS.md §2), and the pure register arithmetic that
 * a host test checks against the numbers there.
 *
 * The USART is the F4's older map (SR/DR/BRR/CR1 at 0x00/0x04/0x08/0x0c),
 * not the ISR/RDR/TDR one of the L4, G0 and H7.
 */
#ifndef TB_STM32F4_H
#define TB_STM32F4_H

#include <stdint.h>

typedef struct {
    volatile uint32_t cr;        /* 0x00 HSION bit0, HSIRDY bit1, PLLON bit24, PLLRDY bit25 */
    volatile uint32_t pllcfgr;   /* 0x04 */
    volatile uint32_t cfgr;      /* 0x08 SW[1:0], SWS[3:2], HPRE[7:4], PPRE1[12:10], PPRE2[15:13] */
    volatile uint32_t cir;       /* 0x0c */
    volatile uint32_t ahb1rstr;  /* 0x10 */
    volatile uint32_t ahb2rstr;  /* 0x14 */
    volatile uint32_t ahb3rstr;  /* 0x18 */
    volatile uint32_t reserved0; /* 0x1c */
    volatile uint32_t apb1rstr;  /* 0x20 */
    volatile uint32_t apb2rstr;  /* 0x24 */
    volatile uint32_t reserved1[2]; /* 0x28 */
    volatile uint32_t ahb1enr;      /* 0x30 GPIOAEN bit0 */
    volatile uint32_t ahb2enr;      /* 0x34 */
    volatile uint32_t ahb3enr;      /* 0x38 */
    volatile uint32_t reserved2;    /* 0x3c */
    volatile uint32_t apb1enr;      /* 0x40 USART2EN bit17, PWREN bit28 */
} tb_stm32f4_rcc_t;

#define TB_STM32F4_RCC ((tb_stm32f4_rcc_t *)0x40023800u)
#define TB_STM32F4_RCC_CR_HSION (1u << 0)
#define TB_STM32F4_RCC_CR_HSIRDY (1u << 1)
#define TB_STM32F4_RCC_CR_PLLON (1u << 24)
#define TB_STM32F4_RCC_CR_PLLRDY (1u << 25)
#define TB_STM32F4_RCC_CFGR_SW_MASK 0x3u
#define TB_STM32F4_RCC_CFGR_SW_PLL 0x2u
#define TB_STM32F4_RCC_CFGR_SWS_MASK 0xcu
#define TB_STM32F4_RCC_CFGR_SWS_PLL 0x8u
#define TB_STM32F4_RCC_CFGR_HPRE_MASK 0xf0u
#define TB_STM32F4_RCC_CFGR_PPRE1_MASK 0x1c00u
#define TB_STM32F4_RCC_CFGR_PPRE1_DIV4 0x1400u
#define TB_STM32F4_RCC_CFGR_PPRE2_MASK 0xe000u
#define TB_STM32F4_RCC_CFGR_PPRE2_DIV2 0x8000u
#define TB_STM32F4_RCC_AHB1ENR_GPIOAEN (1u << 0)
#define TB_STM32F4_RCC_APB1ENR_USART2EN (1u << 17)
#define TB_STM32F4_RCC_APB1ENR_PWREN (1u << 28)

/* FLASH_ACR: LATENCY[3:0], PRFTEN bit8, ICEN bit9, DCEN bit10. */
#define TB_STM32F4_FLASH_ACR (*(volatile uint32_t *)0x40023c00u)
#define TB_STM32F4_FLASH_ACR_LATENCY_MASK 0xfu
#define TB_STM32F4_FLASH_ACR_CACHES ((1u << 8) | (1u << 9) | (1u << 10))

typedef struct {
    volatile uint32_t cr;  /* 0x00 VOS[15:14] (F405: VOS bit14), ODEN bit16, ODSWEN bit17 */
    volatile uint32_t csr; /* 0x04 VOSRDY bit14, ODRDY bit16, ODSWRDY bit17 */
} tb_stm32f4_pwr_t;

#define TB_STM32F4_PWR ((tb_stm32f4_pwr_t *)0x40007000u)
#define TB_STM32F4_PWR_CR_VOS_SCALE1_F405 (1u << 14)
#define TB_STM32F4_PWR_CR_VOS_SCALE1_F446 (3u << 14)
#define TB_STM32F4_PWR_CR_ODEN (1u << 16)
#define TB_STM32F4_PWR_CR_ODSWEN (1u << 17)
#define TB_STM32F4_PWR_CSR_VOSRDY (1u << 14)
#define TB_STM32F4_PWR_CSR_ODRDY (1u << 16)
#define TB_STM32F4_PWR_CSR_ODSWRDY (1u << 17)

typedef struct {
    volatile uint32_t moder;   /* 0x00 two bits per pin: 01 output, 10 alternate function */
    volatile uint32_t otyper;  /* 0x04 */
    volatile uint32_t ospeedr; /* 0x08 */
    volatile uint32_t pupdr;   /* 0x0c */
    volatile uint32_t idr;     /* 0x10 */
    volatile uint32_t odr;     /* 0x14 */
    volatile uint32_t bsrr;    /* 0x18 low half sets, high half resets */
    volatile uint32_t lckr;    /* 0x1c */
    volatile uint32_t afr[2];  /* 0x20 AFRL (pins 0-7), 0x24 AFRH (pins 8-15): 4 bits per pin */
} tb_stm32f4_gpio_t;

#define TB_STM32F4_GPIOA ((tb_stm32f4_gpio_t *)0x40020000u)

typedef struct {
    volatile uint32_t sr;  /* 0x00 RXNE bit5, TC bit6, TXE bit7, ORE bit3 */
    volatile uint32_t dr;  /* 0x04 */
    volatile uint32_t brr; /* 0x08 */
    volatile uint32_t cr1; /* 0x0c RE bit2, TE bit3, RXNEIE bit5, UE bit13, OVER8 bit15 */
    volatile uint32_t cr2; /* 0x10 */
    volatile uint32_t cr3; /* 0x14 */
} tb_stm32f4_usart_t;

#define TB_STM32F4_USART_SR_ORE (1u << 3)
#define TB_STM32F4_USART_SR_RXNE (1u << 5)
#define TB_STM32F4_USART_SR_TXE (1u << 7)
#define TB_STM32F4_USART_CR1_RE (1u << 2)
#define TB_STM32F4_USART_CR1_TE (1u << 3)
#define TB_STM32F4_USART_CR1_RXNEIE (1u << 5)
#define TB_STM32F4_USART_CR1_UE (1u << 13)

/* The HSI, the reset clock: 16 MHz. */
#define TB_STM32F4_HSI_HZ 16000000u

/*
 * PLLCFGR for the HSI as source: M (2..63), N (50..432), P (2, 4, 6 or 8),
 * with Q = 4 and R = 2 kept at their reset values. F4's P field is P/2 - 1.
 */
uint32_t tb_stm32f4_pllcfgr(uint32_t m, uint32_t n, uint32_t p);

/* The port's PLLCFGR for a SYSCLK of whole MHz from the HSI: HSI / M8 = 2 MHz into the VCO,
 * x N = MHz (VCO = 2 x SYSCLK, 100..432 MHz), / P2. 0 for a SYSCLK outside 50..180 MHz. */
uint32_t tb_stm32f4_pllcfgr_from_hsi(uint32_t sysclk_hz);

/* USART BRR for oversampling by 16: round(pclk / baud); 0 if out of 16..0xffff. */
uint32_t tb_stm32f4_usart_brr(uint32_t pclk_hz, uint32_t baud);

/* Flash wait states at 2.7-3.6 V: one per started 30 MHz of HCLK beyond the first. */
uint32_t tb_stm32f4_flash_latency(uint32_t hclk_hz);

#endif /* TB_STM32F4_H */
