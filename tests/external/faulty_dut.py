"""A simulated vendor DUT on a TCP socket (what pyserial opens as `socket://`), with faults.

It speaks the standard protocol the way the MLPerf Tiny reference firmware does: a boot
banner, `name`, `profile`, `db load` + hex lines, `infer N W` printing `m-lap-us` and the
3-decimal `m-results` (truncated like the reference firmware, or rounded). The outputs come
from the TF Lite Micro interpreter on the uploaded bytes, so a fault-free peer is right;
the faults make it wrong on purpose: wrong vectors, silence, a reset mid-run, a garbled
results line, an e- reply, another model's id; or hostile: markup in its name, extra
profile lines (paths, control characters, a 1 MB line), NaN/Inf results.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinybench.inputs import wire_to_tensor
from tinybench.manifests.models import ModelManifest, ResultKind
from tinybench.scoring import dequantize, window_mse

BANNER = b"m-timestamp-mode-performance\r\nm-init-done\r\nm-ready\r\n"


@dataclass
class Faults:
    wrong_every: int = 0  # every k-th infer prints the vector reversed (0: never)
    truncate: bool = True  # 3 decimals truncated, as the reference firmware prints them
    silent_after: int | None = None  # after this many infers the DUT answers nothing
    reset_at: int | None = None  # this infer reboots the DUT instead of answering
    garble_at: int | None = None  # this infer's results line is garbled
    error_at: int | None = None  # this infer answers e-[...]
    babble_from: int | None = None  # from this infer on, 5000 noise lines precede the answer
    model_id: str | None = None  # what `profile` claims (default: the real model)
    name: str = "Faulty DUT"
    name_delays_s: tuple[float, ...] = ()  # the k-th `name` is answered this much later
    profile_extra: tuple[str, ...] = ()  # more lines in the `profile` reply (sent as UTF-8)
    results_text: str | None = None  # printed in m-results-[...] instead of the outputs


@dataclass
class Record:
    commands: list[str] = field(default_factory=list)
    names: int = 0
    infers: int = 0
    connections: int = 0


class FaultyDut:
    def __init__(self, model: ModelManifest, model_path: Path, faults: Faults) -> None:
        from tflite_micro.python.tflite_micro import runtime

        self._model = model
        self._interpreter = runtime.Interpreter.from_file(str(model_path))
        self.faults = faults
        self.record = Record()
        self._buffer = bytearray()
        self._expected = 0
        self._silent = False
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    # -- connection ----------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.record.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.sendall(BANNER)
            pending = b""
            while data := conn.recv(4096):
                pending += data
                while b"%" in pending:
                    line, _, pending = pending.partition(b"%")
                    reply = self._command(line.decode("ascii", errors="replace").strip())
                    if reply and not self._silent:
                        conn.sendall(reply)

    # -- protocol --------------------------------------------------------------

    def _command(self, text: str) -> bytes:
        self.record.commands.append(text)
        if self._silent:
            return b""
        words = text.split()
        if not words:
            return b"m-ready\r\n"
        if words[0] == "name":
            self.record.names += 1
            delays = self.faults.name_delays_s
            if self.record.names <= len(delays):
                time.sleep(delays[self.record.names - 1])  # busy, e.g. still booting
            return self._lines(f"m-name-dut-[{self.faults.name}]")
        if words[0] == "profile":
            model_id = self.faults.model_id or self._model.model_id
            return self._lines(
                "m-profile-[Faulty DUT firmware 1.0]",
                *self.faults.profile_extra,
                f"m-model-[{model_id}]",
            )
        if words[0] == "db" and len(words) == 3 and words[1] == "load":
            self._buffer, self._expected = bytearray(), int(words[2])
            return self._lines(f"m-[Expecting {self._expected} bytes]")
        if words[0] == "db" and len(words) == 2:
            self._buffer += bytes.fromhex(words[1])
            done = len(self._buffer) == self._expected
            return self._lines("m-load-done") if done else self._lines()
        if words[0] == "infer" and len(words) == 3:
            return self._infer(int(words[1]), int(words[2]))
        return self._lines(f"e-[Unknown command: {words[0]}]")

    def _infer(self, count: int, warmup: int) -> bytes:
        self.record.infers += 1
        n, faults = self.record.infers, self.faults
        if faults.silent_after is not None and n > faults.silent_after:
            self._silent = True
            return b""
        if faults.reset_at == n:
            self._buffer, self._expected = bytearray(), 0
            return BANNER  # rebooted: the command is lost, the banner comes instead
        if faults.babble_from is not None and n >= faults.babble_from:
            noise = b"m-noise-[the DUT talks and talks]\r\n" * 5000
            return noise + self._lines("m-results-[0.000]")
        if faults.error_at == n:
            return self._lines("e-[infer: simulated engine failure]")
        start = time.monotonic_ns() // 1000
        values = self._outputs(bytes(self._buffer))
        if faults.wrong_every and n % faults.wrong_every == 0:
            values = values[::-1]
        text = ",".join(self._format(v) for v in values)
        if faults.results_text is not None:
            text = faults.results_text
        if faults.garble_at == n:
            text = text[: len(text) // 2] + "#?" + text[len(text) // 2 :]
        end = time.monotonic_ns() // 1000
        return self._lines(
            f"m-warmup-start-{warmup}",
            "m-warmup-done",
            f"m-infer-start-{count}",
            f"m-lap-us-{start}",
            f"m-lap-us-{max(end, start + 1)}",
            "m-infer-done",
            f"m-results-[{text}]",
        )

    def _outputs(self, wire: bytes) -> list[float]:
        model = self._model
        self._interpreter.set_input(wire_to_tensor(model, wire), 0)
        self._interpreter.invoke()
        raw = np.asarray(self._interpreter.get_output(0), dtype=np.int8).reshape(-1)
        spec = model.output
        if model.result_kind is ResultKind.MSE:
            floats = np.frombuffer(wire, dtype="<f4")
            return [window_mse(raw, spec.scale, spec.zero_point, floats)]
        return [float(v) for v in dequantize(raw, spec.scale, spec.zero_point)]

    def _format(self, value: float) -> str:
        if self.faults.truncate:
            return f"{math.trunc(value * 1000) / 1000:.3f}"
        return f"{value:.3f}"

    @staticmethod
    def _lines(*lines: str) -> bytes:
        return "".join(f"{line}\r\n" for line in (*lines, "m-ready")).encode("utf-8")
