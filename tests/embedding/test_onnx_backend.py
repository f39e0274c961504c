"""The ONNX backend gives sentence-transformers' vectors and token counts, exported once."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder, resolve_model_path
from cultureqa.embedding.factory import load_embedder
from cultureqa.embedding.onnx_backend import OnnxEmbedder, cache_key, supports
from cultureqa.embedding.torch_backend import SentenceTransformerEmbedder
from cultureqa.settings import Settings

MODEL_DIR = Path(resolve_model_path("all-MiniLM-L6-v2"))
TEXTS = [
    "What cold noodle dish is Hamhung known for?",
    "Hamhung naengmyeon is a cold buckwheat noodle dish. " * 40,  # past the 256-token window
    "Short.",
    "",
    "Ünïcode, emoji 🍜 and punctuation — all together.",
]


def test_supports_the_default_model_and_not_others(tmp_path: Path) -> None:
    assert supports(MODEL_DIR)
    odd = tmp_path / "odd"
    shutil.copytree(MODEL_DIR, odd, ignore=shutil.ignore_patterns("*.safetensors"))
    modules = json.loads((odd / "modules.json").read_text())
    (odd / "modules.json").write_text(json.dumps([*modules, {"type": "x.Dense", "path": "2"}]))
    assert not supports(odd)
    assert not supports(tmp_path / "missing")


def test_cache_key_follows_the_model_files(tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(MODEL_DIR, copy, ignore=shutil.ignore_patterns("*.safetensors"))
    before = cache_key(copy)
    assert cache_key(copy) == before
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    assert cache_key(copy) != before


@pytest.mark.slow
def test_same_vectors_and_token_counts_as_sentence_transformers(
    real_embedder: Embedder, torch_embedder: Embedder
) -> None:
    assert isinstance(real_embedder, OnnxEmbedder)  # 'auto' picks ONNX for this model on CPU
    assert isinstance(torch_embedder, SentenceTransformerEmbedder)
    assert (real_embedder.dimension, real_embedder.max_tokens) == (384, 254)
    assert real_embedder.max_tokens == torch_embedder.max_tokens
    ours = real_embedder.embed(TEXTS, batch_size=2)  # batches of unlike lengths: padding
    theirs = torch_embedder.embed(TEXTS)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    for text in TEXTS:
        assert real_embedder.count_tokens(text) == torch_embedder.count_tokens(text)


@pytest.mark.slow
def test_export_happens_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cultureqa"):
        first = OnnxEmbedder("all-MiniLM-L6-v2", MODEL_DIR, cache_dir=tmp_path)
    assert "Exporting all-MiniLM-L6-v2 to ONNX once" in caplog.text
    [exported] = list(tmp_path.rglob("model.onnx"))
    stamp = exported.stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cultureqa"):
        second = OnnxEmbedder("all-MiniLM-L6-v2", MODEL_DIR, cache_dir=tmp_path)
    assert "Exporting" not in caplog.text
    assert exported.stat().st_mtime_ns == stamp
    assert np.array_equal(first.embed(TEXTS[:2]), second.embed(TEXTS[:2]))


@pytest.mark.parametrize(("backend", "kind"), [("torch", "SentenceTransformerEmbedder")])
def test_backend_setting(backend: str, kind: str) -> None:
    embedder = load_embedder(Settings(backend=backend))
    assert type(embedder).__name__ == kind
