/* tb_board_mps3.c - MPS3 AN547 (Cortex-M55): UART0 at its non-secure alias, 32 MHz. */
#include "../mps2/tb_board.h"

const tb_board_t tb_board = {
    0x49303000u,
    32000000u,
    115200u,
    { 33u, 34u },
};
