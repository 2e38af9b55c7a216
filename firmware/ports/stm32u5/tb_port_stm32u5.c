/*
 * tb_port_stm32u5.c - port.h for the STM32U575 (NUCLEO-U575ZI-Q, Cortex-M33,
 * the core of qemu-m33): voltage range 1 with the EPOD booster, 160 MHz from
 * HSI16 through PLL1, USART1 on PA9/PA10 (the ST-LINK virtual COM port), the
 * timestamp pin PF13 (Arduino D7), DWT as the counter. TrustZone is off (TZEN
 * = 0, the board's default option byte), so the non-secure aliases are used.
 *
 * BOARDS.md has no U5 section. Sources read (not copied): wolfSSL/wolfBoot
 * hal/stm32u5.h (RM0456 addresses and bits: RCC 0x46020c00, PWR 0x46020800,
 * FLASH 0x40022000, CR/CFGR1/CFGR2/PLL1CFGR/PLL1DIVR/AHB2ENR1/AHB3ENR offsets,
 * VOSR bits), Zephyr boards/st/nucleo_u575zi_q (USART1 PA9/PA10 on the VCP).
 * Unverified (from RM0456 as remembered, no second source here): APB2ENR at
 * 0xa4 with USART1EN bit 14, the USART1 line 61, 4 wait states at 160 MHz,
 * AF7 for USART1 on PA9/PA10, PF13 as D7. Nothing here ran on silicon.
 */
#include "port.h"

#include "../stm32_common/tb_stm32_console.h"
#include "../stm32_common/tb_stm32_usart.h"
#include "tb_board_config.h"
#include "tb_cortexm.h"

typedef struct {
    volatile uint32_t cr;       /* 0x00 HSION bit8, HSIRDY bit10, PLL1ON bit24, PLL1RDY bit25 */
    volatile uint32_t pad0[6];  /* 0x04-0x18 */
    volatile uint32_t cfgr1;    /* 0x1c SW bits 1:0, SWS bits 3:2 */
    volatile uint32_t cfgr2;    /* 0x20 HPRE 3:0, PPRE1 6:4, PPRE2 10:8 */
    volatile uint32_t cfgr3;    /* 0x24 PPRE3 6:4 */
    volatile uint32_t pll1cfgr; /* 0x28 SRC 1:0, RGE 3:2, FRACEN 4, M-1 11:8, MBOOST 15:12, PEN.. */
    volatile uint32_t pad1[2];  /* 0x2c-0x30 */
    volatile uint32_t pll1divr; /* 0x34 N-1 8:0, P-1 15:9, Q-1 22:16, R-1 30:24 */
    volatile uint32_t pad2[21]; /* 0x38-0x88 */
    volatile uint32_t ahb2enr1; /* 0x8c GPIOxEN bit x (A = 0) */
    volatile uint32_t pad3;     /* 0x90 */
    volatile uint32_t ahb3enr;  /* 0x94 PWREN bit2 */
    volatile uint32_t pad4[3];  /* 0x98-0xa0 */
    volatile uint32_t apb2enr;  /* 0xa4 USART1EN bit14 (unverified) */
} tb_u5_rcc_regs_t;

#define TB_U5_RCC ((tb_u5_rcc_regs_t *)0x46020c00u)
#define TB_U5_PWR_VOSR (*(volatile uint32_t *)0x4602080cu)  /* VOS 17:16, BOOSTEN 18 */
#define TB_U5_FLASH_ACR (*(volatile uint32_t *)0x40022000u) /* LATENCY bits 3:0 */
#define TB_U5_USART1 ((tb_stm32_usart_regs_t *)TB_BOARD_UART_BASE)

#define TB_U5_VOSR_RANGE1_BOOST ((3u << 16) | (1u << 18))
#define TB_U5_VOSR_READY ((1u << 15) | (1u << 14)) /* VOSRDY, BOOSTRDY */
#define TB_U5_CR_HSION (1u << 8)
#define TB_U5_CR_HSIRDY (1u << 10)
#define TB_U5_CR_PLL1ON (1u << 24)
#define TB_U5_CR_PLL1RDY (1u << 25)
/* HSI16 (2) / M = 1: 16 MHz in (range 3: 8-16 MHz), MBOOST /1, R output on; x20 = 320 MHz; /2. */
#define TB_U5_PLL1CFGR ((1u << 18) | (3u << 2) | 2u)
#define TB_U5_PLL1DIVR ((1u << 24) | (1u << 16) | (1u << 9) | 19u) /* R2 Q2 P2 N20 */
#define TB_U5_FLASH_LATENCY_4 4u
#define TB_U5_CFGR1_SW_PLL1 3u
#define TB_U5_CFGR1_SWS_PLL1 (3u << 2)

