"""The loopback labgrid farm: up/status/down, runs on its places, places that die, held places.

labgrid lives in .venv-farm (bash scripts/setup.sh --dev makes it: its pyserial-labgrid
replaces pyserial's `serial`), so every farm command runs as a subprocess of that Python, with
this checkout's package first on its path. One farm of 4 boards serves the module; the last
test takes it down and checks that no process it started is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

COMPARED_KEYS = ("model", "board", "engine", "mode", "accuracy", "reference_check", "memory")
BOARDS = 4


def _farm_python(repo_root: Path) -> Path:
    python = repo_root / ".venv-farm" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: bash scripts/setup.sh --dev installs labgrid there")
    return python


def _env(repo_root: Path, shared_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo_root / "host")
    env["TINYBENCH_SHARED_DIR"] = str(shared_dir)
    return env


class Farm:
    def __init__(self, repo_root: Path, shared_dir: Path, directory: Path) -> None:
        self.repo_root = repo_root
        self.python = _farm_python(repo_root)
        self.env = _env(repo_root, shared_dir)
        self.directory = directory
        self.state: dict[str, Any] = {}

    def tinybench(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), "-m", "tinybench", *args],
            capture_output=True, text=True, timeout=timeout, env=self.env, cwd=self.repo_root,
        )  # fmt: skip

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.python), "-m", "tinybench", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
            cwd=self.repo_root, start_new_session=True,
        )  # fmt: skip

    def run_args(self, out: Path, *extra: str) -> list[str]:
        coordinator = self.state["coordinator"]
        return ["run", "kws01", "--out", str(out), "--coordinator", coordinator, *extra]

    def qemu_pid(self, board: int) -> int:
        state = json.loads((self.directory / "powerd-state.json").read_text())
        return int(state["qemu_pids"][str(board)])

    def pids(self) -> list[int]:
        state = json.loads((self.directory / "farm.json").read_text())
        qemus = json.loads((self.directory / "powerd-state.json").read_text())["qemu_pids"]
        return [p["pid"] for p in state["processes"]] + [int(p) for p in qemus.values()]


def _running(pid: int) -> bool:
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())  # a zombie has none
    except OSError:
        return False


def _processes_using(directory: Path) -> list[int]:
    """Every live process whose command line names the farm directory (QEMU, the switch)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(directory) in entry.joinpath("cmdline").read_bytes().decode(
                    errors="replace"
                ):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def farm(
    repo_root: Path, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Farm]:
    directory = tmp_path_factory.mktemp("farm")
    farm = Farm(repo_root, shared_dir, directory)
    up = farm.tinybench("farm", "up", str(BOARDS), "--dir", str(directory), timeout=120)
    assert up.returncode == 0, up.stderr + up.stdout
    farm.state = json.loads((directory / "farm.json").read_text())
    try:
        yield farm
    finally:  # a test that failed before the last one took the farm down
        if (directory / "farm.json").exists():
            farm.tinybench("farm", "down", "--dir", str(directory), timeout=60)


