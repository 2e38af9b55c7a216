/*
 * tb_out_f3_check.c - test-only program: reads float bit patterns (hex, one
 * per line) on stdin and prints each through tb_out_f3(), one per line.
 * Links tb_out.c with a port.h stub that writes to stdout.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "port.h"
#include "tb_out.h"

void tb_port_write(const uint8_t *data, size_t len)
{
    (void)fwrite(data, 1u, len, stdout);
}

int main(void)
{
    unsigned long bits;

    while (scanf("%lx", &bits) == 1) {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, sizeof(f));
        tb_out_f3(f);
        tb_out_end();
    }
    return 0;
}
