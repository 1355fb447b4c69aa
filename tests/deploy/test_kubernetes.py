"""deploy/k8s: each overlay renders with `kubectl kustomize`, validates strictly against the
Kubernetes schemas bundled in kubernetes-validate, and its cross-references resolve (Service
selectors, probe ports and paths, HPA, PDB, Ingress, ConfigMap, Secret and PVC references:
tests/support/kubernetes.py). No cluster is needed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml

from homeprice.serving.routes.health import router as health_router
from tests.support import dockerfile, kubernetes
from tests.support.paths import REPO
from tests.support.tools import run, tool

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ["dev", "prod"]
# The oldest Kubernetes minor the manifests target: the preStop `sleep` action is GA from
# 1.30 and CronJob `timeZone` from 1.27; validating against it keeps newer fields out.
KUBERNETES_VERSION = "1.32.0"
# prod expects this Secret from the operator's secret store (README "Deploy").
EXTERNAL_SECRETS = {"dev": set(), "prod": {"homeprice-secrets"}}
KUBECTL_HINT = "kubectl is needed for `kubectl kustomize` (apt-get install kubectl)"
VALIDATE_HINT = "pip install kubernetes-validate (the dev extra)"
PROBE_PATHS = {route.path for route in health_router.routes} & {"/healthz", "/readyz"}


def render(overlay: str) -> str:
    """The overlay rendered by `kubectl kustomize`."""
    kubectl = tool("kubectl", install_hint=KUBECTL_HINT)
    result = run([kubectl, "kustomize", str(K8S / "overlays" / overlay)])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:
    """(overlay name, its rendered documents)."""
    return request.param, [d for d in yaml.safe_load_all(render(request.param)) if d]


def validate(path: Path) -> tuple[int, str]:
    """kubernetes-validate --strict on `path`: (exit status, output)."""
    validator = tool("kubernetes-validate", install_hint=VALIDATE_HINT)
    result = run([validator, "--strict", "-k", KUBERNETES_VERSION, str(path)])
    return result.returncode, result.stdout + result.stderr


def test_overlay_validates_strictly(overlay: tuple[str, list[dict]], tmp_path: Path) -> None:
    # Guards: every rendered object matches its schema with no unknown field, and every one
    # has a schema (a custom resource would only be warned about, so it must not be here).
    name, documents = overlay
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    status, output = validate(path)
    assert status == 0, output
    assert output.count(" passed for resource ") == len(documents), output
    assert "Couldn't find schema" not in output


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path: Path) -> None:
    # Guards the check above: a misspelt field fails validation with a non-zero exit.
    documents = [d for d in yaml.safe_load_all(render("dev")) if d]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["spec"]["replicaz"] = 3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    status, output = validate(path)
    assert status != 0 and "replicaz" in output


def test_probe_paths_are_routes_of_the_api() -> None:
    # Guards the reference set the consistency check uses: both probes exist in the API.
    assert PROBE_PATHS == {"/healthz", "/readyz"}


def test_overlay_references_resolve(overlay: tuple[str, list[dict]]) -> None:
    # Guards: selectors select, probes, Services, HPA, PDB and Ingresses point at what exists,
    # and every ConfigMap, Secret (key) and claim a pod uses is rendered (or, in prod, the
    # documented external Secret).
    name, documents = overlay
    assert kubernetes.problems(documents, PROBE_PATHS, EXTERNAL_SECRETS[name]) == []


def test_overlay_has_every_part_the_api_needs(overlay: tuple[str, list[dict]]) -> None:
    # Guards the list: API Deployment, Service, HPA on CPU, PDB, Ingress, ConfigMap,
    # the hourly CronJob, and the Secret (generated in dev, external in prod).
    name, documents = overlay
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    for kind, object_name in [("Deployment", "homeprice-api"), ("Service", "homeprice-api"),
                              ("HorizontalPodAutoscaler", "homeprice-api"),
                              ("PodDisruptionBudget", "homeprice-api"),
                              ("Ingress", "homeprice-api"), ("CronJob",
                                                             "homeprice-live-evaluation")]:
        assert (kind, object_name) in kinds
    assert any(kind == "ConfigMap" and n.startswith("homeprice-config") for kind, n in kinds)
    hpa = next(d for d in documents if d["kind"] == "HorizontalPodAutoscaler")
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    cronjob = next(d for d in documents if d["kind"] == "CronJob")
    assert cronjob["spec"]["schedule"] == "0 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    # The job's command runs a module this package has (python -m <module>).
    command = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "command"]
    assert command[:2] == ["python", "-m"] and find_spec(command[2]) is not None, command
    secrets = [d for d in documents if d["kind"] == "Secret"]
    assert bool(secrets) == (name == "dev")


def test_api_probes_readiness_on_readyz_and_liveness_on_healthz(
        overlay: tuple[str, list[dict]]) -> None:
    # Guards the probe semantics: readiness waits for the champions (/readyz); liveness and
    # startup only ask whether the process answers (/healthz), so a database outage, which
    # /readyz reports in its body only, never restarts a replica.
    _, documents = overlay
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert "--workers" not in container.get("args", [])


def test_pods_run_as_the_image_user_without_privileges(overlay: tuple[str, list[dict]]
                                                        ) -> None:
    # Guards: every pod runs non-root as the uid the Dockerfile creates, with a read-only root
    # file system and no capabilities.
    _, documents = overlay
    stages = dockerfile.stages((REPO / "Dockerfile").read_text())
    api = next(s for s in stages if s.name == "api")
    uid = int(api.last("USER").split(":")[0])
    for owner, spec, _ in kubernetes.pod_specs(documents):
        assert spec["securityContext"]["runAsNonRoot"] is True, owner
        assert spec["securityContext"]["runAsUser"] == uid, owner
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, owner
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], owner


def test_prometheus_scrapes_the_api_port(overlay: tuple[str, list[dict]]) -> None:
    # Guards the scrape annotations: they name the container's port and /metrics.
    _, documents = overlay
    template = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    ports = [p["containerPort"] for p in template["spec"]["containers"][0]["ports"]]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) in ports
    assert annotations["prometheus.io/path"] == "/metrics"


def _first(documents: list[dict], kind: str) -> dict:
    return next(d for d in documents if d["kind"] == kind)


def _container(documents: list[dict]) -> dict:
    return _first(documents, "Deployment")["spec"]["template"]["spec"]["containers"][0]


BREAKS: list[tuple[str, Callable[[list[dict]], None], str]] = [
    ("service selector", lambda ds: _first(ds, "Service")["spec"]["selector"].update(
        {"app.kubernetes.io/name": "other"}), "matches no workload's pods"),
    ("service port", lambda ds: _first(ds, "Service")["spec"]["ports"][0].update(
        targetPort="web"), "targetPort 'web'"),
    ("deployment selector", lambda ds: _first(ds, "Deployment")["spec"]["selector"][
        "matchLabels"].update({"app.kubernetes.io/name": "other"}), "does not match its pods"),
    ("probe port", lambda ds: _container(ds)["readinessProbe"]["httpGet"].update(port="web"),
     "readinessProbe port 'web'"),
    ("probe path", lambda ds: _container(ds)["livenessProbe"]["httpGet"].update(path="/live"),
     "livenessProbe path /live"),
    ("hpa target", lambda ds: _first(ds, "HorizontalPodAutoscaler")["spec"][
        "scaleTargetRef"].update(name="api"), "scales a missing Deployment api"),
    ("cpu request", lambda ds: _container(ds)["resources"]["requests"].pop("cpu"),
     "requests no cpu"),
    ("pdb selector", lambda ds: _first(ds, "PodDisruptionBudget")["spec"]["selector"][
        "matchLabels"].update({"app.kubernetes.io/name": "other"}), "PDB homeprice-api"),
    ("pdb too strict", lambda ds: _first(ds, "PodDisruptionBudget")["spec"].update(
        minAvailable=5), "blocks every node drain"),
    ("ingress service", lambda ds: _first(ds, "Ingress")["spec"]["rules"][0]["http"]["paths"][
        0]["backend"]["service"].update(name="api"), "missing Service api"),
    ("secret key", lambda ds: _first(ds, "Secret")["data"].pop("admin-token"),
     "names key admin-token"),
    ("configmap", lambda ds: _container(ds)["envFrom"][0]["configMapRef"].update(name="cfg"),
     "ConfigMap cfg is missing"),
    ("claim", lambda ds: ds.remove(_first(ds, "PersistentVolumeClaim")),
     "missing PVC homeprice-home"),
]


@pytest.mark.parametrize(("what", "change", "problem"), BREAKS, ids=[b[0] for b in BREAKS])
def test_the_consistency_check_catches_each_broken_reference(
        what: str, change: Callable[[list[dict]], None], problem: str) -> None:
    # Guards each rule of tests/support/kubernetes.py: breaking one reference in the (valid)
    # dev overlay is reported by name.
    documents = copy.deepcopy([d for d in yaml.safe_load_all(render("dev")) if d])
    change(documents)
    found = kubernetes.problems(documents, PROBE_PATHS)
    assert any(problem in line for line in found), (what, found)


def test_kserve_example_predictor_is_a_valid_pod_of_the_api(tmp_path: Path) -> None:
    # Guards the KServe example: an InferenceService whose predictor (a pod spec KServe
    # extends) validates as a Pod, in KServe's container name, probing the API's routes, and
    # using only the ConfigMap, Secret and claim the overlays provide.
    example = yaml.safe_load((K8S / "examples" / "kserve-inferenceservice.yaml").read_text())
    assert example["apiVersion"] == "serving.kserve.io/v1beta1"
    assert example["kind"] == "InferenceService"
    predictor = example["spec"]["predictor"]
    assert [c["name"] for c in predictor["containers"]] == ["kserve-container"]
    pod_spec = {k: v for k, v in predictor.items() if k in {"containers", "volumes",
                                                            "securityContext"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "homeprice"},
           "spec": pod_spec}
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    status, output = validate(path)
    assert status == 0, output
    prod = [d for d in yaml.safe_load_all(render("prod")) if d]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "kserve-predictor"},
                  "spec": {"selector": {"matchLabels": {"app": "kserve"}},
                           "template": {"metadata": {"labels": {"app": "kserve"}},
                                        "spec": pod_spec}}}
    # Applied beside the prod overlay: its ConfigMap and claim (the Secret is external).
    others = [d for d in prod if d["kind"] in {"ConfigMap", "PersistentVolumeClaim"}]
    assert kubernetes.problems([deployment, *others], PROBE_PATHS,
                               EXTERNAL_SECRETS["prod"]) == []
