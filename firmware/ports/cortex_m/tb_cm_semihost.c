/*
 * tb_cm_semihost.c - Arm semihosting (bkpt 0xab): the program's exit code and
 * host file reads and writes, under QEMU -semihosting or a debugger. A physical board
 * (TB_BOARD_PHYSICAL) has no file reads and stops on exit unless a debugger
 * is attached.
 */
#include "port.h"

#include "tb_board_config.h"

/* On a physical board nothing answers bkpt 0xab unless a debugger is attached. */
#if defined(TB_BOARD_PHYSICAL) && !defined(TB_PORT_NO_SEMIHOST_FILES)
#define TB_PORT_NO_SEMIHOST_FILES
#endif

/* DHCSR.C_DEBUGEN: a debugger has halting debug enabled (and may serve semihosting). */
#define TB_DHCSR (*(volatile uint32_t *)0xe000edf0u)
#define TB_DHCSR_C_DEBUGEN (1u << 0)

/* Semihosting: SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit. */
#define TB_SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define TB_SEMIHOST_APPLICATION_EXIT 0x20026u

/* One semihosting call: operation in r0, argument block in r1, result in r0. */
static int32_t semihost(uint32_t op, const uint32_t *args)
{
    register uint32_t r0 __asm("r0") = op;
    register const uint32_t *r1 __asm("r1") = args;

    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

/*
 * Host files through semihosting, for emulated runs. On by default like the
 * semihosting exit; a build for a board without a debugger defines
 * TB_PORT_NO_SEMIHOST_FILES (bkpt 0xab would fault there) and gets the weak
 * default of tb_cm_defaults.c, which returns TB_PORT_FILE_UNSUPPORTED.
 */
#ifndef TB_PORT_NO_SEMIHOST_FILES
#define TB_SEMIHOST_SYS_OPEN 0x01u
#define TB_SEMIHOST_SYS_CLOSE 0x02u
#define TB_SEMIHOST_SYS_WRITE 0x05u
#define TB_SEMIHOST_SYS_READ 0x06u
#define TB_SEMIHOST_SYS_SEEK 0x0au
#define TB_SEMIHOST_SYS_FLEN 0x0cu
#define TB_SEMIHOST_MODE_RB 1u
#define TB_SEMIHOST_MODE_WB 5u
#define TB_SEMIHOST_MODE_AB 9u

static uint32_t string_length(const char *s)
{
    uint32_t n = 0u;

    while (s[n] != '\0') {
        n++;
    }
    return n;
}

long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf, uint32_t cap)
{
    uint32_t args[3];
    int32_t handle;
    int32_t size;
    long result;

    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = TB_SEMIHOST_MODE_RB;
    args[2] = string_length(path);
    handle = semihost(TB_SEMIHOST_SYS_OPEN, args);
    if (handle < 0) {
        return TB_PORT_FILE_NOT_FOUND;
    }
    args[0] = (uint32_t)handle;
    size = semihost(TB_SEMIHOST_SYS_FLEN, args);
    if (size < 0) {
        result = TB_PORT_FILE_IO;
    } else if (offset > (uint32_t)size) {
        result = TB_PORT_FILE_RANGE;
    } else {
        if (len == 0u) {
            len = (uint32_t)size - offset;
            result = len > cap ? TB_PORT_FILE_RANGE : (long)len;
        } else {
            result = (len > cap || len > (uint32_t)size - offset) ? TB_PORT_FILE_RANGE : (long)len;
        }
        if (result >= 0) {
            args[1] = offset;
            if (semihost(TB_SEMIHOST_SYS_SEEK, args) != 0) {
                result = TB_PORT_FILE_IO;
            }
        }
        if (result >= 0) {
            args[1] = (uint32_t)(uintptr_t)buf;
            args[2] = len;
            if (semihost(TB_SEMIHOST_SYS_READ, args) != 0) { /* returns bytes NOT read */
                result = TB_PORT_FILE_IO;
            }
        }
    }
    args[0] = (uint32_t)handle;
    (void)semihost(TB_SEMIHOST_SYS_CLOSE, args);
    return result;
}

long tb_port_file_write(const char *path, const uint8_t *data, uint32_t len, int mode)
{
    uint32_t args[3];
    int32_t handle;
    int32_t size;
    long result = (long)len;

    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = mode == TB_PORT_FILE_APPEND ? TB_SEMIHOST_MODE_AB : TB_SEMIHOST_MODE_WB;
    args[2] = string_length(path);
    handle = semihost(TB_SEMIHOST_SYS_OPEN, args);
    if (handle < 0) {
        return TB_PORT_FILE_NOT_FOUND;
    }
    if (mode == TB_PORT_FILE_APPEND) {
        /* QEMU opens "ab" without O_APPEND (writes start at offset 0): seek to the end. */
        args[0] = (uint32_t)handle;
        size = semihost(TB_SEMIHOST_SYS_FLEN, args);
        args[1] = (uint32_t)size;
        if (size < 0 || semihost(TB_SEMIHOST_SYS_SEEK, args) != 0) {
            result = TB_PORT_FILE_IO;
        }
    }
    if (len > 0u && result >= 0) {
        args[0] = (uint32_t)handle;
        args[1] = (uint32_t)(uintptr_t)data;
        args[2] = len;
        if (semihost(TB_SEMIHOST_SYS_WRITE, args) != 0) { /* returns bytes NOT written */
            result = TB_PORT_FILE_IO;
        }
    }
    args[0] = (uint32_t)handle;
    if (semihost(TB_SEMIHOST_SYS_CLOSE, args) != 0) {
        result = TB_PORT_FILE_IO;
    }
    return result;
}
#endif

void tb_port_exit(int code)
{
    uint32_t block[2];

    block[0] = TB_SEMIHOST_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
#ifdef TB_BOARD_PHYSICAL
    /* Without a debugger the bkpt would fault (and the fault handler exits again): a board
     * has nowhere to return to, so it stops here until reset. */
    if ((TB_DHCSR & TB_DHCSR_C_DEBUGEN) == 0u) {
        __asm volatile("cpsid i" : : : "memory");
        for (;;) {
        }
    }
#endif
    (void)semihost(TB_SEMIHOST_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}
