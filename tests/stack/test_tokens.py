"""The local stack's tokens: from the environment, else generated once into an owner-only file
and reused; a tokens file others may read is refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from homeprice.errors import UserInputError
from homeprice.stack.tokens import ensure_tokens

ADMIN, FEEDBACK = "HOMEPRICE_ADMIN_TOKEN", "HOMEPRICE_FEEDBACK_TOKEN"


def test_generated_once_saved_owner_only_and_reused(tmp_path: Path) -> None:
    first = ensure_tokens(tmp_path, {})
    assert first.generated == [ADMIN, FEEDBACK] and first.from_environment == []
    assert len(first.values[ADMIN]) >= 32 and first.values[ADMIN] != first.values[FEEDBACK]
    assert not first.path.exists()  # nothing saved before the stack is up
    first.save()
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    again = ensure_tokens(tmp_path, {})
    assert again.generated == [] and again.values == first.values


def test_the_environment_wins_and_is_never_written(tmp_path: Path) -> None:
    tokens = ensure_tokens(tmp_path, {ADMIN: "admin-from-the-environment"})
    assert tokens.values[ADMIN] == "admin-from-the-environment"
    assert tokens.from_environment == [ADMIN] and tokens.generated == [FEEDBACK]
    tokens.save()
    text = tokens.path.read_text()
    assert "admin-from-the-environment" not in text and ADMIN not in text
    assert f"{FEEDBACK}={tokens.values[FEEDBACK]}" in text


def test_a_tokens_file_others_may_read_is_refused(tmp_path: Path) -> None:
    ensure_tokens(tmp_path, {}).save()
    path = tmp_path / "tokens.env"
    path.chmod(0o644)
    with pytest.raises(UserInputError, match=r"others may read it \(mode 644\): run chmod 600"):
        ensure_tokens(tmp_path, {})


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"
    path.write_text("# comment\nHOMEPRICE_ADMIN_TOKEN=abc\nPASSWORD=x\n")
    path.chmod(0o600)
    with pytest.raises(UserInputError, match=r"tokens.env, line 3: expected"):
        ensure_tokens(tmp_path, {})
