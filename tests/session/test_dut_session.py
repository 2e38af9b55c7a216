"""The DUT session against the real firmware running as a host process (and over TCP)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tinybench.build.firmware import FirmwareBuild
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.transport.fake import FakeTransport
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.dut.transport.serial_link import SerialTransport
from tinybench.errors import DutError, ProtocolError, TransportError

FAST = Timeouts(boot_s=5.0, command_s=2.0, infer_s=10.0)


def _reference_raw(shared_dir: Path, sample: bytes) -> bytes:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(shared_dir / "models" / "kws01.tflite"))
    interpreter.set_input(np.frombuffer(sample, dtype=np.int8).reshape(1, 49, 10, 1), 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0), dtype=np.int8).tobytes()


@pytest.fixture()
def session(host_kws01: FirmwareBuild) -> Iterator[DutSession]:
    with DutSession(ProcessTransport([str(host_kws01.image)]), FAST) as s:
        s.synchronize()
        yield s


def test_handshake_reads_name_profile_extensions_and_info(session: DutSession) -> None:
    assert session.name() == "tinybench"
    version, model = session.profile()
    assert model == "kws01" and version.startswith("tinybench ")
    assert {"db-bin", "results-raw", "info", "infer-counter"} <= session.extensions
    info = session.info()
    assert info.get("model_sha256") == (
        "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae"
    )
    assert info.get("engine") == "native"
    assert info.integer("arena_used") <= info.integer("arena_bytes")


def test_synchronize_recovers_from_garbage_and_a_half_sent_command(
    host_kws01: FirmwareBuild,
) -> None:
    transport = ProcessTransport([str(host_kws01.image)])
    with DutSession(transport, FAST) as s:
        rng = np.random.default_rng(1)
        transport.write(rng.integers(0, 256, 500, dtype=np.uint8).tobytes().replace(b"%", b""))
        transport.write(b"db lo")
        s.synchronize()
        assert s.name() == "tinybench"


@pytest.mark.parametrize("upload", ["hex", "binary"])
def test_both_uploads_give_the_reference_output(
    session: DutSession, kws01_samples: list[bytes], shared_dir: Path, upload: str
) -> None:
    sample = kws01_samples[0]
    if upload == "hex":
        session.load_hex(sample)
    else:
        session.load_binary(sample)
    result = session.infer(1, 0)
    raw = session.results_raw()
    assert raw == _reference_raw(shared_dir, sample)
    dequantized = [(int(v) + 128) / 256 for v in np.frombuffer(raw, dtype=np.int8)]
    assert list(result.results) == pytest.approx(dequantized, abs=0.0006)
    assert result.lap_us[1] >= result.lap_us[0]
    assert result.counter_ticks is not None and result.counter_ticks > 0


def test_repeated_inference_keeps_the_input(
    session: DutSession, kws01_samples: list[bytes]
) -> None:
    session.load(kws01_samples[1])
    session.infer(1, 0)
    first = session.results_raw()
    session.infer(3, 2)  # five invokes on the same input
    assert session.results_raw() == first
    assert session.results() == session.results()


class _CorruptOnce:
    """Flips one byte of the first binary payload written: a line glitch."""

    def __init__(self, inner: ProcessTransport, payload_size: int) -> None:
        self.inner = inner
        self.size = payload_size
        self.corrupted = 0
        self.received = b""

    @property
    def description(self) -> str:
        return self.inner.description

    def write(self, data: bytes) -> None:
        if len(data) == self.size and self.corrupted == 0:
            self.corrupted += 1
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        self.inner.write(data)

    def read(self, timeout_s: float) -> bytes:
        data = self.inner.read(timeout_s)
        self.received += data
        return data

    def close(self) -> None:
        self.inner.close()


def test_a_corrupted_binary_upload_is_rejected_and_retried(
    host_kws01: FirmwareBuild, kws01_samples: list[bytes], shared_dir: Path
) -> None:
    transport = _CorruptOnce(ProcessTransport([str(host_kws01.image)]), 490)
    with DutSession(transport, FAST) as s:
        s.synchronize()
        s.load_binary(kws01_samples[2])
        s.infer(1, 0)
        assert s.results_raw() == _reference_raw(shared_dir, kws01_samples[2])
    assert transport.corrupted == 1
    assert b"e-[db bin: CRC-32 mismatch" in transport.received


def test_errors_from_the_dut_become_dut_errors(session: DutSession) -> None:
    with pytest.raises(DutError, match="Unknown command: bogus"):
        session.command("bogus")
    with pytest.raises(DutError, match="`infer 0 1` was refused"):
        session.command("infer 0 1")
    assert session.name() == "tinybench"  # and the session goes on


def test_a_dut_that_dies_mid_run_is_reported(host_kws01: FirmwareBuild) -> None:
    transport = ProcessTransport([str(host_kws01.image)])
    with DutSession(transport, FAST) as s:
        s.synchronize()
        transport._process.kill()  # the board loses power
        with pytest.raises(TransportError, match="exited with code"):
            s.name()


def test_a_silent_dut_times_out_with_a_clear_message() -> None:
    silent = FakeTransport(description="a DUT that never answers")
    with DutSession(silent, Timeouts(boot_s=0.3, command_s=0.2, infer_s=0.2)) as s:
        with pytest.raises(ProtocolError, match=r"did not answer `name` within 0\.3 s"):
            s.synchronize()
        with pytest.raises(ProtocolError, match=r"no answer to `profile` within 0\.2 s"):
            s.profile()


def _tcp_bridge(image: Path) -> tuple[int, threading.Thread]:
    """A TCP server in front of the firmware process: a stand-in for a board's serial port."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        server.close()
        process = subprocess.Popen([str(image)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert process.stdin is not None and process.stdout is not None
        stdout = process.stdout

        def pump_out() -> None:
            while chunk := stdout.read1(4096):
                conn.sendall(chunk)

        threading.Thread(target=pump_out, daemon=True).start()
        while chunk := conn.recv(4096):
            process.stdin.write(chunk)
            process.stdin.flush()
        process.kill()
        process.wait()
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_a_session_over_a_pyserial_url_works_like_a_serial_port(
    host_kws01: FirmwareBuild, kws01_samples: list[bytes], shared_dir: Path
) -> None:
    port, thread = _tcp_bridge(host_kws01.image)
    with DutSession(SerialTransport.open(f"socket://127.0.0.1:{port}"), FAST) as s:
        s.synchronize()
        s.load(kws01_samples[0])
        s.infer(1, 0)
        assert s.results_raw() == _reference_raw(shared_dir, kws01_samples[0])
    thread.join(timeout=5)


def test_opening_a_missing_serial_port_names_it() -> None:
    with pytest.raises(TransportError, match="cannot open /dev/ttyNOPE0"):
        SerialTransport.open("/dev/ttyNOPE0", connect_timeout_s=0.1)


def _answering(replies: dict[bytes, bytes]) -> FakeTransport:
    return FakeTransport(lambda data: replies.get(data, b""))


def test_an_infer_reply_without_timestamps_is_a_protocol_error() -> None:
    fake = _answering({b"infer 1 0%": b"m-infer-done\r\nm-results-[0.5]\r\nm-ready\r\n"})
    with DutSession(fake, FAST) as s, pytest.raises(ProtocolError, match="expected 2 m-lap-us"):
        s.infer(1, 0)
    assert fake.closed


def test_malformed_results_are_a_protocol_error() -> None:
    fake = _answering({b"results%": b"m-results-[0.5,abc]\r\nm-ready\r\n"})
    with DutSession(fake, FAST) as s, pytest.raises(ProtocolError, match="not a list of numbers"):
        s.results()


def test_extensions_are_not_used_when_the_dut_does_not_offer_them() -> None:
    fake = _answering(
        {
            b"name%": b"m-name-dut-[other]\r\nm-ready\r\n",
            b"help%": b"m-help-name\r\nm-ready\r\n",
            b"db load 3%": b"m-[Expecting 3 bytes]\r\nm-ready\r\n",
            b"db 010203%": b"m-load-done\r\nm-ready\r\n",
        }
    )
    with DutSession(fake, FAST) as s:
        s.synchronize()
        assert s.extensions == frozenset()
        s.load(b"\x01\x02\x03")  # falls back to the standard hex upload
        with pytest.raises(ProtocolError, match="does not offer the `results-raw` extension"):
            s.results_raw()
    assert b"db load 3%" in fake.writes
