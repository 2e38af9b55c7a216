/*
 * tb_port_stm32h7.c - port.h for the STM32H7A3 (NUCLEO-H7A3ZI-Q, Cortex-M7):
 * direct-SMPS supply (written once), VOS0, 280 MHz from the ST-LINK's 8 MHz
 * HSE bypass through PLL1, the L1 caches on, USART3 on PD8/PD9 (the ST-LINK
 * virtual COM port), the timestamp pin PF13 (Arduino D7), DWT as the counter.
 * Registers from RM0455 as BOARDS.md section 5 lists them (ST's H7A3 template
 * for the sequence); nothing here ran on silicon (no board, no QEMU H7).
 */
#include "port.h"

#include "../stm32_common/tb_stm32_console.h"
#include "../stm32_common/tb_stm32_usart.h"
#include "tb_board_config.h"
#include "tb_cortexm.h"

typedef struct {
    volatile uint32_t cr;      /* 0x00 HSEON bit16, HSERDY bit17, HSEBYP bit18, PLL1ON 24, RDY 25 */
    volatile uint32_t hsicfgr; /* 0x04 */
    volatile uint32_t crrcr;   /* 0x08 */
    volatile uint32_t csicfgr; /* 0x0c */
    volatile uint32_t cfgr;    /* 0x10 SW bits 2:0, SWS bits 5:3 */
    volatile uint32_t pad0;    /* 0x14 */
    volatile uint32_t cdcfgr1; /* 0x18 CDCPRE bits 11:8, CDPPRE bits 6:4, HPRE bits 3:0 */
    volatile uint32_t cdcfgr2; /* 0x1c CDPPRE2 bits 10:8, CDPPRE1 bits 6:4 */
    volatile uint32_t srdcfgr; /* 0x20 SRDPPRE bits 6:4 */
    volatile uint32_t pad1;    /* 0x24 */
    volatile uint32_t pllckselr; /* 0x28 DIVM1 bits 9:4, PLLSRC bits 1:0 */
    volatile uint32_t pllcfgr;   /* 0x2c PLL1RGE bits 3:2, PLL1VCOSEL bit1, DIVP1EN 16.. */
    volatile uint32_t pll1divr;  /* 0x30 N1-1 bits 8:0, P1-1 15:9, Q1-1 22:16, R1-1 30:24 */
    volatile uint32_t pad2[42];  /* 0x34-0xd8 */
    volatile uint32_t ahb2enr;   /* 0xdc */
    volatile uint32_t ahb4enr;   /* 0xe0 GPIOxEN bit x (A = 0) */
    volatile uint32_t pad3;      /* 0xe4 */
    volatile uint32_t apb1lenr;  /* 0xe8 USART3EN bit18 */
} tb_h7_rcc_regs_t;

typedef struct {
    volatile uint32_t cr1;  /* 0x00 */
    volatile uint32_t csr1; /* 0x04 ACTVOSRDY bit13 */
    volatile uint32_t cr2;  /* 0x08 */
    volatile uint32_t
        cr3; /* 0x0c BYPASS bit0, LDOEN bit1, SMPSEN bit2, SMPSEXTHP bit3, SMPSLEVEL 5:4 */
    volatile uint32_t cpucr; /* 0x10 */
    volatile uint32_t pad0;  /* 0x14 */
    volatile uint32_t srdcr; /* 0x18 VOS bits 15:14, VOSRDY bit13 */
} tb_h7_pwr_regs_t;

#define TB_H7_RCC ((tb_h7_rcc_regs_t *)0x58024400u)
#define TB_H7_PWR ((tb_h7_pwr_regs_t *)0x58024800u)
#define TB_H7_FLASH_ACR (*(volatile uint32_t *)0x52002000u) /* LATENCY 3:0, WRHIGHFREQ 5:4 */
#define TB_H7_USART3 ((tb_stm32_usart_regs_t *)TB_BOARD_UART_BASE)

