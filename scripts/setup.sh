#!/usr/bin/env bash
# Sets up this checkout for tinybench, idempotently, and takes seconds when nothing is missing:
#   1. Debian packages: the Arm toolchain, newlib and QEMU, git (it applies TFLM's flatbuffers
#      patch), plus gcc and python3-venv if absent; with --dev also chromium, which the report
#      tests drive headless, clang-format, which checks the C style, and clang with
#      libclang-rt-14-dev, which builds the libFuzzer target of firmware/fuzz,
#   2. a virtual environment in .venv,
#   3. the tinybench package (editable), with the test tools when --dev is given,
#   4. with --dev, .venv-farm: labgrid for the board farm tests (the `farm` extra).
# Usage: bash scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras=""
case "${1:-}" in
    --dev) extras="[dev]" ;;
    "") ;;
    *) echo "usage: bash scripts/setup.sh [--dev]" >&2; exit 2 ;;
esac

# Debian packages: the firmware toolchain, the emulator, and a host C compiler for the host port.
packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcc libc6-dev git)
# The test suite also opens the HTML report in a headless browser and checks the C style.
[ -n "$extras" ] && packages+=(chromium clang-format clang libclang-rt-14-dev)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# A Python without ensurepip (Debian's python3 before python3-venv) cannot make a venv.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
        echo "tinybench setup: missing Debian packages: ${missing[*]}" >&2
        echo "install them as root: apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    echo "tinybench setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv

# Reinstall only when the package metadata changed or the test tools are wanted and missing
# (an install with [dev] also serves the plain command).
stamp=.venv/.tinybench-installed
meta="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$have" != "$meta [dev]" ] && [ "$have" != "$meta ${extras}" ]; then
    want="$meta ${extras}"
    echo "tinybench setup: installing the tinybench package${extras:+ with $extras}" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
    echo "$want" > "$stamp"
fi

# Board farms (--dev): labgrid in a venv of its own, .venv-farm, because labgrid's
# pyserial-labgrid installs the same `serial` package as pyserial. .venv-farm sees .venv's
# packages (tinybench and its dependencies) after its own, so `serial` there is labgrid's.
if [ -n "$extras" ]; then
    farm_want="$(.venv/bin/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["farm"]))')"
    farm_stamp=.venv-farm/.tinybench-farm-installed
    if [ "$(cat "$farm_stamp" 2>/dev/null || true)" != "$farm_want" ]; then
        echo "tinybench setup: installing $farm_want into .venv-farm (board farms)" >&2
        [ -x .venv-farm/bin/python ] || .venv/bin/python -m venv .venv-farm
        # shellcheck disable=SC2086 # one word per requirement
        .venv-farm/bin/python -m pip install --quiet --disable-pip-version-check $farm_want
        base_site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        farm_site="$(.venv-farm/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        echo "import site; site.addsitedir('$base_site')" > "$farm_site/tinybench-base-venv.pth"
        echo "$farm_want" > "$farm_stamp"
    fi
fi
