/* tb_args.h - strict parsing of command arguments (no sign tricks, no overflow). */
#ifndef TB_ARGS_H
#define TB_ARGS_H

#include <stdint.h>

/* Decimal integer with an optional '-', within +-(2^31 - 1); returns 0 when malformed. */
int tb_args_int(const char *s, int32_t *out);

/* 1..8 hex digits (either case); returns 0 when malformed. */
int tb_args_hex32(const char *s, uint32_t *out);

#endif /* TB_ARGS_H */
