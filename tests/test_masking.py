"""Masking: URL passwords, webhook paths and tokens never reach what settings write."""

from __future__ import annotations

import json

import pytest

from homeprice.config import Settings, load_settings
from homeprice.masking import MASK, mask_text, mask_tree, mask_url, mask_webhook_url

PASSWORD = "Pa55w0rd-s3cr3t"  # noqa: S105 - a test value


@pytest.mark.parametrize(("url", "expected"), [
    (f"postgresql://homeprice:{PASSWORD}@db.internal:5432/predictions",
     f"postgresql://homeprice:{MASK}@db.internal:5432/predictions"),
    (f"postgresql+psycopg://u:{PASSWORD}@h/db?sslmode=require",
     f"postgresql+psycopg://u:{MASK}@h/db?sslmode=require"),
    # Unencoded "@" and "/" in the password: masked whole, never its tail.
    ("postgresql://u:p@ss/w0rd@h:5432/db", f"postgresql://u:{MASK}@h:5432/db"),
    (f"postgresql://h/db?user=u&password={PASSWORD}&sslmode=require",
     f"postgresql://h/db?user=u&password={MASK}&sslmode=require"),
    ("sqlite:////tmp/home/predictions.db", "sqlite:////tmp/home/predictions.db"),
    ("https://h:8080/path?x=1", "https://h:8080/path?x=1"),
    ("postgresql://user@h/db", "postgresql://user@h/db"),
])
def test_mask_url_hides_the_password_and_keeps_where_it_points(url: str, expected: str
                                                               ) -> None:
    assert mask_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://hooks.slack.com/services/T000/B000/XXXXtoken", f"https://hooks.slack.com/{MASK}"),
    ("http://127.0.0.1:9000/hook?token=abc", f"http://127.0.0.1:9000/{MASK}"),
    ("https://user:pw@example.org", f"https://example.org/{MASK}"),
    ("https://alerts.example.org/", "https://alerts.example.org/"),
    ("not a url", MASK),
])
def test_mask_webhook_url_keeps_scheme_and_host_only(url: str, expected: str) -> None:
    assert mask_webhook_url(url) == expected


def test_mask_text_replaces_every_secret_longest_first() -> None:
    assert mask_text("GET /a/bc failed for /a/bc?x", ["/a", "/a/bc", None, ""]) == \
        f"GET {MASK} failed for {MASK}?x"


def test_mask_tree_masks_credential_keys_and_urls_inside() -> None:
    data = {"feedback_token": "t0k3n", "author": "kept", "nested": [
        {"dsn": f"postgresql://u:{PASSWORD}@h/db", "api_key": "k", "count": 3}]}
    assert mask_tree(data) == {"feedback_token": MASK, "author": "kept", "nested": [
        {"dsn": f"postgresql://u:{MASK}@h/db", "api_key": MASK, "count": 3}]}


def test_resolved_settings_carry_no_secret(settings: Settings,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEPRICE_LOG_DB_URL", f"postgresql://homeprice:{PASSWORD}@db/log")
    monkeypatch.setenv("HOMEPRICE_WEBHOOK_URL", "https://hooks.example.org/T0/B0/webhooksecret")
    monkeypatch.setenv("HOMEPRICE_ADMIN_TOKEN", "admin-token-value-123")
    monkeypatch.setenv("HOMEPRICE_TRACKING__URI", f"postgresql://mlflow:{PASSWORD}@db/mlflow")
    resolved = load_settings().resolved()
    text = json.dumps(resolved)
    for secret in (PASSWORD, "webhooksecret", "T0/B0", "admin-token-value-123"):
        assert secret not in text
    assert resolved["log_db_url"] == f"postgresql://homeprice:{MASK}@db/log"
    assert resolved["webhook_url"] == f"https://hooks.example.org/{MASK}"
    assert resolved["admin_token"] == MASK
    assert resolved["tracking"]["uri"] == f"postgresql://mlflow:{MASK}@db/mlflow"
    # What reproduction reads back is untouched.
    assert resolved["training"] == json.loads(load_settings().training.model_dump_json())


def test_settings_repr_shows_neither_url(settings: Settings) -> None:
    loaded = settings.model_copy(update={
        "log_db_url": f"postgresql://u:{PASSWORD}@h/db",
        "webhook_url": "https://hooks.example.org/webhooksecret"})
    assert PASSWORD not in repr(loaded) and "webhooksecret" not in repr(loaded)
    assert PASSWORD not in str(loaded)
