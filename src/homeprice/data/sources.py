"""Bring a dataset's source file onto local disk: local path, fsspec URL or HTTP(S) download.

The sha256 of a source is the sha256 of its data file (the CSV). For an archive (.tgz, .tar.gz,
.zip) an expected checksum may name either the archive as downloaded or the CSV inside it.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import fsspec
import httpx
import pandas as pd
import pyarrow.parquet as pq

from homeprice.config import Settings
from homeprice.datasets import Dataset
from homeprice.errors import ChecksumMismatchError, DataValidationError, SourceError

_CHUNK = 1 << 20
_ARCHIVES = (".tgz", ".tar.gz", ".zip")


@dataclass(frozen=True)
class LocalSource:
    """A source file copied to local disk and its checksum."""

    path: Path
    sha256: str
    source: str


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def default_source(dataset: Dataset, settings: Settings, full: bool = False
                   ) -> tuple[str, str | None]:
    """(source, expected sha256) when none is given: data dir, bundled sample, or the public URL."""
    if full:
        if dataset.source.url is None:
            raise SourceError(
                f"{dataset.name}: the full dataset has no direct download; "
                f"{dataset.source.manual_download}"
            )
        return dataset.source.url, dataset.source.url_sha256
    for folder in settings.source_dirs():
        candidate = folder / dataset.name / dataset.source.filename
        if candidate.is_file():
            return str(candidate), None
    return str(dataset.sample_path), dataset.source.sample_sha256


def _download(url: str, target: Path, timeout: float = 60.0) -> None:
    """Stream an HTTP(S) URL to `target`."""
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
            response.raise_for_status()
            with open(target, "wb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
    except httpx.HTTPStatusError as error:
        raise SourceError(f"{url}: download failed with HTTP "
                          f"{error.response.status_code}") from None
    except httpx.HTTPError as error:
        raise SourceError(f"{url}: download failed: {error}") from None


def _copy(source: str, target: Path) -> None:
    """Copy a local path or any fsspec URL to `target`."""
    try:
        with fsspec.open(source, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
    except FileNotFoundError:
        raise SourceError(f"{source}: file not found") from None
    except (OSError, ValueError, ImportError) as error:
        raise SourceError(f"{source}: cannot read: {error}") from None


def _extract(archive: Path, member_name: str, target: Path) -> None:
    """Extract the file called `member_name` (at any depth) from a tar.gz or zip archive."""
    try:
        if archive.name.endswith(".zip") or zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                names = [n for n in bundle.namelist() if Path(n).name == member_name]
                if names:
                    with bundle.open(names[0]) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, _CHUNK)
                    return
        else:
            with tarfile.open(archive, "r:*") as bundle:
                members = [m for m in bundle.getmembers()
                           if m.isfile() and Path(m.name).name == member_name]
                if members:
                    src = bundle.extractfile(members[0])
                    assert src is not None
                    with src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, _CHUNK)
                    return
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
        raise SourceError(f"{archive.name}: not a readable archive: {error}") from None
    raise SourceError(f"{archive.name}: archive holds no file named {member_name}")


def materialise(
    source: str, workdir: Path, data_filename: str, expected_sha256: str | None = None
) -> LocalSource:
    """Fetch `source` into `workdir` and verify its checksum; on mismatch nothing is kept."""
    workdir.mkdir(parents=True, exist_ok=True)
    name = source.rstrip("/").rsplit("/", 1)[-1] or "source"
    fetched = workdir / f"fetched-{name}"
    if source.startswith(("http://", "https://")):
        _download(source, fetched)
    else:
        _copy(source, fetched)
    fetched_sha = sha256_file(fetched)
    data_file = fetched
    if name.endswith(_ARCHIVES):
        data_file = workdir / data_filename
        _extract(fetched, data_filename, data_file)
    data_sha = sha256_file(data_file)
    if expected_sha256 and expected_sha256.lower() not in (data_sha, fetched_sha):
        for path in {fetched, data_file}:
            path.unlink(missing_ok=True)
        raise ChecksumMismatchError(
            f"{source}: checksum mismatch: expected sha256 {expected_sha256.lower()}, "
            f"got {data_sha}; nothing was kept"
        )
    if data_file != fetched:
        fetched.unlink(missing_ok=True)
    return LocalSource(path=data_file, sha256=data_sha, source=source)


@contextmanager
def _read_errors(label: str) -> Iterator[None]:
    """The reader's faults as errors naming the file (`label`) and what is wrong with it."""
    try:
        yield
    except FileNotFoundError:
        raise SourceError(f"{label}: file not found") from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(f"{label}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise DataValidationError(f"{label}: not a readable CSV: {first_line}") from None


def read_table(path: Path | str, label: str | None = None) -> pd.DataFrame:
    """Read a CSV (every value as text, blanks as missing) or Parquet file of source-format rows."""
    with _read_errors(label or str(path)):
        if str(path).endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=True)


def iter_table(path: Path | str, batch_rows: int, label: str | None = None
               ) -> Iterator[pd.DataFrame]:
    """`read_table`'s rows in batches of at most `batch_rows`, in file order, with its errors
    (raised when the batch holding the fault is reached): the same values as one read, in
    memory bounded by the batch. Column types may differ between batches where a whole batch
    lacks values (Parquet integers with nulls read as floats only where nulls are)."""
    with _read_errors(label or str(path)):
        if str(path).endswith(".parquet"):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
                yield batch.to_pandas()
            return
        with pd.read_csv(path, dtype=str, keep_default_na=True, chunksize=batch_rows) as chunks:
            yield from chunks
