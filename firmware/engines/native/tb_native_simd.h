/*
 * tb_native_simd.h - the packed 16-bit SIMD operations the dsp kernel set is
 * written in, one name each, as Arm's DSP extension defines them.
 *
 * On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33,
 * M55) each is the ACLE intrinsic GCC provides in <arm_acle.h>, so it compiles
 * to one instruction. Elsewhere (the host build that tests the kernels
 * against reference bit for bit, a core without the extension) each is
 * portable C with the same result: the instruction's definition in the Armv7-M
 * Architecture Reference Manual, written out.
 *
 * A "pair" is a uint32_t holding two int16 halves: bits 0-15 (bottom) and
 * 16-31 (top).
 */
#ifndef TB_NATIVE_SIMD_H
#define TB_NATIVE_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TB_SIMD_NATIVE 1
#else
#define TB_SIMD_NATIVE 0
#endif

/* Four int8 from any address (an unaligned word load on Cortex-M, LDR allows it). */
static inline uint32_t tb_simd_load4(const int8_t *p)
{
    uint32_t word;
    memcpy(&word, p, sizeof word);
    return word;
}

/* Two int16 from any address. */
static inline uint32_t tb_simd_load2x16(const int16_t *p)
{
    uint32_t word;
    memcpy(&word, p, sizeof word);
    return word;
}

static inline void tb_simd_store2x16(int16_t *p, uint32_t pair)
{
    memcpy(p, &pair, sizeof pair);
}

static inline int32_t tb_simd_bottom(uint32_t pair)
{
    return (int32_t)(int16_t)(pair & 0xffffu);
}

static inline int32_t tb_simd_top(uint32_t pair)
{
    return (int32_t)(int16_t)(pair >> 16);
}

static inline uint32_t tb_simd_pair(int32_t bottom, int32_t top)
{
    return ((uint32_t)(uint16_t)bottom) | ((uint32_t)(uint16_t)top << 16);
}

/* SXTB16: bytes 0 and 2 of x, sign-extended into the two halves. */
static inline uint32_t tb_sxtb16(uint32_t x)
{
#if TB_SIMD_NATIVE
    return __sxtb16(x);
#else
    return tb_simd_pair((int8_t)(x & 0xffu), (int8_t)((x >> 16) & 0xffu));
#endif
}

/* SXTB16 with ROR #8: bytes 1 and 3 of x, sign-extended into the two halves. */
static inline uint32_t tb_sxtb16_ror8(uint32_t x)
{
#if TB_SIMD_NATIVE
    /* GCC 12's arm_acle.h has no __ror, and it does not fold a rotate into SXTB16. */
    uint32_t result;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(result) : "r"(x));
    return result;
#else
    return tb_simd_pair((int8_t)((x >> 8) & 0xffu), (int8_t)((x >> 24) & 0xffu));
#endif
}

/* SXTAB16: the halves of a plus bytes 0 and 2 of x, sign-extended (each half wraps). */
static inline uint32_t tb_sxtab16(uint32_t a, uint32_t x)
{
#if TB_SIMD_NATIVE
    return __sxtab16(a, x);
#else
    return tb_simd_pair(tb_simd_bottom(a) + (int8_t)(x & 0xffu),
                        tb_simd_top(a) + (int8_t)((x >> 16) & 0xffu));
#endif
}

/* SXTAB16 with ROR #8: the halves of a plus bytes 1 and 3 of x. */
static inline uint32_t tb_sxtab16_ror8(uint32_t a, uint32_t x)
{
#if TB_SIMD_NATIVE
    uint32_t result;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(result) : "r"(a), "r"(x));
    return result;
#else
    return tb_simd_pair(tb_simd_bottom(a) + (int8_t)((x >> 8) & 0xffu),
                        tb_simd_top(a) + (int8_t)((x >> 24) & 0xffu));
#endif
}

/* SADD16: halfwise sum, each half wrapping. */
static inline uint32_t tb_sadd16(uint32_t a, uint32_t b)
{
#if TB_SIMD_NATIVE
    return __sadd16(a, b);
#else
    return tb_simd_pair(tb_simd_bottom(a) + tb_simd_bottom(b), tb_simd_top(a) + tb_simd_top(b));
#endif
}

/*
 * SMLAD: acc + bottom(x) * bottom(y) + top(x) * top(y). The Q flag it may set
 * is never read here; the kernels keep |acc| far below 2^31, as reference does.
 */
static inline int32_t tb_smlad(uint32_t x, uint32_t y, int32_t acc)
{
#if TB_SIMD_NATIVE
    return __smlad(x, y, acc);
#else
    return (int32_t)((uint32_t)acc + (uint32_t)(tb_simd_bottom(x) * tb_simd_bottom(y)) +
                     (uint32_t)(tb_simd_top(x) * tb_simd_top(y)));
#endif
}

/* SMLADX: acc + bottom(x) * top(y) + top(x) * bottom(y). */
static inline int32_t tb_smladx(uint32_t x, uint32_t y, int32_t acc)
{
#if TB_SIMD_NATIVE
    return __smladx(x, y, acc);
#else
    return (int32_t)((uint32_t)acc + (uint32_t)(tb_simd_bottom(x) * tb_simd_top(y)) +
                     (uint32_t)(tb_simd_top(x) * tb_simd_bottom(y)));
#endif
}

/* SMLABB: acc + bottom(x) * bottom(y). */
static inline int32_t tb_smlabb(uint32_t x, uint32_t y, int32_t acc)
{
#if TB_SIMD_NATIVE
    return __smlabb(x, y, acc);
#else
    return (int32_t)((uint32_t)acc + (uint32_t)(tb_simd_bottom(x) * tb_simd_bottom(y)));
#endif
}

/* PKHBT: the bottom half of a, the bottom half of b in the top. */
static inline uint32_t tb_pkhbt(uint32_t a, uint32_t b)
{
    return (a & 0xffffu) | (b << 16);
}

/* PKHTB: the top half of a, the top half of b in the bottom. */
static inline uint32_t tb_pkhtb(uint32_t a, uint32_t b)
{
    return (a & 0xffff0000u) | (b >> 16);
}

/* SSAT to 8 bits: x clamped to [-128, 127]. */
static inline int32_t tb_ssat8(int32_t x)
{
#if TB_SIMD_NATIVE
    return __ssat(x, 8);
#else
    return x < -128 ? -128 : (x > 127 ? 127 : x);
#endif
}

/* ---- c14fc: added for the dsp ADD ------------------------------------------------------ */

/*
 * SMMULR: the top word of a * b rounded, (a * b + 2^31) >> 32 (no intrinsic in
 * ACLE). With a = 2x for |x| < 2^30 this is tb_fx_mul_high(x, b) exactly:
 * floor((2xb + 2^31) / 2^32) = floor((xb + 2^30) / 2^31), which is
 * tb_fx_mul_high's rounding for every product (its saturating case needs x =
 * INT32_MIN).
 */
static inline int32_t tb_smmulr(int32_t a, int32_t b)
{
#if TB_SIMD_NATIVE
    int32_t result;
    __asm__("smmulr %0, %1, %2" : "=r"(result) : "r"(a), "r"(b));
    return result;
#else
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 31)) >> 32);
#endif
}

#endif /* TB_NATIVE_SIMD_H */
