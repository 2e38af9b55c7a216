/*
 * tb_cm_uart.c - the ring-buffered receive path and polled transmit of the
 * board ports (tb_cm_uart.h), on the port's register-level operations.
 */
#include "tb_cm_uart.h"

#include "port.h"
#include "tb_cm_ring.h"
#include "tb_cortexm.h"

static tb_cm_ring_t s_rx; /* filled here, by the RX interrupt (port.h, RX buffering) */

void tb_cm_uart_start(void)
{
    tb_cm_ring_reset(&s_rx);
}

/* Every external line of a board with this UART: move what arrived into the ring. */
void tb_cm_irq_handler(void)
{
    while (tb_cm_uart_rx_waiting()) {
        if (tb_cm_ring_full(&s_rx)) {
            tb_cm_uart_rx_interrupt(0); /* the byte waits in the UART until there is room */
            return;
        }
        tb_cm_ring_push(&s_rx, tb_cm_uart_rx_take());
    }
}

void tb_port_write(const uint8_t *data, size_t len)
{
    size_t i;

    for (i = 0u; i < len; i++) {
        while (!tb_cm_uart_tx_ready()) {
        }
        tb_cm_uart_tx_put(data[i]);
    }
}

int tb_port_read_byte(void)
{
    uint32_t primask = tb_cm_irq_save();
    int byte = tb_cm_ring_pop(&s_rx);

    if (byte >= 0) {
        tb_cm_uart_rx_interrupt(1); /* room again: take a held byte */
    }
    tb_cm_irq_restore(primask);
    return byte;
}

void tb_port_idle(void)
{
    /* WFI with interrupts masked: a pending RX (or SysTick) interrupt still wakes the core. */
    uint32_t primask = tb_cm_irq_save();

    if (tb_cm_ring_empty(&s_rx)) {
        __asm volatile("dsb\n\twfi" : : : "memory");
    }
    tb_cm_irq_restore(primask);
}
