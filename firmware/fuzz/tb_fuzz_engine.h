/* tb_fuzz_engine.h - the fuzz double engine's own control (see tb_fuzz_engine.c). */
#ifndef TB_FUZZ_ENGINE_H
#define TB_FUZZ_ENGINE_H

#include "engine.h"

/* Invokes each fuzz input may spend; -D overridable. */
#ifndef TB_FUZZ_INVOKE_BUDGET
#define TB_FUZZ_INVOKE_BUDGET 64u
#endif

/* Restores the invoke budget and clears the op hook: called before each fuzz input. */
void tb_fuzz_engine_reset(void);

#endif /* TB_FUZZ_ENGINE_H */
