/* tb_native_kernel_set.c - the name of this kernel set: portable C99 kernels, no intrinsics. */
#include "tb_native_kernels.h"

const char *tb_native_kernel_set(void)
{
    return "reference";
}
