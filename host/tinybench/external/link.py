"""The link to an external DUT, from the --port text.

`--port` is a serial port (`/dev/ttyACM0`, `COM5`, `/dev/cu.usbmodem1103`) or any pyserial URL
(`socket://host:port`, `rfc2217://...`), opened at the baud rate given; or `process:COMMAND`,
a local program speaking the protocol on its stdin/stdout (e.g. a vendor's host build, or
tinybench's standard-only host port, which is how this mode is tested).
"""

from __future__ import annotations

import shlex

from tinybench.dut.transport.base import Transport
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.dut.transport.serial_link import SerialTransport
from tinybench.errors import TinybenchError

PROCESS_PREFIX = "process:"
DEFAULT_BAUD = 115200


def open_external(port: str, baud: int = DEFAULT_BAUD) -> Transport:
    if port.startswith(PROCESS_PREFIX):
        argv = shlex.split(port[len(PROCESS_PREFIX) :])
        if not argv:
            raise TinybenchError(f"--port {port!r}: name the program after {PROCESS_PREFIX}")
        return ProcessTransport(argv)
    return SerialTransport.open(port, baud)
