"""The root app: every group and command listed, reachable as the script and as `python -m`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

from typer.testing import CliRunner

from homeprice.cli import app, main

GROUPS = {"data", "pipeline", "models", "ab", "monitor", "log"}
COMMANDS = {"predict", "serve", "ui", "simulate", "reproduce", "replay", "up", "down",
            "scrape"}


def listed_commands(help_text: str) -> set[str]:
    """The names in the Commands panel of a rich `--help`."""
    panel = help_text.split("Commands")[1]
    return set(re.findall(r"^│ ([a-z][\w-]*)\s", panel, re.MULTILINE))


def test_help_lists_every_group_and_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert listed_commands(result.output) == GROUPS | COMMANDS


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "homeprice.cli", "--help"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, COLUMNS="120"))
    assert done.returncode == 0, done.stderr
    assert "Usage: python -m homeprice.cli" in done.stdout
    assert listed_commands(done.stdout) == GROUPS | COMMANDS


def test_the_homeprice_script_runs_main() -> None:
    (script,) = entry_points(group="console_scripts", name="homeprice")
    assert script.value == "homeprice.cli:main"
    assert script.load() is main
