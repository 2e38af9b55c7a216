/*
 * tb_port_nrf5.c - port.h for Nordic nRF5 parts through the legacy UART
 * (ENABLE = 4): the nRF52840 (nRF52840-DK, Cortex-M4F at 64 MHz, J-Link OB
 * virtual COM port on P0.06/P0.08, DWT counter) and the nRF51 of QEMU's
 * microbit (Cortex-M0, SysTick counter), whose UART has the same register
 * layout and baud codes (BOARDS.md section 3, from nrfx's nrf52840.h and
 * nrf51.h). QEMU models the legacy UART only, not UARTE (ENABLE = 8), which is
 * why this port uses it on the nRF52840 too.
 *
 * The nRF51 is the family's only ARMv6-M part here: __ARM_ARCH_6M__ selects it.
 */
#include "port.h"

#include "tb_board_config.h"
#include "tb_cm_uart.h"
#include "tb_cortexm.h"

typedef struct {
    volatile uint32_t tasks_startrx; /* 0x000 */
    volatile uint32_t tasks_stoprx;  /* 0x004 */
    volatile uint32_t tasks_starttx; /* 0x008 */
    volatile uint32_t tasks_stoptx;  /* 0x00c */
    volatile uint32_t pad0[62];      /* 0x010-0x104 */
    volatile uint32_t events_rxdrdy; /* 0x108 */
    volatile uint32_t pad1[4];       /* 0x10c-0x118 */
    volatile uint32_t events_txdrdy; /* 0x11c */
    volatile uint32_t pad2;          /* 0x120 */
    volatile uint32_t events_error;  /* 0x124 */
    volatile uint32_t pad3[119];     /* 0x128-0x300 */
    volatile uint32_t intenset;      /* 0x304 RXDRDY bit2 */
    volatile uint32_t intenclr;      /* 0x308 */
    volatile uint32_t pad4[93];      /* 0x30c-0x47c */
    volatile uint32_t errorsrc;      /* 0x480 write 1 to clear */
    volatile uint32_t pad5[31];      /* 0x484-0x4fc */
    volatile uint32_t enable;        /* 0x500 4: legacy UART */
    volatile uint32_t pad6;          /* 0x504 */
    volatile uint32_t psel_rts;      /* 0x508 */
    volatile uint32_t psel_txd;      /* 0x50c */
    volatile uint32_t psel_cts;      /* 0x510 */
    volatile uint32_t psel_rxd;      /* 0x514 */
    volatile uint32_t rxd;           /* 0x518 */
    volatile uint32_t txd;           /* 0x51c */
    volatile uint32_t pad7;          /* 0x520 */
    volatile uint32_t baudrate;      /* 0x524 */
    volatile uint32_t pad8[17];      /* 0x528-0x568 */
    volatile uint32_t config;        /* 0x56c HWFC bit0 (off), PARITY bits 3:1 (none) */
} tb_nrf_uart_regs_t;

#define TB_NRF_UART ((tb_nrf_uart_regs_t *)TB_BOARD_UART_BASE)
#define TB_NRF_UART_ENABLE_LEGACY 4u
#define TB_NRF_UART_INT_RXDRDY (1u << 2)
#define TB_NRF_BAUD_115200 0x01d7e000u /* legacy UART code (UARTE's differs) */
#define TB_NRF_BAUD_9600 0x00275000u
/* Disconnected: bit 31 on the nRF52840, all ones on the nRF51; all ones means both. */
#define TB_NRF_PSEL_DISCONNECTED 0xffffffffu
#define TB_NRF_PIN_TXD 6u /* P0.06 / P0.08: the DK's J-Link VCOM pins (plain pin numbers) */
#define TB_NRF_PIN_RXD 8u

/* CLOCK: start the crystal oscillator (a UART at 115200 wants it; QEMU's stub says started). */
#define TB_NRF_CLOCK_HFCLKSTART (*(volatile uint32_t *)0x40000000u)
#define TB_NRF_CLOCK_HFCLKSTARTED (*(volatile uint32_t *)0x40000100u)
#define TB_NRF_WAIT_LIMIT 1000000u

#if !defined(__ARM_ARCH_6M__)
/* nRF52840 only. APPROTECT on newer silicon: keep SWD open when UICR says so (nrfx does). */
#define TB_NRF_UICR_APPROTECT (*(volatile uint32_t *)0x10001208u)
#define TB_NRF_APPROTECT_DISABLE (*(volatile uint32_t *)0x40000558u)
#define TB_NRF_APPROTECT_HW_DISABLED 0x5au
/* Timestamp pin P1.08 (Arduino D7 on the DK; unverified): GPIO P1 at 0x50000300. */
#define TB_NRF_P1_OUTSET (*(volatile uint32_t *)0x50000508u)
#define TB_NRF_P1_OUTCLR (*(volatile uint32_t *)0x5000050cu)
#define TB_NRF_P1_DIRSET (*(volatile uint32_t *)0x50000518u)
#define TB_NRF_PIN_TIMESTAMP 8u
#endif

