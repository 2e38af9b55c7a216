/* tb_line.h - assembles '%'-terminated command lines from arbitrary chunks. */
#ifndef TB_LINE_H
#define TB_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

typedef enum {
    TB_LINE_PENDING = 0, /* no complete line yet */
    TB_LINE_READY,       /* text holds a complete line (NUL-terminated, '%' removed) */
    TB_LINE_TOO_LONG,    /* the line exceeded TB_LINE_MAX; it was discarded */
    TB_LINE_BAD_BYTE     /* the line held a byte outside printable ASCII; discarded */
} tb_line_event_t;

typedef struct {
    char text[TB_LINE_MAX + 1u];
    size_t len;       /* characters stored in text */
    size_t seen;      /* characters received for this line (may exceed TB_LINE_MAX) */
    uint8_t bad_byte; /* first offending byte, valid when has_bad_byte */
    int has_bad_byte;
} tb_line_t;

void tb_line_reset(tb_line_t *line);

/*
 * Feeds one byte. CR, LF and NUL are dropped (line noise), TAB counts as a
 * space. On any event other than TB_LINE_PENDING the caller handles the line
 * and then calls tb_line_reset().
 */
tb_line_event_t tb_line_feed(tb_line_t *line, uint8_t byte);

#endif /* TB_LINE_H */
