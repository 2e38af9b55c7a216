/*
 * tb_port_stm32f4.c - port.h for the STM32F4 (NUCLEO-F446RE; QEMU's
 * netduinoplus2, an STM32F405): HSI -> PLL at the manifest's cpu_hz, USART2
 * on PA2/PA3 (the NUCLEO's ST-LINK virtual COM port), and the timestamp pin
 * of the manifest. Startup, counter, semihosting and the interrupt-filled
 * receive ring (tb_cm_uart.c, on this file's USART2 operations) come from
 * firmware/ports/cortex_m.
 *
 * Every ready-flag wait is bounded and gives up: QEMU models no RCC, PWR,
 * FLASH or GPIO (they read 0, ../shared/BOARDS.md §2), and a real part whose
 * PLL does not lock must still talk. tb_port_cpu_hz() then reports the clock
 * the part actually runs, which the host checks against the manifest.
 */
#include "port.h"

#include "tb_board_config.h"
#include "tb_cm_uart.h"
#include "tb_cortexm.h"
#include "tb_stm32f4.h"

#define TB_CLOCK_MHZ (TB_BOARD_CPU_HZ / 1000000u)
#if TB_BOARD_CPU_HZ % 1000000u != 0u || TB_CLOCK_MHZ < 50u || TB_CLOCK_MHZ > 180u
#error "the STM32F4 port runs the PLL at a whole number of MHz, 50 to 180"
#endif
/* Above 168 MHz the F446 needs over-drive; the F405 stops at 168 MHz and has none. */
#define TB_NEEDS_OVERDRIVE (TB_CLOCK_MHZ > 168u)
#define TB_APB1_DIV 4u /* PCLK1 <= 45 MHz (F446) or 42 MHz (F405) */

/* Ready-flag wait bounds: a few ms on silicon at 16 MHz (a PLL locks in ~0.1 ms), and a token
 * one where the RCC is not modelled, since there every wait fails and USART2 drops what
 * arrives before it is enabled, so the boot must stay short. */
#define TB_WAIT_LOOPS 200000u
#define TB_WAIT_LOOPS_UNMODELLED 16u

/* The console is USART2 on PA2/PA3 (AF7) on every board of this port; its base comes from the
 * manifest, and is checked to be USART2's. */
#define TB_USART2 ((tb_stm32f4_usart_t *)TB_BOARD_UART_BASE)
#if TB_BOARD_UART_BASE != 0x40004400u
#error "the STM32F4 port drives USART2 on PA2/PA3: [uart] base must be 0x40004400"
#endif
#define TB_PA2_TX 2u
#define TB_PA3_RX 3u
#define TB_AF7_USART2 7u

#if TB_BOARD_UART_IRQ_COUNT != 1
#error "the STM32F4 port takes exactly one UART interrupt (USART2: 38) in [uart] irqs"
#endif
static const uint32_t s_uart_irqs[1] = TB_BOARD_UART_IRQS;

static uint32_t s_wait_loops = TB_WAIT_LOOPS;
static uint32_t s_cpu_hz = TB_STM32F4_HSI_HZ;   /* SYSCLK = HCLK */
static uint32_t s_pclk1_hz = TB_STM32F4_HSI_HZ; /* the USART2 kernel clock */

