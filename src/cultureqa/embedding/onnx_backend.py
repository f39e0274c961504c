"""A sentence-transformers model run through ONNX Runtime: same vectors, a fraction of the cost.

The model is exported once from its own weights (torch's exporter, offline) to a cache
directory, keyed by the model directory and its files, and loaded from there afterwards. Serving
then needs only onnxruntime, tokenizers and numpy: no torch or transformers import at start-up,
and a question embeds about 2-3x faster than through sentence-transformers on this CPU.

Models made of a Transformer, a mean or CLS Pooling and an optional Normalize module (most
sentence-transformers models, all-MiniLM-L6-v2 among them) are supported; `supports()` says
whether a model directory is one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cultureqa.embedding.base import BatchEmbedder, Span, Vectors, pool_spans
from cultureqa.errors import ModelError

log = logging.getLogger("cultureqa")

EXPORT_VERSION = 1  # bump when the exported graph changes
_SUPPORTED_MODULES = (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])


def _modules(model_dir: Path) -> list[dict[str, Any]]:
    try:
        modules: list[dict[str, Any]] = json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError):
        return []
    return modules


def _pooling_mode(model_dir: Path) -> str | None:
    modules = _modules(model_dir)
    pooling = next((m for m in modules if str(m.get("type", "")).endswith(".Pooling")), None)
    if pooling is None:
        return None
    try:
        config = json.loads((model_dir / pooling["path"] / "config.json").read_text())
    except (OSError, ValueError):
        return None
    modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
    if modes == ["pooling_mode_mean_tokens"]:
        return "mean"
    if modes == ["pooling_mode_cls_token"]:
        return "cls"
    return None


def supports(model_dir: Path) -> bool:
    """Whether this model directory can run through OnnxEmbedder."""
    types = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in _modules(model_dir)]
    return (
        types in _SUPPORTED_MODULES
        and (model_dir / "tokenizer.json").is_file()
        and _pooling_mode(model_dir) is not None
    )


def cache_key(model_dir: Path) -> str:
    """Changes when the model's files change; cheap (names, sizes and times, not contents)."""
    digest = hashlib.sha256(f"export={EXPORT_VERSION};{model_dir.resolve()}".encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and "onnx" not in path.parts:
            stat = path.stat()
            digest.update(
                f"{path.relative_to(model_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode()
            )
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cultureqa" / "onnx"


def import_onnxruntime() -> Any:
    """onnxruntime, with its telemetry off. Unless told not to, it writes a device id and an
    event queue (OS, CPU model) under ~/.cache/Microsoft/DeveloperTools/ on first use: a file
    outside every directory cultureqa is configured with. The variable must be set before the
    first import; disabling the events afterwards does not stop the files."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


def export(model_dir: Path, target: Path) -> None:
    """Export the model's transformer to ONNX at `target` (written atomically)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Encoder(torch.nn.Module):
        """Keyword arguments in, last hidden state out: a graph with stable input names."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(
        ["an example", "a second, longer example"], padding=True, return_tensors="pt"
    )
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    axes = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about shape checks it freezes; the graph is checked against
        # sentence-transformers' own vectors in the tests, padding and truncation included.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder(model),
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(staging),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=17,
            dynamo=False,
        )
    staging.replace(target)


class OnnxEmbedder(BatchEmbedder):
    """The Embedder protocol on ONNX Runtime, with the model's own tokenizer.json."""

    def __init__(
        self,
        name: str,
        model_dir: Path,
        *,
        threads: int | None = None,
        cache_dir: Path | None = None,
        graph: Path | None = None,
    ) -> None:
        """`graph`: run this ONNX file instead of the cached export (benchmarks/quantize.py
        compares an int8 copy this way)."""
        from tokenizers import Tokenizer

        onnxruntime = import_onnxruntime()

        if not supports(model_dir):
            raise ModelError(
                f"model {name!r} cannot run through ONNX here", hint="use backend 'torch'"
            )
        self._name = name
        self._pooling = _pooling_mode(model_dir)
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        window = int(config.get("max_seq_length") or 512)

        path = graph or (cache_dir or default_cache_dir()) / cache_key(model_dir) / "model.onnx"
        if not path.is_file():
            log.warning("Exporting %s to ONNX once, in %s", name, path.parent)
            try:
                export(model_dir, path)
            except Exception as exc:  # the exporter raises many kinds; all mean the same here
                raise ModelError(
                    f"cannot export {name!r} to ONNX: {exc}", hint="use backend 'torch'"
                ) from exc
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

        self._counter = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        special = len(self._counter.encode("", add_special_tokens=True).ids)
        self._max_tokens = window - special
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=window)
        self._tokenizer.enable_padding()
        self._dimension = int(self._run(["dimension probe"]).shape[1])
        self.graph = path

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def _hidden(self, texts: list[str]) -> tuple[NDArray[np.float32], NDArray[np.int64], list[Any]]:
        """Token states (batch, tokens, dimension), the attention mask, and the encodings."""
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden: NDArray[np.float32] = self._session.run(None, feeds)[0]
        return hidden, mask, encodings

    def _pool(self, hidden: NDArray[np.float32], mask: NDArray[np.int64]) -> Vectors:
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors

    def _run(self, texts: list[str]) -> Vectors:
        hidden, mask, _ = self._hidden(texts)
        return self._pool(hidden, mask)

    def _run_spans(self, texts: list[str], spans: list[Sequence[Span]]) -> tuple[Vectors, Vectors]:
        hidden, mask, encodings = self._hidden(texts)
        vectors = self._pool(hidden, mask)
        pooled = [
            pool_spans(hidden[i], encoding.offsets, spans[i], vectors[i])
            for i, encoding in enumerate(encodings)
        ]
        dimension = vectors.shape[1]
        return vectors, np.concatenate(pooled) if pooled else np.zeros((0, dimension), np.float32)
