/* tb_args.c - strict parsing of command arguments. */
#include "tb_args.h"

int tb_args_int(const char *s, int32_t *out)
{
    int negative = 0;
    uint32_t value = 0u;

    if (*s == '-') {
        negative = 1;
        s++;
    }
    if (*s == '\0') {
        return 0;
    }
    while (*s != '\0') {
        uint32_t digit;
        if (*s < '0' || *s > '9') {
            return 0;
        }
        digit = (uint32_t)(*s - '0');
        if (value > (0x7fffffffu - digit) / 10u) {
            return 0;
        }
        value = value * 10u + digit;
        s++;
    }
    *out = negative ? -(int32_t)value : (int32_t)value;
    return 1;
}

int tb_args_hex32(const char *s, uint32_t *out)
{
    uint32_t value = 0u;
    unsigned n = 0u;

    for (; *s != '\0'; s++, n++) {
        uint32_t digit;
        if (*s >= '0' && *s <= '9') {
            digit = (uint32_t)(*s - '0');
        } else if (*s >= 'a' && *s <= 'f') {
            digit = (uint32_t)(*s - 'a' + 10);
        } else if (*s >= 'A' && *s <= 'F') {
            digit = (uint32_t)(*s - 'A' + 10);
        } else {
            return 0;
        }
        value = (value << 4) | digit;
    }
    if (n == 0u || n > 8u) {
        return 0;
    }
    *out = value;
    return 1;
}

/* e-[<prefix><arg>'<suffix>] with the argument sanitized. */
