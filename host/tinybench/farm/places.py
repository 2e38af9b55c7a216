"""A run on labgrid places: acquire, find each place's serial endpoint and power, release.

The DUT session is unchanged: a place supplies the transport (its `NetworkSerialPort`, opened
as a pyserial URL) and the power-cycle a restart needs (its `NetworkPowerPort`, switched by
labgrid's own backend for that model). A place whose power switch is the loopback farm's is
flashed through it (the image uploaded, the board power-cycled onto it); other places must
already run the firmware (the worker checks the model's sha256 the DUT reports).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinybench.dut.link import DutLink
from tinybench.dut.transport.serial_link import SerialTransport
from tinybench.errors import TinybenchError, TransportError
from tinybench.farm.labgrid_client import (
    FarmClient,
    PlaceResource,
    PlaceView,
    farm_client,
    prepare_environment,
)
from tinybench.farm.loopback import MARKER_RESOURCE
from tinybench.farm.powerd import SERVICE_ID
from tinybench.modes.accuracy import SampleOutcome
from tinybench.modes.energy import EnergyOutcome
from tinybench.modes.performance import PerformanceOutcome

POWER_OFF_S = 0.2  # off time of a power-cycle
CONNECT_TIMEOUT_S = 10.0
DEFAULT_WAIT_S = 3600.0
IDENTITY_KEYS = ("ID_SERIAL_SHORT", "serial", "ID_SERIAL", "ID_PATH")


@dataclass(frozen=True)
class FarmRequest:
    coordinator: str
    places: str  # `P1,P2,...` or `tag=value[,...]`
    wait: bool = False  # queue through a labgrid reservation instead of failing on a held place
    wait_s: float = DEFAULT_WAIT_S


@dataclass(frozen=True)
class PowerPort:
    """A labgrid NetworkPowerPort: switched by labgrid's backend module for its model."""

    model: str
    host: str
    index: str

    def _backend(self) -> Any:
        try:
            return importlib.import_module(f"labgrid.driver.power.{self.model}")
        except ImportError as exc:
            raise TinybenchError(f"labgrid has no power backend {self.model!r}: {exc}") from exc

    def set(self, on: bool) -> None:
        try:
            self._backend().power_set(self.host, None, self.index, on)
        except Exception as exc:  # requests' and the backends' own errors
            raise TinybenchError(f"power port {self.host} [{self.index}]: {exc}") from exc

    def cycle(self) -> None:
        self.set(False)
        time.sleep(POWER_OFF_S)
        self.set(True)


@dataclass(frozen=True)
class PlaceEndpoint:
    place: str
    exporter: str
    serial_url: str
    serial_resource: str
    power: PowerPort | None
    identity: dict[str, str]  # the serial resource's USB identity, where it has one
    marker_url: str | None = None  # the energy marker UART (`markers`), loopback boards only

    def provenance(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "exporter": self.exporter,
            "serial": self.serial_url,
            "serial_resource": self.serial_resource,
            "power": None
            if self.power is None
            else f"{self.power.model} {self.power.host} [{self.power.index}]",
            "identity": self.identity,
        }


def _serial_url(place: str, port: PlaceResource) -> str:
    protocol = port.params.get("protocol", "rfc2217")
    scheme = {"raw": "socket", "rfc2217": "rfc2217"}.get(protocol)
    if scheme is None:
        raise TinybenchError(f"place {place}: serial protocol {protocol!r} (raw or rfc2217)")
    return f"{scheme}://{port.params['host']}:{port.params['port']}"


def endpoint_of(view: PlaceView) -> PlaceEndpoint:
    """The place's DUT serial port (its NetworkSerialPort not named `markers`), its energy
    marker UART if it has one, its power port and its identity."""
    ports = [r for r in view.resources if r.cls == "NetworkSerialPort"]
    serial = [r for r in ports if r.name != MARKER_RESOURCE]
    markers = [r for r in ports if r.name == MARKER_RESOURCE]
    if not serial:
        classes = ", ".join(sorted({r.cls for r in view.resources})) or "none"
        raise TinybenchError(
            f"place {view.name} has no NetworkSerialPort (its resources: {classes}); a remote "
            "USBSerialPort is exported as one"
        )
    port = serial[0]
    url = _serial_url(view.name, port)
    power_resources = [r for r in view.resources if r.cls == "NetworkPowerPort"]
    power = None
    if power_resources:
        p = power_resources[0].params
        power = PowerPort(str(p["model"]), str(p["host"]), str(p["index"]))
    extra = port.params.get("extra") or {}
    identity = {k: str(v) for k, v in {**port.params, **extra}.items() if k in IDENTITY_KEYS}
    marker_url = _serial_url(view.name, markers[0]) if markers else None
    return PlaceEndpoint(view.name, port.exporter, url, port.path, power, identity, marker_url)


