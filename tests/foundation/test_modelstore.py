"""The model store: verified files, downloads from a local fake server, offline errors."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from httpfake import FileServer
from tinybench.download import Downloader
from tinybench.errors import ChecksumError, ModelStoreError
from tinybench.manifests.models import ModelManifest, load_model_manifest
from tinybench.modelstore import ModelStore
from tinybench.paths import locate


@pytest.fixture()
def kws01(repo_root: Path) -> ModelManifest:
    return load_model_manifest(repo_root / "models", "kws01")


@pytest.fixture()
def kws01_bytes(shared_dir: Path) -> bytes:
    return (shared_dir / "models" / "kws01.tflite").read_bytes()


@pytest.fixture()
def server() -> Iterator[FileServer]:
    s = FileServer()
    yield s
    s.close()


def _with_url(model: ModelManifest, url: str) -> ModelManifest:
    return replace(model, source=replace(model.source, url=url))


def test_a_verified_file_in_a_search_directory_is_used(
    tmp_path: Path, kws01: ModelManifest, kws01_bytes: bytes
) -> None:
    (tmp_path / "kws01.tflite").write_bytes(kws01_bytes)
    store = ModelStore(search_dirs=(tmp_path,), cache_dir=tmp_path / "cache", allow_download=False)
    assert store.path(kws01) == tmp_path / "kws01.tflite"


def test_a_truncated_copy_is_refused_naming_file_and_expected_sha(
    tmp_path: Path, kws01: ModelManifest, kws01_bytes: bytes
) -> None:
    (tmp_path / "kws01.tflite").write_bytes(kws01_bytes[:-100])
    store = ModelStore(search_dirs=(tmp_path,), cache_dir=tmp_path / "cache", allow_download=False)
    with pytest.raises(ChecksumError) as err:
        store.path(kws01)
    message = str(err.value)
    assert str(tmp_path / "kws01.tflite") in message
    assert kws01.source.sha256 in message
    assert "53836 bytes, expected 53936" in message


def test_a_flipped_byte_is_refused_and_not_replaced_by_another_copy(
    tmp_path: Path, kws01: ModelManifest, kws01_bytes: bytes, shared_dir: Path
) -> None:
    corrupt = bytearray(kws01_bytes)
    corrupt[1000] ^= 0x01
    (tmp_path / "kws01.tflite").write_bytes(bytes(corrupt))
    # A good copy further down the search path must not hide the corrupt one.
    store = ModelStore(
        search_dirs=(tmp_path, shared_dir / "models"),
        cache_dir=tmp_path / "c",
        allow_download=False,
    )
    with pytest.raises(ChecksumError) as err:
        store.path(kws01)
    assert f"expected {kws01.source.sha256}" in str(err.value)
    assert hashlib.sha256(bytes(corrupt)).hexdigest() in str(err.value)


def test_download_from_a_server_lands_verified_in_the_cache(
    tmp_path: Path, kws01: ModelManifest, kws01_bytes: bytes, server: FileServer
) -> None:
    server.files["/m/kws01.tflite"] = kws01_bytes
    model = _with_url(kws01, server.base_url + "/m/kws01.tflite")
    store = ModelStore(search_dirs=(tmp_path / "none",), cache_dir=tmp_path / "cache")
    path = store.path(model)
    assert path == tmp_path / "cache" / "models" / "kws01.tflite"
    assert path.read_bytes() == kws01_bytes
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind
    # The second lookup uses the cache, not the network.
    assert store.path(model) == path
    assert server.requests == ["/m/kws01.tflite"]


def test_a_corrupt_download_is_refused_and_nothing_is_saved(
    tmp_path: Path, kws01: ModelManifest, kws01_bytes: bytes, server: FileServer
) -> None:
    server.files["/m/kws01.tflite"] = kws01_bytes[:4096]
    model = _with_url(kws01, server.base_url + "/m/kws01.tflite")
    store = ModelStore(search_dirs=(), cache_dir=tmp_path / "cache")
    with pytest.raises(ChecksumError, match=r"downloaded 4096 bytes .* nothing was saved"):
        store.path(model)
    assert not (tmp_path / "cache" / "models" / "kws01.tflite").exists()


def test_a_missing_file_on_the_server_names_url_and_directories(
    tmp_path: Path, kws01: ModelManifest, server: FileServer
) -> None:
    model = _with_url(kws01, server.base_url + "/missing.tflite")
    store = ModelStore(search_dirs=(tmp_path / "mine",), cache_dir=tmp_path / "cache")
    with pytest.raises(ModelStoreError) as err:
        store.path(model)
    message = str(err.value)
    assert server.base_url + "/missing.tflite" in message
    assert str(tmp_path / "mine") in message and str(tmp_path / "cache" / "models") in message
    assert kws01.source.sha256 in message


def test_offline_error_names_the_url_and_where_to_put_the_file(
    tmp_path: Path, kws01: ModelManifest
) -> None:
    # A port nobody listens on: the connection is refused as on a machine without network.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = _with_url(kws01, f"http://127.0.0.1:{port}/kws01.tflite")
    store = ModelStore(search_dirs=(tmp_path / "mine",), cache_dir=tmp_path / "cache")
    with pytest.raises(ModelStoreError) as err:
        store.path(model)
    message = str(err.value)
    assert f"http://127.0.0.1:{port}/kws01.tflite" in message
    assert "may be offline" in message
    assert "put kws01.tflite" in message and str(tmp_path / "mine") in message


def test_downloads_can_be_disabled(tmp_path: Path, kws01: ModelManifest) -> None:
    store = ModelStore(search_dirs=(), cache_dir=tmp_path, allow_download=False)
    with pytest.raises(ModelStoreError, match=r"downloads are disabled; put kws01\.tflite"):
        store.path(kws01)


def test_the_cache_is_the_platforms_user_cache_unless_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = {"TINYBENCH_ROOT": str(tmp_path)}
    assert locate(root).cache_dir == tmp_path / "xdg" / "tinybench"  # Linux: $XDG_CACHE_HOME
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # Existing caches stay valid: the Linux default is where tinybench always kept it.
    assert locate(root).cache_dir == tmp_path / "home" / ".cache" / "tinybench"
    override = {**root, "TINYBENCH_CACHE_DIR": str(tmp_path / "mine")}
    assert locate(override).cache_dir == tmp_path / "mine"


def test_an_injected_downloader_replaces_the_network_and_a_bad_one_saves_nothing(
    tmp_path: Path, kws01: ModelManifest, kws01_bytes: bytes
) -> None:
    calls: list[str] = []

    def serve(good: bool) -> Downloader:
        def downloader(url: str, output: Path, timeout_s: float) -> None:
            calls.append(url)
            assert timeout_s > 0
            output.write_bytes(kws01_bytes if good else kws01_bytes[::-1])

        return downloader

    bad = ModelStore(search_dirs=(), cache_dir=tmp_path / "cache", downloader=serve(False))
    with pytest.raises(ChecksumError, match=f"downloaded {len(kws01_bytes)} bytes"):
        bad.path(kws01)
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # not even a temporary file
    good = ModelStore(search_dirs=(), cache_dir=tmp_path / "cache", downloader=serve(True))
    assert good.path(kws01).read_bytes() == kws01_bytes
    assert calls == [kws01.source.url, kws01.source.url]
