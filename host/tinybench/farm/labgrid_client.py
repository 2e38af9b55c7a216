"""The labgrid coordinator as tinybench sees it: places, their resources, locks, reservations.

labgrid is an optional extra (`tinybench[farm]`): it brings pyserial-labgrid, which replaces
pyserial's `serial` package, so it is imported only here, when a farm is used. gRPC reads only
a lowercase `no_proxy`: both forms are set for the loopback coordinator. Locks are cooperative
and keyed by host/user, so every run names itself with a unique LG_USERNAME.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tinybench.errors import TinybenchError

LOCAL_HOSTS = "127.0.0.1,localhost"
RESERVATION_POLL_S = 0.5
WAITING, ALLOCATED, ACQUIRED = 0, 1, 2  # labgrid's ReservationState values


class PlaceHeld(TinybenchError):
    """A place someone else holds (the message names the holder)."""


# The LG_USERNAME prepare_environment gives a run: tinybench-<pid>-<8 hex digits>.
_RUN_USER = re.compile(r"^tinybench-(\d+)-[0-9a-f]{8}$")


def stale_run_holder(holder: str, hostname: str, running: Callable[[int], bool]) -> bool:
    """The holder `host/user` is a tinybench run on this host whose process is gone. A run
    killed with SIGKILL (or lost with its machine) cannot release its places; nobody else can
    be using them, since the name is unique to that process."""
    host, sep, user = holder.partition("/")
    match = _RUN_USER.match(user)
    return bool(sep and match and host == hostname and not running(int(match.group(1))))


def tinybench_process(pid: int) -> bool:
    """A process with this PID runs tinybench (a PID the system reused for another program
    does not count)."""
    import psutil  # the farm extra

    try:
        return "tinybench" in " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return False


def _labgrid() -> Any:
    try:
        from labgrid.remote import client  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise TinybenchError(
            "board farms need labgrid: pip install 'tinybench[farm]' (in a venv of its own: "
            "labgrid's pyserial-labgrid replaces pyserial); bash scripts/setup.sh --dev makes "
            f".venv-farm with it ({exc})"
        ) from exc
    return client


def prepare_environment(user: str | None = None) -> str:
    """Sets no_proxy for loopback (both spellings) and a unique LG_USERNAME; returns the user."""
    for name in ("no_proxy", "NO_PROXY"):
        current = os.environ.get(name, "")
        os.environ[name] = f"{current},{LOCAL_HOSTS}" if current else LOCAL_HOSTS
    name = user or f"tinybench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.environ["LG_USERNAME"] = name
    return name


@dataclass(frozen=True)
class PlaceResource:
    exporter: str
    group: str
    cls: str
    name: str
    params: dict[str, Any]

    @property
    def path(self) -> str:
        return f"{self.exporter}/{self.group}/{self.cls}/{self.name}"


@dataclass(frozen=True)
class PlaceView:
    name: str
    tags: dict[str, str]
    acquired: str | None  # host/user of the holder
    resources: tuple[PlaceResource, ...]  # matching resources (acquired ones when held)


class FarmClient:
    """One session with a labgrid coordinator (all calls from the thread that made it)."""

    def __init__(self, address: str, notify: Callable[[str], None] | None = None) -> None:
        client = _labgrid()
        self._notify = notify or (lambda message: print(f"warning: {message}", file=sys.stderr))
        self._pb2 = client.labgrid_coordinator_pb2
        self.address = address
        self.user = os.environ.get("LG_USERNAME") or prepare_environment()
        args = argparse.Namespace(allow_unmatched=False, kick=False, place=None)
        try:
            self._session = client.start_session(address, extra={"args": args})
        except Exception as exc:  # labgrid raises its own errors and gRPC's
            raise TinybenchError(
                f"cannot reach the labgrid coordinator at {address}: {exc}. Is it running "
                "(tinybench farm status / labgrid-coordinator)?"
            ) from exc
        self._loop: asyncio.AbstractEventLoop = self._session.loop
        self.holder = f"{self._session.gethostname()}/{self.user}"

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def _call(self, what: str, coroutine: Any) -> Any:
        try:
            result = self._run(coroutine)
            self._run(self._session.sync_with_coordinator())
            return result
        except Exception as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise TinybenchError(f"labgrid coordinator {self.address}: {what}: {details}") from exc

    def sync(self) -> None:
        self._run(self._session.sync_with_coordinator())

    def places(self) -> list[PlaceView]:
        self.sync()
        return [self._view(p) for _, p in sorted(self._session.places.items())]

    def _view(self, place: Any) -> PlaceView:
        found = []
        for exporter, groups in sorted(self._session.resources.items()):
            for group_name, group in sorted(groups.items()):
                for resource_name, resource in sorted(group.items()):
                    path = (exporter, group_name, resource.cls, resource_name)
                    if place.getmatch(path) is None:
                        continue
                    found.append(
                        PlaceResource(
                            exporter, group_name, resource.cls, resource_name, dict(resource.args)
                        )
                    )
        return PlaceView(place.name, dict(place.tags), place.acquired or None, tuple(found))

    def exported_groups(self, exporter: str) -> list[str]:
        """The resource groups an exporter has registered."""
        return sorted(self._session.resources.get(exporter, {}))

    def place(self, name: str) -> PlaceView:
        for view in self.places():
            if view.name == name:
                return view
        raise TinybenchError(f"no labgrid place {name!r} at {self.address}")

    def select(self, spec: str) -> list[str]:
        """`P1,P2,...` (names) or `tag=value[,tag=value]` (every place with those tags)."""
        views = self.places()
        if "=" not in spec:
            names = [n.strip() for n in spec.split(",") if n.strip()]
            known = {v.name for v in views}
            unknown = [n for n in names if n not in known]
            if unknown:
                raise TinybenchError(
                    f"no labgrid place {', '.join(unknown)} at {self.address} (known: "
                    f"{', '.join(sorted(known)) or 'none'})"
                )
            return names
        wanted: dict[str, str] = {}
        for pair in spec.split(","):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise TinybenchError(f"--places {spec!r}: expected P1,P2 or tag=value[,tag=value]")
            wanted[key.strip()] = value.strip()
        chosen = [v.name for v in views if all(v.tags.get(k) == x for k, x in wanted.items())]
        if not chosen:
            raise TinybenchError(f"--places {spec!r}: no place at {self.address} has those tags")
        return chosen

    def add_place(self, name: str, pattern: str, tags: dict[str, str]) -> None:
        pb2 = self._pb2
        stub = self._session.stub
        self._call("add place", stub.AddPlace(pb2.AddPlaceRequest(name=name)))
        self._call(
            "add match",
            stub.AddPlaceMatch(pb2.AddPlaceMatchRequest(placename=name, pattern=pattern)),
        )
        self._call(
            "set tags", stub.SetPlaceTags(pb2.SetPlaceTagsRequest(placename=name, tags=tags))
        )

    def check_free(self, name: str) -> PlaceView:
        """The place, or PlaceHeld naming who holds it. A place still held by a tinybench run
        of this host that no longer exists (killed with SIGKILL) is released first."""
        view = self.place(name)
        holder = view.acquired
        if holder is not None and stale_run_holder(
            holder, self._session.gethostname(), tinybench_process
        ):
            self.release(name, holder)
            self._notify(
                f"place {name} was still held by {holder}, a tinybench run on this host that "
                "no longer runs (killed?): released it"
            )
            view = self.place(name)
        if view.acquired is not None:
            raise PlaceHeld(
                f"place {name} is held by {view.acquired}; wait for it with --wait, or ask them "
                f"to release it (labgrid-client -x {self.address} -p {name} release)"
            )
        return view

    def acquire(self, name: str) -> PlaceView:
        self.check_free(name)
        stub = self._session.stub
        self._call(
            f"acquire {name}", stub.AcquirePlace(self._pb2.AcquirePlaceRequest(placename=name))
        )
        return self.place(name)

    def release(self, name: str, holder: str | None = None) -> None:
        """Releases the place this client holds, or (holder given) the one `holder` holds."""
        stub = self._session.stub
        request = self._pb2.ReleasePlaceRequest(placename=name)
        if holder is not None:
            request.fromuser = holder
        self._call(f"release {name}", stub.ReleasePlace(request))

    def wait_for(self, names: list[str], timeout_s: float) -> list[str]:
        """One reservation per place (labgrid allocates one filter group per reservation),
        waited for until every one is allocated; their tokens."""
        pb2 = self._pb2
        stub = self._session.stub
        tokens: list[str] = []
        try:
            for name in names:
                main = pb2.Reservation.Filter(filter={"name": name})
                request = pb2.CreateReservationRequest(filters={"main": main}, prio=0.0)
                response = self._call(f"reserve {name}", stub.CreateReservation(request))
                tokens.append(response.reservation.token)
            deadline = time.monotonic() + timeout_s
            waiting = list(zip(names, tokens, strict=True))
            while waiting:
                still = []
                for name, token in waiting:
                    poll = pb2.PollReservationRequest(token=token)
                    state = self._call(f"poll {name}", stub.PollReservation(poll)).reservation.state
                    if state == WAITING:
                        still.append((name, token))
                    elif state not in (ALLOCATED, ACQUIRED):
                        raise TinybenchError(f"the reservation for {name} ended (state {state})")
                waiting = still
                if waiting and time.monotonic() >= deadline:
                    raise TinybenchError(
                        f"places {', '.join(n for n, _ in waiting)} were not free within "
                        f"{timeout_s:g} s"
                    )
                if waiting:
                    time.sleep(RESERVATION_POLL_S)
        except BaseException:
            for token in tokens:
                with contextlib.suppress(TinybenchError):
                    self.cancel(token)
            raise
        return tokens

    def cancel(self, token: str) -> None:
        stub = self._session.stub
        self._call(
            "cancel reservation",
            stub.CancelReservation(self._pb2.CancelReservationRequest(token=token)),
        )

    def close(self) -> None:
        try:
            self._run(self._session.stop())
            self._run(self._session.close())
        except Exception:  # closing a session that already broke: nothing left to do
            return


@contextmanager
def farm_client(address: str) -> Iterator[FarmClient]:
    client = FarmClient(address)
    try:
        yield client
    finally:
        client.close()
