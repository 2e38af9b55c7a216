/* tb_line.c - line assembler with an explicit length limit (no truncation). */
#include "tb_line.h"

void tb_line_reset(tb_line_t *line)
{
    line->text[0] = '\0';
    line->len = 0u;
    line->seen = 0u;
    line->bad_byte = 0u;
    line->has_bad_byte = 0;
}

tb_line_event_t tb_line_feed(tb_line_t *line, uint8_t byte)
{
    if (byte == (uint8_t)'%') {
        line->text[line->len] = '\0';
        if (line->seen > TB_LINE_MAX) {
            return TB_LINE_TOO_LONG;
        }
        return line->has_bad_byte ? TB_LINE_BAD_BYTE : TB_LINE_READY;
    }
    if (byte == (uint8_t)'\r' || byte == (uint8_t)'\n' || byte == 0u) {
        return TB_LINE_PENDING;
    }
    if (byte == (uint8_t)'\t') {
        byte = (uint8_t)' ';
    }
    if ((byte < 0x20u || byte > 0x7eu) && !line->has_bad_byte) {
        line->has_bad_byte = 1;
        line->bad_byte = byte;
    }
    if (line->seen < (size_t)-1) {
        line->seen++;
    }
    if (line->len < TB_LINE_MAX) {
        line->text[line->len++] = (byte < 0x20u || byte > 0x7eu) ? '?' : (char)byte;
    }
    return TB_LINE_PENDING;
}
