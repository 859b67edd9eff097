"""infra/k8s: every object of every overlay (and the base) validated against Kubernetes' schemas
(kubernetes-validate, strict: unknown fields fail) or KEDA's (tests/infra/keda.py), then the
deployment's own invariants: a Deployment per process shape, probes, resources, non-root pods,
secrets by reference only, network policies, autoscaling, disruption budgets, the migrate Job."""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest

from services.jobs import DAILY_RUNS
from services.platform import BUSINESS_SERVICES, service_specs
from tests.infra import keda
from tests.infra.kustomize import render
from tests.infra.support import ANY_INTERFACE, INFRA, SECRET_SETTINGS, known_settings, selects, settings_from

Obj = dict[str, Any]
KUBERNETES_VERSION = "1.32"
K8S = INFRA / "k8s"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
# The secrets the manifests refer to (README "Deploying" says how to create them).
SECRETS = {
    "riscossa": {"secret-key", "app-db-password", "amqp-url", "s3-access-key", "s3-secret-key"}
    | {"smtp-url", "oidc-providers"},
    "riscossa-migrate": {"database-url"},
    # One password per database role (README "Deploying").
    "riscossa-db-roles": {f"{s}{relay}" for s in ("gateway", *BUSINESS_SERVICES) for relay in ("", "-relay")},
    "riscossa-oidc-keys": set(),
}
WEB = ["gateway", *BUSINESS_SERVICES]
WORKERS = [f"{s}-worker" for s in BUSINESS_SERVICES]
RELAYS = [f"{s}-relay" for s in BUSINESS_SERVICES]
# Prometheus runs in this namespace (README "Deploying"); Kubernetes labels every namespace by name.
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}


@pytest.fixture(scope="module", params=["base", *OVERLAYS])
def rendered(request: pytest.FixtureRequest) -> list[Obj]:
    folder = K8S / "base" if request.param == "base" else K8S / "overlays" / request.param
    return render(folder)


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> list[Obj]:
    return render(K8S / "overlays" / request.param)


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def container(workload: Obj) -> Obj:
    (only,) = pod(workload)["containers"]
    found: Obj = only
    return found


def ports(workload: Obj) -> dict[str, Obj]:
    """The container's declared ports by name."""
    return {p["name"]: p for p in container(workload).get("ports", [])}


def environment(objects: list[Obj], workload: Obj) -> dict[str, str]:
    """The container's environment as the process sees it, a secret's value standing for itself."""
    configmaps = of_kind(objects, "ConfigMap")
    c = container(workload)
    values: dict[str, str] = {}
    for source in c.get("envFrom", []):
        values |= configmaps[source["configMapRef"]["name"]]["data"]
    for variable in c.get("env", []):
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref.get("optional"):
            continue
        values[variable["name"]] = f"secret:{ref['name']}/{ref['key']}" if ref else variable["value"]
    if "RISCOSSA_DATABASE_URL" in values and values["RISCOSSA_DATABASE_URL"].startswith("secret:"):
        values["RISCOSSA_DATABASE_URL"] = "postgresql+asyncpg://owner:pw@postgres:5432/riscossa"
    return values


def test_every_object_follows_its_schema(rendered: list[Obj]) -> None:
    assert rendered
    for obj in rendered:
        if obj["kind"] in keda.SCHEMAS:
            keda.validate(obj)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_schemas_catch_a_misspelt_field(overlay: list[Obj]) -> None:
    deployment = copy.deepcopy(of_kind(overlay, "Deployment")["gateway"])
    container(deployment)["livenesProbe"] = container(deployment).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(of_kind(overlay, "ScaledObject")["ingest-worker"])
    scaled["spec"]["triggers"][0]["metadata"]["queueLenght"] = "5"
    with pytest.raises(jsonschema.ValidationError):
        keda.validate(scaled)


def test_one_deployment_per_process_shape(rendered: list[Obj]) -> None:
    commands = {name: container(d)["args"] for name, d in of_kind(rendered, "Deployment").items()}
    expected = {"gateway": ["serve", "gateway"]}
    for s in BUSINESS_SERVICES:
        expected |= {s: ["serve", s], f"{s}-worker": ["worker", s], f"{s}-relay": ["relay", s]}
    assert commands == expected
    (job,) = of_kind(rendered, "Job").values()
    assert container(job)["args"] == ["migrate"] and pod(job)["restartPolicy"] == "Never"


