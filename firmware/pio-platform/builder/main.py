"""SCons build script of the tinybench PlatformIO platform.

Uses the toolchains installed on the system (Debian's arm-none-eabi-gcc, or gcc
for the host board) so that builds need no registry package and work offline.
The compiled model (a C plan for the native engine) lives outside src_dir; the
build driver passes its directory in TINYBENCH_PLAN_DIR.

The boards are generated from boards/*.toml by the build driver
(tinybench.build.boardgen) into build/boards/pio/<board>.json: the compiler flags
(build.arch_flags), the linker script (build.linker_script) and the directories of the
board's tb_board_config.h and of the Cortex-M layer (build.include_dirs) are read from
there, never written here.
"""

import os
import sys

from SCons.Script import Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
cpu = board.get("build.cpu")
project_dir = env.subst("$PROJECT_DIR")

# One warning set for every source of ours (the strictest the tests use); upstream TF Lite
# Micro is built by the build driver with its own flags and its headers are -isystem below.
warnings = ["-Wall", "-Wextra", "-Werror", "-Wshadow"]
c_warnings = ["-Wmissing-prototypes", "-Wstrict-prototypes"]  # C only: g++ rejects them
common = ["-O2", "-g", "-ffunction-sections", "-fdata-sections", *warnings]

if cpu == "host":
    env.Replace(CC="gcc", CXX="g++", AR="ar", RANLIB="ranlib", LINK="gcc", PROGSUFFIX="")
    arch: list[str] = []
    link = ["-Wl,--gc-sections"]
    libs = ["m"]
else:
    prefix = "arm-none-eabi-"
    env.Replace(
        CC=prefix + "gcc",
        CXX=prefix + "g++",
        AS=prefix + "gcc",
        AR=prefix + "gcc-ar",
        RANLIB=prefix + "gcc-ranlib",
        LINK=prefix + "gcc",
        OBJCOPY=prefix + "objcopy",
        SIZETOOL=prefix + "size",
        PROGSUFFIX=".elf",
    )
    arch = list(board.get("build.arch_flags"))
    ldscript = board.get("build.linker_script")
    link = [
        "-T",
        ldscript,
        "-nostartfiles",
        "--specs=nano.specs",
        "--specs=nosys.specs",
        "-Wl,--gc-sections",
        "-Wl,-Map,${BUILD_DIR}/firmware.map",
        # The generated script INCLUDEs the shared sections of the Cortex-M layer.
        "-L" + os.path.join(project_dir, "firmware", "ports", "cortex_m"),
    ]
    libs = ["m"]

env.Replace(PROGNAME="firmware")
env.Append(
    ASFLAGS=arch,
    CCFLAGS=arch + common,
    CFLAGS=["-std=c99", *c_warnings],
    LINKFLAGS=arch + link,
    CPPPATH=[os.path.join(project_dir, "firmware", "include"), *board.get("build.include_dirs")],
    LIBS=libs,
)

plan_dir = os.environ.get("TINYBENCH_PLAN_DIR")
if not plan_dir or not os.path.isdir(plan_dir):
    sys.stderr.write(
        "tinybench: TINYBENCH_PLAN_DIR is not set to a compiled model directory; "
        "build the firmware with `tinybench build --board B --engine E --model M`\n"
    )
    env.Exit(1)
env.Append(CPPPATH=[plan_dir])
# The harness's static arena, sized by the build driver from the compiled model.
arena_bytes = os.environ.get("TINYBENCH_ARENA_BYTES", "")
if arena_bytes.isdigit():
    env.Append(CPPDEFINES=[("TB_ARENA_BYTES", arena_bytes + "u")])
# A small board's RAM budget (its manifest's [firmware] table, passed by the build driver):
# the db buffer sized to the model's input, a shorter latency record.
for variable, define in (
    ("TINYBENCH_DB_CAPACITY", "TB_DB_CAPACITY"),
    ("TINYBENCH_LATENCY_CAPACITY", "TB_LATENCY_CAPACITY"),
):
    value = os.environ.get(variable, "")
    if value.isdigit():
        env.Append(CPPDEFINES=[(define, value + "u")])

