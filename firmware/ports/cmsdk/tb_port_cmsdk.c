/*
 * tb_port_cmsdk.c - port.h for the Arm MPS2/MPS3 FPGA images (AN386, AN500,
 * AN505, AN547 under QEMU): the CMSDK APB UART, whose RX interrupt fills the
 * receive ring of firmware/ports/cortex_m/tb_cm_uart.c. Clocks, UART base and
 * NVIC lines come from the board's generated tb_board_config.h; startup,
 * counter and semihosting from firmware/ports/cortex_m.
 */
#include "port.h"

#include "tb_board_config.h"
#include "tb_cm_uart.h"
#include "tb_cmsdk_uart.h"
#include "tb_cortexm.h"

#define TB_UART ((tb_cmsdk_uart_regs_t *)TB_BOARD_UART_BASE)

#if TB_BOARD_UART_IRQ_COUNT == 0
#error "the CMSDK port's receive ring is filled by the UART interrupts: list them in [uart] irqs"
#endif
static const uint32_t s_uart_irqs[TB_BOARD_UART_IRQ_COUNT] = TB_BOARD_UART_IRQS;

#ifdef TB_TIMESTAMP_MODE_ENERGY
/*
 * Energy mode under QEMU: the MPS2 images have no modelled GPIO, so each timestamp edge is
 * told on UART1 (0x1000 above UART0, QEMU's second -serial) as `tb-mark <edge> <counter>`,
 * the exact 64-bit counter read at the falling edge; edge 0 is the boot pulse. A co-simulated
 * monitor turns the counter deltas into energy. Polled writes: the loop stays busy.
 */
#define TB_MARKER_UART ((tb_cmsdk_uart_regs_t *)(TB_BOARD_UART_BASE + 0x1000u))
#define TB_MARKER_DIGITS 20u /* 2^64 - 1 has 20 decimal digits */

static uint32_t s_marker_edges;

static void marker_put(uint8_t byte)
{
    while ((TB_MARKER_UART->state & TB_CMSDK_UART_STATE_TX_FULL) != 0u) {
    }
    TB_MARKER_UART->data = byte;
}

static void marker_put_u64(uint64_t value)
{
    uint8_t digits[TB_MARKER_DIGITS];
    unsigned count = 0u;

    do {
        digits[count++] = (uint8_t)('0' + (unsigned)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    while (count > 0u) {
        marker_put(digits[--count]);
    }
}

static void marker_init(uint32_t div)
{
    TB_MARKER_UART->ctrl = 0u;
    TB_MARKER_UART->bauddiv = div;
    TB_MARKER_UART->ctrl = TB_CMSDK_UART_CTRL_TX_EN;
}

/* The pin's hold time is spent as a board would spend it, then the edge is reported. */
void tb_port_timestamp_pulse(void)
{
    static const uint8_t k_prefix[] = "tb-mark ";
    uint64_t edge = tb_port_counter();
    uint64_t hold = (uint64_t)(TB_BOARD_COUNTER_HZ / 1000000u) * TB_BOARD_TIMESTAMP_HOLD_US;
    unsigned i;

    while (tb_port_counter() - edge < hold) {
    }
    for (i = 0u; i + 1u < sizeof(k_prefix); i++) {
        marker_put(k_prefix[i]);
    }
    marker_put_u64(s_marker_edges++);
    marker_put(' ');
    marker_put_u64(edge);
    marker_put('\n');
}
#endif

void tb_port_init(void)
{
    uint32_t div = TB_BOARD_CPU_HZ / TB_BOARD_UART_BAUD;
    unsigned i;

    tb_cm_uart_start();
    TB_UART->ctrl = 0u;
    TB_UART->bauddiv = div < 16u ? 16u : div;
    TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
    TB_UART->ctrl =
        TB_CMSDK_UART_CTRL_TX_EN | TB_CMSDK_UART_CTRL_RX_EN | TB_CMSDK_UART_CTRL_RX_INT_EN;
    for (i = 0u; i < TB_BOARD_UART_IRQ_COUNT; i++) {
        TB_NVIC_ISER[s_uart_irqs[i] / 32u] = 1u << (s_uart_irqs[i] % 32u);
    }
#ifdef TB_TIMESTAMP_MODE_ENERGY
    marker_init(div < 16u ? 16u : div);
#endif
    tb_cm_counter_start();
}

/*
 * The UART for tb_cm_uart.c. It holds one received byte, and the chardev
 * behind it under QEMU sends the next only once that one is read: with the
 * ring full the byte waits, nothing is lost (port.h, RX buffering).
 */
int tb_cm_uart_rx_waiting(void)
{
    return (TB_UART->state & TB_CMSDK_UART_STATE_RX_FULL) != 0u;
}

/* The RX interrupt status latches on arrival: acknowledged before the read, so that a byte
 * arriving after it latches it again. */
uint8_t tb_cm_uart_rx_take(void)
{
    TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
    return (uint8_t)(TB_UART->data & 0xffu);
}

/* Off: no latch and none left pending. On: a byte that arrived meanwhile latched nothing, so
 * its interrupt is raised by hand. */
void tb_cm_uart_rx_interrupt(int enabled)
{
    unsigned i;

    if (!enabled) {
        TB_UART->ctrl &= ~TB_CMSDK_UART_CTRL_RX_INT_EN;
        TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
        return;
    }
    TB_UART->ctrl |= TB_CMSDK_UART_CTRL_RX_INT_EN;
    if ((TB_UART->state & TB_CMSDK_UART_STATE_RX_FULL) != 0u) {
        for (i = 0u; i < TB_BOARD_UART_IRQ_COUNT; i++) {
            TB_NVIC_ISPR[s_uart_irqs[i] / 32u] = 1u << (s_uart_irqs[i] % 32u);
        }
    }
}

int tb_cm_uart_tx_ready(void)
{
    return (TB_UART->state & TB_CMSDK_UART_STATE_TX_FULL) == 0u;
}

void tb_cm_uart_tx_put(uint8_t byte)
{
    TB_UART->data = byte;
}

uint32_t tb_port_cpu_hz(void)
{
    return TB_BOARD_CPU_HZ;
}
