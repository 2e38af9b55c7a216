/*
 * tb_cm_defaults.c - weak defaults for what port.h marks optional, and for the
 * handlers a counter or board port may not need. A port defines its own to
 * replace them; the linker keeps the strong definition.
 */
#include "port.h"

#include "tb_cortexm.h"

__attribute__((weak)) void tb_port_idle(void)
{
    /* Busy polling is valid: the harness only asks for a pause. */
}

__attribute__((weak)) void tb_port_counter_rearm(void)
{
    /* A cycle counter needs no re-arming. */
}

__attribute__((weak)) void tb_port_timestamp_pulse(void)
{
    /* No timestamp pin wired (every emulated board). */
}

__attribute__((weak)) long tb_port_file_read(const char *path, uint32_t offset, uint32_t len,
                                             uint8_t *buf, uint32_t cap)
{
    (void)path;
    (void)offset;
    (void)len;
    (void)buf;
    (void)cap;
    return TB_PORT_FILE_UNSUPPORTED;
}

__attribute__((weak)) long tb_port_file_write(const char *path, const uint8_t *data, uint32_t len,
                                              int mode)
{
    (void)path;
    (void)data;
    (void)len;
    (void)mode;
    return TB_PORT_FILE_UNSUPPORTED;
}

__attribute__((weak)) void tb_cm_systick_handler(void)
{
    /* SysTick is not the counter: nothing to count. */
}

__attribute__((weak)) void tb_cm_irq_handler(void)
{
    /* No interrupt is enabled without a handler from the board port. */
}
