"""Port discovery and opening without a reset, through pyserial against simulated USB boards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.discovery import (
    PortAccess,
    PortDiscoveryError,
    PortInfo,
    confirm_board,
    find_board_port,
    probe_port,
)
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.transport.serial_link import BANNER_FIRST_BYTE_S, SerialTransport
from tinybench.dut.worker import DutWorker, WorkerConfig
from tinybench.errors import ProtocolError
from tinybench.manifests.boards import BoardManifest
from tinybench.project import Project

from .simboard import SimulatedBus, SimulatedUsbBoard

FTDI = PortInfo("/sim/ttyUSB7", 0x0403, 0x6001, "FT0001", "FT232R USB UART")
MOTHERBOARD = PortInfo("/sim/ttyS0", None, None, None, "ttyS0")


def access(bus: SimulatedBus) -> PortAccess:
    return PortAccess(list_ports=bus.list_ports, factory=bus.factory)


def test_the_board_is_found_by_usb_id_among_other_ports_and_not_reset(
    bus: SimulatedBus, host_kws01: FirmwareBuild, nucleo: BoardManifest
) -> None:
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="dtr"))
    bus.other_ports += [FTDI, MOTHERBOARD]
    assert find_board_port(nucleo, access(bus)) == board.device
    assert board.opens == 1
    assert board.resets == 0  # DTR stayed deasserted from before the open


def test_a_plain_pyserial_open_does_reset_a_dtr_board(
    bus: SimulatedBus, host_kws01: FirmwareBuild
) -> None:
    """The control: pyserial's default open asserts DTR, and the simulated board resets."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="dtr"))
    port = bus.factory(board.device, baudrate=115200, timeout=2)
    try:
        assert board.resets == 1
        assert b"m-init-done" in port.read_until(b"m-ready")
    finally:
        port.close()


def test_two_boards_of_the_same_kind_ask_for_port_and_list_both(
    bus: SimulatedBus, host_kws01: FirmwareBuild, nucleo: BoardManifest
) -> None:
    first = bus.add(SimulatedUsbBoard(host_kws01.image, serial_number="066AFF111"))
    second = bus.add(SimulatedUsbBoard(host_kws01.image, pid=0x374E, serial_number="0031002"))
    with pytest.raises(PortDiscoveryError) as err:
        find_board_port(nucleo, access(bus))
    message = str(err.value)
    assert "2 ports look like nucleo-l4r5zi" in message and "--port" in message
    for board in (first, second):
        assert board.device in message and board.serial_number in message
    assert first.opens == second.opens == 0  # nothing was opened to decide


def test_no_matching_board_names_what_was_found(nucleo: BoardManifest) -> None:
    bus = SimulatedBus()
    bus.other_ports += [FTDI, MOTHERBOARD]
    with pytest.raises(PortDiscoveryError) as err:
        find_board_port(nucleo, access(bus))
    message = str(err.value)
    assert "0483:374B" in message and "ST-LINK VCP" in message
    assert "/sim/ttyUSB7 (0403:6001, FT232R USB UART)" in message
    assert "/sim/ttyS0 (no USB ID" in message and "doctor --ports" in message


def test_a_board_at_the_wrong_baud_rate_is_named_with_what_was_tried(
    bus: SimulatedBus, host_kws01: FirmwareBuild, nucleo: BoardManifest
) -> None:
    # It resets on the open, so its banner arrives while discovery listens: garbled.
    board = bus.add(SimulatedUsbBoard(host_kws01.image, baud=9600, reset_on="open"))
    with pytest.raises(PortDiscoveryError) as err:
        find_board_port(nucleo, access(bus), answer_s=0.5)
    message = str(err.value)
    assert board.device in message and "at 115200 baud it sent b'" in message
    assert "\\xff" in message or "\\x00" in message  # the noise, printed escaped
    assert "9600 and 921600" in message and "--port" in message


def test_a_silent_board_is_reported_silent(
    bus: SimulatedBus, host_kws01: FirmwareBuild, nucleo: BoardManifest
) -> None:
    board = bus.add(SimulatedUsbBoard(host_kws01.image))
    board.hang()
    started = time.monotonic()
    with pytest.raises(PortDiscoveryError, match=r"silent at 115200 baud for 0\.5 s"):
        find_board_port(nucleo, access(bus), answer_s=0.5)
    assert time.monotonic() - started < 5.0


