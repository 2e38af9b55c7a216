"""boards/*.toml is the one source of board facts: what is generated from it says the same,
nothing else states them, and the DUT's own report of its clocks is checked against it."""

from __future__ import annotations

import configparser
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tinybench.build import boardgen
from tinybench.dut.session import DutSession
from tinybench.dut.transport.fake import FakeTransport
from tinybench.errors import ManifestError
from tinybench.manifests.boards import (
    BoardKind,
    BoardManifest,
    BoardMismatchError,
    check_dut_clocks,
    instructions_per_tick,
    load_board_manifest,
    load_board_manifests,
)

from .helpers import copy_project_data, edit


@pytest.fixture(scope="module")
def generated(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build/boards/ as the build driver writes it, in a scratch project root."""
    root = tmp_path_factory.mktemp("project")
    (root / "firmware").symlink_to(repo_root / "firmware")
    envs = boardgen.write_generated(root, load_board_manifests(repo_root / "boards"))
    assert "qemu-m4-native" in envs
    return root / boardgen.GENERATED_DIR


def _buildable(repo_root: Path) -> list[BoardManifest]:
    boards = load_board_manifests(repo_root / "boards")
    return boardgen.buildable_boards(boards, repo_root / "firmware")


def test_every_board_with_a_port_gets_its_environments(repo_root: Path, generated: Path) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(generated / "envs.ini")
    envs = {s.removeprefix("env:"): parser[s] for s in parser.sections()}
    buildable = _buildable(repo_root)
    assert {b.board_id for b in buildable} >= {"host", "qemu-m4", "qemu-m7", "qemu-m55"}
    assert sorted(envs) == sorted(env for b in buildable for env in b.firmware_envs)
    assert "host-tflm" not in envs  # upstream TF Lite Micro is built for Cortex-M only
    for board in buildable:
        for env_name in board.firmware_envs:
            section = envs[env_name]
            assert section["board"] == board.board_id
            assert f"+<ports/{board.port}/>" in section["build_src_filter"]
            if boardgen.is_cortex_m(board):
                counter = f"ports/cortex_m/counter/tb_cm_{board.counter.value}.c"
                assert f"+<{counter}>" in section["build_src_filter"]
                assert (repo_root / "firmware" / counter).is_file()


def test_the_platformio_board_says_what_the_manifest_says(repo_root: Path, generated: Path) -> None:
    for board in _buildable(repo_root):
        pio = json.loads((generated / "pio" / f"{board.board_id}.json").read_text())
        build = pio["build"]
        assert pio["name"] == board.board_id
        assert (build["cpu"], build["f_cpu"], build["mcu"]) == (
            board.core, f"{board.cpu_hz}L", board.platformio.mcu,
        )  # fmt: skip
        assert build.get("fpu", "none") == board.fpu
        flags = build["arch_flags"]
        if board.core == "host":
            assert flags == [] and "linker_script" not in build
            continue
        assert flags[:2] == [f"-mcpu={board.core}", "-mthumb"]
        assert (f"-mfpu={board.fpu}" in flags) == (board.fpu != "none")
        code, data = board.region("code"), board.region("data")
        assert code is not None and data is not None
        assert pio["upload"] == {"maximum_size": code.size, "maximum_ram_size": data.size}
        assert Path(build["linker_script"]).is_file()


def _memory_regions(script: str) -> dict[str, tuple[int, int]]:
    pattern = r"^\s*(\w+) \((\w+)\) : ORIGIN = (0x[0-9a-f]+), LENGTH = (0x[0-9a-f]+)$"
    return {
        m.group(1): (int(m.group(3), 16), int(m.group(4), 16))
        for m in re.finditer(pattern, script, re.MULTILINE)
    }


def test_the_linker_memory_and_the_c_constants_come_from_the_manifest(
    repo_root: Path, generated: Path
) -> None:
    for board in _buildable(repo_root):
        header = (generated / board.board_id / "tb_board_config.h").read_text()
        defines = dict(re.findall(r"^#define (TB_BOARD_\w+) (.+)$", header, re.MULTILINE))
        assert defines["TB_BOARD_CPU_HZ"] == f"{board.cpu_hz}u"
        assert defines["TB_BOARD_COUNTER_HZ"] == f"{board.counter_hz}u"
        if board.core == "host":
            continue
        assert board.uart is not None and board.uart.base is not None
        assert int(defines["TB_BOARD_UART_BASE"].rstrip("u"), 16) == board.uart.base
        assert defines["TB_BOARD_UART_BAUD"] == f"{board.uart.baud}u"
        irqs = tuple(int(n) for n in re.findall(r"(\d+)u", defines["TB_BOARD_UART_IRQS"]))
        assert irqs == board.uart.irqs and irqs
        script = (generated / board.board_id / "tb_board.ld").read_text()
        regions = _memory_regions(script)
        assert regions == {r.name.upper(): (r.origin, r.size) for r in board.memory}
        code, data = board.region("code"), board.region("data")
        assert code is not None and data is not None
        for alias, region in (("FLASH", code), ("RAM", data)):
            # A region named like its alias needs none (ld refuses to redefine it).
            line = f'REGION_ALIAS("{alias}", {region.name.upper()});'
            assert (line in script) == (region.name.upper() != alias), (board.board_id, alias)
        assert f"TB_STACK_BYTES = {board.stack_bytes};" in script
        assert ("TB_BOARD_PHYSICAL" in defines) == (board.kind is BoardKind.PHYSICAL)
        st_pin = board.timestamp is not None and re.fullmatch(r"P[A-K]\d+", board.timestamp.pin)
        if board.timestamp is not None and st_pin:
            port, pin = board.timestamp.pin[1], int(board.timestamp.pin[2:])
            assert defines["TB_BOARD_TIMESTAMP_PORT"] == f"{ord(port) - ord('A')}u"
            assert defines["TB_BOARD_TIMESTAMP_PIN"] == f"{pin}u"
            assert defines["TB_BOARD_TIMESTAMP_ACTIVE_LOW"] == str(
                int(board.timestamp.active == "low")
            )
        else:
            # No ST-style pin (none, or a port that drives its own, e.g. the nRF's P1.08).
            assert "TB_BOARD_TIMESTAMP_PIN" not in defines


def test_no_board_fact_is_written_by_hand_outside_the_manifests(repo_root: Path) -> None:
    """The places that held copies before: each would drift from boards/*.toml."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(repo_root / "platformio.ini")
    assert [s for s in parser.sections() if s.startswith("env:")] == []
    assert parser["platformio"]["boards_dir"] == "build/boards/pio"
    assert parser["platformio"]["extra_configs"] == "build/boards/envs.ini"
    assert not (repo_root / "firmware" / "pio-platform" / "boards").exists()
    assert list((repo_root / "firmware").rglob("*.ld")) == [
        repo_root / "firmware" / "ports" / "cortex_m" / "tb_cm_sections.ld"
    ]
    for source in (repo_root / "firmware" / "ports").rglob("*.[ch]"):
        text = source.read_text()
        assert not re.search(r"0x4000[45]000|0x49303000|0x50200000", text), source
        assert not re.search(r"\b(25|32|20)000000u?\b", text), source
    bench = (repo_root / "bench" / "native_engine.py").read_text()
    assert "-mfpu=" not in bench and "-mcpu=" not in bench


def test_instructions_per_tick_follow_the_typed_icount_shift(
    tmp_path: Path, repo_root: Path
) -> None:
    boards = load_board_manifests(repo_root / "boards")
    assert instructions_per_tick(boards["qemu-m4"], 25_000_000) == 40.0
    assert instructions_per_tick(boards["qemu-m55"], 32_000_000) == 31.25
    assert instructions_per_tick(boards["nucleo-l4r5zi"], 120_000_000) is None
    assert instructions_per_tick(boards["host"], 1_000_000_000) is None
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / "qemu-m4.toml", "icount_shift = 0", "icount_shift = 2")
    shifted = load_board_manifest(root / "boards", "qemu-m4")
    assert shifted.emulator is not None
    assert shifted.emulator.command_args[-2:] == ("-icount", "shift=2")
    assert instructions_per_tick(shifted, 25_000_000) == 10.0  # 4 ns per instruction


BROKEN_BOARD_FACTS = [
    ("qemu-m4", "icount_shift = 0", "icount_shift = 11", "emulator.icount_shift: must be <= 10"),
    ("qemu-m4", "icount_shift = 0", 'icount_shift = "0"', "emulator.icount_shift: expected an"),
    (
        "qemu-m4",
        'args = ["-nographic", "-semihosting"]',
        'args = ["-nographic", "-icount", "shift=3"]',
        "emulator.args: must not set -icount; icount_shift does",
    ),
    ("qemu-m4", "hz = 25000000", "hz = 1000000", "counter.hz: a systick counter counts the core"),
    ("qemu-m4", "irqs = [0, 1]", "irqs = [-1]", "uart.irqs: every entry must be >= 0"),
    ("qemu-m4", "[platformio]", "[pio]", "platformio: missing"),
    (
        "nucleo-g071rb",
        'fpu = "none"',
        'fpu = "fpv4-sp-d16"',
        "core: cortex-m0plus has no FPU and no DWT cycle counter",
    ),
    (
        "nucleo-g071rb",
        'kind = "systick"',
        'kind = "dwt"',
        "core: cortex-m0plus has no FPU and no DWT cycle counter",
    ),
    (
        "nucleo-g071rb",
        'status = "build-only"',
        'status = "qemu"',
        "verification.status: a physical board can be 'build-only' or 'hardware', not 'qemu'",
    ),
    ("nucleo-g071rb", 'status = "build-only"', 'status = "tested"', "verification.status: must"),
    (
        "nucleo-g071rb",
        "stack_bytes = 4096",
        "stack_bytes = 4100",
        "stack_bytes: must be a multiple",
    ),
    ("nucleo-g071rb", 'db_buffer = "model"', 'db_buffer = "small"', "firmware.db_buffer: must"),
    ("qemu-m4", 'mcu = "AN386"', 'cpu = "AN386"', "platformio.cpu: unknown key"),
    (
        "qemu-m4",
        "[platformio]",
        '[timestamp]\npin = "PC6"\nactive = "low"\n\n[platformio]',
        "timestamp: only physical boards have one; this board is emulated",
    ),
]


@pytest.mark.parametrize(("board", "old", "new", "message"), BROKEN_BOARD_FACTS)
def test_a_wrong_board_fact_is_refused_with_the_key_named(
    tmp_path: Path, repo_root: Path, board: str, old: str, new: str, message: str
) -> None:
    root = copy_project_data(repo_root, tmp_path)
    edit(root / "boards" / f"{board}.toml", old, new)
    with pytest.raises(ManifestError) as err:
        load_board_manifest(root / "boards", board)
    assert message in str(err.value)


def test_problems_of_a_board_are_reported_all_at_once(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    path = root / "boards" / "qemu-m4.toml"
    edit(path, "icount_shift = 0", "icount_shift = 99")
    edit(path, "hz = 25000000", "hz = 1")
    edit(path, 'mcu = "AN386"', "mcu = 386")
    with pytest.raises(ManifestError) as err:
        load_board_manifest(root / "boards", "qemu-m4")
    text = str(err.value)
    assert "(3 problems)" in text
    for key in ("emulator.icount_shift", "counter.hz", "platformio.mcu"):
        assert key in text


def test_a_timestamp_pin_on_a_physical_board_is_read(tmp_path: Path, repo_root: Path) -> None:
    root = copy_project_data(repo_root, tmp_path)
    path = root / "boards" / "nucleo-l4r5zi.toml"
    edit(path, 'pin = "PF13"', 'pin = "PC6"')
    board = load_board_manifest(root / "boards", "nucleo-l4r5zi")
    assert board.timestamp is not None
    assert (board.timestamp.pin, board.timestamp.active) == ("PC6", "low")
    reference = load_board_manifest(repo_root / "boards", "nucleo-l4r5zi").timestamp
    assert reference is not None and reference.pin == "PF13"  # Arduino D7, as MLPerf Tiny's
    assert load_board_manifest(repo_root / "boards", "qemu-m4").timestamp is None


def _simulated_dut(info_line: str) -> DutSession:
    """A DUT that names itself, lists the info extension and answers `info` with the line."""
    replies = {
        b"name": "m-name-dut-[tinybench]",
        b"help": "m-ext-[info]",
        b"info": f"m-info-[{info_line}]",
    }

    def respond(data: bytes) -> bytes:
        reply = replies.get(data.rstrip(b"%"))
        return f"{reply}\r\nm-ready\r\n".encode() if reply is not None else b""

    session = DutSession(FakeTransport(respond))
    session.synchronize()
    return session


def test_the_dut_clocks_are_checked_against_the_manifest_at_connect(repo_root: Path) -> None:
    board = load_board_manifest(repo_root / "boards", "qemu-m4")
    good = "fw=0.1.0,cpu_hz=25000000,counter=systick,counter_hz=25000000,engine=native"
    check_dut_clocks(board, _simulated_dut(good).info().fields)

    wrong_clock = good.replace("counter_hz=25000000", "counter_hz=20000000")
    with pytest.raises(BoardMismatchError) as err:
        check_dut_clocks(board, _simulated_dut(wrong_clock).info().fields)
    text = str(err.value)
    assert "counter_hz=20000000" in text and "says 25000000" in text
    assert str(board.manifest_path) in text

    with pytest.raises(BoardMismatchError, match=r"cpu_hz=32000000, but .*qemu-m4.toml says"):
        check_dut_clocks(board, {**_simulated_dut(good).info().fields, "cpu_hz": "32000000"})
    with pytest.raises(BoardMismatchError, match=r"counter dwt, but .* says systick"):
        check_dut_clocks(board, {**_simulated_dut(good).info().fields, "counter": "dwt"})
    with pytest.raises(BoardMismatchError, match="no numeric counter_hz"):
        check_dut_clocks(board, {"cpu_hz": "25000000", "counter": "systick"})


def test_a_host_process_reporting_an_unknown_cpu_clock_passes(repo_root: Path) -> None:
    host = load_board_manifest(repo_root / "boards", "host")
    assert host.kind is BoardKind.PROCESS
    line = "fw=0.1.0,cpu_hz=0,counter=host-monotonic,counter_hz=1000000000"
    check_dut_clocks(host, _simulated_dut(line).info().fields)
    with pytest.raises(BoardMismatchError):
        check_dut_clocks(replace(host, counter_hz=1000), _simulated_dut(line).info().fields)


def test_every_board_says_how_it_is_verified_and_small_boards_budget_their_ram(
    repo_root: Path,
) -> None:
    boards = load_board_manifests(repo_root / "boards")
    for board in boards.values():
        expected = {BoardKind.EMULATED: "qemu", BoardKind.PROCESS: "host"}.get(
            board.kind, "build-only"
        )
        assert board.verification.value == expected, board.board_id
    g071, nrf51 = boards["nucleo-g071rb"], boards["qemu-nrf51"]
    assert (g071.stack_bytes, g071.budget.db_buffer, g071.budget.latency_entries) == (
        4096,
        "model",
        64,
    )
    assert (nrf51.core, nrf51.fpu, nrf51.counter.value) == ("cortex-m0", "none", "systick")
    assert boards["nucleo-h7a3zi"].stack_bytes == 16 * 1024  # the default
    assert boardgen.arch_flags(g071) == ("-mcpu=cortex-m0plus", "-mthumb")  # no float ABI
