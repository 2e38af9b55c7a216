/* tb_native_kernel_set.c - the name of this kernel set: Helium (MVE) kernels for Cortex-M55; the ops it does not specialise come from reference. */
#include "tb_native_kernels.h"

const char *tb_native_kernel_set(void)
{
    return "mve";
}