#define TB_H7_CR3_SUPPLY_MASK 0x3fu /* SMPSLEVEL, SMPSEXTHP, SMPSEN, LDOEN, BYPASS */
#define TB_H7_CR3_SMPSEN (1u << 2)
#define TB_H7_CR3_LDOEN (1u << 1)
#define TB_H7_CSR1_ACTVOSRDY (1u << 13)
#define TB_H7_SRDCR_VOS0 (3u << 14) /* HAL's PWR_REGULATOR_VOLTAGE_SCALE0; unverified */
#define TB_H7_SRDCR_VOSRDY (1u << 13)
#define TB_H7_CR_HSEON (1u << 16)
#define TB_H7_CR_HSERDY (1u << 17)
#define TB_H7_CR_HSEBYP (1u << 18)
#define TB_H7_CR_PLL1ON (1u << 24)
#define TB_H7_CR_PLL1RDY (1u << 25)
/* HSE (2) / M = 4: 2 MHz into PLL1 (range 1: 2-4 MHz, wide VCO); x280 = 560 MHz; /2 = 280 MHz. */
#define TB_H7_PLLCKSELR ((4u << 4) | 2u)
#define TB_H7_PLLCFGR ((1u << 18) | (1u << 17) | (1u << 16) | (1u << 2))
#define TB_H7_PLL1DIVR ((1u << 24) | (3u << 16) | (1u << 9) | 279u) /* R2 Q4 P2 N280 */
#define TB_H7_APB_DIV2 4u /* the CDPPRE/SRDPPRE encoding of /2 */
/* 6 wait states at 280 MHz in VOS0 (ST's template); WRHIGHFREQ 3 is unverified (RM0455). */
#define TB_H7_FLASH_ACR_280MHZ ((3u << 4) | 6u)
#define TB_H7_CFGR_SW_PLL1 3u
#define TB_H7_CFGR_SWS_PLL1 (3u << 3)
#define TB_H7_PCLK1_HZ (TB_BOARD_CPU_HZ / 2u) /* USART3's kernel clock: rcc_pclk1 (reset choice) */

#define TB_H7_PIN_TX 8u /* PD8, AF7 = USART3_TX */
#define TB_H7_PIN_RX 9u /* PD9, AF7 = USART3_RX */
#define TB_H7_AF_USART3 7u

/* GPIO ports 0x400 apart from GPIOA (0x58020000, on AHB4: RM0455; GPIOD 0x58020c00 as
 * BOARDS.md says). The timestamp pin is the manifest's [timestamp] pin. */
#define TB_H7_GPIO(index) ((tb_stm32_gpio_regs_t *)(0x58020000u + 0x400u * (index)))
#define TB_H7_TIMESTAMP_GPIO TB_H7_GPIO(TB_BOARD_TIMESTAMP_PORT)

#ifndef TB_BOARD_TIMESTAMP_PIN
#error "this port drives the manifest's [timestamp] pin: name it (e.g. pin = \"PA8\")"
#endif
static const uint32_t s_uart_irqs[TB_BOARD_UART_IRQ_COUNT] = TB_BOARD_UART_IRQS;
static uint32_t s_cpu_hz = 64000000u; /* HSI until PLL1 runs */

/*
 * The supply configuration can be written once after power-on: only while CR3
 * still holds its reset state (SMPSEN and LDOEN both set) is it written, to
 * direct SMPS (the -Q board's wiring). A wrong value can make the chip
 * unreachable, so nothing else is ever tried.
 */
static int supply_init(void)
{
    uint32_t cr3 = TB_H7_PWR->cr3;

    if ((cr3 & (TB_H7_CR3_SMPSEN | TB_H7_CR3_LDOEN)) == (TB_H7_CR3_SMPSEN | TB_H7_CR3_LDOEN)) {
        TB_H7_PWR->cr3 = (cr3 & ~TB_H7_CR3_SUPPLY_MASK) | TB_H7_CR3_SMPSEN;
    }
    if (!tb_stm32_wait_set(&TB_H7_PWR->csr1, TB_H7_CSR1_ACTVOSRDY)) {
        return 0;
    }
    TB_H7_PWR->srdcr = (TB_H7_PWR->srdcr & ~(3u << 14)) | TB_H7_SRDCR_VOS0;
    return tb_stm32_wait_set(&TB_H7_PWR->srdcr, TB_H7_SRDCR_VOSRDY);
}

