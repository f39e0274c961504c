"""No Docker engine runs here, so check what can be checked: the Dockerfile installs through the
same constraints as make and CI, runs as a non-root user, and its commands are ones our CLI and
API accept."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest

from cultureqa.cli import cli
from tests.helpers import REPO

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def args_of(instruction: str) -> list[str]:
    return (
        list(json.loads(instruction)) if instruction.startswith("[") else shlex.split(instruction)
    )


def check_cli(args: list[str]) -> None:
    """Parse a `cultureqa ...` command line with the real CLI (no side effects)."""
    assert args[0] == "cultureqa"
    command = cli.get_command(click.Context(cli), args[1])
    assert command is not None, args
    command.make_context(args[1], args[2:])


def test_base_image_is_python_311() -> None:
    assert instructions()[0] == ("FROM", "python:3.11-slim")


def test_installs_through_the_cpu_torch_constraints() -> None:
    assert (REPO / "constraints.txt").read_text().split() == ["torch==2.13.0+cpu"]
    runs = [rest for kw, rest in instructions() if kw == "RUN" and "pip install" in rest]
    assert len(runs) == 1
    assert "-c constraints.txt" in runs[0]
    assert "download.pytorch.org/whl/cpu" in runs[0]
    makefile = (REPO / "Makefile").read_text()
    assert "-c constraints.txt" in makefile


def test_copied_paths_exist() -> None:
    for keyword, rest in instructions():
        if keyword == "COPY":
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source


def test_index_is_built_at_image_build_time_as_the_service_user() -> None:
    steps = instructions()
    user_at = next(i for i, (kw, _) in enumerate(steps) if kw == "USER")
    assert steps[user_at][1] not in ("root", "0")
    ingest_at = next(i for i, (kw, rest) in enumerate(steps) if kw == "RUN" and "ingest" in rest)
    assert ingest_at > user_at
    check_cli(shlex.split(steps[ingest_at][1]))


def test_cmd_serves_on_all_interfaces() -> None:
    [cmd] = [rest for kw, rest in instructions() if kw == "CMD"]
    args = args_of(cmd)
    check_cli(args)
    assert args[1] == "serve"
    assert args[args.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - inside the container


def test_healthcheck_hits_health() -> None:
    [health] = [rest for kw, rest in instructions() if kw == "HEALTHCHECK"]
    assert re.search(r"http://127\.0\.0\.1:8000/health", health)
    from cultureqa.http.app import create_app
    from cultureqa.settings import Settings

    paths = {getattr(r, "path", None) for r in create_app(Settings()).routes}
    assert "/health" in paths


@pytest.mark.parametrize("ignored", [".venv", ".git", "embeddings/*"])
def test_dockerignore_keeps_local_state_out(ignored: str) -> None:
    assert ignored in (REPO / ".dockerignore").read_text().split()


def test_dockerfile_never_runs_as_root_at_the_end() -> None:
    users = [rest for kw, rest in instructions() if kw == "USER"]
    assert users and users[-1] == "cultureqa"
    assert Path(DOCKERFILE).read_text().count("HEALTHCHECK") == 1
