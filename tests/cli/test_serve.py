"""The long-running commands hand over to the right program with the right settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import homeprice.cli.serve
from homeprice.cli import app


def test_ui_execs_streamlit_on_the_packaged_app(home: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    pytest.importorskip("streamlit")
    calls: list[tuple[str, list[str], dict[str, Any]]] = []
    # execve replaces the process; recording the call is enough to check what would run.
    monkeypatch.setattr(homeprice.cli.serve.os, "execve",
                        lambda path, argv, env: calls.append((path, argv, env)))
    result = CliRunner().invoke(app, ["ui", "--api-url", "http://api:9000", "--port", "8601"])
    assert result.exit_code == 0, result.output
    ((_, argv, env),) = calls
    app_path = Path(argv[argv.index("run") + 1])
    assert app_path.is_file() and app_path.parts[-2:] == ("ui", "app.py")
    assert argv[argv.index("--server.port") + 1] == "8601"
    assert env["HOMEPRICE_UI__API_URL"] == "http://api:9000"
