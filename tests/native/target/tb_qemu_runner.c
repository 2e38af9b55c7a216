/*
 * tb_qemu_runner.c - a bare-metal test program for QEMU's mps2-an386 (Cortex-M4F) and
 * mps2-an500 (Cortex-M7): runs the native engine on the inputs of tb_test_inputs.c, prints
 * every output as a hex line (twice: the second invoke must repeat the first) with the SysTick
 * count of the first invoke, through Arm semihosting, then exits QEMU with a status code.
 *
 * Lines: "out <index> <ticks> <hex of output 1> <hex of output 2>", then "done".
 * Not part of the firmware: the real harness lives in firmware/harness.
 */
#include <stdint.h>

#include "engine.h"
#include "tb_native_model.h"

extern const uint32_t tb_test_input_count;
extern const int8_t tb_test_inputs[];

extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __stack_top__;

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

static uint8_t arena[TB_NATIVE_ARENA_BYTES] __attribute__((aligned(16)));
static volatile uint32_t systick_wraps;
static char line[64 + 4 * 1024];

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void exit_qemu(uint32_t code)
{
    const uint32_t block[2] = {0x20026u, code}; /* ADP_Stopped_ApplicationExit */
    semihost(0x20, block);                      /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

static char *put_u32(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}

static char *put_hex(char *p, const int8_t *data, uint32_t bytes)
{
    static const char digits[] = "0123456789abcdef";
    uint32_t i;
    for (i = 0; i < bytes; ++i) {
        const uint8_t b = (uint8_t)data[i];
        *p++ = digits[b >> 4];
        *p++ = digits[b & 15u];
    }
    return p;
}

int main(void);

void SysTick_Handler(void)
{
    systick_wraps++;
}

static void fault_handler(void)
{
    exit_qemu(3u);
}

void Reset_Handler(void)
{
    uint32_t *src = &__data_load__;
    uint32_t *dst;
    for (dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0u;
    }
    SCB_CPACR |= 0xFu << 20; /* full access to CP10/CP11 (FPU) */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    exit_qemu((uint32_t)main());
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top__), Reset_Handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0,
    fault_handler, SysTick_Handler,
};

static uint32_t ticks_now(void)
{
    uint32_t wraps, cvr;
    do {
        wraps = systick_wraps;
        cvr = SYST_CVR;
    } while (wraps != systick_wraps);
    return wraps * 0x1000000u + (0xFFFFFFu - cvr);
}

int main(void)
{
    tb_tensor_view_t in, out;
    uint32_t k, i;
    if (tb_engine_init(arena, sizeof(arena)) != TB_ENGINE_OK ||
        tb_engine_input(&in) != TB_ENGINE_OK || tb_engine_output(&out) != TB_ENGINE_OK ||
        in.bytes != TB_NATIVE_INPUT_BYTES || out.bytes * 4u + 64u > sizeof(line)) {
        return 1;
    }
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
    for (k = 0; k < tb_test_input_count; ++k) {
        char *p = line;
        uint32_t t0, t1;
        for (i = 0; i < in.bytes; ++i) {
            in.data[i] = tb_test_inputs[k * TB_NATIVE_INPUT_BYTES + i];
        }
        t0 = ticks_now();
        if (tb_engine_invoke() != TB_ENGINE_OK) {
            return 2;
        }
        t1 = ticks_now();
        *p++ = 'o';
        *p++ = 'u';
        *p++ = 't';
        *p++ = ' ';
        p = put_u32(p, k);
        *p++ = ' ';
        p = put_u32(p, t1 - t0);
        *p++ = ' ';
        p = put_hex(p, out.data, out.bytes);
        *p++ = ' ';
        if (tb_engine_invoke() != TB_ENGINE_OK) {
            return 2;
        }
        p = put_hex(p, out.data, out.bytes);
        *p++ = '\n';
        *p = '\0';
        semihost(0x04, line); /* SYS_WRITE0 */
    }
    semihost(0x04, "done\n");
    return 0;
}