def loopback_flash_url(power: PowerPort | None) -> str | None:
    """The loopback farm's image upload, when the place's power switch is that service."""
    if power is None or power.model != "simplerest":
        return None
    parts = urllib.parse.urlsplit(power.host.format(index=power.index, value=""))
    base = f"{parts.scheme}://{parts.netloc}"
    try:
        with urllib.request.urlopen(f"{base}/tinybench", timeout=5) as answer:
            if json.loads(answer.read()).get("service") != SERVICE_ID:
                return None
    except (OSError, ValueError):
        return None
    return f"{base}/image/{power.index}"


class PlaceDut:
    """One acquired place as the worker's RemoteDut."""

    def __init__(self, endpoint: PlaceEndpoint, baud: int) -> None:
        self.endpoint = endpoint
        self._baud = baud
        # The marker UART's link while open() holds the console (places that have one).
        self.marker_transport: SerialTransport | None = None

    @property
    def name(self) -> str:
        return self.endpoint.place

    @property
    def baud(self) -> int:
        return self._baud

    def flash(self, image: Path) -> bool:
        """Puts image on the place where it has a way to (the loopback farm); False if not."""
        url = loopback_flash_url(self.endpoint.power)
        if url is None:
            return False
        request = urllib.request.Request(url, data=image.read_bytes(), method="PUT")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                answer.read()
        except (OSError, urllib.error.HTTPError) as exc:
            raise TinybenchError(
                f"place {self.name}: flashing through {url} failed: {exc}"
            ) from exc
        return True

    @contextlib.contextmanager
    def open(self) -> Iterator[DutLink]:
        """The console's link; a place with a marker UART has it connected first (its QEMU
        waits for both, markers first) and held in marker_transport meanwhile."""
        with contextlib.ExitStack() as stack:
            try:
                if self.endpoint.marker_url is not None:
                    markers = SerialTransport.open(
                        self.endpoint.marker_url, self._baud, connect_timeout_s=CONNECT_TIMEOUT_S
                    )
                    stack.callback(markers.close)
                    self.marker_transport = markers
                    stack.callback(setattr, self, "marker_transport", None)
                transport = SerialTransport.open(
                    self.endpoint.serial_url, self._baud, connect_timeout_s=CONNECT_TIMEOUT_S
                )
            except TransportError as exc:
                raise TransportError(f"place {self.name}: {exc}") from exc
            stack.callback(transport.close)
            yield DutLink(transport, None)

    def power_cycle(self) -> None:
        if self.endpoint.power is None:
            raise TinybenchError(f"place {self.name} has no power port to restart its board with")
        self.endpoint.power.cycle()


