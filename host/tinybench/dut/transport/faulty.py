"""A link that damages traffic on purpose: drops, duplicates, flips or inserts bytes, stalls
reads, or closes, at points drawn from a seeded random stream (`tinybench run --inject`).

Each direction has its own random stream and every byte takes exactly one draw from it (plus
one for a flipped bit or an inserted byte), so the faults land on the same bytes of the same
traffic whatever pieces the link delivers it in: a seed reproduces a run's faults.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace

from tinybench.dut.transport.base import Transport
from tinybench.errors import TinybenchError, TransportError

BYTE_FAULTS = ("drop", "dup", "flip", "insert")  # rates per byte
FAULT_KINDS = (*BYTE_FAULTS, "stall", "close")
DIRECTIONS = ("tx", "rx")  # tx: host to DUT, rx: DUT to host
DEFAULT_STALL_S = 0.5

SPEC_HELP = (
    "Damage the link on purpose, as KEY=VALUE,...: drop, dup, flip, insert = rate per byte "
    "(0..1); stall=SECONDS@RATE (per read); close=RATE (per write: the link closes, the DUT "
    "restarts); dir=tx|rx|both (tx: host to DUT; default both); seed=N (default 0); "
    "silence=SECONDS (the silence allowed per command and, in accuracy runs, per infer; "
    "default 5 and 60). "
    "Example: drop=0.001,flip=0.001,stall=0.5@0.01,close=0.002,seed=7. Every reply is then "
    "CRC-checked (the firmware's reply-crc extension), uploads go over the link (db bin, "
    "CRC-checked), and results.json counts every fault in link_faults."
)


@dataclass(frozen=True)
class FaultSpec:
    text: str
    rates: dict[str, float] = field(default_factory=dict)  # per byte, for BYTE_FAULTS
    stall_rate: float = 0.0  # per read
    stall_s: float = DEFAULT_STALL_S
    close_rate: float = 0.0  # per write
    directions: tuple[str, ...] = DIRECTIONS
    seed: int = 0
    silence_s: float | None = None  # None: the session's usual timeouts

    def byte_rate(self, kind: str) -> float:
        return self.rates.get(kind, 0.0)


def _rate(key: str, value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise TinybenchError(f"--inject {key}={value!r}: not a number") from None
    if not 0.0 <= rate <= 1.0:
        raise TinybenchError(f"--inject {key}={value}: a rate must be within 0..1")
    return rate


def _seconds(key: str, value: str) -> float:
    text = value[:-1] if value.endswith("s") else value
    try:
        seconds = float(text)
    except ValueError:
        raise TinybenchError(f"--inject {key}={value!r}: not a duration in seconds") from None
    if not 0.0 < seconds <= 600.0:
        raise TinybenchError(f"--inject {key}={value}: must be within 0..600 s")
    return seconds


def parse_fault_spec(text: str) -> FaultSpec:
    """`drop=0.001,stall=0.5s@0.01,seed=7` -> FaultSpec; anything else is a clear error."""
    rates: dict[str, float] = {}
    seen: set[str] = set()
    spec = FaultSpec(text=text, rates=rates)
    for item in (part.strip() for part in text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise TinybenchError(f"--inject: {item!r} is not KEY=VALUE (in {text!r})")
        if key in seen:
            raise TinybenchError(f"--inject: {key} given twice")
        seen.add(key)
        if key in BYTE_FAULTS:
            rates[key] = _rate(key, value)
        elif key == "stall":
            seconds, at, rate = value.partition("@")
            if not at:
                raise TinybenchError(f"--inject stall={value!r}: expected SECONDS@RATE")
            spec = replace(spec, stall_s=_seconds(key, seconds), stall_rate=_rate(key, rate))
        elif key == "close":
            spec = replace(spec, close_rate=_rate(key, value))
        elif key == "dir":
            if value not in ("tx", "rx", "both"):
                raise TinybenchError(f"--inject dir={value!r}: expected tx, rx or both")
            spec = replace(spec, directions=DIRECTIONS if value == "both" else (value,))
        elif key == "seed":
            if not value.isdigit():
                raise TinybenchError(f"--inject seed={value!r}: expected a whole number >= 0")
            spec = replace(spec, seed=int(value))
        elif key == "silence":
            spec = replace(spec, silence_s=_seconds(key, value))
        else:
            raise TinybenchError(
                f"--inject: unknown key {key!r} (known: {', '.join(FAULT_KINDS)}, dir, seed, "
                "silence)"
            )
    if sum(rates.values()) > 1.0:
        raise TinybenchError(f"--inject: the byte rates add up to over 1 ({text!r})")
    return spec


class FaultInjector:
    """The random streams and counts of one DUT's faults; it outlives the links it damages
    (a DUT restarted after a close gets a new link, damaged by the same streams)."""

    def __init__(self, spec: FaultSpec, stream: int = 0) -> None:
        self.spec = spec
        self._byte_rng = {d: random.Random(f"{spec.seed}:{stream}:{d}") for d in DIRECTIONS}
        self._call_rng = random.Random(f"{spec.seed}:{stream}:calls")
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)

    def damage(self, data: bytes, direction: str) -> bytes:
        if direction not in self.spec.directions:
            return data
        rng = self._byte_rng[direction]
        drop = self.spec.byte_rate("drop")
        dup = drop + self.spec.byte_rate("dup")
        flip = dup + self.spec.byte_rate("flip")
        insert = flip + self.spec.byte_rate("insert")
        out = bytearray()
        for byte in data:
            draw = rng.random()
            if draw >= insert:
                out.append(byte)
            elif draw < drop:
                self.injected["drop"] += 1
            elif draw < dup:
                self.injected["dup"] += 1
                out += bytes((byte, byte))
            elif draw < flip:
                self.injected["flip"] += 1
                out.append(byte ^ (1 << rng.randrange(8)))
            else:
                self.injected["insert"] += 1
                out += bytes((rng.randrange(256), byte))
        return bytes(out)

    def stall(self) -> float:
        """Seconds to hold this read back (0: none)."""
        if self.spec.stall_rate and self._call_rng.random() < self.spec.stall_rate:
            self.injected["stall"] += 1
            return self.spec.stall_s
        return 0.0

    def close_now(self) -> bool:
        if self.spec.close_rate and self._call_rng.random() < self.spec.close_rate:
            self.injected["close"] += 1
            return True
        return False


class FaultyTransport:
    """Wraps a transport; what passes through is damaged as the injector decides."""

    def __init__(self, inner: Transport, injector: FaultInjector) -> None:
        self._inner = inner
        self._injector = injector
        self._closed = False

    @property
    def description(self) -> str:
        return f"{self._inner.description} (faults injected: {self._injector.spec.text})"

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError(f"{self._inner.description}: link closed by fault injection")

    def write(self, data: bytes) -> None:
        self._check_open()
        if self._injector.close_now():
            self._closed = True
            self._inner.close()
            self._check_open()
        self._inner.write(self._injector.damage(data, "tx"))

    def read(self, timeout_s: float) -> bytes:
        self._check_open()
        data = self._inner.read(timeout_s)
        if data:
            held = self._injector.stall()
            if held:
                time.sleep(held)
            data = self._injector.damage(data, "rx")
        return data

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._inner.close()
