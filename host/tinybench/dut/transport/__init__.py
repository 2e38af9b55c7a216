"""Byte links to a DUT: a serial port (or pyserial URL such as socket://), a process, a fake.

Everything above this package talks to a `Transport` and cannot tell a QEMU UART,
a board's ST-LINK port and the host-port process apart.
"""

from tinybench.dut.transport.base import Transport

__all__ = ["Transport"]
