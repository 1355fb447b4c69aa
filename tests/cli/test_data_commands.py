"""The data commands through the CLI: happy paths and every bad-input case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeprice.cli import app
from tests.support.paths import files_under

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def _sample(real_data_dir: Path, tmp_path: Path, transform=None, name: str = "housing.csv") -> Path:
    lines = (real_data_dir / "california" / "housing.csv").read_text().splitlines()[:50]
    if transform:
        lines = transform(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


def test_fetch_validate_clean(home: Path) -> None:
    result = invoke("data", "fetch", "--dataset", "california")
    assert result.exit_code == 0, result.output
    assert "8514a4493dc76939630a366ed97537d4cfe8e78f00b010a1be24a55762fefcb1" in result.output
    again = invoke("data", "fetch", "--dataset", "california")
    assert again.exit_code == 0
    raw = [p for p in files_under(home / "lake" / "raw") if p.suffix == ".parquet"]
    assert len(raw) == 1, "same content twice must give one file"
    manifest = json.loads((home / "lake/raw/california/manifest.json").read_text())
    entry = manifest["entries"][manifest["latest"]]
    assert entry["rows"] == 18576 and entry["columns"][0] == "longitude"
    assert {"source", "sha256", "fetched_at"} <= set(entry)

    result = invoke("data", "validate", "--dataset", "california")
    assert result.exit_code == 0, result.output
    report = json.loads((home / "reports/california/quality-latest.json").read_text())
    assert report["missing"] == {"total_bedrooms": 191}

    result = invoke("data", "clean", "--dataset", "california")
    assert result.exit_code == 0, result.output
    assert "rows out" in result.output
    clean = json.loads((home / "lake/clean/california/manifest.json").read_text())
    assert clean["versions"][clean["latest"]]["rows"] == 18576


def test_missing_column(home: Path, real_data_dir: Path, tmp_path: Path) -> None:
    bad = _sample(real_data_dir, tmp_path, lambda ls: [row.rsplit(",", 1)[0] for row in ls])
    result = invoke("data", "validate", "--dataset", "california", "--input", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: column 'ocean_proximity'" in result.output
    assert "required column is missing" in result.output
    assert files_under(home) == []


def test_garbage_numbers(home: Path, real_data_dir: Path, tmp_path: Path) -> None:
    def spoil(lines: list[str]) -> list[str]:
        cells = lines[3].split(",")
        cells[7] = "n/a-ish"
        lines[3] = ",".join(cells)
        return lines

    bad = _sample(real_data_dir, tmp_path, spoil)
    result = invoke("data", "validate", "--dataset", "california", "--input", str(bad))
    assert result.exit_code == 2
    assert "column 'median_income', row 3" in result.output
    assert "'n/a-ish' cannot be parsed as float64" in result.output
    assert "Traceback" not in result.output
    assert files_under(home) == []


def test_garbage_in_fetched_data_stops_the_pipeline(
    home: Path, real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data" / "california"
    folder.mkdir(parents=True)
    _sample(real_data_dir, folder, lambda ls: ls[:5] + ["-122.2,37.8,x,1,1,1,1,1,1,INLAND"])
    monkeypatch.setenv("HOMEPRICE_DATA_DIR", str(tmp_path / "data"))
    result = invoke("pipeline", "run", "--dataset", "california")
    assert result.exit_code == 2
    assert "column 'housing_median_age', row 5" in result.output
    assert not (home / "lake" / "clean").exists(), "nothing may be written downstream"
    assert not (home / "reports").exists()


@pytest.mark.parametrize("content", ["", "\n"])
def test_empty_file(home: Path, tmp_path: Path, content: str) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(content)
    for args in (("data", "fetch", "--source", str(empty)),
                 ("data", "validate", "--input", str(empty))):
        result = invoke(*args, "--dataset", "california")
        assert result.exit_code == 2, result.output
        assert f"{empty}: the file is empty" in result.output
    header_only = tmp_path / "header.csv"
    header_only.write_text("longitude,latitude\n")
    result = invoke("data", "fetch", "--dataset", "california", "--source", str(header_only))
    assert result.exit_code == 2 and "no data rows" in result.output
    assert files_under(home) == []


def test_wrong_checksum(home: Path, real_data_dir: Path, tmp_path: Path) -> None:
    good = _sample(real_data_dir, tmp_path)
    result = invoke("data", "fetch", "--dataset", "california", "--source", str(good),
                    "--sha256", "0" * 64)
    assert result.exit_code == 2
    assert "checksum mismatch: expected sha256 " + "0" * 64 in result.output
    assert files_under(home) == []


def test_missing_source_file(home: Path, tmp_path: Path) -> None:
    result = invoke("data", "fetch", "--dataset", "california", "--source",
                    str(tmp_path / "no.csv"))
    assert result.exit_code == 2
    assert "no.csv: file not found" in result.output


def test_unknown_dataset(home: Path) -> None:
    result = invoke("data", "fetch", "--dataset", "atlantis")
    assert result.exit_code == 2
    assert ("unknown dataset 'atlantis' (known: bengaluru, california, magicbricks)"
            in result.output)


def test_bengaluru_full_download_says_where_to_get_it(home: Path) -> None:
    result = invoke("data", "fetch", "--dataset", "bengaluru", "--full")
    assert result.exit_code == 2
    assert "Kaggle" in result.output and "HOMEPRICE_DATA_DIR/bengaluru/" in result.output


def test_clean_before_fetch_is_a_clear_error(home: Path) -> None:
    result = invoke("data", "clean", "--dataset", "bengaluru")
    assert result.exit_code == 1
    assert "run `homeprice data fetch --dataset bengaluru` first" in result.output


def test_pipeline_run_both_datasets(home: Path) -> None:
    result = invoke("pipeline", "run", "--dataset", "all", "--data-only")
    assert result.exit_code == 0, result.output
    for name in ("california", "bengaluru"):
        report = json.loads((home / f"reports/{name}/clean-latest.json").read_text())
        assert report["rows_in"] - sum(report["dropped"].values()) == report["rows_out"]
