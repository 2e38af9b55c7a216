/*
 * harness.h - the benchmark harness as seen by a main loop.
 *
 * The harness speaks the MLPerf Tiny / EEMBC serial protocol (plus the
 * tinybench extensions documented in docs/protocol.md). It is fed one byte at
 * a time and writes its answers through port.h. It knows nothing of the board
 * or of the engine's internals.
 */
#ifndef TB_HARNESS_H
#define TB_HARNESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Firmware version reported by `profile` and `info`. */
#define TB_FIRMWARE_VERSION "0.1.0"

/* The DUT name printed by `name` (m-name-dut-[...]) and `profile`. */
#define TB_DUT_NAME "tinybench"

/* Longest command line in characters, the terminating '%' excluded. */
#define TB_LINE_MAX 80u

/* Capacity of the db buffer: the largest standard input (vww01, 96x96x3). */
#ifndef TB_DB_CAPACITY
#define TB_DB_CAPACITY 27648u
#endif

/* Bytes of arena handed to the engine (a compile-time constant, -D overridable). */
#ifndef TB_ARENA_BYTES
#define TB_ARENA_BYTES (192u * 1024u)
#endif

/* A binary upload (`db bin`) is abandoned after this long without a byte. */
#ifndef TB_BIN_TIMEOUT_MS
#define TB_BIN_TIMEOUT_MS 2000u
#endif

/*
 * Entries of the per-inference latency record (`latency`): one uint32_t
 * counter delta per timed run of the last `infer`; runs beyond it are counted
 * but not stored. 4 KiB of RAM at the default; must be >= 1.
 */
#ifndef TB_LATENCY_CAPACITY
#define TB_LATENCY_CAPACITY 1024u
#endif

/*
 * A standard-only build (-DTB_HARNESS_STANDARD_ONLY) has none of the tinybench
 * extensions: no db bin / db file / results raw / info / latency / exit, no
 * m-infer-counter line and no m-ext line in help. It stands in for vendor
 * firmware when the host's external-DUT mode is tested.
 */
#ifdef TB_HARNESS_STANDARD_ONLY
#define TB_HARNESS_EXTENSIONS 0
#else
#define TB_HARNESS_EXTENSIONS 1
#endif

/*
 * Energy mode (-DTB_TIMESTAMP_MODE_ENERGY, `build_firmware(..., timestamp_mode="energy")`),
 * the EEMBC energy-mode DUT: the boot banner starts with m-timestamp-mode-energy after one
 * pulse of the timestamp pin (the reference firmware's boot edge), and `timestamp` pulses the
 * pin and prints nothing (a power monitor sees the edge; no m-lap-us). The port runs its UART
 * at the run rules' energy baud (the generated board header). Performance mode prints neither
 * the mode line nor anything else new.
 */
#ifdef TB_TIMESTAMP_MODE_ENERGY
#define TB_HARNESS_ENERGY 1
#else
#define TB_HARNESS_ENERGY 0
#endif

/* Initializes the engine and prints the boot banner ([m-timestamp-mode-energy], m-init-done,
 * m-ready). */
void tb_harness_init(void);

/* Feeds one byte received from the host. */
void tb_harness_feed(uint8_t byte);

/* Called when no byte is waiting: handles time-outs. */
void tb_harness_poll(void);

/* The whole program: port init, harness init, then the receive loop. Never returns. */
void tb_harness_run(void);

#ifdef __cplusplus
}
#endif

#endif /* TB_HARNESS_H */
