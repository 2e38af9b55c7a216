/*
 * tb_model_input_check.c - test-only program: builds the engine's input tensor in a db buffer
 * as the infer command does (tb_model_input_in_db), then gives the buffer back
 * (tb_model_restore_db). stdin: one line "<format> <capacity> <elements> <scale bits hex>
 * <zero point>", then the loaded bytes as hex. stdout: the tensor's offset in the buffer (-1:
 * no room), the tensor as hex, and the loaded bytes as hex after the restore.
 */
#include <stdio.h>
#include <string.h>

#include "tb_model.h"

static unsigned char s_db[4096] __attribute__((aligned(16)));

static void print_hex(const unsigned char *bytes, unsigned n)
{
    unsigned i;

    for (i = 0u; i < n; i++) {
        printf("%02x", bytes[i]);
    }
    printf("\n");
}

int main(void)
{
    unsigned format;
    unsigned capacity;
    unsigned elements;
    unsigned long scale_bits;
    int zero_point;
    unsigned loaded = 0u;
    unsigned byte;
    uint32_t bits;
    tb_tensor_view_t input;
    int8_t *tensor;

    if (scanf("%u %u %u %lx %d", &format, &capacity, &elements, &scale_bits, &zero_point) != 5 ||
        capacity > sizeof(s_db)) {
        return 2;
    }
    while (loaded < capacity && scanf("%2x", &byte) == 1) {
        s_db[loaded++] = (unsigned char)byte;
    }
    memset(&input, 0, sizeof(input));
    input.bytes = elements;
    bits = (uint32_t)scale_bits;
    memcpy(&input.scale, &bits, sizeof(bits));
    input.zero_point = zero_point;
    tensor = tb_model_input_in_db((tb_input_format_t)format, s_db, capacity, &input);
    if (tensor == NULL) {
        printf("-1\n\n");
    } else {
        printf("%ld\n", (long)((unsigned char *)tensor - s_db));
        print_hex((const unsigned char *)tensor, elements);
        tb_model_restore_db((tb_input_format_t)format, s_db, &input);
    }
    print_hex(s_db, loaded);
    return 0;
}