@pytest.fixture(scope="module")
def local_run(farm: Farm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("local") / "run"
    # One sample per command, as the places run it (a place's link shares no directory with
    # its DUT): a batch's elapsed_us and stack mark differ from the per-sample path's.
    result = farm.tinybench("run", "kws01", "--limit", "40", "--batch", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads((out / "results.json").read_text())
    return document


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    result = {key: document[key] for key in COMPARED_KEYS}
    result["performance"] = document["performance"]
    result["provenance"] = document["provenance"]
    return result


def _journal_indexes(run_dir: Path) -> list[int]:
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    return [json.loads(line)["index"] for line in lines if line.strip()]


def test_farm_status_lists_the_places_and_their_processes(farm: Farm) -> None:
    status = farm.tinybench("farm", "status", "--dir", str(farm.directory))
    assert status.returncode == 0, status.stderr
    for k in range(BOARDS):
        assert f"place qemu-m4-{k}: free, power off, board=qemu-m4 farm=loopback" in status.stdout
    for role in ("coordinator", "power", "exporter"):
        assert f"{role}: PID" in status.stdout and "GONE" not in status.stdout


def test_a_run_sharded_over_4_places_equals_one_local_run(
    farm: Farm, local_run: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "farm-run"
    result = farm.tinybench(*farm.run_args(out, "--limit", "40", "--places", "board=qemu-m4"))
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "results.json").read_text())
    assert _comparable(document) == _comparable(local_run)
    assert sorted(_journal_indexes(out)) == list(range(40))
    fleet = document["farm"]
    units = {u["place"]: u for u in fleet["units"]}
    assert sorted(units) == [f"qemu-m4-{k}" for k in range(BOARDS)]
    assert sorted(i for u in units.values() for i in u["sample_indexes"]) == list(range(40))
    assert all(u["samples"] > 0 and u["median_latency_ms"] > 0 for u in units.values())
    assert all(u["exporter"] == "tinybench-loopback" for u in units.values())
    assert all(u["serial"].startswith("socket://127.0.0.1:") for u in units.values())
    spread = fleet["latency_spread"]
    medians = [u["median_latency_ms"] for u in units.values()]
    assert spread["range_ms"] == pytest.approx(max(medians) - min(medians))
    assert sorted(p.name for p in out.glob("transcript-*.txt")) == [
        f"transcript-qemu-m4-{k}.txt" for k in range(BOARDS)
    ]
    # Every place was released: a second client can acquire each one.
    status = farm.tinybench("farm", "status", "--dir", str(farm.directory))
    assert status.stdout.count(": free, power on,") == BOARDS, status.stdout


def test_a_killed_emulator_is_power_cycled_and_a_dead_place_gives_its_samples_away(
    farm: Farm, local_run: dict[str, Any], tmp_path: Path
) -> None:
    """Place 1's QEMU is killed (the power-cycle brings it back); place 2's is killed with its
    image gone (it stays dead): the run ends on the others with each sample exactly once."""
    out = tmp_path / "dying"
    process = farm.start(*farm.run_args(out, "--limit", "40", "--places", "board=qemu-m4"))
    deadline = time.monotonic() + 120
    while not (out / "samples.jsonl").exists() or len(_journal_indexes(out)) < 6:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    (farm.directory / "board-2.elf").unlink()
    for board in (1, 2):
        os.kill(farm.qemu_pid(board), signal.SIGTERM)  # `timeout` passes it on to QEMU
    _, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert "place qemu-m4-1 stopped answering" in err
    assert "place qemu-m4-2 stayed dead after 3 power cycles" in err
    document = json.loads((out / "results.json").read_text())
    assert _comparable(document) == _comparable(local_run)
    assert sorted(_journal_indexes(out)) == list(range(40))  # each sample once
    units = {u["place"]: u for u in document["farm"]["units"]}
    assert units["qemu-m4-2"]["dead"] and not units["qemu-m4-1"]["dead"]
    assert units["qemu-m4-1"]["restarts"] == 1
    assert sum(u["samples"] for u in units.values()) == 40


def test_performance_runs_on_every_place_with_per_unit_figures_and_their_spread(
    farm: Farm, tmp_path: Path
) -> None:
    """--mode performance over the 4 places: each place runs its own windows at once; place 3
    dies for good once its windows began, and the fleet reports the other three and their
    spread, the run's figures being place 0's."""
    out = tmp_path / "fleet-performance"
    process = farm.start(
        *farm.run_args(
            out, "--mode", "performance", "--min-window", "0.1", "--places", "board=qemu-m4"
        )
    )
    transcript = out / "transcript-qemu-m4-3.txt"
    deadline = time.monotonic() + 120
    while not transcript.exists() or "infer " not in transcript.read_text(errors="replace"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "place 3 started no window"
        time.sleep(0.05)
    (farm.directory / "board-3.elf").unlink()
    os.kill(farm.qemu_pid(3), signal.SIGTERM)
    _, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert "place qemu-m4-3 stayed dead after 3 power cycles" in err
    document = json.loads((out / "results.json").read_text())
    fleet = document["farm"]
    assert fleet["mode"] == "performance"
    units = {u["place"]: u for u in fleet["units"]}
    live = [f"qemu-m4-{k}" for k in range(3)]
    assert units["qemu-m4-3"]["dead"] and units["qemu-m4-3"]["windows"] == 0
    assert units["qemu-m4-3"]["median_throughput_ips"] is None
    for name in live:
        assert not units[name]["dead"] and units[name]["windows"] == 5
        assert units[name]["median_throughput_ips"] > 0 and units[name]["compliant"] is False
    performance = document["performance"]
    assert performance["median_throughput_ips"] == units["qemu-m4-0"]["median_throughput_ips"]
    assert performance["median_latency_ms"] == units["qemu-m4-0"]["median_latency_ms"]
    throughputs = [units[n]["median_throughput_ips"] for n in live]
    spread = fleet["throughput_spread"]
    assert (spread["min_ips"], spread["max_ips"]) == (min(throughputs), max(throughputs))
    latencies = [units[n]["median_latency_ms"] for n in live]
    assert fleet["latency_spread"]["range_ms"] == pytest.approx(max(latencies) - min(latencies))
    # The same firmware on identical emulated units: one latency (exact counters), so no spread.
    assert fleet["latency_spread"]["relative"] < 1e-3


def test_energy_runs_on_every_place_co_simulated_from_its_own_markers(
    farm: Farm, tmp_path: Path
) -> None:
    """--mode energy over 2 places: each is flashed with the energy image, its marker UART
    connected before its console, and co-simulated at once. The default power model is a
    constant 105 mW on a busy emulated core (5 mW + 100 pJ x 1e9 instructions/s), so each
    window's energy is 105 mW x its duration, within the trace's binning; the two identical
    units agree exactly (the equality with a local QEMU's energy run is in the README,
    measured)."""
    out = tmp_path / "fleet-energy"
    result = farm.tinybench(
        *farm.run_args(
            out, "--mode", "energy", "--min-window", "0.1", "--places", "qemu-m4-0,qemu-m4-1"
        )
    )
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "results.json").read_text())
    energy = document["energy"]
    assert energy["setup"]["setup"] == "farm-emulated" and energy["setup"]["place"] == "qemu-m4-0"
    assert len(energy["windows"]) == 5
    for window in energy["windows"]:
        # the window's edges fall inside the trace's bins: within 1 % of the model's power
        assert window["power_mw"] == pytest.approx(105.0, rel=1e-2)
        assert window["energy_uj"] == pytest.approx(105.0 * window["duration_s"] * 1e3, rel=1e-2)
    fleet = document["farm"]
    assert fleet["mode"] == "energy"
    units = {u["place"]: u for u in fleet["units"]}
    assert sorted(units) == ["qemu-m4-0", "qemu-m4-1"]
    for unit in units.values():
        assert unit["windows"] == 5
        assert unit["median_uj_per_inference"] == energy["median_uj_per_inference"]
    assert fleet["energy_spread"]["range_uj"] == 0.0
    # Every place was released.
    status = farm.tinybench("farm", "status", "--dir", str(farm.directory))
    assert status.stdout.count(": free,") == BOARDS, status.stdout