#define TB_U5_PIN_TX 9u  /* PA9, AF7 = USART1_TX */
#define TB_U5_PIN_RX 10u /* PA10, AF7 = USART1_RX */
#define TB_U5_AF_USART1 7u

/* GPIO ports 0x400 apart from GPIOA (0x42020000, AHB2, non-secure alias: RM0456).
 * The timestamp pin is the manifest's [timestamp] pin. */
#define TB_U5_GPIO(index) ((tb_stm32_gpio_regs_t *)(0x42020000u + 0x400u * (index)))
#define TB_U5_TIMESTAMP_GPIO TB_U5_GPIO(TB_BOARD_TIMESTAMP_PORT)

#ifndef TB_BOARD_TIMESTAMP_PIN
#error "this port drives the manifest's [timestamp] pin: name it (e.g. pin = \"PA8\")"
#endif
static const uint32_t s_uart_irqs[TB_BOARD_UART_IRQ_COUNT] = TB_BOARD_UART_IRQS;
static uint32_t s_cpu_hz = 4000000u; /* MSIS at reset */

/* Range 1 and the booster, then wait states, then PLL1 and the switch; all waits bounded. */
static void clock_init(void)
{
    TB_U5_RCC->ahb3enr |= 1u << 2; /* PWR */
    (void)TB_U5_RCC->ahb3enr;
    TB_U5_PWR_VOSR = (TB_U5_PWR_VOSR & ~(3u << 16)) | TB_U5_VOSR_RANGE1_BOOST;
    if (!tb_stm32_wait_set(&TB_U5_PWR_VOSR, TB_U5_VOSR_READY)) {
        return;
    }
    TB_U5_RCC->cr |= TB_U5_CR_HSION;
    if (!tb_stm32_wait_set(&TB_U5_RCC->cr, TB_U5_CR_HSIRDY)) {
        return;
    }
    TB_U5_FLASH_ACR = (TB_U5_FLASH_ACR & ~0xfu) | TB_U5_FLASH_LATENCY_4;
    if (!tb_stm32_wait_field(&TB_U5_FLASH_ACR, 0xfu, TB_U5_FLASH_LATENCY_4)) {
        return;
    }
    TB_U5_RCC->pll1cfgr = TB_U5_PLL1CFGR;
    TB_U5_RCC->pll1divr = TB_U5_PLL1DIVR;
    TB_U5_RCC->cr |= TB_U5_CR_PLL1ON;
    if (!tb_stm32_wait_set(&TB_U5_RCC->cr, TB_U5_CR_PLL1RDY)) {
        return;
    }
    TB_U5_RCC->cfgr2 = 0u; /* AHB, APB1, APB2 at SYSCLK */
    TB_U5_RCC->cfgr3 = 0u; /* APB3 at SYSCLK */
    TB_U5_RCC->cfgr1 = (TB_U5_RCC->cfgr1 & ~3u) | TB_U5_CFGR1_SW_PLL1;
    if (tb_stm32_wait_field(&TB_U5_RCC->cfgr1, 3u << 2, TB_U5_CFGR1_SWS_PLL1)) {
        s_cpu_hz = TB_BOARD_CPU_HZ;
    }
}

void tb_port_init(void)
{
    clock_init();
    TB_U5_RCC->ahb2enr1 |= 1u | (1u << TB_BOARD_TIMESTAMP_PORT); /* GPIOA, the pin's port */
    TB_U5_RCC->apb2enr |= 1u << 14; /* USART1 (kernel clock PCLK2 at reset) */
    (void)TB_U5_RCC->apb2enr;
    tb_stm32_gpio_alternate(TB_U5_GPIO(0u), TB_U5_PIN_TX, TB_U5_AF_USART1, 0);
    tb_stm32_gpio_alternate(TB_U5_GPIO(0u), TB_U5_PIN_RX, TB_U5_AF_USART1, 1);
    tb_stm32_gpio_output(TB_U5_TIMESTAMP_GPIO, TB_BOARD_TIMESTAMP_PIN,
                         TB_BOARD_TIMESTAMP_ACTIVE_LOW);
    tb_cm_uart_start();
    tb_stm32_usart_start(TB_U5_USART1, s_cpu_hz, TB_BOARD_UART_BAUD);
    tb_stm32_nvic_enable(s_uart_irqs, TB_BOARD_UART_IRQ_COUNT);
    tb_cm_counter_start();
}

void tb_port_timestamp_pulse(void)
{
    tb_stm32_pulse(TB_U5_TIMESTAMP_GPIO, TB_BOARD_TIMESTAMP_PIN, TB_BOARD_TIMESTAMP_ACTIVE_LOW,
                   s_cpu_hz, TB_BOARD_TIMESTAMP_HOLD_US);
}

uint32_t tb_port_cpu_hz(void)
{
    return s_cpu_hz;
}
