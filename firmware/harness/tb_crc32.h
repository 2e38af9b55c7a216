/* tb_crc32.h - CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), as zlib.crc32. */
#ifndef TB_CRC32_H
#define TB_CRC32_H

#include <stddef.h>
#include <stdint.h>

#define TB_CRC32_INIT 0u

/* Continues a CRC over more bytes: crc = tb_crc32_update(TB_CRC32_INIT, data, len). */
uint32_t tb_crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif /* TB_CRC32_H */