class FarmSession:
    """The places of one run, acquired; close() releases every one of them, whatever happened."""

    def __init__(self, request: FarmRequest, baud: int) -> None:
        prepare_environment()
        self.request = request
        self._client = FarmClient(request.coordinator)
        self._acquired: list[str] = []
        self._tokens: list[str] = []
        self.duts: list[PlaceDut] = []
        try:
            names = self._client.select(request.places)
            if request.wait:
                self._tokens = self._client.wait_for(names, request.wait_s)
            for name in names:
                view = self._client.acquire(name)
                self._acquired.append(name)
                self.duts.append(PlaceDut(endpoint_of(view), baud))
        except BaseException:
            self.close()
            raise

    @property
    def holder(self) -> str:
        return self._client.holder

    def flash(self, image: Path) -> list[str]:
        """Flashes every place that can be; the names of those that cannot (must be flashed)."""
        return [d.name for d in self.duts if not d.flash(image)]

    def close(self) -> None:
        for name in reversed(self._acquired):
            with contextlib.suppress(TinybenchError):
                self._client.release(name)
        self._acquired.clear()
        for token in self._tokens:
            with contextlib.suppress(TinybenchError):
                self._client.cancel(token)
        self._tokens = []
        self._client.close()

    def energy_fleet_document(self, outcomes: Mapping[str, EnergyOutcome]) -> dict[str, Any]:
        """Per-unit energy (median µJ per inference, windows, compliance) and the spread."""
        return _energy_fleet(self, outcomes)

    def fleet_document(
        self,
        outcomes: list[SampleOutcome],
        samples_by_place: dict[str, list[int]],
        restarts: dict[str, int],
        dead: list[str],
        performance: Mapping[str, PerformanceOutcome] | None = None,
    ) -> dict[str, Any]:
        """Per-unit figures and their spread, with each place's provenance: from the samples
        each place ran (accuracy), or from each place's own windows (performance on several
        places)."""
        by_index = {o.index: o for o in outcomes}
        performance = performance or {}
        units = []
        latencies: list[float] = []
        throughputs: list[float] = []
        for dut in self.duts:
            indexes = samples_by_place.get(dut.name, [])
            unit: dict[str, Any] = {**dut.endpoint.provenance()}
            own = performance.get(dut.name)
            median: float | None
            if performance:  # each place's own windows; none for a place given up on
                median = own.median_latency_ms if own is not None else None
                unit["windows"] = len(own.windows) if own is not None else 0
                unit["median_throughput_ips"] = own.median_throughput_ips if own else None
                unit["compliant"] = own.compliant if own is not None else None
                if own is not None:
                    throughputs.append(own.median_throughput_ips)
            else:
                elapsed = [us for i in indexes if i in by_index for us in by_index[i].elapsed_us]
                median = statistics.median(elapsed) / 1000.0 if elapsed else None
                unit["samples"] = len(indexes)
                unit["sample_indexes"] = sorted(indexes)
            if median is not None:
                latencies.append(median)
            unit["median_latency_ms"] = median
            unit["restarts"] = restarts.get(dut.name, 0)  # each: up to 3 power-cycles
            unit["dead"] = dut.name in dead
            units.append(unit)
        document: dict[str, Any] = {
            "coordinator": self.request.coordinator,
            "holder": self.holder,
            "mode": "performance" if performance else "accuracy",
            "units": units,
            "latency_spread": _spread(latencies, "ms"),
        }
        if performance:
            document["throughput_spread"] = _spread(throughputs, "ips")
        return document


def _energy_unit(outcome: EnergyOutcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"windows": 0, "median_uj_per_inference": None, "compliant": None}
    summary = outcome.summary
    return {
        "windows": len(summary.windows),
        "median_uj_per_inference": summary.median_uj_per_inference,
        "compliant": summary.compliant,
    }


def _spread(values: list[float], unit: str) -> dict[str, float] | None:
    """min, max, range and range / median of per-unit figures (None without any)."""
    if not values:
        return None
    low, high = min(values), max(values)
    middle = statistics.median(values)
    return {
        f"min_{unit}": low,
        f"max_{unit}": high,
        f"range_{unit}": high - low,
        "relative": (high - low) / middle if middle > 0 else 0.0,
    }


def _energy_fleet(session: FarmSession, outcomes: Mapping[str, EnergyOutcome]) -> dict[str, Any]:
    units = [
        {**dut.endpoint.provenance(), **_energy_unit(outcomes.get(dut.name))}
        for dut in session.duts
    ]
    energies = [u["median_uj_per_inference"] for u in units if u["median_uj_per_inference"]]
    return {
        "coordinator": session.request.coordinator,
        "holder": session.holder,
        "mode": "energy",
        "units": units,
        "energy_spread": _spread(energies, "uj"),
    }


def check_places_free(request: FarmRequest) -> None:
    """Fails at once, before the build, when a place is held (unless the run waits)."""
    if request.wait:
        return
    prepare_environment()
    with farm_client(request.coordinator) as client:
        for name in client.select(request.places):
            client.check_free(name)


def open_places(request: FarmRequest, baud: int, image: Path, notify: Any = print) -> FarmSession:
    """Acquires the places and flashes those that can be flashed from here."""
    session = FarmSession(request, baud)
    try:
        for name in session.flash(image):
            notify(
                f"place {name}: no way to flash it from here; it must already run {image.name} "
                "(the DUT's model sha256 is checked)"
            )
    except BaseException:
        session.close()
        raise
    return session
