"""Client text is made harmless before it reaches a report, and a drift report built from
logged hostile locations carries none of them as markup."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from homeprice.config import load_settings
from homeprice.datasets import get_dataset
from homeprice.monitoring.drift import check_drift
from homeprice.monitoring.reporttext import safe_columns, safe_text
from homeprice.pipeline import run_pipeline
from homeprice.predictionlog import PredictionLog, PredictionRecord
from homeprice.training.runner import load_split

HOSTILE = ("</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>",
           "x\u2028y\u2029z", "a\"b'c`d\\e&f")


def test_safe_text_leaves_no_markup_quote_or_line_break() -> None:
    for value in HOSTILE:
        safe = safe_text(value)
        assert not set(safe) & set("<>&\"'`\\\u2028\u2029"), safe
        assert len(safe) == len(value)  # one look-alike per character: the text reads the same
    assert safe_text("</script>") == "\u2039/script\u203a"
    assert safe_text("Whitefield") == "Whitefield"
    assert safe_text(3.5) == 3.5 and safe_text(None) is None


def test_safe_columns_maps_only_the_named_columns_and_keeps_missing_values() -> None:
    frame = pd.DataFrame({"location": ["<b>", None, "ok"], "note": ["<b>", "<i>", "x"]})
    safe = safe_columns(frame, ["location"])
    assert safe["location"].tolist()[0] == "\u2039b\u203a" and safe["location"].isna()[1]
    assert safe["note"].tolist() == ["<b>", "<i>", "x"]


@pytest.mark.slow
def test_hostile_logged_locations_never_reach_the_drift_report_as_markup(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("HOMEPRICE_WEBHOOK_URL", raising=False)
    settings = load_settings()
    run_pipeline("bengaluru", settings, "fast")
    dataset = get_dataset("bengaluru")
    split, _ = load_split(dataset, settings)
    rows = split.test[list(dataset.feature_columns)].head(200).copy()
    rows["location"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(rows))]
    rows = rows.astype(object).where(rows.notna(), None)
    log = PredictionLog(settings.log_url)
    log.start()
    now = datetime.now(UTC)
    log.enqueue([PredictionRecord(
        prediction_id=uuid.uuid4().hex, request_id=uuid.uuid4().hex, ts=now,
        dataset="bengaluru", variant="champion", model_version="1", served=True,
        prediction=1.0, lower=0.0, upper=2.0, features=row)
        for row in rows.to_dict(orient="records")])
    log.close()

    result = check_drift("bengaluru", settings)
    html = Path(result.html).read_text()
    lowered = html.lower()
    assert "alert(1)" in html  # the hostile value is in the report, as harmless text
    assert "<script>alert(1)" not in lowered and "</script><script>alert" not in lowered
    assert "<img src=x" not in lowered and "\u2028" not in html and "\u2029" not in html
    # Evidently writes the look-alikes as JSON escapes: the reader sees ‹/script›‹script›...
    assert "\\u2039/script\\u203a\\u2039script\\u203aalert(1)" in html
    raw_json = Path(result.json).read_text().lower()
    assert "<script" not in raw_json and "<img" not in raw_json
