/*
 * tb_port_cmsdk.c - port.h for the Arm MPS2/MPS3 FPGA images (AN386, AN500,
 * AN505, AN547 under QEMU): the CMSDK APB UART, polled, whose RX interrupt
 * only wakes the core from WFI. Clocks, UART base and NVIC lines come from
 * the board's generated tb_board_config.h; startup, counter and semihosting
 * from firmware/ports/cortex_m.
 */
#include "port.h"

#include "tb_board_config.h"
#include "tb_cmsdk_uart.h"
#include "tb_cortexm.h"

#define TB_UART ((tb_cmsdk_uart_regs_t *)TB_BOARD_UART_BASE)

#if TB_BOARD_UART_IRQ_COUNT == 0
/* Without them tb_port_idle's WFI would sleep until the next SysTick wrap per byte. */
#error "the CMSDK port wakes from WFI on the UART interrupts: list them in [uart] irqs"
#endif
static const uint32_t s_uart_irqs[TB_BOARD_UART_IRQ_COUNT] = TB_BOARD_UART_IRQS;

/* The UART RX interrupt only wakes the core from WFI: acknowledge it, read nothing. */
void tb_cm_irq_handler(void)
{
    TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
}

void tb_port_init(void)
{
    uint32_t div = TB_BOARD_CPU_HZ / TB_BOARD_UART_BAUD;
    unsigned i;

    TB_UART->ctrl = 0u;
    TB_UART->bauddiv = div < 16u ? 16u : div;
    TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
    TB_UART->ctrl =
        TB_CMSDK_UART_CTRL_TX_EN | TB_CMSDK_UART_CTRL_RX_EN | TB_CMSDK_UART_CTRL_RX_INT_EN;
    for (i = 0u; i < TB_BOARD_UART_IRQ_COUNT; i++) {
        TB_NVIC_ISER[s_uart_irqs[i] / 32u] = 1u << (s_uart_irqs[i] % 32u);
    }
    tb_cm_counter_start();
}

void tb_port_write(const uint8_t *data, size_t len)
{
    size_t i;

    for (i = 0u; i < len; i++) {
        while ((TB_UART->state & TB_CMSDK_UART_STATE_TX_FULL) != 0u) {
        }
        TB_UART->data = data[i];
    }
}

/*
 * The CMSDK UART holds one received byte. Under QEMU the chardev backend waits
 * until the guest has read it before it delivers the next, so nothing is lost
 * however long an inference runs (see port.h on RX buffering).
 */
int tb_port_read_byte(void)
{
    if ((TB_UART->state & TB_CMSDK_UART_STATE_RX_FULL) == 0u) {
        return -1;
    }
    return (int)(TB_UART->data & 0xffu);
}

void tb_port_idle(void)
{
    /* WFI with interrupts masked: a pending RX (or SysTick) interrupt still wakes the core. */
    uint32_t primask = tb_cm_irq_save();

    if ((TB_UART->state & TB_CMSDK_UART_STATE_RX_FULL) == 0u) {
        __asm volatile("dsb\n\twfi" : : : "memory");
    }
    tb_cm_irq_restore(primask);
}

uint32_t tb_port_cpu_hz(void)
{
    return TB_BOARD_CPU_HZ;
}
