/*
 * tb_port_cm.c - port.h for Cortex-M boards with a CMSDK UART: polled UART,
 * SysTick extended to 64 bits by counting wraps, semihosting exit.
 */
#include "port.h"

#include "tb_board.h"
#include "tb_cmsdk_uart.h"
#include "tb_cortexm.h"

#define TB_UART ((tb_cmsdk_uart_regs_t *)tb_board.uart_base)
#define TB_SYSTICK_PERIOD (TB_SYSTICK_MAX_RELOAD + 1u)

/* Semihosting: SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit. */
#define TB_SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define TB_SEMIHOST_APPLICATION_EXIT 0x20026u

void tb_systick_handler(void);
void tb_irq_handler(void);

static volatile uint32_t s_wraps;  /* SysTick reached 0 this many times */
static uint64_t s_base;            /* ticks folded in by tb_port_counter_rearm */

void tb_systick_handler(void)
{
    s_wraps++;
}

/* The UART RX interrupt only wakes the core from WFI: acknowledge it, read nothing. */
void tb_irq_handler(void)
{
    TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
}

void tb_port_init(void)
{
    uint32_t div = tb_board.cpu_hz / tb_board.baud;
    unsigned i;

    TB_UART->ctrl = 0u;
    TB_UART->bauddiv = div < 16u ? 16u : div;
    TB_UART->intstatus = TB_CMSDK_UART_INT_RX;
    TB_UART->ctrl = TB_CMSDK_UART_CTRL_TX_EN | TB_CMSDK_UART_CTRL_RX_EN |
                    TB_CMSDK_UART_CTRL_RX_INT_EN;
    for (i = 0u; i < 2u; i++) {
        TB_NVIC_ISER[tb_board.uart_irq[i] / 32u] = 1u << (tb_board.uart_irq[i] % 32u);
    }

    TB_SYSTICK->ctrl = 0u;
    TB_SYSTICK->load = TB_SYSTICK_MAX_RELOAD;
    TB_SYSTICK->val = 0u;
    TB_SYSTICK->ctrl = TB_SYSTICK_CTRL_CLKSOURCE_CPU | TB_SYSTICK_CTRL_TICKINT |
                       TB_SYSTICK_CTRL_ENABLE;
}

void tb_port_write(const uint8_t *data, size_t len)
{
    size_t i;

    for (i = 0u; i < len; i++) {
        while ((TB_UART->state & TB_CMSDK_UART_STATE_TX_FULL) != 0u) {
        }
        TB_UART->data = data[i];
    }
}

int tb_port_read_byte(void)
{
    if ((TB_UART->state & TB_CMSDK_UART_STATE_RX_FULL) == 0u) {
        return -1;
    }
    return (int)(TB_UART->data & 0xffu);
}

void tb_port_idle(void)
{
    /* WFI with interrupts masked: a pending RX (or SysTick) interrupt still wakes the core. */
    uint32_t primask = tb_cm_irq_save();

    if ((TB_UART->state & TB_CMSDK_UART_STATE_RX_FULL) == 0u) {
        __asm volatile("dsb\n\twfi" : : : "memory");
    }
    tb_cm_irq_restore(primask);
}

/*
 * Position in the current period: 0 when the counter reads 0 (the moment the
 * wrap is signalled), then 1 after the reload to LOAD, ... LOAD at 1.
 */
static uint32_t period_position(uint32_t val)
{
    return (TB_SYSTICK_PERIOD - val) & TB_SYSTICK_MAX_RELOAD;
}

static uint64_t counter_locked(void)
{
    uint64_t wraps = s_wraps;
    uint32_t val = TB_SYSTICK->val;

    if ((TB_SCB_ICSR & TB_SCB_ICSR_PENDSTSET) != 0u) {
        /* Wrapped but the handler has not run yet: read again after the wrap. */
        val = TB_SYSTICK->val;
        wraps++;
    }
    return s_base + wraps * TB_SYSTICK_PERIOD + period_position(val);
}

uint64_t tb_port_counter(void)
{
    uint32_t primask = tb_cm_irq_save();
    uint64_t now = counter_locked();

    tb_cm_irq_restore(primask);
    return now;
}

uint32_t tb_port_counter_hz(void)
{
    return tb_board.cpu_hz;
}

uint32_t tb_port_cpu_hz(void)
{
    return tb_board.cpu_hz;
}

const char *tb_port_counter_kind(void)
{
    return "systick";
}

void tb_port_counter_rearm(void)
{
    uint32_t primask = tb_cm_irq_save();

    s_base = counter_locked();
    s_wraps = 0u;
    /* Clear the counter, then wait for the reload: the region starts on a tick edge. */
    TB_SYSTICK->val = 0u;
    while (TB_SYSTICK->val == 0u) {
    }
    TB_SCB_ICSR = TB_SCB_ICSR_PENDSTCLR;
    {
        uint32_t position = period_position(TB_SYSTICK->val);
        s_base = s_base >= position ? s_base - position : 0u;
    }
    tb_cm_irq_restore(primask);
}

void tb_port_timestamp_pulse(void)
{
    /* No timestamp GPIO is wired on the emulated boards. */
}

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
 * TB_PORT_NO_SEMIHOST_FILES (bkpt 0xab would fault there).
 */
#ifndef TB_PORT_NO_SEMIHOST_FILES
#define TB_SEMIHOST_SYS_OPEN 0x01u
#define TB_SEMIHOST_SYS_CLOSE 0x02u
#define TB_SEMIHOST_SYS_READ 0x06u
#define TB_SEMIHOST_SYS_SEEK 0x0au
#define TB_SEMIHOST_SYS_FLEN 0x0cu
#define TB_SEMIHOST_MODE_RB 1u

static uint32_t string_length(const char *s)
{
    uint32_t n = 0u;

    while (s[n] != '\0') {
        n++;
    }
    return n;
}

long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf,
                       uint32_t cap)
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
            result = (len > cap || len > (uint32_t)size - offset) ? TB_PORT_FILE_RANGE
                                                                  : (long)len;
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
#else
long tb_port_file_read(const char *path, uint32_t offset, uint32_t len, uint8_t *buf,
                       uint32_t cap)
{
    /* Without a debugger or emulator, bkpt 0xab would fault: no host files here. */
    (void)path;
    (void)offset;
    (void)len;
    (void)buf;
    (void)cap;
    return TB_PORT_FILE_UNSUPPORTED;
}
#endif

void tb_port_exit(int code)
{
    uint32_t block[2];

    block[0] = TB_SEMIHOST_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    (void)semihost(TB_SEMIHOST_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}
