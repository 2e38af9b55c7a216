"""A physical board that hangs mid-run: the user is asked to reset it, and the run goes on.

The board is simulated: a TCP server (what pyserial opens as `socket://`, like a serial
port) in front of the firmware running as a host process. `crash()` makes it silent as a
hung board; `reset()` boots a fresh firmware, as pressing the reset button does.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.worker import DutWorker, WorkerConfig
from tinybench.manifests.boards import CounterKind
from tinybench.project import Project


class SimulatedBoard:
    def __init__(self, image: Path) -> None:
        self._image = image
        self._lock = threading.Lock()
        self._conn: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.reset()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        process = subprocess.Popen(
            [str(self._image)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        with self._lock:
            self._process = process
        threading.Thread(target=self._to_host, args=(process,), daemon=True).start()

    def crash(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()

    def _to_host(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            with self._lock:
                conn = self._conn
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(chunk)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with self._lock:
                self._conn = conn
            threading.Thread(target=self._to_board, args=(conn,), daemon=True).start()

    def _to_board(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(4096):
                with self._lock:
                    process = self._process
                if process is not None and process.stdin is not None:
                    with contextlib.suppress(BrokenPipeError, ValueError):
                        process.stdin.write(data)
                        process.stdin.flush()

    def close(self) -> None:
        self.crash()
        self.server.close()


def _infer(sample: bytes) -> Callable[[DutSession], bytes]:
    def step(session: DutSession) -> bytes:
        session.load(sample)
        session.infer(1, 0)
        return session.results_raw()

    return step


def _reference(shared_dir: Path, sample: bytes) -> bytes:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(shared_dir / "models" / "kws01.tflite"))
    interpreter.set_input(np.frombuffer(sample, dtype=np.int8).reshape(1, 49, 10, 1), 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0), dtype=np.int8).tobytes()


def test_a_hung_board_is_reset_by_the_user_and_the_step_is_retried(
    project: Project,
    host_kws01: FirmwareBuild,
    kws01_samples: list[bytes],
    shared_dir: Path,
    tmp_path: Path,
) -> None:
    board = SimulatedBoard(host_kws01.image)
    messages: list[str] = []

    def user(message: str) -> None:
        messages.append(message)
        threading.Timer(0.5, board.reset).start()  # the user presses reset a moment later

    config = WorkerConfig(
        # A physical board whose manifest describes the simulated one: the worker checks
        # the clocks the DUT reports against it, and this DUT is the host firmware.
        board=replace(
            project.board("nucleo-l4r5zi"),
            counter=CounterKind.HOST_MONOTONIC,
            counter_hz=1_000_000_000,
        ),
        image=host_kws01.image,
        model=project.model("kws01"),
        serial_port=f"socket://127.0.0.1:{board.port}",
        transcript=tmp_path / "transcript.txt",
        timeouts=Timeouts(boot_s=2.0, command_s=1.0, infer_s=2.0),
        reset_wait_s=30.0,
    )
    worker = DutWorker(config, user)
    try:
        assert worker.call(_infer(kws01_samples[0])) == _reference(shared_dir, kws01_samples[0])
        board.crash()
        assert worker.call(_infer(kws01_samples[1])) == _reference(shared_dir, kws01_samples[1])
    finally:
        worker.close()
        board.close()
    assert worker.restarts == 1
    assert len(messages) == 1 and "Reset the board" in messages[0]
