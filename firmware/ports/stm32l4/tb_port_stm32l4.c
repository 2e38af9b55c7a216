/*
 * tb_port_stm32l4.c - port.h for the STM32L4+ on the NUCLEO-L4R5ZI (the MLPerf
 * Tiny reference board): HSI16 -> PLL at the manifest's cpu_hz (120 MHz) in
 * Range 1 boost mode, LPUART1 on PG7/PG8 (the ST-LINK virtual COM port),
 * clocked from HSI16 so that 115200 and 9600 baud both have a BRR whatever
 * SYSCLK is, and the timestamp pin of the manifest (PF13 = Arduino D7, idle
 * high). LPUART1 has the v2 USART map, so it is driven through
 * ../stm32_common/tb_stm32_console.h; its receive ring, startup, the DWT
 * counter and semihosting come from firmware/ports/cortex_m.
 *
 * No QEMU machine models an STM32L4: this port is built in CI, its register
 * arithmetic (PLLCFGR, BRR, wait states) is checked on the host, and its
 * F4-like structure (bounded waits, pin set-up) and the shared RX ring run on
 * qemu-stm32f4.
 */
#include "port.h"

#include "../stm32_common/tb_stm32_console.h"
#include "tb_board_config.h"
#include "tb_cortexm.h"
#include "tb_stm32l4.h"

#if TB_BOARD_CPU_HZ % 4000000u != 0u || TB_BOARD_CPU_HZ / 1000000u < 32u ||                        \
    TB_BOARD_CPU_HZ / 1000000u > 120u
#error "the STM32L4 port runs the PLL at a multiple of 4 MHz, 32 to 120 MHz"
#endif
#define TB_NEEDS_BOOST (TB_BOARD_CPU_HZ / 1000000u > 80u) /* Range 1 normal mode stops at 80 MHz */

/* Ready-flag bound: a few ms at the 4 MHz reset clock; a PLL locks in well under 0.1 ms. */
#define TB_WAIT_LOOPS 50000u
/* RM0432: hold HCLK at SYSCLK / 2 for at least 1 us when switching above 80 MHz. */
#define TB_HALF_SPEED_HOLD_LOOPS 128u

#define TB_LPUART1 TB_STM32_CONSOLE /* the v2 USART map (tb_stm32_usart.h) */
#if TB_BOARD_UART_BASE != 0x40008000u
#error "the STM32L4 port drives LPUART1 on PG7/PG8: [uart] base must be 0x40008000"
#endif
#define TB_PG7_TX 7u
#define TB_PG8_RX 8u
#define TB_AF8_LPUART1 8u

#if TB_BOARD_UART_IRQ_COUNT != 1
#error "the STM32L4 port takes exactly one UART interrupt (LPUART1: 70) in [uart] irqs"
#endif
static const uint32_t s_uart_irqs[1] = TB_BOARD_UART_IRQS;

static uint32_t s_cpu_hz = TB_STM32L4_MSI_RESET_HZ;