def test_a_held_place_fails_naming_its_holder_or_is_waited_for(farm: Farm, tmp_path: Path) -> None:
    """Someone else (labgrid-client as user `lab-colleague`) holds place 0: a run fails at once
    naming the holder; a run with --wait queues and runs once the place is released."""
    client = [str(farm.python.parent / "labgrid-client"), "-x", farm.state["coordinator"]]
    env = {**farm.env, "LG_USERNAME": "lab-colleague", "no_proxy": "127.0.0.1,localhost"}

    def colleague(*args: str) -> None:
        done = subprocess.run([*client, "-p", "qemu-m4-0", *args], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr

    colleague("acquire")
    refused = farm.tinybench(
        *farm.run_args(tmp_path / "refused", "--limit", "2", "--place", "qemu-m4-0")
    )
    assert refused.returncode == 1
    assert "place qemu-m4-0 is held by " in refused.stderr
    assert "/lab-colleague; wait for it with --wait" in refused.stderr
    waited = farm.start(
        *farm.run_args(tmp_path / "waited", "--limit", "2", "--place", "qemu-m4-0", "--wait")
    )
    time.sleep(2.0)  # the waiting run has made its reservation (or is still starting: either way)
    assert waited.poll() is None, waited.communicate()
    colleague("release")
    _, waited_err = waited.communicate(timeout=120)
    assert waited.returncode == 0, waited_err
    assert len(_journal_indexes(tmp_path / "waited")) == 2


def test_ctrl_c_mid_run_releases_the_place(farm: Farm, tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    args = farm.run_args(out, "--limit", "200", "--place", "qemu-m4-3")
    # SIGINT as a terminal's Ctrl-C delivers it, whatever the disposition this test inherited.
    wrapper = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv = ['tinybench', *sys.argv[1:]]; "
        "runpy.run_module('tinybench', run_name='__main__')"
    )
    process = subprocess.Popen(
        [str(farm.python), "-c", wrapper, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=farm.env,
        cwd=farm.repo_root,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "samples.jsonl").exists() or not _journal_indexes(out):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "Aborted!" in err
    assert not (out / "results.json").exists()
    status = farm.tinybench("farm", "status", "--dir", str(farm.directory))
    assert "place qemu-m4-3: free," in status.stdout, status.stdout


def test_a_place_of_a_run_killed_with_sigkill_is_released_by_the_next_run(
    farm: Farm, tmp_path: Path
) -> None:
    """SIGKILL leaves the run no chance to release place 1; the next run on this host sees
    that the holder's process is gone, releases the place and runs."""
    out = tmp_path / "killed"
    process = farm.start(*farm.run_args(out, "--limit", "200", "--place", "qemu-m4-1"))
    deadline = time.monotonic() + 120
    while not (out / "samples.jsonl").exists() or not _journal_indexes(out):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    status = farm.tinybench("farm", "status", "--dir", str(farm.directory))
    assert "place qemu-m4-1: held by" in status.stdout and "tinybench-" in status.stdout
    again = farm.tinybench(
        *farm.run_args(tmp_path / "again", "--limit", "2", "--place", "qemu-m4-1")
    )
    assert again.returncode == 0, again.stderr
    assert "place qemu-m4-1 was still held by " in again.stderr
    assert "a tinybench run on this host that no longer runs (killed?): released it" in again.stderr
    assert len(_journal_indexes(tmp_path / "again")) == 2


def test_farm_down_stops_every_process_up_started(farm: Farm) -> None:
    pids = farm.pids()
    assert len(pids) >= 3 + 1  # coordinator, switch, exporter and the QEMUs powered so far
    down = farm.tinybench("farm", "down", "--dir", str(farm.directory), timeout=60)
    assert down.returncode == 0, down.stderr
    assert [pid for pid in pids if _running(pid)] == []
    assert _processes_using(farm.directory) == []
    assert not (farm.directory / "farm.json").exists()
