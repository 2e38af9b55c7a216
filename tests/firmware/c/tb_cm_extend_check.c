/*
 * tb_cm_extend_check.c - feeds raw 32-bit readings (one decimal per line on
 * stdin) through tb_cm_extend and prints the 64-bit counts, one per line.
 * The first line starts the extension. Host-compiled: QEMU models no DWT.
 */
#include <inttypes.h>
#include <stdio.h>

#include "tb_cm_extend.h"

int main(void)
{
    tb_cm_extend_t state;
    unsigned long raw;

    if (scanf("%lu", &raw) != 1) {
        return 1;
    }
    tb_cm_extend_reset(&state, (uint32_t)raw);
    while (scanf("%lu", &raw) == 1) {
        printf("%" PRIu64 "\n", tb_cm_extend_update(&state, (uint32_t)raw));
    }
    return 0;
}
