/* tb_board_mps2.c - MPS2 AN386 (Cortex-M4F) and AN500 (Cortex-M7): UART0, 25 MHz. */
#include "tb_board.h"

const tb_board_t tb_board = {
    0x40004000u,
    25000000u,
    115200u,
    { 0u, 1u },
};
