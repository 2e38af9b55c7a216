/*
 * tb_cm_startup.c - Cortex-M vector table and reset: FPU on (CPACR) before any
 * C code can touch a float register, then .data copy, .bss clear, static
 * constructors, main(). A fault ends the program with 100 + its exception number.
 * The free stack is painted first, so that tb_port_stack_usage() can tell how
 * deep it ever reached.
 * ARMv6-M (Cortex-M0/M0+) has no FPU and no CPACR: its reset goes straight to C,
 * and nothing here uses a Thumb-2 instruction there.
 */
#include <stdint.h>

#include "port.h"
#include "tb_board_config.h"
#include "tb_cortexm.h"

/* Linker script symbols. */
extern uint32_t _sidata;
extern uint32_t _sdata;
extern uint32_t _edata;
extern uint32_t _sbss;
extern uint32_t _ebss;
extern uint32_t _sstack;
extern uint32_t _estack;
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void tb_reset_handler(void);
void tb_startup_c(void);
void tb_fault_handler(void);

/* 16 system exceptions + 48 external lines: enough for AN547's UART0 (IRQ 33/34). A board
 * whose UART interrupt lies higher (STM32L4+: LPUART1 is line 70) gets 112 lines. */
#if defined(TB_BOARD_UART_IRQ_MAX) && TB_BOARD_UART_IRQ_MAX >= 48
#define TB_VECTORS 128
#else
#define TB_VECTORS 64
#endif
#define TB_EXTERNAL_IRQS (TB_VECTORS - 16)
#if defined(TB_BOARD_UART_IRQ_MAX) && TB_BOARD_UART_IRQ_MAX >= TB_EXTERNAL_IRQS
#error "the board's UART interrupt lies beyond the vector table: raise TB_VECTORS"
#endif
/* One vector entry, kept on one line. */
/* clang-format off */
#define TB_IRQ { tb_cm_irq_handler }
/* clang-format on */
#define TB_IRQ4 TB_IRQ, TB_IRQ, TB_IRQ, TB_IRQ
#define TB_IRQ16 TB_IRQ4, TB_IRQ4, TB_IRQ4, TB_IRQ4

typedef union {
    void (*handler)(void);
    void *stack_top;
} tb_vector_t;

#define TB_EXIT_FAULT_BASE 100 /* exit code = 100 + exception number */

__attribute__((section(".vectors"), used)) const tb_vector_t tb_vectors[TB_VECTORS] = {
    { .stack_top = &_estack },
    { tb_reset_handler },
    { tb_fault_handler }, /*  2 NMI */
    { tb_fault_handler }, /*  3 HardFault */
    { tb_fault_handler }, /*  4 MemManage */
    { tb_fault_handler }, /*  5 BusFault */
    { tb_fault_handler }, /*  6 UsageFault */
    { tb_fault_handler }, /*  7 SecureFault (ARMv8-M) */
    { 0 },
    { 0 },
    { 0 },
    { tb_fault_handler }, /* 11 SVCall */
    { tb_fault_handler }, /* 12 DebugMonitor */
    { 0 },
    { tb_fault_handler },      /* 14 PendSV */
    { tb_cm_systick_handler }, /* 15 SysTick */
    /* External interrupts: only the UART's are ever enabled. */
    TB_IRQ16,
    TB_IRQ16,
    TB_IRQ16,
#if TB_VECTORS == 128
    TB_IRQ16,
    TB_IRQ16,
    TB_IRQ16,
    TB_IRQ16,
#endif
};

#if defined(__ARM_ARCH_6M__)
void tb_reset_handler(void)
{
    /* No FPU to enable and SP is already the vector table's: plain C from the first instruction. */
    tb_startup_c();
}
#else
__attribute__((naked, noreturn)) void tb_reset_handler(void)
{
    /* CPACR |= CP10 and CP11 full access; no C before this (it may use s0-s31). */
    __asm volatile("ldr r0, =0xe000ed88\n\t"
                   "ldr r1, [r0]\n\t"
                   "orr r1, r1, #0x00f00000\n\t"
                   "str r1, [r0]\n\t"
                   "dsb\n\t"
                   "isb\n\t"
                   "b tb_startup_c\n\t");
}
#endif

/* Not a byte repeated four times, so that no compiler turns the paint loop into a memset call:
 * a call would push its frame into the very region being painted. */
#define TB_STACK_PAINT 0x5ac3e11du

/* Left unpainted below the SP read by paint_stack(): the compiler may push that function's
 * registers after the read (shrink-wrapping; at most r4-r11 and lr, 36 bytes), and the paint
 * must not overwrite them. A reading is thus never below the margin plus the reset frame
 * (164 bytes on qemu-m4 at boot); after an inference it lies far deeper (kws01: 492 bytes). */
#define TB_STACK_PAINT_MARGIN 128u

/*
 * Paints the stack from its low end up to TB_STACK_PAINT_MARGIN below the current SP: the words
 * above hold this function's frame and its callers' (the reset handler's). The writes are
 * volatile and the function calls nothing, so nothing else runs below SP while it paints.
 */
__attribute__((noinline)) static void paint_stack(void)
{
    volatile uint32_t *word = &_sstack;
    uintptr_t sp;

    __asm volatile("mov %0, sp" : "=r"(sp));
    while ((uintptr_t)word + TB_STACK_PAINT_MARGIN < sp) {
        *word++ = TB_STACK_PAINT;
    }
}

int tb_port_stack_usage(uint32_t *used_bytes, uint32_t *reserved_bytes)
{
    const volatile uint32_t *word = &_sstack;

    /* The stack grows down: the lowest word no longer painted marks the deepest use. */
    while (word < (const volatile uint32_t *)&_estack && *word == TB_STACK_PAINT) {
        word++;
    }
    *used_bytes = (uint32_t)((uintptr_t)&_estack - (uintptr_t)word);
    *reserved_bytes = (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
    return 1;
}

void tb_startup_c(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst = &_sdata;
    void (**ctor)(void);

    paint_stack();
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0u;
    }
    /* Static constructors run after the FPU is on and memory is initialized. */
    for (ctor = __preinit_array_start; ctor < __preinit_array_end; ctor++) {
        (*ctor)();
    }
    for (ctor = __init_array_start; ctor < __init_array_end; ctor++) {
        (*ctor)();
    }
    (void)main();
    tb_port_exit(0);
}

void tb_fault_handler(void)
{
    uint32_t ipsr;

    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    tb_port_exit(TB_EXIT_FAULT_BASE + (int)(ipsr & 0x1ffu));
}
