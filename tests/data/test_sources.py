"""Downloads over HTTP from a local server on 127.0.0.1 (no external network)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from tests.support.paths import files_under

runner = CliRunner()


@pytest.fixture
def server(tmp_path: Path, real_data_dir: Path) -> Iterator[tuple[str, Path]]:
    """Serve a folder holding a small housing.csv and housing.tgz on a free loopback port."""
    root = tmp_path / "www"
    root.mkdir()
    lines = (real_data_dir / "california" / "housing.csv").read_text().splitlines()[:200]
    (root / "housing.csv").write_text("\n".join(lines) + "\n")
    with tarfile.open(root / "housing.tgz", "w:gz") as bundle:
        bundle.add(root / "housing.csv", arcname="housing/housing.csv")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_with_checksum(home: Path, server: tuple[str, Path]) -> None:
    url, root = server
    result = runner.invoke(app, ["data", "fetch", "-d", "california", "--source",
                                 f"{url}/housing.csv", "--sha256", sha(root / "housing.csv")])
    assert result.exit_code == 0, result.output
    assert (home / "lake/raw/california" / f"{sha(root / 'housing.csv')}.parquet").exists()


def test_archive_is_extracted_and_keyed_by_its_csv(home: Path, server: tuple[str, Path]) -> None:
    url, root = server
    csv_sha = sha(root / "housing.csv")
    for expected in (csv_sha, sha(root / "housing.tgz")):  # either checksum is accepted
        result = runner.invoke(app, ["data", "fetch", "-d", "california", "--source",
                                     f"{url}/housing.tgz", "--sha256", expected])
        assert result.exit_code == 0, result.output
    parquet = [p for p in files_under(home / "lake") if p.suffix == ".parquet"]
    assert [p.name for p in parquet] == [f"{csv_sha}.parquet"]


def test_download_checksum_mismatch_keeps_nothing(home: Path, server: tuple[str, Path]) -> None:
    url, _ = server
    result = runner.invoke(app, ["data", "fetch", "-d", "california", "--source",
                                 f"{url}/housing.tgz", "--sha256", "f" * 64])
    assert result.exit_code == 2
    assert "checksum mismatch" in result.output
    assert files_under(home) == []


def test_http_error_is_reported(home: Path, server: tuple[str, Path]) -> None:
    url, _ = server
    result = runner.invoke(app, ["data", "fetch", "-d", "california",
                                 "--source", f"{url}/nope.csv"])
    assert result.exit_code == 2
    assert "download failed with HTTP 404" in result.output
    assert files_under(home) == []
