"""Schemathesis, every check, against a real `homeprice serve`: 0 failures on every operation
except the admin ones (they have their own tests); it sends the feedback token, as the back
office would, and its auth checks also try the feedback routes without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import running_server
from tests.support.tokens import FEEDBACK_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Deterministic generation and a bounded number of examples per operation: the same cases run
# every time, in about half a minute against a loaded server.
MAX_EXAMPLES = 30


def test_schemathesis_finds_no_failure_on_a_live_server(served_home: Path,
                                                        tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).with_name("st")
    with running_server(served_home) as base:
        run = subprocess.run(
            [str(schemathesis), "run", f"{base}/openapi.json", "--checks", "all",
             "--exclude-path-regex", "^/v1/admin/", "--max-examples", str(MAX_EXAMPLES),
             "--header", f"Authorization: Bearer {FEEDBACK_TOKEN}",
             "--generation-deterministic", "--workers", "1",
             "--request-timeout", "30", "--no-color", "--report", "junit",
             "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=600, check=False,
            # Its cache goes to the working directory: a temporary one, not the checkout.
            cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert " passed" in output, output[-3000:]
