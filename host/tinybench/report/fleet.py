"""The report's fleet section: a run over farm places, per unit and the spread across units."""

from __future__ import annotations

from typing import Any

from tinybench.report.formatting import count, fixed, percent, text_or_missing
from tinybench.report.layout import Section, Table


def fleet_section(block: dict[str, Any]) -> Section | None:
    """results.json `farm`: one row per place (unit), the spread of their median latencies
    (and in performance mode, run on every place, of their median throughputs)."""
    units = block.get("units")
    if not isinstance(units, list) or not units:
        return None
    if block.get("mode") == "performance":
        return _performance_section(block, units)
    if block.get("mode") == "energy":
        return _energy_section(block, units)
    rows = tuple(
        (*_unit_cells(u), count(u.get("samples")), fixed(u.get("median_latency_ms"), 4, "ms"),
         *_state_cells(u))
        for u in units
        if isinstance(u, dict)
    )  # fmt: skip
    headers = (
        "place", "exporter", "serial", "identity", "samples", "median latency", "restarts",
        "state",
    )  # fmt: skip
    return Section("fleet", "Fleet", _paragraphs(block), (Table("fleet-units", headers, rows),))


def _unit_cells(unit: dict[str, Any]) -> tuple[str, ...]:
    """Which unit: place, exporter, serial URL, the resource's identity."""
    identity = ", ".join(f"{k}={v}" for k, v in (unit.get("identity") or {}).items())
    return (
        text_or_missing(unit.get("place")),
        text_or_missing(unit.get("exporter")),
        text_or_missing(unit.get("serial")),
        identity or "none",
    )


def _state_cells(unit: dict[str, Any]) -> tuple[str, ...]:
    return count(unit.get("restarts")), "dead" if unit.get("dead") else "ok"


def _performance_section(block: dict[str, Any], units: list[Any]) -> Section:
    rows = tuple(
        (*_unit_cells(u), count(u.get("windows")),
         fixed(u.get("median_throughput_ips"), 3, "inf/s"),
         fixed(u.get("median_latency_ms"), 4, "ms"), *_state_cells(u))
        for u in units
        if isinstance(u, dict)
    )  # fmt: skip
    headers = (
        "place", "exporter", "serial", "identity", "windows", "median throughput",
        "median latency", "restarts", "state",
    )  # fmt: skip
    return Section("fleet", "Fleet", _paragraphs(block), (Table("fleet-units", headers, rows),))


def _energy_section(block: dict[str, Any], units: list[Any]) -> Section:
    rows = tuple(
        (*_unit_cells(u), count(u.get("windows")),
         fixed(u.get("median_uj_per_inference"), 4, "uJ"))
        for u in units
        if isinstance(u, dict)
    )  # fmt: skip
    headers = ("place", "exporter", "serial", "identity", "windows", "median energy")
    return Section("fleet", "Fleet", _paragraphs(block), (Table("fleet-units", headers, rows),))


def _paragraphs(block: dict[str, Any]) -> tuple[str, ...]:
    coordinator = text_or_missing(block.get("coordinator"))
    paragraphs = [
        f"Run on labgrid places through the coordinator {coordinator} as "
        f"{text_or_missing(block.get('holder'))}."
    ]
    if block.get("mode") == "performance":
        paragraphs.append(
            "Performance mode ran on every place at once, each with its own windows; the "
            "run's own figures are the first place's."
        )
    if block.get("mode") == "energy":
        paragraphs.append(
            "Energy mode ran on every place at once, each co-simulated from its own marker "
            "UART; the run's own figures are the first place's."
        )
    energy = block.get("energy_spread")
    if isinstance(energy, dict):
        paragraphs.append(
            f"Median energy across units: {fixed(energy.get('min_uj'), 4, 'uJ')} to "
            f"{fixed(energy.get('max_uj'), 4, 'uJ')} ({percent(energy.get('relative'), 3)} of "
            "the median unit)."
        )
    spread = block.get("latency_spread")
    if isinstance(spread, dict):
        paragraphs.append(
            f"Median latency across units: {fixed(spread.get('min_ms'), 4, 'ms')} to "
            f"{fixed(spread.get('max_ms'), 4, 'ms')}, a range of "
            f"{fixed(spread.get('range_ms'), 4, 'ms')} ({percent(spread.get('relative'), 3)} of "
            "the median unit)."
        )
    throughput = block.get("throughput_spread")
    if isinstance(throughput, dict):
        paragraphs.append(
            f"Median throughput across units: {fixed(throughput.get('min_ips'), 3, 'inf/s')} "
            f"to {fixed(throughput.get('max_ips'), 3, 'inf/s')} "
            f"({percent(throughput.get('relative'), 3)} of the median unit)."
        )
    return tuple(paragraphs)
