/* tb_native_kernel_set.c - the name of this kernel set: Arm DSP-extension kernels (SMLAD and friends) for Cortex-M4, M7 and M33; the ops it does not specialise come from reference. */
#include "tb_native_kernels.h"

const char *tb_native_kernel_set(void)
{
    return "dsp";
}