/* 1 when (*reg & mask) == want within the bound, 0 when it gave up. */
static int wait_for(const volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    uint32_t i;

    for (i = 0u; i < TB_WAIT_LOOPS; i++) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

/* The supply first: Range 1, then boost (R1MODE cleared, not set), then the VOS settling. */
static void supply_init(void)
{
    TB_STM32L4_RCC_APB1ENR1 |= TB_STM32L4_RCC_APB1ENR1_PWREN;
    (void)TB_STM32L4_RCC_APB1ENR1; /* the clock must be on before the first PWR access */
    TB_STM32L4_PWR_CR1 =
        (TB_STM32L4_PWR_CR1 & ~TB_STM32L4_PWR_CR1_VOS_MASK) | TB_STM32L4_PWR_CR1_VOS_RANGE1;
    if (TB_NEEDS_BOOST) {
        TB_STM32L4_PWR_CR5 &= ~TB_STM32L4_PWR_CR5_R1MODE;
    }
    (void)wait_for(&TB_STM32L4_PWR_SR2, TB_STM32L4_PWR_SR2_VOSF, 0u);
}

/*
 * HSI16 -> PLL (RM0432 §6.2, the HAL's order): supply, HSI16, wait states,
 * PLL, then SYSCLK = PLL through HCLK = SYSCLK / 2 for the step above 80 MHz.
 * Returns the SYSCLK it ends with; on any failure the part stays on the MSI.
 */
static uint32_t clock_init(void)
{
    uint32_t latency = tb_stm32l4_flash_latency(TB_BOARD_CPU_HZ);
    uint32_t i;

    supply_init();
    TB_STM32L4_RCC_CR |= TB_STM32L4_RCC_CR_HSION;
    if (!wait_for(&TB_STM32L4_RCC_CR, TB_STM32L4_RCC_CR_HSIRDY, TB_STM32L4_RCC_CR_HSIRDY)) {
        return TB_STM32L4_MSI_RESET_HZ;
    }
    TB_STM32L4_FLASH_ACR = (TB_STM32L4_FLASH_ACR & ~TB_STM32L4_FLASH_ACR_LATENCY_MASK) |
                           TB_STM32L4_FLASH_ACR_CACHES | latency;
    if (!wait_for(&TB_STM32L4_FLASH_ACR, TB_STM32L4_FLASH_ACR_LATENCY_MASK, latency)) {
        return TB_STM32L4_MSI_RESET_HZ; /* never run fast with too few wait states */
    }

    TB_STM32L4_RCC_CR &= ~TB_STM32L4_RCC_CR_PLLON;
    (void)wait_for(&TB_STM32L4_RCC_CR, TB_STM32L4_RCC_CR_PLLRDY, 0u);
    TB_STM32L4_RCC_PLLCFGR = tb_stm32l4_pllcfgr_from_hsi16(TB_BOARD_CPU_HZ);
    TB_STM32L4_RCC_CR |= TB_STM32L4_RCC_CR_PLLON;
    if (!wait_for(&TB_STM32L4_RCC_CR, TB_STM32L4_RCC_CR_PLLRDY, TB_STM32L4_RCC_CR_PLLRDY)) {
        return TB_STM32L4_MSI_RESET_HZ;
    }

    /* HCLK / 2 across the switch, APB1 / 2 (PCLK1 60 MHz at 120), APB2 / 1. */
    TB_STM32L4_RCC_CFGR =
        (TB_STM32L4_RCC_CFGR & ~(TB_STM32L4_RCC_CFGR_HPRE_MASK | TB_STM32L4_RCC_CFGR_PPRE1_MASK |
                                 TB_STM32L4_RCC_CFGR_PPRE2_MASK)) |
        TB_STM32L4_RCC_CFGR_HPRE_DIV2 | TB_STM32L4_RCC_CFGR_PPRE1_DIV2;
    TB_STM32L4_RCC_CFGR =
        (TB_STM32L4_RCC_CFGR & ~TB_STM32L4_RCC_CFGR_SW_MASK) | TB_STM32L4_RCC_CFGR_SW_PLL;
    if (!wait_for(&TB_STM32L4_RCC_CFGR, TB_STM32L4_RCC_CFGR_SWS_MASK,
                  TB_STM32L4_RCC_CFGR_SWS_PLL)) {
        TB_STM32L4_RCC_CFGR &= ~TB_STM32L4_RCC_CFGR_HPRE_MASK;
        return TB_STM32L4_MSI_RESET_HZ;
    }
    for (i = 0u; i < TB_HALF_SPEED_HOLD_LOOPS; i++) {
        __asm volatile("nop");
    }
    TB_STM32L4_RCC_CFGR &= ~TB_STM32L4_RCC_CFGR_HPRE_MASK;
    return TB_BOARD_CPU_HZ;
}

/* Pin n of a GPIO port to alternate function af (MODER 10, AFR nibble, high speed). */
static void gpio_alternate(tb_stm32l4_gpio_t *gpio, uint32_t pin, uint32_t af, uint32_t pull)
{
    gpio->afr[pin / 8u] =
        (gpio->afr[pin / 8u] & ~(0xfu << (4u * (pin % 8u)))) | (af << (4u * (pin % 8u)));
    gpio->ospeedr |= 3u << (2u * pin);
    gpio->pupdr = (gpio->pupdr & ~(3u << (2u * pin))) | (pull << (2u * pin));
    gpio->moder = (gpio->moder & ~(3u << (2u * pin))) | (2u << (2u * pin));
}

/* LPUART1 from HSI16: its BRR does not depend on SYSCLK (0x8ae4 at 115200, 0x682ab at 9600). */
static void lpuart_init(void)
{
    uint32_t brr = tb_stm32l4_lpuart_brr(TB_STM32L4_HSI16_HZ, TB_BOARD_UART_BAUD);

    TB_STM32L4_RCC_CR |= TB_STM32L4_RCC_CR_HSION; /* also when the PLL set-up gave up */
    (void)wait_for(&TB_STM32L4_RCC_CR, TB_STM32L4_RCC_CR_HSIRDY, TB_STM32L4_RCC_CR_HSIRDY);
    TB_STM32L4_RCC_CCIPR = (TB_STM32L4_RCC_CCIPR & ~TB_STM32L4_RCC_CCIPR_LPUART1SEL_MASK) |
                           TB_STM32L4_RCC_CCIPR_LPUART1SEL_HSI16;
    TB_STM32L4_RCC_APB1ENR2 |= TB_STM32L4_RCC_APB1ENR2_LPUART1EN;
    TB_STM32L4_RCC_AHB2ENR |= 1u << TB_STM32L4_GPIOG_INDEX;
    (void)TB_STM32L4_RCC_AHB2ENR;
    /* PG7/PG8 are on VDDIO2, dead until IOSV says it is valid (the PWR clock is on). */
    TB_STM32L4_PWR_CR2 |= TB_STM32L4_PWR_CR2_IOSV;
    gpio_alternate(TB_STM32L4_GPIO(TB_STM32L4_GPIOG_INDEX), TB_PG7_TX, TB_AF8_LPUART1, 0u);
    gpio_alternate(TB_STM32L4_GPIO(TB_STM32L4_GPIOG_INDEX), TB_PG8_RX, TB_AF8_LPUART1, 1u);

    TB_LPUART1->cr1 = 0u; /* BRR and PRESC are writable only while UE = 0 */
    TB_LPUART1->presc = 0u;
    TB_LPUART1->brr = brr;
    TB_LPUART1->cr1 = TB_USART_CR1_UE | TB_USART_CR1_TE | TB_USART_CR1_RE | TB_USART_CR1_RXNEIE;
    TB_NVIC_ISER[s_uart_irqs[0] / 32u] = 1u << (s_uart_irqs[0] % 32u);
}

#if TB_BOARD_UART_BAUD != 115200u && TB_BOARD_UART_BAUD != 9600u
#error "the STM32L4 port's LPUART1 is checked at 115200 and 9600 baud only"
#endif

#ifdef TB_BOARD_TIMESTAMP_PIN
#define TB_TS_GPIO TB_STM32L4_GPIO(TB_BOARD_TIMESTAMP_PORT)
#define TB_TS_BIT (1u << TB_BOARD_TIMESTAMP_PIN)

/* Push-pull output at the inactive level (high for PF13) before it is driven: the first pulse
 * must be an edge. PF13 is on VDDIO, not VDDIO2. */
static void timestamp_init(void)
{
    TB_STM32L4_RCC_AHB2ENR |= 1u << TB_BOARD_TIMESTAMP_PORT;
    (void)TB_STM32L4_RCC_AHB2ENR;
    TB_TS_GPIO->bsrr = TB_BOARD_TIMESTAMP_ACTIVE_LOW ? TB_TS_BIT : TB_TS_BIT << 16;
    TB_TS_GPIO->moder = (TB_TS_GPIO->moder & ~(3u << (2u * TB_BOARD_TIMESTAMP_PIN))) |
                        (1u << (2u * TB_BOARD_TIMESTAMP_PIN));
}

void tb_port_timestamp_pulse(void)
{
    uint64_t start = tb_port_counter();
    /* >= the manifest's [timestamp] hold_us */
    uint64_t hold = (uint64_t)(tb_port_counter_hz() / 1000000u) * TB_BOARD_TIMESTAMP_HOLD_US + 1u;

    TB_TS_GPIO->bsrr = TB_BOARD_TIMESTAMP_ACTIVE_LOW ? TB_TS_BIT << 16 : TB_TS_BIT;
    while (tb_port_counter() - start < hold) {
    }
    TB_TS_GPIO->bsrr = TB_BOARD_TIMESTAMP_ACTIVE_LOW ? TB_TS_BIT : TB_TS_BIT << 16;
}
#else
static void timestamp_init(void)
{
    /* No [timestamp] pin in the manifest. */
}
#endif

void tb_port_init(void)
{
    s_cpu_hz = clock_init();
    tb_cm_uart_start();
    lpuart_init();
    timestamp_init();
    tb_cm_counter_start();
}

uint32_t tb_port_cpu_hz(void)
{
    return s_cpu_hz;
}
