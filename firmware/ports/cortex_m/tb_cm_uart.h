/*
 * tb_cm_uart.h - the interrupt-driven UART of every Cortex-M board port:
 * tb_cm_uart.c owns the receive ring (tb_cm_ring.h), the UART interrupt
 * handler and port.h's tb_port_read_byte, tb_port_idle and tb_port_write.
 * A board port provides the five register-level operations below for its
 * UART, and calls tb_cm_uart_start before it enables the RX interrupt.
 *
 * Back-pressure: when the ring is full the handler leaves the byte in the
 * UART and turns the RX interrupt off; tb_port_read_byte turns it on again
 * once it has made room. A peer with flow control (QEMU's chardev) then loses
 * nothing, a real one loses only beyond the 256 bytes port.h asks for.
 */
#ifndef TB_CM_UART_H
#define TB_CM_UART_H

#include <stdint.h>

/* Empties the ring; before the port enables the UART's RX interrupt. */
void tb_cm_uart_start(void);

/* What each board port implements for its UART. */
int tb_cm_uart_rx_waiting(void);           /* 1 when a received byte waits (clears errors) */
uint8_t tb_cm_uart_rx_take(void);          /* the waiting byte, acknowledged */
void tb_cm_uart_rx_interrupt(int enabled); /* on: a byte still waiting must interrupt too */
int tb_cm_uart_tx_ready(void);             /* 1 when the UART takes the next byte */
void tb_cm_uart_tx_put(uint8_t byte);

#endif /* TB_CM_UART_H */
