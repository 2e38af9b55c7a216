/* tb_out.h - buffered protocol output: text, numbers, hex, 3-decimal floats. */
#ifndef TB_OUT_H
#define TB_OUT_H

#include <stddef.h>
#include <stdint.h>

void tb_out_char(char c);
void tb_out_str(const char *s);
/* Writes s with every byte outside printable ASCII (and ',' '[' ']') replaced by '?'. */
void tb_out_safe(const char *s, size_t max_len);
void tb_out_u64(uint64_t value);
void tb_out_i64(int64_t value);
void tb_out_hex8(uint8_t value);
void tb_out_hex32(uint32_t value);
/* Fixed point with 3 decimals, rounded half away from zero; "nan", "inf", "-inf" otherwise. */
void tb_out_f3(float value);
/* Ends the line with CR LF and flushes. */
void tb_out_end(void);
/* tb_out_str(s) then tb_out_end(). */
void tb_out_line(const char *s);
/* Prints "e-[" msg "]" as a line. */
void tb_out_error(const char *msg);
/* e-[<prefix><arg><suffix>] with arg passed through tb_out_safe. */
void tb_out_error_arg(const char *prefix, const char *arg, const char *suffix);
/* e-[<prefix><value><suffix>]. */
void tb_out_error_num(const char *prefix, uint64_t value, const char *suffix);
void tb_out_flush(void);

/* The reply-crc extension: with it on, tb_out_reply_end prints m-crc-[<crc32>] over the
 * command text given to tb_out_reply_begin and every byte written since; off, nothing. */
void tb_out_reply_crc_enable(int on);
void tb_out_reply_begin(const char *command);
void tb_out_reply_end(void);

#endif /* TB_OUT_H */