def test_a_board_that_resets_on_open_is_waited_for(
    bus: SimulatedBus, host_kws01: FirmwareBuild
) -> None:
    """Its banner is read to m-ready before the first command, which a booting board loses."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="open", boot_s=0.15))
    transport = SerialTransport.open(
        board.device, 115200, factory=bus.factory, banner_first_byte_s=BANNER_FIRST_BYTE_S
    )
    try:
        assert board.resets == 1
        assert transport.banner.startswith(b"m-init-done") and b"m-ready" in transport.banner
        session = DutSession(transport, Timeouts(boot_s=1.0, command_s=1.0))
        session.synchronize()
        assert session.name() == "tinybench"
    finally:
        transport.close()


def test_without_waiting_for_the_banner_the_first_command_is_lost(
    bus: SimulatedBus, host_kws01: FirmwareBuild
) -> None:
    """The control for the test above: `name%` sent while the board boots gets no answer."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="open", boot_s=0.3))
    transport = SerialTransport.open(board.device, 115200, factory=bus.factory)
    try:
        session = DutSession(transport, Timeouts(boot_s=1.0, command_s=1.0))
        with pytest.raises(ProtocolError, match="did not answer `name`"):
            session.synchronize()
    finally:
        transport.close()


def test_probe_reports_the_name_and_settings(bus: SimulatedBus, host_kws01: FirmwareBuild) -> None:
    board = bus.add(SimulatedUsbBoard(host_kws01.image))
    probe = probe_port(board.device, 115200, access(bus), dtr=True, rts=True)
    assert probe.dut_name == "tinybench" and probe.error is None
    assert probe.setting == "115200 baud dtr=on rts=on"
    missing = probe_port("/sim/no-such-port", 115200, access(bus))
    assert missing.error is not None and missing.dut_name is None


def _reference(shared_dir: Path, sample: bytes) -> bytes:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(shared_dir / "models" / "kws01.tflite"))
    interpreter.set_input(np.frombuffer(sample, dtype=np.int8).reshape(1, 49, 10, 1), 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0), dtype=np.int8).tobytes()


def test_a_discovered_board_runs_kws01_through_the_worker(
    bus: SimulatedBus,
    host_kws01: FirmwareBuild,
    nucleo: BoardManifest,
    project: Project,
    shared_dir: Path,
    tmp_path: Path,
) -> None:
    """Discovery hands the worker a device path, which it opens without a DTR edge."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="dtr"))
    device = find_board_port(nucleo, access(bus))
    config = WorkerConfig(
        board=nucleo,
        image=host_kws01.image,
        model=project.model("kws01"),
        serial_port=device,
        transcript=tmp_path / "transcript.txt",
        timeouts=Timeouts(boot_s=2.0, command_s=2.0, infer_s=5.0),
        port_access=access(bus),
    )
    folder = shared_dir / "datasets" / "kws01"
    samples = [p.read_bytes() for p in sorted(folder.glob("*.bin"))[:3]]
    worker = DutWorker(config)
    try:
        for sample in samples:

            def step(session: DutSession, sample: bytes = sample) -> bytes:
                session.load(sample)
                session.infer(1, 0)
                return session.results_raw()

            assert worker.call(step) == _reference(shared_dir, sample)
    finally:
        worker.close()
    assert worker.restarts == 0 and board.resets == 0
    assert board.opens == 2  # discovery's name% check, then the worker's session


def test_a_board_that_hangs_mid_run_is_reset_by_the_user_and_reopened(
    bus: SimulatedBus,
    host_kws01: FirmwareBuild,
    nucleo: BoardManifest,
    project: Project,
    shared_dir: Path,
    tmp_path: Path,
) -> None:
    """The worker's physical-board recovery over the pty: the port is closed and reopened."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image))
    messages: list[str] = []

    def user(message: str) -> None:
        messages.append(message)
        threading.Timer(0.5, board.reset).start()  # the reset button, a moment later

    config = WorkerConfig(
        board=nucleo,
        image=host_kws01.image,
        model=project.model("kws01"),
        serial_port=find_board_port(nucleo, access(bus)),
        transcript=tmp_path / "transcript.txt",
        timeouts=Timeouts(boot_s=2.0, command_s=1.0, infer_s=2.0),
        reset_wait_s=30.0,
        port_access=access(bus),
    )
    folder = shared_dir / "datasets" / "kws01"
    first, second = (p.read_bytes() for p in sorted(folder.glob("*.bin"))[:2])

    def infer(sample: bytes) -> Callable[[DutSession], bytes]:
        def step(session: DutSession) -> bytes:
            session.load(sample)
            session.infer(1, 0)
            return session.results_raw()

        return step

    worker = DutWorker(config, user)
    try:
        assert worker.call(infer(first)) == _reference(shared_dir, first)
        board.hang()
        assert worker.call(infer(second)) == _reference(shared_dir, second)
    finally:
        worker.close()
    assert worker.restarts == 1 and board.resets == 1
    assert len(messages) == 1 and "Reset the board" in messages[0]


def test_a_board_still_booting_after_the_banner_wait_is_asked_again(
    bus: SimulatedBus, host_kws01: FirmwareBuild, nucleo: BoardManifest
) -> None:
    """It boots for 0.8 s (deaf) after the open's reset: the first name% is lost, the next is
    answered once its banner has come."""
    board = bus.add(SimulatedUsbBoard(host_kws01.image, reset_on="open", boot_s=0.8))
    assert confirm_board(nucleo, board.device, access(bus), answer_s=3.0) == "tinybench"
    assert board.resets == 1
