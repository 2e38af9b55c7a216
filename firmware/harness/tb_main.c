/* tb_main.c - the firmware entry point: everything happens in the harness. */
#include "harness.h"

int main(void)
{
    tb_harness_run();
    return 0;
}