# The tflm engine: the adapter and the generated op resolver are C++ and link libtflm.a,
# built by the build driver (host/tinybench/build/tflm.py) from the cached upstream trees
# into the directory passed in TINYBENCH_TFLM_LIB_DIR, with the flags it was built with.
if env.subst("$PIOENV").endswith("-tflm"):
    import json

    lib_dir = os.environ.get("TINYBENCH_TFLM_LIB_DIR", "")
    flags_path = os.path.join(lib_dir, "flags.json")
    if not lib_dir or not os.path.isfile(flags_path):
        sys.stderr.write(
            "tinybench: TINYBENCH_TFLM_LIB_DIR does not name a built TF Lite Micro library; "
            "build the firmware with `tinybench build --engine tflm --model M`\n"
        )
        env.Exit(1)
    with open(flags_path) as handle:
        tflm = json.load(handle)
    # Upstream headers as system headers: our files stay -Wall -Wextra -Werror clean
    # without upstream warnings breaking the build.
    isystem = []
    for include in tflm["include_dirs"]:
        isystem += ["-isystem", include]
    env.Append(
        CXXFLAGS=list(tflm["cxxflags"]),
        CCFLAGS=isystem,
        CPPDEFINES=list(tflm["defines"]) + [("TB_TFLM_VERSION", '\\"%s\\"' % tflm["version"])],
        CPPPATH=[os.path.join(project_dir, "firmware", "engines", "tflm")],
        LIBPATH=[lib_dir],
    )
    # g++ links libstdc++/libsupc++ (operator delete of virtual destructors, __cxa_pure_virtual);
    # libtflm comes first so that its references into them resolve.
    env.Replace(LINK=env.subst("$CXX"))
    env.Prepend(LIBS=["tflm"])
    env.Depends("$BUILD_DIR/${PROGNAME}${PROGSUFFIX}", os.path.join(lib_dir, "libtflm.a"))

# --- The native engine's kernel set (owned with firmware/engines/native) ---------------------
# As TF Lite Micro selects kernels/<set>/ at build time: the environment's source filter takes
# only the engine core (engines/native/*.c); the set named by TINYBENCH_KERNELS (default
# `reference`) is one directory beside it, compiled here. The known sets are the directories,
# so adding a set needs no edit of this file or of platformio.ini.
if env.subst("$PIOENV").endswith("-native"):
    native_dir = os.path.join(project_dir, "firmware", "engines", "native")
    known_sets = sorted(
        name for name in os.listdir(native_dir) if os.path.isdir(os.path.join(native_dir, name))
    )
    kernel_set = os.environ.get("TINYBENCH_KERNELS", "") or "reference"
    if kernel_set not in known_sets:
        sys.stderr.write(
            "tinybench: unknown native kernel set %r (TINYBENCH_KERNELS); known: %s\n"
            % (kernel_set, ", ".join(known_sets))
        )
        env.Exit(1)
    # A set other than `reference` holds the files it specialises; every reference file it does
    # not have is taken from reference (file by file, as TF Lite Micro's optimized kernel
    # directories fall back to kernels/), so a set needs only the ops it makes faster.
    set_dir = os.path.join(native_dir, kernel_set)
    own = {name for name in os.listdir(set_dir) if name.endswith(".c")}
    env.BuildSources(os.path.join("$BUILD_DIR", "kernels-" + kernel_set), set_dir)
    if kernel_set != "reference":
        borrowed = sorted(
            name
            for name in os.listdir(os.path.join(native_dir, "reference"))
            if name.endswith(".c") and name not in own
        )
        env.BuildSources(
            os.path.join("$BUILD_DIR", "kernels-reference-for-" + kernel_set),
            os.path.join(native_dir, "reference"),
            src_filter=["-<*>"] + ["+<%s>" % name for name in borrowed],
        )
# --- end of the kernel-set block ------------------------------------------------------------

# A standard-only harness (no tinybench extensions), the stand-in for vendor firmware in the
# external-DUT tests: `tinybench build --standard-only` sets TINYBENCH_STANDARD_ONLY=1.
if os.environ.get("TINYBENCH_STANDARD_ONLY") == "1":
    env.Append(CPPDEFINES=["TB_HARNESS_STANDARD_ONLY"])

# The EEMBC energy-mode DUT (`build_firmware(..., timestamp_mode="energy")`): the harness's
# timestamp pulses only, the UART runs at the board header's energy baud.
if os.environ.get("TINYBENCH_TIMESTAMP_MODE") == "energy":
    env.Append(CPPDEFINES=["TB_TIMESTAMP_MODE_ENERGY"])

env.BuildSources(os.path.join("$BUILD_DIR", "model"), plan_dir)

Default([env.BuildProgram()])