/* 1 when (*reg & mask) == want within the bound, 0 when it gave up. */
static int wait_for(const volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    uint32_t i;

    for (i = 0u; i < s_wait_loops; i++) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

/*
 * HSI -> PLL in the order of RM0390 §6.3 (supply scale, flash latency, PLL,
 * over-drive, bus prescalers, switch). Returns the SYSCLK it ends with and
 * sets s_pclk1_hz.
 */
static uint32_t clock_init(void)
{
    tb_stm32f4_rcc_t *rcc = TB_STM32F4_RCC;
    tb_stm32f4_pwr_t *pwr = TB_STM32F4_PWR;
    /* On silicon HSIRDY is set out of reset (the core runs on the HSI). Reading 0 means an RCC
     * that is not modelled, as under QEMU: then the machine's clock is fixed (netduinoplus2:
     * 168 MHz) and is the manifest's. */
    int rcc_modelled = (rcc->cr & TB_STM32F4_RCC_CR_HSIRDY) != 0u;
    uint32_t latency = tb_stm32f4_flash_latency(TB_BOARD_CPU_HZ);
    int pll_locked;

    s_wait_loops = rcc_modelled ? TB_WAIT_LOOPS : TB_WAIT_LOOPS_UNMODELLED;
    rcc->cr |= TB_STM32F4_RCC_CR_HSION;
    (void)wait_for(&rcc->cr, TB_STM32F4_RCC_CR_HSIRDY, TB_STM32F4_RCC_CR_HSIRDY);
    rcc->apb1enr |= TB_STM32F4_RCC_APB1ENR_PWREN;
    (void)rcc->apb1enr; /* the clock must be on before the first PWR access */
    pwr->cr |=
        TB_NEEDS_OVERDRIVE ? TB_STM32F4_PWR_CR_VOS_SCALE1_F446 : TB_STM32F4_PWR_CR_VOS_SCALE1_F405;

    /* More wait states first: they are safe at the slower clock too. */
    TB_STM32F4_FLASH_ACR = (TB_STM32F4_FLASH_ACR & ~TB_STM32F4_FLASH_ACR_LATENCY_MASK) |
                           TB_STM32F4_FLASH_ACR_CACHES | latency;
    if (!wait_for(&TB_STM32F4_FLASH_ACR, TB_STM32F4_FLASH_ACR_LATENCY_MASK, latency) &&
        rcc_modelled) {
        return TB_STM32F4_HSI_HZ; /* never run fast with too few wait states */
    }

    rcc->pllcfgr = tb_stm32f4_pllcfgr_from_hsi(TB_BOARD_CPU_HZ);
    rcc->cr |= TB_STM32F4_RCC_CR_PLLON;
    pll_locked = wait_for(&rcc->cr, TB_STM32F4_RCC_CR_PLLRDY, TB_STM32F4_RCC_CR_PLLRDY);
    (void)wait_for(&pwr->csr, TB_STM32F4_PWR_CSR_VOSRDY, TB_STM32F4_PWR_CSR_VOSRDY);
    if (TB_NEEDS_OVERDRIVE) {
        pwr->cr |= TB_STM32F4_PWR_CR_ODEN;
        (void)wait_for(&pwr->csr, TB_STM32F4_PWR_CSR_ODRDY, TB_STM32F4_PWR_CSR_ODRDY);
        pwr->cr |= TB_STM32F4_PWR_CR_ODSWEN;
        (void)wait_for(&pwr->csr, TB_STM32F4_PWR_CSR_ODSWRDY, TB_STM32F4_PWR_CSR_ODSWRDY);
    }
    if (!pll_locked && rcc_modelled) {
        return TB_STM32F4_HSI_HZ;
    }

    /* AHB / 1, APB1 / 4, APB2 / 2, then SYSCLK = PLL. */
    rcc->cfgr = (rcc->cfgr & ~(TB_STM32F4_RCC_CFGR_HPRE_MASK | TB_STM32F4_RCC_CFGR_PPRE1_MASK |
                               TB_STM32F4_RCC_CFGR_PPRE2_MASK)) |
                TB_STM32F4_RCC_CFGR_PPRE1_DIV4 | TB_STM32F4_RCC_CFGR_PPRE2_DIV2;
    rcc->cfgr = (rcc->cfgr & ~TB_STM32F4_RCC_CFGR_SW_MASK) | TB_STM32F4_RCC_CFGR_SW_PLL;
    if (wait_for(&rcc->cfgr, TB_STM32F4_RCC_CFGR_SWS_MASK, TB_STM32F4_RCC_CFGR_SWS_PLL) ||
        !rcc_modelled) {
        s_pclk1_hz = TB_BOARD_CPU_HZ / TB_APB1_DIV;
        return TB_BOARD_CPU_HZ;
    }
    s_pclk1_hz = TB_STM32F4_HSI_HZ / TB_APB1_DIV;
    return TB_STM32F4_HSI_HZ;
}

/* Pin n of a GPIO port to alternate function af (MODER 10, AFR nibble, high speed). */
static void gpio_alternate(tb_stm32f4_gpio_t *gpio, uint32_t pin, uint32_t af, uint32_t pull)
{
    gpio->afr[pin / 8u] =
        (gpio->afr[pin / 8u] & ~(0xfu << (4u * (pin % 8u)))) | (af << (4u * (pin % 8u)));
    gpio->ospeedr |= 3u << (2u * pin);
    gpio->pupdr = (gpio->pupdr & ~(3u << (2u * pin))) | (pull << (2u * pin));
    gpio->moder = (gpio->moder & ~(3u << (2u * pin))) | (2u << (2u * pin));
}

static void usart_init(uint32_t pclk1_hz)
{
    tb_stm32f4_rcc_t *rcc = TB_STM32F4_RCC;
    uint32_t brr = tb_stm32f4_usart_brr(pclk1_hz, TB_BOARD_UART_BAUD);

    rcc->ahb1enr |= TB_STM32F4_RCC_AHB1ENR_GPIOAEN;
    rcc->apb1enr |= TB_STM32F4_RCC_APB1ENR_USART2EN;
    (void)rcc->apb1enr;
    gpio_alternate(TB_STM32F4_GPIOA, TB_PA2_TX, TB_AF7_USART2, 0u);
    gpio_alternate(TB_STM32F4_GPIOA, TB_PA3_RX, TB_AF7_USART2, 1u); /* pull-up: idle line high */

    TB_USART2->cr1 = 0u;
    TB_USART2->brr = brr != 0u ? brr : 0xffffu;
    TB_USART2->cr1 = TB_STM32F4_USART_CR1_UE | TB_STM32F4_USART_CR1_TE | TB_STM32F4_USART_CR1_RE |
                     TB_STM32F4_USART_CR1_RXNEIE;
    TB_NVIC_ISER[s_uart_irqs[0] / 32u] = 1u << (s_uart_irqs[0] % 32u);
}

#ifdef TB_BOARD_TIMESTAMP_PIN
#define TB_TS_GPIO ((tb_stm32f4_gpio_t *)(0x40020000u + 0x400u * TB_BOARD_TIMESTAMP_PORT))
#define TB_TS_BIT (1u << TB_BOARD_TIMESTAMP_PIN)

/* Push-pull output, idle at the inactive level so that the first pulse is an edge. */
static void timestamp_init(void)
{
    TB_STM32F4_RCC->ahb1enr |= 1u << TB_BOARD_TIMESTAMP_PORT;
    (void)TB_STM32F4_RCC->ahb1enr;
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
    /* No [timestamp] pin in the manifest (the emulated board). */
}
#endif

void tb_port_init(void)
{
    s_cpu_hz = clock_init();
    tb_cm_uart_start();
    usart_init(s_pclk1_hz);
    timestamp_init();
    tb_cm_counter_start();
}

/* USART2 for tb_cm_uart.c. Reading DR clears RXNE and an overrun (ORE) alike. */
int tb_cm_uart_rx_waiting(void)
{
    return (TB_USART2->sr & (TB_STM32F4_USART_SR_RXNE | TB_STM32F4_USART_SR_ORE)) != 0u;
}

uint8_t tb_cm_uart_rx_take(void)
{
    return (uint8_t)(TB_USART2->dr & 0xffu);
}

/* RXNEIE is level-sensitive: on again with a byte in DR, the interrupt fires. */
void tb_cm_uart_rx_interrupt(int enabled)
{
    if (enabled) {
        TB_USART2->cr1 |= TB_STM32F4_USART_CR1_RXNEIE;
    } else {
        TB_USART2->cr1 &= ~TB_STM32F4_USART_CR1_RXNEIE;
    }
}

int tb_cm_uart_tx_ready(void)
{
    return (TB_USART2->sr & TB_STM32F4_USART_SR_TXE) != 0u;
}

void tb_cm_uart_tx_put(uint8_t byte)
{
    TB_USART2->dr = byte;
}

uint32_t tb_port_cpu_hz(void)
{
    return s_cpu_hz;
}
