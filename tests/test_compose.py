"""docker-compose.yml and the Dockerfile describe the production shape and agree with the settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from audiocity.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = {"migrate", "api", "worker"}
# Read by client libraries rather than by the settings class.
LIBRARY_VARIABLES = {"STORAGE_EMULATOR_HOST"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return parsed


def setting_names() -> set[str]:
    return {field.alias or name.upper() for name, field in Settings.model_fields.items()}


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"postgres", "redis", "gcs"}
    for name in APP_SERVICES:
        assert services[name]["image"] == "audiocity:latest" and services[name]["build"] == "."
    for name in ("postgres", "redis", "gcs"):
        image = services[name]["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: pin {image}"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")


def test_health_checks_everywhere_and_dependencies_wait_for_them(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name == "migrate":  # one-shot: the others wait for it to complete instead
            assert check.get("disable") is True and service["restart"] == "no"
            continue
        assert check.get("test"), f"{name} has no health check"
    for name, service in services.items():
        for target, condition in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), f"{target} cannot become healthy"
            else:
                assert wanted == "service_completed_successfully" and target == "migrate"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert {"redis", "gcs"} <= set(services[name]["depends_on"])


def test_several_api_and_worker_processes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    command = services["api"]["command"]
    workers = [int(arg.split("=", 1)[1]) for arg in command if arg.startswith("--workers=")]
    assert workers and workers[0] > 1
    assert "audiocity.asgi:app" in command and "--factory" in command
    assert services["worker"]["deploy"]["replicas"] > 1
    assert services["worker"]["command"] == ["audiocity", "worker"]
    env = services["api"]["environment"]
    assert env["PROMETHEUS_MULTIPROC_DIR"] in {t.split(":")[0] for t in services["api"]["tmpfs"]}


def test_environment_names_are_settings(compose: dict[str, Any]) -> None:
    known = setting_names() | LIBRARY_VARIABLES
    for name in APP_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name}: {sorted(unknown)} are not settings (see docs/configuration.md)"


def test_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            assert not source.startswith((".", "/")), f"{name}: {mount} should be a named volume"
            used.add(source)
    assert used == declared


def test_the_image_is_multi_stage_non_root_with_a_health_check_and_no_embedded_servers() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^COPY --from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ /uv ", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    syncs = re.findall(r"uv sync[^\n]*", text)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert not any("--all-extras" in s or "embedded" in s or "local-ai" in s for s in syncs)
    assert "gcp-storage-emulator" not in text and "LOG_FORMAT=json" in text


def _compose_client() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_client(), reason="no `docker compose` client on this machine")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    env = {**os.environ, "SECRET_KEY": "compose-config-check"}
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_grafana_dashboard_charts_metrics_that_exist() -> None:
    import json

    from prometheus_client.metrics import MetricWrapperBase

    from audiocity import metrics

    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    names = set(re.findall(r"\b(audiocity_[a-z_]+)", exprs))
    known = {"audiocity_queue_depth"}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            known.update(family.name for family in value.describe())
    suffixes = ("_total", "_bucket", "_count", "_sum")
    for name in names:
        base = next((name.removesuffix(s) for s in suffixes if name.endswith(s)), name)
        assert name in known or base in known, f"the dashboard charts {name}, which nothing exports"
    for needed in ("audiocity_graphql_operations_total", "audiocity_worker_messages_processed_total"):
        assert needed in names
