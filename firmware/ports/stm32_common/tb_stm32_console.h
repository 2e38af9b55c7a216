/*
 * tb_stm32_console.h - the console USART of the G0, H7, L4 and U5 ports (the
 * v2 register map of tb_stm32_usart.h, at the manifest's [uart] base) as the
 * register-level operations of firmware/ports/cortex_m/tb_cm_uart.h, which
 * owns the receive ring, the interrupt handler and the port.h I/O functions.
 *
 * It defines those operations, not static ones: include it from exactly one
 * translation unit, the family port's .c file (the build compiles one family
 * directory, so each firmware image gets one copy).
 */
#ifndef TB_STM32_CONSOLE_H
#define TB_STM32_CONSOLE_H

#include <stdint.h>

#include "tb_board_config.h"
#include "tb_cm_uart.h"
#include "tb_stm32_usart.h"

#define TB_STM32_CONSOLE ((tb_stm32_usart_regs_t *)TB_BOARD_UART_BASE)

/* An error flag left set (an overrun) would keep the interrupt asserted: cleared on sight. */
int tb_cm_uart_rx_waiting(void)
{
    uint32_t isr = TB_STM32_CONSOLE->isr;

    if ((isr & TB_USART_ISR_ERRORS) != 0u) {
        TB_STM32_CONSOLE->icr = TB_USART_ISR_ERRORS;
    }
    return (isr & TB_USART_ISR_RXNE) != 0u;
}

uint8_t tb_cm_uart_rx_take(void)
{
    return (uint8_t)(TB_STM32_CONSOLE->rdr & 0xffu);
}

/* RXNEIE is level-sensitive: on again with a byte in RDR, the interrupt fires. */
void tb_cm_uart_rx_interrupt(int enabled)
{
    if (enabled) {
        TB_STM32_CONSOLE->cr1 |= TB_USART_CR1_RXNEIE;
    } else {
        TB_STM32_CONSOLE->cr1 &= ~TB_USART_CR1_RXNEIE;
    }
}

int tb_cm_uart_tx_ready(void)
{
    return (TB_STM32_CONSOLE->isr & TB_USART_ISR_TXE) != 0u;
}

void tb_cm_uart_tx_put(uint8_t byte)
{
    TB_STM32_CONSOLE->tdr = byte;
}

#endif /* TB_STM32_CONSOLE_H */
