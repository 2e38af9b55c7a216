"""The loopback farm's power switch: one HTTP outlet per emulated board, each owning a QEMU.

labgrid switches it as a `NetworkPowerPort` of model `simplerest`:
`GET /outlet/<i>/1` powers board i on (QEMU starts on the board's fixed TCP serial port),
`GET /outlet/<i>/0` powers it off (QEMU is killed), `GET /outlet/<i>` answers `1` or `0`.
What a flash probe is for a real board, `PUT /image/<i>` (the firmware's bytes) is here: the
image is stored and the board is power-cycled onto it. `GET /tinybench` identifies the service,
so that a run knows it may flash a place through it.

QEMU listens with wait=on: a guest booted while no client is connected would print its boot
banner into the void (wait=off drops output), so it waits for the run's connection; QEMU takes
a new connection after the last one closed. Every QEMU runs under a time limit.

Run as `python -m tinybench.farm.powerd CONFIG.json`; it writes its URL and the QEMU PIDs into
the state file the config names, and kills its QEMUs on SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SERVICE_ID = "tinybench-loopback-power"
MAX_IMAGE_BYTES = 16 * 1024 * 1024
QEMU_TIME_LIMIT_S = 6 * 3600


@dataclass
class Outlet:
    """One emulated board: where its image lives, its QEMU command without the image."""

    index: int
    serial_port: int
    argv: list[str]  # QEMU's command line, `-kernel IMAGE` appended at power-on
    image: Path
    process: subprocess.Popen[bytes] | None = None

    def on(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def power_on(self) -> None:
        if self.on():
            return
        if not self.image.exists():
            raise ValueError(
                f"outlet {self.index} has no firmware image yet (PUT /image/{self.index})"
            )
        self.process = subprocess.Popen(
            ["timeout", str(QEMU_TIME_LIMIT_S), *self.argv, "-kernel", str(self.image)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def power_off(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PowerSwitch:
    """The outlets and their state file, behind one lock (HTTP requests come in threads)."""

    def __init__(self, outlets: list[Outlet], state_file: Path) -> None:
        self.outlets = outlets
        self._state_file = state_file
        self._lock = threading.Lock()
        self.url = ""

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        state = {
            "url": self.url,
            "qemu_pids": {
                str(o.index): o.process.pid
                for o in self.outlets
                if o.process is not None and o.on()
            },
        }
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state) + "\n", encoding="utf-8")
        tmp.replace(self._state_file)

    def outlet(self, index: int) -> Outlet:
        if not 0 <= index < len(self.outlets):
            raise KeyError(index)
        return self.outlets[index]

    def set_power(self, index: int, value: bool) -> None:
        with self._lock:
            outlet = self.outlet(index)
            if value:
                outlet.power_on()
            else:
                outlet.power_off()
            self._save()

    def flash(self, index: int, image: bytes) -> None:
        with self._lock:
            outlet = self.outlet(index)
            outlet.power_off()
            tmp = outlet.image.with_suffix(".tmp")
            tmp.write_bytes(image)
            tmp.replace(outlet.image)
            outlet.power_on()
            self._save()

    def shutdown(self) -> None:
        with self._lock:
            for outlet in self.outlets:
                outlet.power_off()
            self._save()


def _handler(switch: PowerSwitch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # no request log on stderr

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = [p for p in self.path.split("/") if p]
            try:
                if parts == ["tinybench"]:
                    self._answer(
                        200, json.dumps({"service": SERVICE_ID, "outlets": len(switch.outlets)})
                    )
                elif len(parts) == 2 and parts[0] == "outlet":
                    self._answer(200, "1" if switch.outlet(int(parts[1])).on() else "0")
                elif len(parts) == 3 and parts[0] == "outlet" and parts[2] in ("0", "1"):
                    switch.set_power(int(parts[1]), parts[2] == "1")
                    self._answer(200, parts[2])
                else:
                    self._answer(404, f"no such resource: {self.path}")
            except (KeyError, ValueError) as exc:
                self._answer(400, f"{self.path}: {exc}")
            except OSError as exc:
                self._answer(500, f"{self.path}: {exc}")

        def do_PUT(self) -> None:
            parts = [p for p in self.path.split("/") if p]
            try:
                length = int(self.headers.get("Content-Length", "0"))
                if len(parts) != 2 or parts[0] != "image":
                    self._answer(404, f"no such resource: {self.path}")
                elif not 0 < length <= MAX_IMAGE_BYTES:
                    self._answer(400, f"an image of {length} bytes (1..{MAX_IMAGE_BYTES})")
                else:
                    switch.flash(int(parts[1]), self.rfile.read(length))
                    self._answer(200, "flashed")
            except (KeyError, ValueError) as exc:
                self._answer(400, f"{self.path}: {exc}")
            except OSError as exc:
                self._answer(500, f"{self.path}: {exc}")

    return Handler


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    outlets = [
        Outlet(index=k, serial_port=o["serial_port"], argv=o["argv"], image=Path(o["image"]))
        for k, o in enumerate(config["outlets"])
    ]
    switch = PowerSwitch(outlets, Path(config["state_file"]))
    server = ThreadingHTTPServer(("127.0.0.1", int(config.get("port", 0))), _handler(switch))
    server.daemon_threads = True
    switch.url = f"http://127.0.0.1:{server.server_address[1]}"

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for outlet in outlets:
        if outlet.image.exists():
            outlet.power_on()
    switch.save()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        switch.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
