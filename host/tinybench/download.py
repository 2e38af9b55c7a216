"""Downloads into a cache with pooch: a hash check before the file gets its final name.

pooch writes the download to a temporary file beside the target, checks its sha256 and only
then moves it into place, so an interrupted or corrupt download never replaces or poses as a
good copy. The transport is a `Downloader`, so tests can stand in for the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pooch

from tinybench.errors import TinybenchError
from tinybench.hashing import sha256_file

# Writes the body at a URL into a file, within a timeout in seconds; raises OSError on failure.
Downloader = Callable[[str, Path, float], None]


def http_download(url: str, output: Path, timeout_s: float) -> None:
    """The default Downloader: an HTTP(S) GET through pooch (requests' errors are OSErrors)."""
    pooch.HTTPDownloader(progressbar=False, timeout=timeout_s)(url, str(output), None)


class DownloadFailed(TinybenchError):
    """The URL could not be fetched (no network, refused, HTTP error)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"the download of {url} failed ({reason})")
        self.url = url
        self.reason = reason


class DownloadMismatch(TinybenchError):
    """The downloaded bytes do not have the expected sha256; nothing was saved."""

    def __init__(self, url: str, size_bytes: int, sha256: str) -> None:
        super().__init__(f"{url}: downloaded {size_bytes} bytes with sha256 {sha256}")
        self.url = url
        self.size_bytes = size_bytes
        self.sha256 = sha256


@dataclass(frozen=True)
class _Received:
    size_bytes: int
    sha256: str


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """pooch logs every download at INFO on stderr; tinybench reports downloads itself."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def download(
    url: str, target: Path, sha256: str | None, downloader: Downloader, timeout_s: float
) -> Path:
    """Downloads url to target (its directory is created) and returns target.

    With `sha256`, a download with another hash raises DownloadMismatch and leaves nothing
    behind; a target that already has that hash is returned without a download.
    """
    received: list[_Received] = []

    def through_downloader(url: str, output_file: str, _pooch: object) -> None:
        output = Path(output_file)
        downloader(url, output, timeout_s)
        received.append(_Received(output.stat().st_size, sha256_file(output)))

    try:
        with _quiet_pooch():
            path = pooch.retrieve(
                url,
                known_hash=f"sha256:{sha256}" if sha256 is not None else None,
                fname=target.name,
                path=target.parent,
                downloader=through_downloader,
                progressbar=False,
            )
    except ValueError as exc:
        if not received:
            raise DownloadFailed(url, str(exc)) from exc
        raise DownloadMismatch(url, received[-1].size_bytes, received[-1].sha256) from exc
    except OSError as exc:
        raise DownloadFailed(url, str(getattr(exc, "reason", None) or exc)) from exc
    return Path(path)
