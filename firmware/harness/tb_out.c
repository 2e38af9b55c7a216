/* tb_out.c - buffered protocol output without printf (small, no float printf). */
#include "tb_out.h"

#include <string.h>

#include "harness.h"
#include "port.h"
#include "tb_crc32.h"

#define TB_OUT_BUF_BYTES 128u

static uint8_t s_out_buf[TB_OUT_BUF_BYTES];
static size_t s_len;
static int s_reply_crc_on;   /* `crc on`: every reply ends with an m-crc line */
static uint32_t s_reply_crc; /* over the command text and the reply's bytes so far */

void tb_out_flush(void)
{
    if (s_len > 0u) {
        if (s_reply_crc_on) {
            s_reply_crc = tb_crc32_update(s_reply_crc, s_out_buf, s_len);
        }
        tb_port_write(s_out_buf, s_len);
        s_len = 0u;
    }
}

void tb_out_char(char c)
{
    if (s_len == TB_OUT_BUF_BYTES) {
        tb_out_flush();
    }
    s_out_buf[s_len++] = (uint8_t)c;
}

void tb_out_str(const char *s)
{
    while (*s != '\0') {
        tb_out_char(*s++);
    }
}

void tb_out_safe(const char *s, size_t max_len)
{
    size_t i;

    for (i = 0u; i < max_len && s[i] != '\0'; i++) {
        char c = s[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '[' || c == ']') {
            c = '?';
        }
        tb_out_char(c);
    }
}

void tb_out_u64(uint64_t value)
{
    char digits[20];
    unsigned n = 0u;

    do {
        digits[n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    while (n > 0u) {
        tb_out_char(digits[--n]);
    }
}

void tb_out_i64(int64_t value)
{
    if (value < 0) {
        tb_out_char('-');
        tb_out_u64((uint64_t)0u - (uint64_t)value);
    } else {
        tb_out_u64((uint64_t)value);
    }
}

void tb_out_hex8(uint8_t value)
{
    static const char k_hex[] = "0123456789abcdef";

    tb_out_char(k_hex[value >> 4]);
    tb_out_char(k_hex[value & 0x0fu]);
}

void tb_out_hex32(uint32_t value)
{
    int shift;

    for (shift = 24; shift >= 0; shift -= 8) {
        tb_out_hex8((uint8_t)(value >> shift));
    }
}

void tb_out_f3(float value)
{
    double v = (double)value;
    uint64_t milli;

    if (v != v) {
        tb_out_str("nan");
        return;
    }
    if (v < 0.0) {
        v = -v;
        /* A value that rounds to zero prints without a sign. */
        if (v >= 0.0005) {
            tb_out_char('-');
        }
    }
    if (v >= 1e15) {
        tb_out_str("inf");
        return;
    }
    milli = (uint64_t)(v * 1000.0 + 0.5);
    tb_out_u64(milli / 1000u);
    tb_out_char('.');
    tb_out_char((char)('0' + (int)((milli / 100u) % 10u)));
    tb_out_char((char)('0' + (int)((milli / 10u) % 10u)));
    tb_out_char((char)('0' + (int)(milli % 10u)));
}

void tb_out_end(void)
{
    tb_out_char('\r');
    tb_out_char('\n');
    tb_out_flush();
}

void tb_out_line(const char *s)
{
    tb_out_str(s);
    tb_out_end();
}

void tb_out_error(const char *msg)
{
    tb_out_str("e-[");
    tb_out_str(msg);
    tb_out_char(']');
    tb_out_end();
}

void tb_out_error_arg(const char *prefix, const char *arg, const char *suffix)
{
    tb_out_str("e-[");
    tb_out_str(prefix);
    tb_out_safe(arg, TB_LINE_MAX);
    tb_out_str(suffix);
    tb_out_char(']');
    tb_out_end();
}

void tb_out_error_num(const char *prefix, uint64_t value, const char *suffix)
{
    tb_out_str("e-[");
    tb_out_str(prefix);
    tb_out_u64(value);
    tb_out_str(suffix);
    tb_out_char(']');
    tb_out_end();
}

void tb_out_reply_crc_enable(int on)
{
    s_reply_crc_on = on;
}

void tb_out_reply_begin(const char *command)
{
    tb_out_flush();
    s_reply_crc = tb_crc32_update(TB_CRC32_INIT, (const uint8_t *)command, strlen(command));
}

void tb_out_reply_end(void)
{
    uint32_t crc;

    if (!s_reply_crc_on) {
        return;
    }
    tb_out_flush();
    crc = s_reply_crc;
    tb_out_str("m-crc-[");
    tb_out_hex32(crc);
    tb_out_char(']');
    tb_out_end();
}