static void clock_init(void)
{
    if (!supply_init()) {
        return; /* stay on the 64 MHz HSI */
    }
    TB_H7_RCC->cr |= TB_H7_CR_HSEBYP | TB_H7_CR_HSEON;
    if (!tb_stm32_wait_set(&TB_H7_RCC->cr, TB_H7_CR_HSERDY)) {
        return;
    }
    TB_H7_RCC->pllckselr = TB_H7_PLLCKSELR;
    TB_H7_RCC->pllcfgr = TB_H7_PLLCFGR;
    TB_H7_RCC->pll1divr = TB_H7_PLL1DIVR;
    TB_H7_RCC->cr |= TB_H7_CR_PLL1ON;
    if (!tb_stm32_wait_set(&TB_H7_RCC->cr, TB_H7_CR_PLL1RDY)) {
        return;
    }
    /* More wait states before the faster clock; APB1..4 at 140 MHz (/2), AHB at 280 MHz. */
    TB_H7_FLASH_ACR = TB_H7_FLASH_ACR_280MHZ;
    if (!tb_stm32_wait_field(&TB_H7_FLASH_ACR, 0x3fu, TB_H7_FLASH_ACR_280MHZ)) {
        return;
    }
    TB_H7_RCC->cdcfgr1 = TB_H7_APB_DIV2 << 4;
    TB_H7_RCC->cdcfgr2 = (TB_H7_APB_DIV2 << 8) | (TB_H7_APB_DIV2 << 4);
    TB_H7_RCC->srdcfgr = TB_H7_APB_DIV2 << 4;
    TB_H7_RCC->cfgr = (TB_H7_RCC->cfgr & ~7u) | TB_H7_CFGR_SW_PLL1;
    if (tb_stm32_wait_field(&TB_H7_RCC->cfgr, 7u << 3, TB_H7_CFGR_SWS_PLL1)) {
        s_cpu_hz = TB_BOARD_CPU_HZ;
    }
}

void tb_port_init(void)
{
    tb_cm_caches_enable(); /* as ST's template: before the clock tree */
    clock_init();
    TB_H7_RCC->ahb4enr |= (1u << 3) | (1u << TB_BOARD_TIMESTAMP_PORT); /* GPIOD, the pin's */
    TB_H7_RCC->apb1lenr |= 1u << 18;                                   /* USART3 */
    (void)TB_H7_RCC->apb1lenr; /* read back: the enable has taken effect */
    tb_stm32_gpio_alternate(TB_H7_GPIO(3u), TB_H7_PIN_TX, TB_H7_AF_USART3, 0);
    tb_stm32_gpio_alternate(TB_H7_GPIO(3u), TB_H7_PIN_RX, TB_H7_AF_USART3, 1);
    tb_stm32_gpio_output(TB_H7_TIMESTAMP_GPIO, TB_BOARD_TIMESTAMP_PIN,
                         TB_BOARD_TIMESTAMP_ACTIVE_LOW);
    tb_cm_uart_start();
    tb_stm32_usart_start(TB_H7_USART3, s_cpu_hz == TB_BOARD_CPU_HZ ? TB_H7_PCLK1_HZ : s_cpu_hz,
                         TB_BOARD_UART_BAUD);
    tb_stm32_nvic_enable(s_uart_irqs, TB_BOARD_UART_IRQ_COUNT);
    tb_cm_counter_start();
}

void tb_port_timestamp_pulse(void)
{
    tb_stm32_pulse(TB_H7_TIMESTAMP_GPIO, TB_BOARD_TIMESTAMP_PIN, TB_BOARD_TIMESTAMP_ACTIVE_LOW,
                   s_cpu_hz, TB_BOARD_TIMESTAMP_HOLD_US);
}

uint32_t tb_port_cpu_hz(void)
{
    return s_cpu_hz;
}
