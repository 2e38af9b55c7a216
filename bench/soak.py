"""Soak benchmark: many inferences in one DUT session, checked one by one.

    .venv/bin/python bench/soak.py                   # 10,000 on qemu-m4 + 24 h of the host port
    .venv/bin/python bench/soak.py --inferences 20 --host-hours 0.01   # a smoke run

Part 1, qemu-m4 (kws01, native engine, one QEMU boot): a set of seeded random inputs is
cycled; every output's CRC-32 is compared with the host reference's (TF Lite Micro), the
counter ticks of each input must be the same in every cycle (icount: no drift), the stack's
high-water mark must not grow after the first cycle, and QEMU's RSS is sampled.

Part 2, the host port (kws01 native as a Linux process, one session): its counter runs
--host-scale times faster than real time (TB_HOST_COUNTER_SCALE), so the DUT's own clock
covers --host-hours of time. Windows of `infer N 0` on cycled inputs run until the DUT's
m-lap-us reaches that time; every output is checked, the timestamps must keep increasing
(no 32-bit wrap at 71.6 minutes), and the RSS of the DUT process and of this one is sampled.

Prints numbers; asserts nothing (the exit code is 1 when a check failed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.build.firmware import build_firmware
from tinybench.dut.emulator import QemuDut
from tinybench.dut.session import DutSession, Timeouts
from tinybench.dut.transport.process_link import ProcessTransport
from tinybench.inputs import random_wire_inputs
from tinybench.manifests.models import ModelManifest
from tinybench.paths import locate
from tinybench.project import Project
from tinybench.reference import ReferenceInterpreter

MODEL = "kws01"
BOARD = "qemu-m4"
US_PER_HOUR = 3_600_000_000
HOST_WINDOW_INFERENCES = 200
RSS_NOISE_KIB = 64  # growth over the second half above this counts as a leak


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Tally:
    """What every soak part reports."""

    inferences: int = 0
    mismatches: int = 0
    running_crc: int = 0  # CRC-32 over every output, in order
    expected_crc: int = 0  # the same over the reference outputs
    rss_samples: list[tuple[float, int]] = field(default_factory=list)

    def check(self, raw: bytes, expected: bytes) -> None:
        self.inferences += 1
        self.mismatches += raw != expected
        self.running_crc = zlib.crc32(raw, self.running_crc)
        self.expected_crc = zlib.crc32(expected, self.expected_crc)


def references(project: Project, manifest: ModelManifest, inputs: int, seed: int) -> list[bytes]:
    wires = random_wire_inputs(manifest, inputs, seed)
    interpreter = ReferenceInterpreter(manifest, project.model_path(manifest))
    return [
        interpreter.run_sample(f"soak-{i}", None, [w]).raw_outputs[0] for i, w in enumerate(wires)
    ]


def rss_figures(name: str, samples: list[tuple[float, int]]) -> str:
    """First, last and largest RSS; the growth over the second half (a leak shows there)."""
    if not samples:
        return f"  {name} RSS: not sampled"
    values = [kib for _, kib in samples]
    half = values[len(values) // 2 :]
    return (
        f"  {name} RSS: first {values[0]} KiB, last {values[-1]} KiB, max {max(values)} KiB, "
        f"second-half growth {half[-1] - half[0]:+d} KiB ({len(values)} samples)"
    )


def soak_qemu(project: Project, count: int, inputs: int, seed: int) -> bool:
    manifest = project.resolve_model(MODEL)
    wires = random_wire_inputs(manifest, inputs, seed)
    expected = references(project, manifest, inputs, seed)
    build = build_firmware(project, BOARD, "native", manifest)
    tally = Tally()
    ticks: list[set[int]] = [set() for _ in wires]
    started = time.monotonic()
    with QemuDut(project.board(BOARD), build.image, time_limit_s=6 * 3600) as qemu:
        session = DutSession(qemu.transport, shared_dir=qemu.workdir)
        session.synchronize()
        stack_first = None
        for i in range(count):
            k = i % len(wires)
            session.load(wires[k])
            result = session.infer(1, 0)
            assert result.counter_ticks is not None
            ticks[k].add(result.counter_ticks)
            tally.check(session.results_raw(), expected[k])
            if i + 1 == len(wires):  # every input once: the deepest stack use is reached
                stack_first = session.info().stack()
            if (i + 1) % 500 == 0 or i + 1 == count:
                elapsed = time.monotonic() - started
                tally.rss_samples.append((elapsed, rss_kib(qemu.pid)))
                print(
                    f"  qemu {i + 1}/{count} inferences, {elapsed:.0f} s, "
                    f"{tally.mismatches} mismatches",
                    flush=True,
                )
        stack_last = session.info().stack()
        alive = qemu.alive()
    wall = time.monotonic() - started
    spread = max(max(t) - min(t) for t in ticks if t)
    print(f"{MODEL} native on {BOARD}: {tally.inferences} inferences in one QEMU session")
    print(f"  wall time {wall:.1f} s ({wall / tally.inferences * 1000:.1f} ms per inference)")
    print(
        f"  outputs: {tally.mismatches} mismatches with the reference; running CRC-32 "
        f"{tally.running_crc:08x}, reference {tally.expected_crc:08x}"
    )
    print(
        f"  counter ticks per input: largest spread over the cycles {spread} ticks "
        f"(inputs {len(wires)}, ticks {min(min(t) for t in ticks)}..{max(max(t) for t in ticks)})"
    )
    first = stack_first.used_bytes if stack_first else None
    last = stack_last.used_bytes if stack_last else None
    print(f"  stack high-water mark: {first} B after the first cycle, {last} B at the end")
    print(rss_figures("QEMU", tally.rss_samples))
    ok = (
        tally.mismatches == 0
        and tally.running_crc == tally.expected_crc
        and spread == 0
        and first == last
        and alive
    )
    print(f"  qemu soak: {'PASS' if ok else 'FAIL'}")
    return ok


def _child_pid(image: Path) -> int:
    """The host-port process this script started (ProcessTransport does not expose it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and Path(exe) == image.resolve():
            return int(entry.name)
    raise RuntimeError(f"the host-port process {image} is not running")


def soak_host(project: Project, hours: float, scale: int, inputs: int, seed: int) -> bool:
    manifest = project.resolve_model(MODEL)
    wires = random_wire_inputs(manifest, inputs, seed)
    expected = references(project, manifest, inputs, seed)
    build = build_firmware(project, "host", "native", manifest)
    tally = Tally()
    goal_us = round(hours * US_PER_HOUR)
    previous_end = -1
    backwards = 0
    started = time.monotonic()
    os.environ["TB_HOST_COUNTER_SCALE"] = str(scale)  # inherited by the DUT process only
    try:
        transport = ProcessTransport([str(build.image)])
    finally:
        del os.environ["TB_HOST_COUNTER_SCALE"]
    dut_pid = _child_pid(build.image)
    last_sample = 0.0
    windows = 0
    own_rss: list[tuple[float, int]] = []
    try:
        session = DutSession(transport, Timeouts(command_s=30.0, infer_s=600.0))
        session.synchronize()
        dut_us = 0
        while dut_us < goal_us:
            k = windows % len(wires)
            session.load_hex(wires[k])
            result = session.infer(HOST_WINDOW_INFERENCES, 0)
            assert result.lap_us is not None
            begin, end = result.lap_us
            backwards += begin < previous_end or end < begin
            previous_end, dut_us = end, end
            # The output of the window's last inference (each engine restores its input
            # between runs, so it must still equal the reference's).
            tally.check(session.results_raw(), expected[k])
            windows += 1
            now = time.monotonic() - started
            if now - last_sample >= 1.0:
                last_sample = now
                tally.rss_samples.append((now, rss_kib(dut_pid)))
                own_rss.append((now, rss_kib(os.getpid())))
                if len(tally.rss_samples) % 30 == 0:
                    print(f"  host port: DUT time {dut_us / US_PER_HOUR:.2f} h", flush=True)
    finally:
        transport.close()
    wall = time.monotonic() - started
    print(
        f"{MODEL} native on the host port: {dut_us / US_PER_HOUR:.2f} h of DUT time "
        f"(counter x{scale}) in {wall:.1f} s of wall time"
    )
    print(
        f"  {windows} windows of infer {HOST_WINDOW_INFERENCES} "
        f"({windows * HOST_WINDOW_INFERENCES} inferences): {tally.mismatches} of "
        f"{tally.inferences} window outputs differ from the reference; timestamps that went "
        f"backwards: {backwards}; last m-lap-us {previous_end}"
    )
    print(rss_figures("DUT process", tally.rss_samples))
    print(rss_figures("soak script (host side)", own_rss))
    half = [v for _, v in tally.rss_samples[len(tally.rss_samples) // 2 :]]
    leak = bool(half) and half[-1] - half[0] > RSS_NOISE_KIB
    ok = tally.mismatches == 0 and backwards == 0 and not leak
    print(f"  host soak: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inferences", type=int, default=10_000, help="on qemu-m4 (0: skip)")
    parser.add_argument("--inputs", type=int, default=16, help="seeded random inputs, cycled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host-hours", type=float, default=24.0, help="DUT time (0: skip)")
    parser.add_argument("--host-scale", type=int, default=1000, help="host counter speed-up")
    args = parser.parse_args()
    project = Project(locate())
    ok = True
    if args.inferences > 0:
        ok &= soak_qemu(project, args.inferences, args.inputs, args.seed)
    if args.host_hours > 0:
        ok &= soak_host(project, args.host_hours, args.host_scale, args.inputs, args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
