/*
 * tb_port_stm32g0.c - port.h for the STM32G071 (NUCLEO-G071RB, Cortex-M0+):
 * 64 MHz from HSI16 through the PLL, USART2 on PA2/PA3 (the ST-LINK virtual
 * COM port), the timestamp pin, SysTick as the counter (ARMv6-M has no DWT
 * cycle counter). Registers from RM0444 as BOARDS.md section 6 lists them;
 * nothing here ran on silicon (no board; no QEMU machine has a G0).
 */
#include "port.h"

#include "../stm32_common/tb_stm32_console.h"
#include "../stm32_common/tb_stm32_usart.h"
#include "tb_board_config.h"
#include "tb_cortexm.h"

typedef struct {
    volatile uint32_t cr;      /* 0x00 HSION bit8, HSIRDY bit10, PLLON bit24, PLLRDY bit25 */
    volatile uint32_t icscr;   /* 0x04 */
    volatile uint32_t cfgr;    /* 0x08 SW bits 2:0, SWS bits 5:3 */
    volatile uint32_t pllcfgr; /* 0x0c */
    volatile uint32_t pad0[9]; /* 0x10-0x30 */
    volatile uint32_t iopenr;  /* 0x34 GPIOAEN bit0 */
    volatile uint32_t ahbenr;  /* 0x38 */
    volatile uint32_t apbenr1; /* 0x3c USART2EN bit17, PWREN bit28 */
    volatile uint32_t apbenr2; /* 0x40 */
    volatile uint32_t pad1[4]; /* 0x44-0x50 */
    volatile uint32_t ccipr;   /* 0x54 USART2SEL bits 3:2 (00: PCLK) */
} tb_g0_rcc_regs_t;

#define TB_G0_RCC ((tb_g0_rcc_regs_t *)0x40021000u)
#define TB_G0_FLASH_ACR (*(volatile uint32_t *)0x40022000u) /* LATENCY bits 2:0 */
#define TB_G0_USART2 ((tb_stm32_usart_regs_t *)TB_BOARD_UART_BASE)

#define TB_G0_CR_PLLON (1u << 24)
#define TB_G0_CR_PLLRDY (1u << 25)
/* PLLSRC = HSI16 (2), PLLM = 1 (field 0), PLLN = 8, PLLREN, PLLR = 2 (field 1): 128 MHz VCO, 64 MHz. */
#define TB_G0_PLLCFGR_64MHZ 0x30000802u
#define TB_G0_CFGR_SW_PLLR 2u
#define TB_G0_CFGR_SWS_PLLR (2u << 3)
#define TB_G0_FLASH_LATENCY_2 2u

#define TB_G0_PIN_TX 2u /* PA2, AF1 = USART2_TX */
#define TB_G0_PIN_RX 3u /* PA3, AF1 = USART2_RX */
#define TB_G0_AF_USART2 1u

/* GPIO ports 0x400 apart from GPIOA (0x50000000, the IOPORT bus, not AHB as on L4: RM0444).
 * The timestamp pin is the manifest's [timestamp] pin. */
#define TB_G0_GPIO(index) ((tb_stm32_gpio_regs_t *)(0x50000000u + 0x400u * (index)))
#define TB_G0_TIMESTAMP_GPIO TB_G0_GPIO(TB_BOARD_TIMESTAMP_PORT)

#ifndef TB_BOARD_TIMESTAMP_PIN
#error "this port drives the manifest's [timestamp] pin: name it (e.g. pin = \"PA8\")"
#endif
static const uint32_t s_uart_irqs[TB_BOARD_UART_IRQ_COUNT] = TB_BOARD_UART_IRQS;
static uint32_t s_cpu_hz = 16000000u; /* HSI16 until the PLL runs */

/* 2 wait states first, then the PLL, then the switch; each wait is bounded. */
static void clock_init(void)
{
    TB_G0_FLASH_ACR = (TB_G0_FLASH_ACR & ~7u) | TB_G0_FLASH_LATENCY_2;
    if (!tb_stm32_wait_field(&TB_G0_FLASH_ACR, 7u, TB_G0_FLASH_LATENCY_2)) {
        return; /* stay on HSI16 at 0 wait states' worth of speed */
    }
    TB_G0_RCC->cr &= ~TB_G0_CR_PLLON;
    (void)tb_stm32_wait_field(&TB_G0_RCC->cr, TB_G0_CR_PLLRDY, 0u);
    TB_G0_RCC->pllcfgr = TB_G0_PLLCFGR_64MHZ;
    TB_G0_RCC->cr |= TB_G0_CR_PLLON;
    if (!tb_stm32_wait_set(&TB_G0_RCC->cr, TB_G0_CR_PLLRDY)) {
        return;
    }
    TB_G0_RCC->cfgr = (TB_G0_RCC->cfgr & ~7u) | TB_G0_CFGR_SW_PLLR;
    if (tb_stm32_wait_field(&TB_G0_RCC->cfgr, 7u << 3, TB_G0_CFGR_SWS_PLLR)) {
        s_cpu_hz = TB_BOARD_CPU_HZ;
    }
}

void tb_port_init(void)
{
    clock_init();
    TB_G0_RCC->iopenr |= 1u | (1u << TB_BOARD_TIMESTAMP_PORT); /* GPIOA, the pin's port */
    TB_G0_RCC->apbenr1 |= 1u << 17;                            /* USART2 */
    TB_G0_RCC->ccipr &= ~(3u << 2); /* USART2 kernel clock = PCLK (= SYSCLK here) */
    tb_stm32_gpio_alternate(TB_G0_GPIO(0u), TB_G0_PIN_TX, TB_G0_AF_USART2, 0);
    tb_stm32_gpio_alternate(TB_G0_GPIO(0u), TB_G0_PIN_RX, TB_G0_AF_USART2, 1);
    tb_stm32_gpio_output(TB_G0_TIMESTAMP_GPIO, TB_BOARD_TIMESTAMP_PIN,
                         TB_BOARD_TIMESTAMP_ACTIVE_LOW);
    tb_cm_uart_start();
    tb_stm32_usart_start(TB_G0_USART2, s_cpu_hz, TB_BOARD_UART_BAUD);
    tb_stm32_nvic_enable(s_uart_irqs, TB_BOARD_UART_IRQ_COUNT);
    tb_cm_counter_start();
}

void tb_port_timestamp_pulse(void)
{
    tb_stm32_pulse(TB_G0_TIMESTAMP_GPIO, TB_BOARD_TIMESTAMP_PIN, TB_BOARD_TIMESTAMP_ACTIVE_LOW,
                   s_cpu_hz, TB_BOARD_TIMESTAMP_HOLD_US);
}

/* The clock actually running: the info line then says so if the PLL did not lock. */
uint32_t tb_port_cpu_hz(void)
{
    return s_cpu_hz;
}
