/*
 * tb_stm32_usart.h - the STM32 "v2" USART and GPIO shared by the G0, H7 and U5
 * ports and by the L4's LPUART1: register maps as volatile structs with their
 * offsets, and the USART's start-up. From the reference manuals' register maps
 * (RM0444 G0, RM0455 H7A3, RM0456 U5, RM0432 L4+ LPUART), read as BOARDS.md
 * sections 0 and 1 summarise: CR1 0x00, BRR 0x0c, ISR 0x1c, ICR 0x20, RDR 0x24,
 * TDR 0x28, PRESC 0x2c. The F4 USART (SR/DR/BRR/CR1) is a different block.
 * tb_stm32_console.h drives one as the console for firmware/ports/cortex_m's
 * tb_cm_uart.c.
 *
 * Header-only on purpose: each family port is one translation unit that
 * includes it, and a family directory is the build's unit of selection.
 */
#ifndef TB_STM32_USART_H
#define TB_STM32_USART_H

#include <stddef.h>
#include <stdint.h>

#include "tb_cortexm.h"

typedef struct {
    volatile uint32_t cr1;   /* 0x00 UE bit0, RE bit2, TE bit3, RXNEIE bit5 */
    volatile uint32_t cr2;   /* 0x04 */
    volatile uint32_t cr3;   /* 0x08 */
    volatile uint32_t brr;   /* 0x0c USARTDIV with OVER8 = 0 */
    volatile uint32_t gtpr;  /* 0x10 */
    volatile uint32_t rtor;  /* 0x14 */
    volatile uint32_t rqr;   /* 0x18 */
    volatile uint32_t isr;   /* 0x1c PE0 FE1 NE2 ORE3 RXNE5 TC6 TXE7 */
    volatile uint32_t icr;   /* 0x20 the same error bits, write 1 to clear */
    volatile uint32_t rdr;   /* 0x24 */
    volatile uint32_t tdr;   /* 0x28 */
    volatile uint32_t presc; /* 0x2c kernel clock prescaler (0: /1) */
} tb_stm32_usart_regs_t;

#define TB_USART_CR1_UE (1u << 0)
#define TB_USART_CR1_RE (1u << 2)
#define TB_USART_CR1_TE (1u << 3)
#define TB_USART_CR1_RXNEIE (1u << 5)
#define TB_USART_ISR_ERRORS 0x0fu /* PE, FE, NE, ORE */
#define TB_USART_ISR_RXNE (1u << 5)
#define TB_USART_ISR_TXE (1u << 7)

typedef struct {
    volatile uint32_t moder;   /* 0x00 2 bits per pin: 00 in, 01 out, 10 alternate */
    volatile uint32_t otyper;  /* 0x04 */
    volatile uint32_t ospeedr; /* 0x08 */
    volatile uint32_t pupdr;   /* 0x0c 01 pull-up */
    volatile uint32_t idr;     /* 0x10 */
    volatile uint32_t odr;     /* 0x14 */
    volatile uint32_t bsrr;    /* 0x18 set bits 15:0, reset bits 31:16 */
    volatile uint32_t lckr;    /* 0x1c */
    volatile uint32_t afr[2];  /* 0x20 AFRL pins 0-7, 0x24 AFRH pins 8-15: 4 bits each */
} tb_stm32_gpio_regs_t;

/* Bounded waits: a model (QEMU) or a dead clock must not hang the boot. */
#define TB_STM32_WAIT_LIMIT 1000000u

static inline int tb_stm32_wait_set(const volatile uint32_t *reg, uint32_t mask)
{
    uint32_t n;

    for (n = 0u; n < TB_STM32_WAIT_LIMIT; n++) {
        if ((*reg & mask) == mask) {
            return 1;
        }
    }
    return 0;
}

static inline int tb_stm32_wait_field(const volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    uint32_t n;

    for (n = 0u; n < TB_STM32_WAIT_LIMIT; n++) {
        if ((*reg & mask) == value) {
            return 1;
        }
    }
    return 0;
}

static inline void tb_stm32_gpio_alternate(tb_stm32_gpio_regs_t *gpio, uint32_t pin, uint32_t af,
                                           int pull_up)
{
    uint32_t shift4 = (pin % 8u) * 4u;

    gpio->afr[pin / 8u] = (gpio->afr[pin / 8u] & ~(0xfu << shift4)) | (af << shift4);
    gpio->ospeedr |= 2u << (pin * 2u); /* high speed */
    gpio->pupdr = (gpio->pupdr & ~(3u << (pin * 2u))) | ((pull_up ? 1u : 0u) << (pin * 2u));
    gpio->moder = (gpio->moder & ~(3u << (pin * 2u))) | (2u << (pin * 2u));
}

/* A push-pull output, set to its idle level before it becomes one (no glitch). */
static inline void tb_stm32_gpio_output(tb_stm32_gpio_regs_t *gpio, uint32_t pin, int high)
{
    gpio->bsrr = high ? (1u << pin) : (1u << (pin + 16u));
    gpio->moder = (gpio->moder & ~(3u << (pin * 2u))) | (1u << (pin * 2u));
}

/* USARTDIV for 16x oversampling, rounded to the nearest integer. */
static inline uint32_t tb_stm32_usart_brr(uint32_t kernel_hz, uint32_t baud)
{
    return (kernel_hz + baud / 2u) / baud;
}

static inline void tb_stm32_usart_start(tb_stm32_usart_regs_t *usart, uint32_t kernel_hz,
                                        uint32_t baud)
{
    usart->cr1 = 0u;
    usart->presc = 0u;
    usart->brr = tb_stm32_usart_brr(kernel_hz, baud);
    usart->icr = TB_USART_ISR_ERRORS;
    usart->cr1 = TB_USART_CR1_RXNEIE | TB_USART_CR1_TE | TB_USART_CR1_RE | TB_USART_CR1_UE;
}

/* Enables the board's UART lines in the NVIC (TB_BOARD_UART_IRQS of the manifest). */
static inline void tb_stm32_nvic_enable(const uint32_t *lines, uint32_t count)
{
    uint32_t i;

    for (i = 0u; i < count; i++) {
        TB_NVIC_ISER[lines[i] / 32u] = 1u << (lines[i] % 32u);
    }
}

/* Drives the pin to its active level for at least hold_us (>= 2 cycles per step,
 * cpu_hz / 1e6 steps per us, so up to twice as long), then back to idle. */
static inline void tb_stm32_pulse(tb_stm32_gpio_regs_t *gpio, uint32_t pin, int active_low,
                                  uint32_t cpu_hz, uint32_t hold_us)
{
    volatile uint32_t n = cpu_hz / 1000000u * hold_us;
    uint32_t set = 1u << pin;
    uint32_t reset = 1u << (pin + 16u);

    gpio->bsrr = active_low ? reset : set;
    while (n > 0u) {
        n--;
    }
    gpio->bsrr = active_low ? set : reset;
}

#endif /* TB_STM32_USART_H */
