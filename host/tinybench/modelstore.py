"""Finds a model's .tflite file, downloads it when allowed, and never hands out an unverified file.

Search order: the user's directory (TINYBENCH_MODELS_DIR), the shared reference
data (../shared/models), the download cache. A file found anywhere must have the
manifest's size and sha256; a mismatch is an error naming the file and the
expected hash, not a reason to fall back silently to another copy. Downloads go through
pooch (tinybench.download): checked against the manifest's sha256 before they get their name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybench.download import (
    Downloader,
    DownloadFailed,
    DownloadMismatch,
    download,
    http_download,
)
from tinybench.errors import ChecksumError, ModelStoreError
from tinybench.hashing import sha256_file as sha256_file  # cli/reference_cmd imports it here
from tinybench.manifests.models import ModelManifest

DOWNLOAD_TIMEOUT_S = 30.0


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
    downloader: Downloader = http_download
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
            return download(source.url, target, source.sha256, self.downloader, DOWNLOAD_TIMEOUT_S)
        except DownloadFailed as exc:
            raise ModelStoreError(
                f"model {manifest.model_id} not found locally and the download of {source.url} "
                f"failed ({exc.reason}); this machine may be offline: {where}"
            ) from exc
        except DownloadMismatch as exc:
            raise ChecksumError(
                f"{source.url}: downloaded {exc.size_bytes} bytes with sha256 {exc.sha256}, "
                f"expected {source.size_bytes} bytes with sha256 {source.sha256}; nothing was saved"
            ) from exc
