"""The layout's rules, checked: layers import only downwards, only the HTTP layer (and the CLI)
knows the web framework, the settings import nothing heavy, every setting is documented, and
functions stay short enough to read."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cultureqa.settings import Settings
from tests.helpers import REPO

PACKAGE = REPO / "src" / "cultureqa"
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn")

# Each layer and the cultureqa layers it may import; the root modules (settings, errors,
# runtime) are below everything. Data flows one way: corpus → embedding → index → search →
# evaluation and http, and cli on top.
ROOT_MODULES = {"settings", "errors", "runtime"}
MAY_IMPORT = {
    "corpus": set(),
    "embedding": set(),
    "index": {"corpus", "embedding"},
    "search": {"corpus", "embedding", "index"},
    "evaluation": {"corpus", "embedding", "index", "search"},
    "http": {"corpus", "embedding", "index", "search", "store", "testing", "lti"},
    # The question log's database: root modules only, so any layer above may use it.
    "store": set(),
    # LTI 1.3 (platforms, keys, launches, sessions) over the question log's database.
    "lti": {"store"},
    # `cultureqa worker`: claims jobs from the store, builds with index.
    "builder": {"corpus", "embedding", "index", "store"},
}
MAX_FUNCTION_LINES = 60
LONG_FUNCTION_MARK = "# long:"  # on the line above a def: why this one is longer


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Absolute module names this file imports (anywhere in it, lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def test_only_the_http_layer_and_the_cli_import_the_web_framework() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules()
        if layer_of(path) not in {"http", "cli"}
        for name in imported(path)
        if name.split(".")[0] in WEB_FRAMEWORKS
    ]
    assert offenders == []


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_layers_import_only_downwards(layer: str) -> None:
    allowed = MAY_IMPORT[layer] | ROOT_MODULES | {layer}
    offenders = []
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imported(path):
            parts = name.split(".")
            if parts[0] == "cultureqa" and len(parts) > 1 and parts[1] not in allowed:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_the_root_modules_import_no_layer() -> None:
    offenders = [
        f"{module}.py imports {name}"
        for module in sorted(ROOT_MODULES)
        for name in imported(PACKAGE / f"{module}.py")
        if name.startswith("cultureqa.") and name.split(".")[1] not in ROOT_MODULES
    ]
    assert offenders == []


def test_importing_the_settings_loads_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cultureqa.settings"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert "cultureqa" in loaded  # the trace is what it claims to be
    assert loaded.isdisjoint({"faiss", "numpy", "torch", "fastapi", "onnxruntime"})


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(CULTUREQA_[A-Z_]+)`", readme, flags=re.MULTILINE))
    rows |= set(re.findall(r"`, `(CULTUREQA_[A-Z_]+)` \|", readme))  # two settings in one row
    missing = [f"CULTUREQA_{name.upper()}" for name in Settings.model_fields]
    assert [name for name in missing if name not in rows] == []


def test_functions_are_short_or_say_why() -> None:
    long_ones = []
    for path in modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            marked = first >= 2 and lines[first - 2].strip().startswith(LONG_FUNCTION_MARK)
            if length > MAX_FUNCTION_LINES and not marked:
                long_ones.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} {length}")
    assert long_ones == []