def test_web_processes_are_probed_on_their_port(rendered: list[Obj]) -> None:
    deployments = of_kind(rendered, "Deployment")
    for name in WEB:
        c = container(deployments[name])
        port = settings_from(environment(rendered, deployments[name])).port
        declared = ports(deployments[name])["http"]
        assert declared["containerPort"] == port and "health" not in ports(deployments[name])
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            check = c[probe]["httpGet"]
            assert check["path"] == path and check["port"] in (port, declared["name"]), (name, probe)
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_workers_and_relays_are_probed_on_their_health_port(rendered: list[Obj]) -> None:
    """`riscossa worker` and `relay` answer /healthz and /readyz on RISCOSSA_HEALTH_PORT, on their
    event loop: a hung one fails liveness and is restarted, not only a crashed one."""
    deployments = of_kind(rendered, "Deployment")
    for name in WORKERS + RELAYS:
        c = container(deployments[name])
        port = settings_from(environment(rendered, deployments[name])).health_port
        assert port, f"{name}: RISCOSSA_HEALTH_PORT is not set"
        declared = ports(deployments[name])
        assert declared["health"]["containerPort"] == port and "http" not in declared, name
        for probe, path in (
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ):
            check = c[probe]["httpGet"]
            assert check["path"] == path and check["port"] in (port, "health"), (name, probe)
    for name in WORKERS:
        assert pod(deployments[name])["terminationGracePeriodSeconds"] >= 60, "in-flight messages"


def quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * units.get(unit, 1)


def workloads(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] in ("Deployment", "Job")]


def test_every_container_has_requests_and_limits(rendered: list[Obj]) -> None:
    for workload in workloads(rendered):
        resources = container(workload)["resources"]
        for resource in ("cpu", "memory"):
            request, limit = resources["requests"][resource], resources["limits"][resource]
            assert 0 < quantity(request) <= quantity(limit), (workload["metadata"]["name"], resource)


def test_every_pod_runs_as_non_root_with_nothing_to_escalate(rendered: list[Obj]) -> None:
    image_user = re.search(r"^USER (\d+)", (INFRA / "Containerfile").read_text(), re.MULTILINE)
    assert image_user
    for workload in workloads(rendered):
        spec = pod(workload)
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == int(image_user.group(1))
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        context = container(workload)["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"] for m in container(workload)["volumeMounts"]}
        assert {"/tmp", environment(rendered, workload)["RISCOSSA_DATA_DIR"]} <= mounts


