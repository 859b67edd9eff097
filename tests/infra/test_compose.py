"""infra/compose.yaml: the compose specification's schema (check-jsonschema's vendored copy) and the
stack's own invariants: every process shape, dependency order, health checks, ports and settings
that agree with one another."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.oidc import providers_from_env
from services.platform import BUSINESS_SERVICES
from tests.infra.support import ANY_INTERFACE, INFRA, cli_accepts, interpolate, known_settings, settings_from

COMPOSE = INFRA / "compose.yaml"
SERVERS = ("postgres", "rabbitmq", "seaweedfs", "oidc")
ONE_SHOT = ("migrate", "seed-demo")


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).with_name("check-jsonschema")
    command = str(binary) if binary.exists() else shutil.which("check-jsonschema")
    assert command, "check-jsonschema is not installed (it is in the test extras)"
    return subprocess.run(
        [command, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as compose reads it with an empty environment (every default in force)."""
    document: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE.read_text(), {}))
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def riscossa(services: dict[str, Any]) -> dict[str, Any]:
    """The services that run the Riscossa image."""
    image = services["migrate"]["image"]
    return {name: s for name, s in services.items() if s.get("image") == image}


def test_the_file_follows_the_compose_specification() -> None:
    done = check_jsonschema(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_fails_on_an_unknown_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace("    command: [serve, ingest]\n", "    comand: [serve, ingest]\n")
    )
    assert broken.read_text() != COMPOSE.read_text()
    done = check_jsonschema(broken)
    assert done.returncode != 0 and "comand" in done.stdout


def test_every_process_shape_runs(services: dict[str, Any]) -> None:
    expected = {"gateway": ["serve", "gateway"], "migrate": ["migrate"], "seed-demo": ["seed-demo"]}
    for s in BUSINESS_SERVICES:
        expected |= {s: ["serve", s], f"{s}-worker": ["worker", s], f"{s}-relay": ["relay", s]}
    assert {n: s["command"] for n, s in riscossa(services).items()} == expected
    for command in expected.values():
        assert cli_accepts(command), command


def test_every_server_has_a_health_check_and_the_stack_is_local(services: dict[str, Any]) -> None:
    for name in SERVERS:
        assert services[name]["healthcheck"]["test"], name
    assert "15672:15672" in " ".join(services["rabbitmq"]["ports"]), "the RabbitMQ management UI"
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_web_processes_report_readiness_on_their_port(services: dict[str, Any]) -> None:
    for name, service in riscossa(services).items():
        if service["command"][0] != "serve":
            continue
        port = settings_from(service["environment"]).port
        check = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in check, name


def test_workers_and_relays_report_readiness_on_their_health_port(services: dict[str, Any]) -> None:
    background = {n: s for n, s in riscossa(services).items() if s["command"][0] in ("worker", "relay")}
    assert len(background) == 2 * len(BUSINESS_SERVICES)
    for name, service in background.items():
        port = settings_from(service["environment"]).health_port
        assert port, f"{name}: RISCOSSA_HEALTH_PORT is not set"
        check = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in check, name


def published(port: str) -> tuple[str, int, int]:
    """`127.0.0.1:9101:9100` -> (address, port on this machine, port in the container); no
    address (`9101:9100`) is every interface."""
    *address, host, inside = port.split(":")
    return ":".join(address) or "0.0.0.0", int(host), int(inside)  # noqa: S104


def test_every_process_publishes_its_metrics_on_this_machine_only(services: dict[str, Any]) -> None:
    seen: dict[int, str] = {}
    for name, service in riscossa(services).items():
        if name in ONE_SHOT:
            continue
        port = settings_from(service["environment"]).metrics_port
        assert port, f"{name}: RISCOSSA_METRICS_PORT is not set"
        matches = [published(p) for p in service.get("ports", []) if published(p)[2] == port]
        assert len(matches) == 1, f"{name} publishes its metrics port {len(matches)} times"
        address, host, _ = matches[0]
        assert address == "127.0.0.1" and host not in seen, (name, host, seen.get(host))
        seen[host] = name


def test_dependencies_wait_for_health_or_completion(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            condition = rule["condition"]
            if dependency in ONE_SHOT:
                assert condition == "service_completed_successfully", (name, dependency)
            else:
                assert condition == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health"
    for name, service in riscossa(services).items():
        needs = set(service["depends_on"])
        assert {"postgres"} <= needs, name
        if name != "migrate":
            assert {"migrate", "rabbitmq", "seaweedfs"} <= needs, name
    assert set(services["gateway"]["depends_on"]) >= {"oidc", *BUSINESS_SERVICES}


def test_the_start_order_has_no_cycle(services: dict[str, Any]) -> None:
    pending = {name: set(s.get("depends_on", {})) for name, s in services.items()}
    while pending:
        ready = [name for name, needs in pending.items() if not needs & set(pending)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        for name in ready:
            del pending[name]


@pytest.mark.parametrize("mode", ["dev", "production"])
def test_every_setting_is_one_the_code_reads_and_each_process_can_start(mode: str) -> None:
    """With the defaults (dev) and with RISCOSSA_MODE=production, whose checks are stricter."""
    known = known_settings()
    services = yaml.safe_load(interpolate(COMPOSE.read_text(), {"RISCOSSA_MODE": mode}))["services"]
    for name, service in riscossa(services).items():
        environment = service["environment"]
        assert set(environment) <= known, f"{name}: {sorted(set(environment) - known)}"
        settings = settings_from(environment)
        assert settings.mode == mode
        settings.check()
        assert settings.uses_rabbitmq and settings.uses_s3 and not settings.uses_embedded_database, name
        assert urlsplit(settings.amqp_url).hostname == "rabbitmq"
        assert urlsplit(settings.s3_endpoint).hostname == "seaweedfs"
        assert urlsplit(settings.database_url).hostname == "postgres"


def test_the_gateway_forwards_to_each_service_where_it_listens(services: dict[str, Any]) -> None:
    settings = settings_from(services["gateway"]["environment"])
    assert set(settings.service_urls) == set(BUSINESS_SERVICES)
    for name, url in settings.service_urls.items():
        target = urlsplit(url)
        host = str(target.hostname)
        assert services[host]["command"] == ["serve", name]
        assert target.port == settings_from(services[host]["environment"]).port


def test_the_image_listens_on_every_interface(services: dict[str, Any]) -> None:
    image_env = dict(re.findall(r"(RISCOSSA_\w+)=(\S+)", (INFRA / "Containerfile").read_text()))
    assert image_env["RISCOSSA_HOST"] == ANY_INTERFACE
    for service in riscossa(services).values():
        assert service["environment"].get("RISCOSSA_HOST", image_env["RISCOSSA_HOST"]) == ANY_INTERFACE


def test_the_local_openid_provider_knows_the_gateway(services: dict[str, Any]) -> None:
    environment = services["gateway"]["environment"]
    (provider,) = providers_from_env(environment)
    realm = json.loads((INFRA / "compose" / "keycloak-realm.json").read_text())
    (client,) = realm["clients"]
    base = settings_from(environment).public_base_url
    assert client["clientId"] == provider.client_id and client["secret"] == provider.client_secret
    assert client["redirectUris"] == [f"{base}/login/oidc/{provider.name}/callback"]
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    hostname = services["oidc"]["environment"]["KC_HOSTNAME"]
    assert provider.issuer == f"{hostname}/realms/{realm['realm']}"
    assert urlsplit(provider.discovery).hostname == "oidc"
    assert all(user["emailVerified"] for user in realm["users"]), "trust_email needs verified e-mail"
