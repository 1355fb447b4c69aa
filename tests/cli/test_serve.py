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


@pytest.mark.parametrize(("given", "expected"), [("3", 3), ("auto", "auto"), (None, "auto")])
def test_serve_hands_the_worker_option_to_the_server(
        home: Path, monkeypatch: pytest.MonkeyPatch, given: str | None,
        expected: int | str) -> None:
    import homeprice.api.server

    served: list[Any] = []
    monkeypatch.setattr(homeprice.api.server, "serve", served.append)
    # The code default, not the test suite's one-process setting (tests/conftest.py).
    monkeypatch.delenv("HOMEPRICE_SERVING__WORKERS", raising=False)
    monkeypatch.setattr(homeprice.api.server.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(homeprice.api.server, "_cgroup_cpus", lambda: None)
    result = CliRunner().invoke(app, ["serve", *(["--workers", given] if given else [])])
    assert result.exit_code == 0, result.output
    (settings,) = served
    assert settings.serving.workers == expected
    count = 3 if given == "3" else 2
    assert f"with {count} worker(s)" in result.output


@pytest.mark.parametrize(("given", "message"), [("0", "0 is outside 1-64"),
                                                ("65", "65 is outside 1-64"),
                                                ("two", "'two' is neither a number")])
def test_serve_refuses_a_bad_worker_count(home: Path, monkeypatch: pytest.MonkeyPatch,
                                          given: str, message: str) -> None:
    import homeprice.api.server

    monkeypatch.setattr(homeprice.api.server, "serve", lambda settings: pytest.fail("served"))
    result = CliRunner().invoke(app, ["serve", "--workers", given])
    assert result.exit_code == 2 and message in result.output, result.output
