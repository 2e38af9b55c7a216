"""The farm's parts that need no labgrid: endpoints from place resources, the loopback power
switch over HTTP, the exporter configuration, the run options, the report's fleet section."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinybench.cli import cli
from tinybench.errors import TinybenchError
from tinybench.farm import powerd
from tinybench.farm.labgrid_client import PlaceResource, PlaceView
from tinybench.farm.loopback import exporter_config
from tinybench.farm.places import endpoint_of, loopback_flash_url
from tinybench.report.fleet import fleet_section


def _view(*resources: PlaceResource) -> PlaceView:
    return PlaceView("nucleo-1", {"board": "nucleo-l4r5zi"}, None, resources)


def test_a_raw_serial_port_and_a_power_port_make_the_endpoint() -> None:
    serial = PlaceResource(
        "lab-1", "g", "NetworkSerialPort", "NetworkSerialPort",
        {"host": "lab-1", "port": 4001, "protocol": "raw", "extra": {"ID_SERIAL_SHORT": "0671FF"}},
    )  # fmt: skip
    power = PlaceResource(
        "lab-1", "g", "NetworkPowerPort", "NetworkPowerPort",
        {"model": "gude", "host": "pdu-1", "index": "3"},
    )  # fmt: skip
    endpoint = endpoint_of(_view(serial, power))
    assert endpoint.serial_url == "socket://lab-1:4001"
    assert endpoint.identity == {"ID_SERIAL_SHORT": "0671FF"}
    assert endpoint.power is not None and endpoint.power.model == "gude"
    assert endpoint.provenance()["serial_resource"] == "lab-1/g/NetworkSerialPort/NetworkSerialPort"
    assert loopback_flash_url(endpoint.power) is None  # not the loopback switch: never flashed


def test_rfc2217_is_labgrids_default_serial_protocol() -> None:
    serial = PlaceResource("e", "g", "NetworkSerialPort", "s", {"host": "h", "port": 7})
    assert endpoint_of(_view(serial)).serial_url == "rfc2217://h:7"


def test_a_place_without_a_serial_port_is_refused_naming_what_it_has() -> None:
    power = PlaceResource(
        "e", "g", "NetworkPowerPort", "p", {"model": "m", "host": "h", "index": 0}
    )
    with pytest.raises(TinybenchError, match=r"no NetworkSerialPort .*NetworkPowerPort"):
        endpoint_of(_view(power))


def test_the_exporter_configuration_has_no_jinja_comment_lines_and_raw_serial() -> None:
    text = exporter_config(
        [{"serial_port": 4001}, {"serial_port": 4002}], "http://127.0.0.1:9", 115200
    )
    assert not any(line.lstrip().startswith("#") for line in text.splitlines())
    assert text.count("protocol: raw") == 2
    assert "host: 'http://127.0.0.1:9/outlet/{index}/{value}'" in text
    assert "index: 1" in text


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[tuple[str, powerd.PowerSwitch]]:
    """The power switch with one outlet whose 'QEMU' is a sleeping Python."""
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    outlet = powerd.Outlet(0, 0, argv, tmp_path / "board-0.elf")
    power_switch = powerd.PowerSwitch([outlet], tmp_path / "state.json")
    server = ThreadingHTTPServer(("127.0.0.1", 0), powerd._handler(power_switch))
    power_switch.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield power_switch.url, power_switch
    finally:
        server.shutdown()
        power_switch.shutdown()
        server.server_close()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def test_the_power_switch_powers_flashes_and_reports(
    switch: tuple[str, powerd.PowerSwitch],
) -> None:
    url, power_switch = switch
    assert json.loads(_get(f"{url}/tinybench"))["service"] == powerd.SERVICE_ID
    assert _get(f"{url}/outlet/0") == "0"
    with pytest.raises(urllib.error.HTTPError) as refused:  # no image yet: cannot power on
        _get(f"{url}/outlet/0/1")
    assert refused.value.code == 400
    upload = urllib.request.Request(f"{url}/image/0", data=b"\x7fELF-image", method="PUT")
    with urllib.request.urlopen(upload, timeout=5) as answer:
        assert answer.read() == b"flashed"
    assert _get(f"{url}/outlet/0") == "1"
    process = power_switch.outlets[0].process
    assert process is not None and process.poll() is None
    state = json.loads(Path(power_switch._state_file).read_text())
    assert state["qemu_pids"] == {"0": process.pid}
    assert _get(f"{url}/outlet/0/0") == "0"
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is not None
    with pytest.raises(urllib.error.HTTPError) as unknown:
        _get(f"{url}/outlet/7/1")
    assert unknown.value.code == 400


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--place", "a", "--places", "b"], "give one of them"),
        (["--wait"], "add --place or --places"),
        (["--place", "a,b"], "one place name"),
        (["--place", "a", "--jobs", "2"], "not with --external, --jobs or --flash"),
        (["--place", "a", "--mode", "energy", "--port", "/dev/ttyX"], "do not apply"),
    ],
)
def test_farm_run_options_that_cannot_work_are_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["run", "kws01", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_the_report_has_a_fleet_section_with_each_unit_and_the_spread() -> None:
    block = {
        "coordinator": "127.0.0.1:1",
        "holder": "vm/me",
        "units": [
            {
                "place": "p0",
                "exporter": "e",
                "serial": "socket://h:1",
                "identity": {},
                "samples": 3,
                "median_latency_ms": 16.2,
                "restarts": 0,
                "dead": False,
            },
            {
                "place": "p1",
                "exporter": "e",
                "serial": "socket://h:2",
                "identity": {"serial": "X"},
                "samples": 1,
                "median_latency_ms": 16.4,
                "restarts": 1,
                "dead": True,
            },
        ],
        "latency_spread": {"min_ms": 16.2, "max_ms": 16.4, "range_ms": 0.2, "relative": 0.0123},
    }
    section = fleet_section(block)
    assert section is not None
    rows = section.tables[0].rows
    assert rows[1] == ("p1", "e", "socket://h:2", "serial=X", "1", "16.4000 ms", "1", "dead")
    assert "a range of 0.2000 ms (1.230 % of the median unit)" in section.paragraphs[1]
    assert fleet_section({}) is None


def test_the_fleet_section_of_a_performance_run_shows_each_units_throughput() -> None:
    unit = {"exporter": "e", "serial": "socket://h:1", "identity": {}, "restarts": 0}
    block = {
        "coordinator": "127.0.0.1:1",
        "holder": "vm/me",
        "mode": "performance",
        "units": [
            {
                **unit,
                "place": "p0",
                "windows": 5,
                "median_throughput_ips": 61.75,
                "median_latency_ms": 16.194,
                "dead": False,
            },
            {
                **unit,
                "place": "p1",
                "windows": 0,
                "median_throughput_ips": None,
                "median_latency_ms": None,
                "dead": True,
            },
        ],
        "latency_spread": {"min_ms": 16.194, "max_ms": 16.194, "range_ms": 0.0, "relative": 0.0},
        "throughput_spread": {
            "min_ips": 61.75,
            "max_ips": 61.75,
            "range_ips": 0.0,
            "relative": 0.0,
        },
    }
    section = fleet_section(block)
    assert section is not None
    headers = section.tables[0].headers
    assert headers[4:7] == ("windows", "median throughput", "median latency")
    rows = section.tables[0].rows
    assert rows[0][4:7] == ("5", "61.750 inf/s", "16.1940 ms")
    assert rows[1][4:] == ("0", "-", "-", "0", "dead")
    assert any("every place at once" in p for p in section.paragraphs)
    assert any("Median throughput across units: 61.750 inf/s" in p for p in section.paragraphs)


def test_a_place_held_by_a_vanished_run_of_this_host_is_stale() -> None:
    from tinybench.farm.labgrid_client import stale_run_holder

    gone, running = (lambda pid: False), (lambda pid: pid == 4242)
    assert stale_run_holder("lab-1/tinybench-4242-0123abcd", "lab-1", gone)
    assert not stale_run_holder("lab-1/tinybench-4242-0123abcd", "lab-1", running)
    # another host's run, a person, a name that only looks like a run's
    assert not stale_run_holder("lab-2/tinybench-4242-0123abcd", "lab-1", gone)
    assert not stale_run_holder("lab-1/lab-colleague", "lab-1", gone)
    assert not stale_run_holder("lab-1/tinybench-4242", "lab-1", gone)
    assert not stale_run_holder("tinybench-4242-0123abcd", "lab-1", gone)


def test_the_fleet_section_of_an_energy_run_shows_each_units_energy() -> None:
    unit = {"exporter": "e", "serial": "socket://h:1", "identity": {}}
    block = {
        "coordinator": "127.0.0.1:1",
        "holder": "vm/me",
        "mode": "energy",
        "units": [
            {**unit, "place": "p0", "windows": 5, "median_uj_per_inference": 1702.0934},
            {**unit, "place": "p1", "windows": 5, "median_uj_per_inference": 1702.0934},
        ],
        "energy_spread": {
            "min_uj": 1702.0934,
            "max_uj": 1702.0934,
            "range_uj": 0.0,
            "relative": 0.0,
        },
    }
    section = fleet_section(block)
    assert section is not None
    assert section.tables[0].headers[4:] == ("windows", "median energy")
    assert section.tables[0].rows[1][4:] == ("5", "1702.0934 uJ")
    assert any("co-simulated from its own marker UART" in p for p in section.paragraphs)
    assert any("Median energy across units: 1702.0934 uJ" in p for p in section.paragraphs)
