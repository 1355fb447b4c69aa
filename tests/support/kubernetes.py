"""Cross-references in rendered Kubernetes manifests that schema validation cannot see:
selectors that select, probes and Services aimed at ports that exist, an HPA, a PDB and
Ingresses pointing at real objects, and every ConfigMap, Secret and claim a pod uses present.

`problems(documents)` returns one sentence per broken reference (empty: all resolve).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Doc = dict[str, Any]

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


def _name(doc: Doc) -> str:
    return doc["metadata"]["name"]


def _of(documents: list[Doc], kind: str) -> list[Doc]:
    return [d for d in documents if d.get("kind") == kind]


def pod_specs(documents: list[Doc]) -> Iterator[tuple[str, Doc, dict[str, str]]]:
    """(owner label, pod spec, pod labels) of every workload and CronJob."""
    for doc in documents:
        kind = doc.get("kind")
        if kind in WORKLOAD_KINDS:
            template = doc["spec"]["template"]
        elif kind == "CronJob":
            template = doc["spec"]["jobTemplate"]["spec"]["template"]
        else:
            continue
        yield f"{kind} {_name(doc)}", template["spec"], template["metadata"].get("labels", {})


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _ports(spec: Doc) -> tuple[set[str], set[int]]:
    names: set[str] = set()
    numbers: set[int] = set()
    for container in spec.get("containers", []):
        for port in container.get("ports", []):
            numbers.add(port["containerPort"])
            if "name" in port:
                names.add(port["name"])
    return names, numbers


def _port_exists(port: str | int, spec: Doc) -> bool:
    names, numbers = _ports(spec)
    return port in names if isinstance(port, str) else port in numbers


def _probe_problems(owner: str, spec: Doc, paths: set[str]) -> Iterable[str]:
    for container in spec.get("containers", []):
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            if probe is None or "httpGet" not in probe:
                continue
            get = probe["httpGet"]
            if not _port_exists(get["port"], spec):
                yield f"{owner}: {kind} port {get['port']!r} is no container port"
            if get.get("path") not in paths:
                yield f"{owner}: {kind} path {get.get('path')} is not one the API answers"


def _reference_problems(owner: str, spec: Doc, configmaps: set[str], secrets: dict[str, set],
                        claims: set[str], external_secrets: set[str]) -> Iterable[str]:
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for source in container.get("envFrom", []):
            if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                yield f"{owner}: envFrom ConfigMap {source['configMapRef']['name']} is missing"
            if "secretRef" in source:
                name = source["secretRef"]["name"]
                if name not in secrets and name not in external_secrets:
                    yield f"{owner}: envFrom Secret {name} is missing"
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None and ref["name"] not in external_secrets:
                if ref["name"] not in secrets:
                    yield f"{owner}: env {variable['name']} names a missing Secret {ref['name']}"
                elif ref["key"] not in secrets[ref["name"]] and not ref.get("optional"):
                    yield (f"{owner}: env {variable['name']} names key {ref['key']} that "
                           f"Secret {ref['name']} lacks")
            ref = variable.get("valueFrom", {}).get("configMapKeyRef")
            if ref is not None and ref["name"] not in configmaps:
                yield f"{owner}: env {variable['name']} names a missing ConfigMap {ref['name']}"
        mounted = {mount["name"] for mount in container.get("volumeMounts", [])}
        declared = {volume["name"] for volume in spec.get("volumes", [])}
        for name in sorted(mounted - declared):
            yield f"{owner}: volumeMount {name} has no volume"
    for volume in spec.get("volumes", []):
        claim = volume.get("persistentVolumeClaim", {}).get("claimName")
        if claim is not None and claim not in claims:
            yield f"{owner}: volume {volume['name']} claims a missing PVC {claim}"


def problems(documents: list[Doc], probe_paths: set[str],
             external_secrets: Iterable[str] = ()) -> list[str]:
    """Every broken cross-reference of one rendered overlay.

    `probe_paths` are the paths the API answers probes on; `external_secrets` are Secrets an
    operator creates outside the manifests (their keys cannot be checked here).
    """
    found: list[str] = []
    external = set(external_secrets)
    workloads = {_name(d): d for d in documents if d.get("kind") in WORKLOAD_KINDS}
    configmaps = {_name(d) for d in _of(documents, "ConfigMap")}
    secrets = {_name(d): set(d.get("data", {})) | set(d.get("stringData", {}))
               for d in _of(documents, "Secret")}
    claims = {_name(d) for d in _of(documents, "PersistentVolumeClaim")}
    for name, workload in workloads.items():
        selector = workload["spec"]["selector"].get("matchLabels", {})
        if not _selects(selector, workload["spec"]["template"]["metadata"].get("labels", {})):
            found.append(f"{workload['kind']} {name}: its selector does not match its pods")
    for owner, spec, _labels in pod_specs(documents):
        found.extend(_probe_problems(owner, spec, probe_paths))
        found.extend(_reference_problems(owner, spec, configmaps, secrets, claims, external))
    services = {_name(d): d for d in _of(documents, "Service")}
    for name, service in services.items():
        selector = service["spec"].get("selector", {})
        selected = [w for w in workloads.values()
                    if _selects(selector, w["spec"]["template"]["metadata"].get("labels", {}))]
        if not selected:
            found.append(f"Service {name}: its selector {selector} matches no workload's pods")
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            if selected and not all(_port_exists(target, w["spec"]["template"]["spec"])
                                    for w in selected):
                found.append(f"Service {name}: targetPort {target!r} is not a port of its pods")
    min_replicas: dict[str, int] = {}
    for hpa in _of(documents, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        workload = workloads.get(target["name"])
        if workload is None or workload["kind"] != target["kind"]:
            found.append(f"HPA {_name(hpa)}: scales a missing {target['kind']} {target['name']}")
            continue
        min_replicas[target["name"]] = hpa["spec"].get("minReplicas", 1)
        if hpa["spec"]["maxReplicas"] < min_replicas[target["name"]]:
            found.append(f"HPA {_name(hpa)}: maxReplicas is below minReplicas")
        resources = {m["resource"]["name"] for m in hpa["spec"].get("metrics", [])
                     if m["type"] == "Resource"}
        for resource in resources:
            for container in workload["spec"]["template"]["spec"]["containers"]:
                if resource not in container.get("resources", {}).get("requests", {}):
                    found.append(f"HPA {_name(hpa)}: container {container['name']} requests no "
                                 f"{resource}, so utilisation cannot be computed")
    for pdb in _of(documents, "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"].get("matchLabels", {})
        covered = [n for n, w in workloads.items()
                   if _selects(selector, w["spec"]["template"]["metadata"].get("labels", {}))]
        if not covered:
            found.append(f"PDB {_name(pdb)}: its selector {selector} matches no workload's pods")
        for name in covered:
            replicas = min_replicas.get(name, workloads[name]["spec"].get("replicas", 1))
            minimum = pdb["spec"].get("minAvailable")
            if isinstance(minimum, int) and minimum >= replicas:
                found.append(f"PDB {_name(pdb)}: minAvailable {minimum} with {replicas} "
                             f"replica(s) of {name} blocks every node drain")
    for ingress in _of(documents, "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                service = services.get(backend["name"])
                if service is None:
                    found.append(f"Ingress {_name(ingress)}: {path['path']} goes to a missing "
                                 f"Service {backend['name']}")
                    continue
                port = backend["port"].get("name", backend["port"].get("number"))
                if port not in {p.get("name") for p in service["spec"]["ports"]} | {
                        p["port"] for p in service["spec"]["ports"]}:
                    found.append(f"Ingress {_name(ingress)}: {path['path']} goes to port "
                                 f"{port!r} that Service {backend['name']} lacks")
    return found