static const uint32_t s_uart_irqs[TB_BOARD_UART_IRQ_COUNT] = TB_BOARD_UART_IRQS;

/* The UART for tb_cm_uart.c. An error (an overrun) is acknowledged on sight. */
int tb_cm_uart_rx_waiting(void)
{
    if (TB_NRF_UART->events_error != 0u) {
        TB_NRF_UART->events_error = 0u;
        TB_NRF_UART->errorsrc = TB_NRF_UART->errorsrc;
    }
    return TB_NRF_UART->events_rxdrdy != 0u;
}

uint8_t tb_cm_uart_rx_take(void)
{
    TB_NRF_UART->events_rxdrdy = 0u; /* clear before reading: the next byte may follow */
    return (uint8_t)(TB_NRF_UART->rxd & 0xffu);
}

/* The interrupt is the RXDRDY event and INTEN: on again with the event set, it fires. */
void tb_cm_uart_rx_interrupt(int enabled)
{
    if (enabled) {
        TB_NRF_UART->intenset = TB_NRF_UART_INT_RXDRDY;
    } else {
        TB_NRF_UART->intenclr = TB_NRF_UART_INT_RXDRDY;
    }
}

/* TXD takes a byte at any time; put waits (bounded) until it has gone. */
int tb_cm_uart_tx_ready(void)
{
    return 1;
}

void tb_cm_uart_tx_put(uint8_t byte)
{
    uint32_t n;

    TB_NRF_UART->events_txdrdy = 0u;
    TB_NRF_UART->txd = byte;
    for (n = 0u; n < TB_NRF_WAIT_LIMIT && TB_NRF_UART->events_txdrdy == 0u; n++) {
    }
}

static void clock_init(void)
{
    uint32_t n;

    TB_NRF_CLOCK_HFCLKSTARTED = 0u;
    TB_NRF_CLOCK_HFCLKSTART = 1u;
    for (n = 0u; n < TB_NRF_WAIT_LIMIT && TB_NRF_CLOCK_HFCLKSTARTED == 0u; n++) {
    }
}

void tb_port_init(void)
{
#if !defined(__ARM_ARCH_6M__)
    if (TB_NRF_UICR_APPROTECT == TB_NRF_APPROTECT_HW_DISABLED) {
        TB_NRF_APPROTECT_DISABLE = TB_NRF_APPROTECT_HW_DISABLED;
    }
    TB_NRF_P1_OUTSET = 1u << TB_NRF_PIN_TIMESTAMP; /* idles high */
    TB_NRF_P1_DIRSET = 1u << TB_NRF_PIN_TIMESTAMP;
#endif
    clock_init();
    tb_cm_uart_start();
    /*
     * Configuration before ENABLE, as the hardware wants. QEMU drops these
     * writes while the UART is disabled, harmlessly: its UART ignores them.
     * RTS/CTS stay disconnected: a driven RTS makes the J-Link OB assume
     * hardware flow control (BOARDS.md section 3).
     */
    TB_NRF_UART->psel_rts = TB_NRF_PSEL_DISCONNECTED;
    TB_NRF_UART->psel_cts = TB_NRF_PSEL_DISCONNECTED;
    TB_NRF_UART->psel_txd = TB_NRF_PIN_TXD;
    TB_NRF_UART->psel_rxd = TB_NRF_PIN_RXD;
    TB_NRF_UART->baudrate = TB_BOARD_UART_BAUD == 9600u ? TB_NRF_BAUD_9600 : TB_NRF_BAUD_115200;
    TB_NRF_UART->config = 0u;
    TB_NRF_UART->enable = TB_NRF_UART_ENABLE_LEGACY;
    TB_NRF_UART->events_rxdrdy = 0u;
    TB_NRF_UART->intenset = TB_NRF_UART_INT_RXDRDY;
    TB_NRF_UART->tasks_startrx = 1u;
    TB_NRF_UART->tasks_starttx = 1u;
    {
        uint32_t i;

        for (i = 0u; i < TB_BOARD_UART_IRQ_COUNT; i++) {
            TB_NVIC_ISER[s_uart_irqs[i] / 32u] = 1u << (s_uart_irqs[i] % 32u);
        }
    }
    tb_cm_counter_start();
}

#if !defined(__ARM_ARCH_6M__)
void tb_port_timestamp_pulse(void)
{
    /* >= 2 cycles a step: low for >= the manifest's hold_us (up to twice as long) */
    volatile uint32_t n = TB_BOARD_CPU_HZ / 1000000u * TB_BOARD_TIMESTAMP_HOLD_US;

    TB_NRF_P1_OUTCLR = 1u << TB_NRF_PIN_TIMESTAMP;
    while (n > 0u) {
        n--;
    }
    TB_NRF_P1_OUTSET = 1u << TB_NRF_PIN_TIMESTAMP;
}
#endif

/* Fixed: the nRF52840 runs at 64 MHz and the nRF51 at 16 MHz, with no clock tree to set. */
uint32_t tb_port_cpu_hz(void)
{
    return TB_BOARD_CPU_HZ;
}
