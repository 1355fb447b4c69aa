"""The CLI points people at the web UI."""

from __future__ import annotations

import pytest

from homeprice.cli.render import print_next_steps
from homeprice.config import Settings


def test_the_pipelines_next_steps_name_the_ui_command(settings: Settings,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    print_next_steps(settings, ["california"])
    printed = capsys.readouterr().out
    assert ".venv/bin/homeprice ui" in printed
    assert f"http://{settings.ui.host}:{settings.ui.port}" in printed
