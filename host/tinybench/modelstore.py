"""Finds a model's .tflite file, downloads it when allowed, and never hands out an unverified file.

Search order: the user's directory (TINYBENCH_MODELS_DIR), the shared reference
data (../shared/models), the download cache. A file found anywhere must have the
manifest's size and sha256; a mismatch is an error naming the file and the
expected hash, not a reason to fall back silently to another copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import ChecksumError, ModelStoreError
from tinybench.manifests.models import ModelManifest

Fetcher = Callable[[str, float], bytes]

DOWNLOAD_TIMEOUT_S = 30.0


def fetch_url(url: str, timeout_s: float) -> bytes:
    """Default fetcher: a plain HTTP(S) GET."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        data: bytes = response.read()
        return data


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_file(path: Path, manifest: ModelManifest) -> None:
    """Raises ChecksumError unless the file has the pinned size and sha256."""
    expected = manifest.source
    size = path.stat().st_size
    if size != expected.size_bytes:
        raise ChecksumError(
            f"{path}: refusing model {manifest.model_id}: {size} bytes, expected "
            f"{expected.size_bytes} (truncated or wrong file); expected sha256 {expected.sha256}. "
            "Replace or delete the file."
        )
    actual = sha256_file(path)
    if actual != expected.sha256:
        raise ChecksumError(
            f"{path}: refusing model {manifest.model_id}: sha256 {actual}, expected "
            f"{expected.sha256} (corrupt or different file). Replace or delete the file."
        )


@dataclass(frozen=True)
class ModelStore:
    search_dirs: Sequence[Path]
    cache_dir: Path
    fetcher: Fetcher = fetch_url
    allow_download: bool = True

    def candidates(self, manifest: ModelManifest) -> list[Path]:
        name = manifest.source.file_name
        return [d / name for d in (*self.search_dirs, self.cache_dir / "models")]

    def path(self, manifest: ModelManifest) -> Path:
        """The verified local path of the model, downloading it into the cache if needed."""
        for candidate in self.candidates(manifest):
            if candidate.is_file():
                verify_model_file(candidate, manifest)
                return candidate
        return self._download(manifest)

    def read(self, manifest: ModelManifest) -> bytes:
        return self.path(manifest).read_bytes()

    def _download(self, manifest: ModelManifest) -> Path:
        source = manifest.source
        target = self.cache_dir / "models" / source.file_name
        searched = ", ".join(str(p.parent) for p in self.candidates(manifest))
        where = f"put {source.file_name} (sha256 {source.sha256}) into one of: {searched}"
        if not self.allow_download:
            raise ModelStoreError(
                f"model {manifest.model_id} not found and downloads are disabled; {where}"
            )
        try:
            data = self.fetcher(source.url, DOWNLOAD_TIMEOUT_S)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelStoreError(
                f"model {manifest.model_id} not found locally and the download of {source.url} "
                f"failed ({reason}); this machine may be offline: {where}"
            ) from exc
        actual = hashlib.sha256(data).hexdigest()
        if len(data) != source.size_bytes or actual != source.sha256:
            raise ChecksumError(
                f"{source.url}: downloaded {len(data)} bytes with sha256 {actual}, expected "
                f"{source.size_bytes} bytes with sha256 {source.sha256}; nothing was saved"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename: an interrupted download never leaves a partial file
        # under the final name.
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        Path(tmp.name).replace(target)
        return target
