/*
 * tb_board.h - what differs between the boards sharing the Cortex-M + CMSDK
 * port code (MPS2 AN386/AN500, MPS3 AN547): one constant struct per board.
 */
#ifndef TB_BOARD_H
#define TB_BOARD_H

#include <stdint.h>

typedef struct {
    uintptr_t uart_base;   /* CMSDK UART0 */
    uint32_t cpu_hz;       /* core clock; SysTick runs on it (CLKSOURCE = 1) */
    uint32_t baud;         /* for BAUDDIV on real hardware; QEMU ignores the rate */
    uint32_t uart_irq[2];  /* NVIC lines of UART0 RX and TX, used only to wake from WFI */
} tb_board_t;

extern const tb_board_t tb_board;

#endif /* TB_BOARD_H */
