/*
 * tb_port_cm_mps3.c - the MPS3 port shares the CMSDK UART + SysTick +
 * semihosting code of ports/mps2 (the same IP blocks); only tb_board differs.
 */
#include "../mps2/tb_port_cm.c"
