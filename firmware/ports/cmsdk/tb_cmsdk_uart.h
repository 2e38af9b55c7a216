/* tb_cmsdk_uart.h - Arm CMSDK APB UART registers (MPS2/MPS3 FPGA images). */
#ifndef TB_CMSDK_UART_H
#define TB_CMSDK_UART_H

#include <stdint.h>

typedef struct {
    volatile uint32_t data;      /* 0x00 RX on read, TX on write (8 bits) */
    volatile uint32_t state;     /* 0x04 bit0 TX buffer full, bit1 RX buffer full */
    volatile uint32_t ctrl;      /* 0x08 bit0 TX enable, bit1 RX enable */
    volatile uint32_t intstatus; /* 0x0c */
    volatile uint32_t bauddiv;   /* 0x10 >= 16 */
} tb_cmsdk_uart_regs_t;

#define TB_CMSDK_UART_STATE_TX_FULL (1u << 0)
#define TB_CMSDK_UART_STATE_RX_FULL (1u << 1)
#define TB_CMSDK_UART_CTRL_TX_EN (1u << 0)
#define TB_CMSDK_UART_CTRL_RX_EN (1u << 1)
#define TB_CMSDK_UART_CTRL_RX_INT_EN (1u << 3)
#define TB_CMSDK_UART_INT_RX (1u << 1) /* INTSTATUS: write 1 to clear */

#endif /* TB_CMSDK_UART_H */