def test_secrets_come_only_by_reference(rendered: list[Obj]) -> None:
    assert not of_kind(rendered, "Secret"), "secrets are created apart, never rendered"
    for configmap in of_kind(rendered, "ConfigMap").values():
        assert not set(configmap["data"]) & SECRET_SETTINGS
        database = urlsplit(configmap["data"].get("RISCOSSA_DATABASE_URL", ""))
        assert database.password is None, "the database URL of a ConfigMap carries no password"
    for workload in workloads(rendered):
        c = container(workload)
        for variable in c.get("env", []):
            if variable["name"] in SECRET_SETTINGS:
                assert "value" not in variable, variable["name"]
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in SECRETS[ref["name"]], ref
        assert all(set(source) == {"configMapRef"} for source in c.get("envFrom", []))
        for volume in pod(workload)["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] in SECRETS
    for auth in of_kind(rendered, "TriggerAuthentication").values():
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in SECRETS[ref["name"]]


def test_only_the_migrate_job_holds_the_database_owner(rendered: list[Obj]) -> None:
    for workload in workloads(rendered):
        refs = {
            v["valueFrom"]["secretKeyRef"]["name"] for v in container(workload)["env"] if "valueFrom" in v
        }
        assert ("riscossa-migrate" in refs) == (workload["kind"] == "Job"), workload["metadata"]["name"]


def test_every_setting_is_one_the_code_reads_and_each_process_can_start(rendered: list[Obj]) -> None:
    known = known_settings()
    for workload in workloads(rendered):
        values = environment(rendered, workload)
        assert set(values) <= known, sorted(set(values) - known)
        settings = settings_from(values)
        settings.check()
        assert settings.mode == "production" and settings.host == ANY_INTERFACE
        assert settings.uses_rabbitmq and settings.uses_s3 and not settings.uses_embedded_database


def test_each_process_has_the_password_of_each_role_it_connects_as(rendered: list[Obj]) -> None:
    """Serve and worker processes connect as their service's role, relays as its relay role, the
    workers with a daily run also as the gateway's (the Comuni's registry); the migrate Job sets
    every role's password. None relies on the shared RISCOSSA_APP_DB_PASSWORD."""
    roles = [f"{s}{relay}" for s in ("gateway", *BUSINESS_SERVICES) for relay in ("", "_relay")]
    for workload in workloads(rendered):
        name = workload["metadata"]["name"]
        service = name.removesuffix("-worker").removesuffix("-relay")
        if workload["kind"] == "Job":
            needed = roles
        elif name.endswith("-relay"):
            needed = [f"{service}_relay"]
        elif name.endswith("-worker") and service in DAILY_RUNS:
            needed = [service, "gateway"]
        else:
            needed = [service]
        values = environment(rendered, workload)
        settings = settings_from(values)
        assert "RISCOSSA_APP_DB_PASSWORD" not in values, name
        assert sorted(settings.db_passwords) == sorted(needed), name
        for role in needed:
            key = role.replace("_", "-")
            assert settings.db_passwords[role] == f"secret:riscossa-db-roles/{key}", (name, role)


def test_the_gateway_forwards_to_each_service_through_its_service_object(rendered: list[Obj]) -> None:
    deployments, services = of_kind(rendered, "Deployment"), of_kind(rendered, "Service")
    urls = settings_from(environment(rendered, deployments["gateway"])).service_urls
    assert set(urls) == set(BUSINESS_SERVICES)
    for name, url in urls.items():
        target = urlsplit(url)
        service = services[str(target.hostname)]
        (port,) = service["spec"]["ports"]
        assert target.port == port["port"]
        selector = {"matchLabels": service["spec"]["selector"]}
        chosen = [
            d for d in deployments.values() if selects(selector, d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [container(d)["args"] for d in chosen] == [["serve", name]]
        listening = ports(chosen[0])["http"]
        assert port["targetPort"] in (listening["name"], listening["containerPort"])


def pods_labels(objects: list[Obj]) -> dict[str, dict[str, str]]:
    return {w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"] for w in workloads(objects)}


def test_selectors_match_their_own_pods_only(rendered: list[Obj]) -> None:
    labels = pods_labels(rendered)
    for name, deployment in of_kind(rendered, "Deployment").items():
        chosen = [
            n for n, pod_labels in labels.items() if selects(deployment["spec"]["selector"], pod_labels)
        ]
        assert chosen == [name]


def ingress_rules(objects: list[Obj], labels: dict[str, str]) -> list[tuple[Obj, int | str | None]]:
    """The (peer, port) pairs that the policies selecting these pods let in (an empty peer: anyone;
    None: every port)."""
    allowed: list[tuple[Obj, int | str | None]] = []
    for policy in of_kind(objects, "NetworkPolicy").values():
        if selects(policy["spec"]["podSelector"], labels) and "Ingress" in policy["spec"]["policyTypes"]:
            for rule in policy["spec"].get("ingress", []):
                for peer in rule.get("from", [{}]):
                    allowed += [(peer, p.get("port")) for p in rule.get("ports", [{}])]
    return allowed


def metrics_port(objects: list[Obj], name: str) -> int:
    return settings_from(environment(objects, of_kind(objects, "Deployment")[name])).metrics_port


def test_services_are_reachable_from_the_gateway_only(rendered: list[Obj]) -> None:
    labels = pods_labels(rendered)
    isolated = [p for p in of_kind(rendered, "NetworkPolicy").values() if p["spec"]["podSelector"] == {}]
    assert any(not p["spec"].get("ingress") for p in isolated), "no default deny of ingress"
    deployments = of_kind(rendered, "Deployment")
    for name, pod_labels in labels.items():
        allowed = ingress_rules(rendered, pod_labels)
        assert all(port is not None for _, port in allowed), f"{name}: a policy opens every port"
        scrape = (metrics_port(rendered, name), "metrics") if name in deployments else ()
        application = [(peer, port) for peer, port in allowed if port not in scrape]
        if name == "gateway":
            assert application == [({}, 8000)], "the gateway takes requests from the ingress, on 8000 only"
        elif name in BUSINESS_SERVICES:
            assert application and all(set(peer) == {"podSelector"} for peer, _ in application), name
            assert {port for _, port in application} == {8000}, name
            allowed_pods = [
                n
                for n, other in labels.items()
                if any(selects(peer["podSelector"], other) for peer, _ in application)
            ]
            assert allowed_pods == ["gateway"], name
        else:
            assert application == [], f"{name} takes no traffic but the scraping of its metrics"


def test_every_process_exposes_its_metrics_to_the_monitoring_namespace_alone(rendered: list[Obj]) -> None:
    for name, deployment in of_kind(rendered, "Deployment").items():
        port = metrics_port(rendered, name)
        assert port, f"{name}: RISCOSSA_METRICS_PORT is not set"
        assert ports(deployment)["metrics"]["containerPort"] == port, name
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/port") == str(port), name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        scrapers = [peer for peer, p in ingress_rules(rendered, labels) if p in (port, "metrics")]
        assert scrapers == [MONITORING], f"{name}: who may read the metrics port"
    (job,) = of_kind(rendered, "Job").values()
    assert ingress_rules(rendered, job["spec"]["template"]["metadata"]["labels"]) == []


def targets(objects: list[Obj], kind: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for obj in of_kind(objects, kind).values():
        found.setdefault(obj["spec"]["scaleTargetRef"]["name"], []).append(obj["metadata"]["name"])
    return found


def test_web_processes_scale_on_cpu_and_workers_on_their_queues(rendered: list[Obj]) -> None:
    deployments = of_kind(rendered, "Deployment")
    hpas, scaled = targets(rendered, "HorizontalPodAutoscaler"), targets(rendered, "ScaledObject")
    assert set(hpas) == set(WEB) and all(len(v) == 1 for v in hpas.values())
    assert set(scaled) == set(WORKERS) and all(len(v) == 1 for v in scaled.values())
    for name in WEB + WORKERS:
        assert "replicas" not in deployments[name]["spec"], f"{name}: the autoscaler sets replicas"
    for hpa in of_kind(rendered, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


def test_each_worker_scales_on_exactly_the_queues_it_consumes(rendered: list[Obj]) -> None:
    deployments = of_kind(rendered, "Deployment")
    auths = of_kind(rendered, "TriggerAuthentication")
    for scaled in of_kind(rendered, "ScaledObject").values():
        worker = deployments[scaled["spec"]["scaleTargetRef"]["name"]]
        service = container(worker)["args"][1]
        prefix = settings_from(environment(rendered, worker)).queue_prefix
        consumers = service_specs()[service].consumers(_NoStorage())  # type: ignore[arg-type]
        expected = {c.queue(prefix).name for c in consumers}
        triggers = scaled["spec"]["triggers"]
        assert {t["metadata"]["queueName"] for t in triggers} == expected, service
        for trigger in triggers:
            assert trigger["type"] == "rabbitmq" and trigger["metadata"]["mode"] == "QueueLength"
            assert trigger["authenticationRef"]["name"] in auths
        assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"], (
            "at least one worker: the payments and contact workers run the daily jobs"
        )


class _NoStorage:
    """What `consumers(ctx)` reads of the context: the storage, database and settings, which
    building the consumer list does not touch."""

    storage = None
    db = None
    settings = None


def test_every_deployment_has_one_disruption_budget_that_lets_a_node_drain(rendered: list[Obj]) -> None:
    budgets = of_kind(rendered, "PodDisruptionBudget").values()
    for name, deployment in of_kind(rendered, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (budget,) = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        assert budget["spec"].get("maxUnavailable", 0) >= 1, name


def test_overlays_deploy_a_pinned_image(overlay: list[Obj]) -> None:
    images = {c["image"] for w in workloads(overlay) for c in pod(w)["containers"]}
    (image,) = images
    assert "@sha256:" in image or re.search(r":[0-9][^:/]*$", image), image


def test_the_overlays_are_found() -> None:
    assert {"production", "staging"} <= set(OVERLAYS), "the overlays were not found: nothing was checked"
