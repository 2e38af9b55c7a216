"""The loopback farm: N emulated boards, a labgrid coordinator and exporter, all on 127.0.0.1.

`up` starts, in order, the coordinator, the power switch (tinybench.farm.powerd, which owns the
QEMUs), and the exporter, whose configuration gives each board a group with a
`NetworkSerialPort` (protocol raw: QEMU's TCP serial speaks no RFC 2217) and a
`NetworkPowerPort` (model simplerest, on the power switch); then it adds one place per board,
tagged board=<board> and farm=loopback. Every PID goes into farm.json in the farm directory;
`down` stops exactly those processes (checked by their command line, so a reused PID is left
alone) and the QEMUs the power switch recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.dut.emulator import MARKER_PORTS, free_tcp_port
from tinybench.errors import TinybenchError
from tinybench.farm.labgrid_client import FarmClient, prepare_environment
from tinybench.manifests.boards import BoardManifest

STATE_FILE = "farm.json"
EXPORTER_NAME = "tinybench-loopback"
MARKER_RESOURCE = "markers"  # a place's energy marker UART (emulated boards of the farm)
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def _tool(name: str) -> str:
    """A labgrid program of the Python that runs tinybench (its venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise TinybenchError(
            f"{name} not found: board farms need labgrid (pip install 'tinybench[farm]')"
        )
    return found


def qemu_argv(board: BoardManifest, serial_port: int, marker_port: int | None) -> list[str]:
    """QEMU for one farm board, its console UART on a TCP port that waits for the client.

    marker_port (boards whose energy-mode firmware writes markers on UART1): that UART on a
    second TCP port that waits too. Its chardev is a -chardev, which QEMU creates (and waits
    on) before the -serial ones, so a client connects the markers first, then the console
    (tinybench's place link does, for every run). With wait=off the guest could boot before
    QEMU's main loop accepted a marker connection made during the console's wait, and the boot
    edge would be lost."""
    emulator = board.emulator
    if emulator is None:
        raise TinybenchError(f"the loopback farm emulates boards; {board.board_id} is not emulated")
    program = shutil.which(emulator.program)
    if program is None:
        raise TinybenchError(f"{emulator.program} not found; install qemu-system-arm")
    chardev = f"tcp:127.0.0.1:{serial_port},server=on,wait=on,nodelay=on"
    markers: list[str] = []
    if marker_port is not None:
        markers = [
            "-chardev",
            f"socket,id=markers,host=127.0.0.1,port={marker_port},server=on,wait=on,nodelay=on",
        ]
    return [
        program, "-M", emulator.machine, "-cpu", emulator.cpu, *emulator.command_args,
        "-monitor", "none", *markers,
        *emulator.serial_args(chardev, "chardev:markers" if marker_port is not None else None),
    ]  # fmt: skip


def exporter_config(boards: list[dict[str, Any]], power_url: str, baud: int) -> str:
    """The exporter's YAML (a Jinja2 template to labgrid: no `#` lines in it). A board with a
    marker UART exports it as a second NetworkSerialPort named `markers`."""
    lines = []
    for k, board in enumerate(boards):
        lines += [
            f"tb-{k}:",
            "  NetworkSerialPort:",
            "    host: 127.0.0.1",
            f"    port: {board['serial_port']}",
            "    protocol: raw",
            f"    speed: {baud}",
        ]
        if board.get("marker_port") is not None:
            lines += [
                f"  {MARKER_RESOURCE}:",
                "    cls: NetworkSerialPort",
                "    host: 127.0.0.1",
                f"    port: {board['marker_port']}",
                "    protocol: raw",
                f"    speed: {baud}",
            ]
        lines += [
            "  NetworkPowerPort:",
            "    model: simplerest",
            f"    host: '{power_url}/outlet/{{index}}/{{value}}'",
            f"    index: {k}",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FarmProcess:
    role: str
    pid: int
    marker: str  # a word of its command line, checked before it is signalled


def _cmdline(pid: int) -> str:
    """The process's command line, "" when there is none (psutil: Linux, macOS, Windows)."""
    import psutil  # the farm extra; imported here so the rest of the package needs none

    try:
        return " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return ""


def alive(process: FarmProcess) -> bool:
    """The farm's process still runs: its PID exists and its command line has its marker
    (a PID the system reused for another program is not ours)."""
    return process.marker in _cmdline(process.pid)


def _stop(processes: list[FarmProcess]) -> list[FarmProcess]:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns those still running (none)."""
    for process in processes:
        if alive(process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in processes:
        if alive(process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
    time.sleep(0.05)
    return [p for p in processes if alive(p)]


class LoopbackFarm:
    """A farm directory: its state file, configuration and logs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state_path = directory / STATE_FILE

    def state(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise TinybenchError(f"{self.state_path} is unreadable: {exc}") from exc
        return state

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.state_path)

    def processes(self, state: dict[str, Any]) -> list[FarmProcess]:
        found = [FarmProcess(p["role"], p["pid"], p["marker"]) for p in state["processes"]]
        powerd_state = self.directory / "powerd-state.json"
        with contextlib.suppress(OSError, ValueError):
            qemus = json.loads(powerd_state.read_text(encoding="utf-8"))["qemu_pids"]
            found += [FarmProcess(f"qemu-{k}", pid, "qemu") for k, pid in qemus.items()]
        return found

    def _spawn(
        self, role: str, argv: list[str], marker: str, state: dict[str, Any], cwd: Path
    ) -> None:
        log = (self.directory / f"{role}.log").open("ab")
        with log:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                start_new_session=True,
            )  # fmt: skip
        state["processes"].append({"role": role, "pid": process.pid, "marker": marker})
        self._save(state)

    def up(self, board: BoardManifest, count: int, image: Path | None) -> dict[str, Any]:
        existing = self.state()
        if existing is not None and any(alive(p) for p in self.processes(existing)):
            raise TinybenchError(
                f"a farm runs from {self.directory} already (tinybench farm status); "
                "tinybench farm down first"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        prepare_environment(f"tinybench-farm-{os.getpid()}")
        coordinator = f"127.0.0.1:{free_tcp_port()}"
        boards = []
        for k in range(count):
            port = free_tcp_port()
            marker_port = free_tcp_port() if board.port in MARKER_PORTS else None
            board_image = self.directory / f"board-{k}.elf"
            if image is not None:
                shutil.copyfile(image, board_image)
            else:
                board_image.unlink(missing_ok=True)
            boards.append(
                {
                    "serial_port": port,
                    "marker_port": marker_port,
                    "image": str(board_image),
                    "argv": qemu_argv(board, port, marker_port),
                }
            )
        state: dict[str, Any] = {
            "board": board.board_id,
            "coordinator": coordinator,
            "exporter": EXPORTER_NAME,
            "places": [f"{board.board_id}-{k}" for k in range(count)],
            "processes": [],
        }
        self._save(state)
        try:
            self._start(board, state, boards)
        except BaseException:
            self.down()
            raise
        return state

    def _start(
        self, board: BoardManifest, state: dict[str, Any], boards: list[dict[str, Any]]
    ) -> None:
        coordinator_dir = self.directory / "coordinator"
        coordinator_dir.mkdir(exist_ok=True)
        for stale in ("places.yaml", "resources.yaml"):
            (coordinator_dir / stale).unlink(missing_ok=True)
        self._spawn(
            "coordinator", [_tool("labgrid-coordinator"), "--listen", state["coordinator"]],
            "labgrid-coordinator", state, coordinator_dir,
        )  # fmt: skip
        powerd_state = self.directory / "powerd-state.json"
        powerd_state.unlink(missing_ok=True)
        config = {"outlets": boards, "state_file": str(powerd_state)}
        (self.directory / "powerd.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        argv = [sys.executable, "-m", "tinybench.farm.powerd", str(self.directory / "powerd.json")]
        self._spawn("power", argv, "tinybench.farm.powerd", state, self.directory)
        power_url = self._wait_power(powerd_state)
        state["power_url"] = power_url
        baud = board.uart.baud if board.uart is not None else 115200
        exporter_yaml = self.directory / "exporter.yaml"
        exporter_yaml.write_text(exporter_config(boards, power_url, baud), encoding="utf-8")
        self._spawn(
            "exporter",
            [_tool("labgrid-exporter"), "-c", state["coordinator"], "--name", EXPORTER_NAME,
             "--hostname", "127.0.0.1", str(exporter_yaml)],
            "labgrid-exporter", state, self.directory,
        )  # fmt: skip
        client = self._connect(state["coordinator"])
        try:
            self._wait_resources(client, len(boards))
            for k, name in enumerate(state["places"]):
                client.add_place(
                    name, f"{EXPORTER_NAME}/tb-{k}/*", {"board": board.board_id, "farm": "loopback"}
                )
        finally:
            client.close()
        self._save(state)

    def _wait_power(self, powerd_state: Path) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError):
                url: str = json.loads(powerd_state.read_text(encoding="utf-8"))["url"]
                if url:
                    return url
            time.sleep(0.05)
        raise TinybenchError(
            f"the farm's power switch did not start: see {self.directory}/power.log"
        )

    def _connect(self, address: str) -> FarmClient:
        """A client once the coordinator listens (labgrid logs every refused connection)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        host, _, port = address.rpartition(":")
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise TinybenchError(
                        f"the farm's coordinator did not listen on {address}: see "
                        f"{self.directory}/coordinator.log"
                    ) from None
                time.sleep(0.05)
        while True:
            try:
                return FarmClient(address)
            except TinybenchError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _wait_resources(self, client: FarmClient, count: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            client.sync()
            groups = client.exported_groups(EXPORTER_NAME)
            if len(groups) >= count:
                return
            time.sleep(0.1)
        raise TinybenchError(
            f"the farm's exporter did not register: see {self.directory}/exporter.log"
        )

    def down(self) -> list[FarmProcess]:
        """Stops what up started: the exporter, the power switch (and its QEMUs), the
        coordinator. Returns the processes it stopped."""
        state = self.state()
        if state is None:
            return []
        processes = self.processes(state)
        order = {"exporter": 0, "power": 1}
        running = [p for p in processes if alive(p)]
        running.sort(key=lambda p: order.get(p.role, 2))
        left = _stop(running)
        if left:
            raise TinybenchError(
                "could not stop " + ", ".join(f"{p.role} (PID {p.pid})" for p in left)
            )
        self.state_path.unlink(missing_ok=True)
        return running
