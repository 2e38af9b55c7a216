/*
 * tb_startup_mps3.c - the MPS3 port shares the Cortex-M startup of ports/mps2;
 * this file makes firmware/ports/mps3/ a complete source set on its own.
 */
#include "../mps2/tb_startup.c"
